"""Partner list, card, create/edit, inline edit, contacts, duplicates and merge."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from crm.core.errors import DomainError, PermissionDenied
from crm.core.params import id_or_none
from crm.core.policy import load_or_403, may
from crm.core.text import CONTROL_CHARS
from crm.core.versioning import StaleRecord
from crm.extensions import db
from crm.forms import apply_errors, submitted_version
from crm.htmx import is_fragment_request, render
from crm.partners import bp, queries, services
from crm.partners.card import facts_html
from crm.partners.filters import PartnerFilter
from crm.partners.forms import (
    ContactDetailForm,
    ContactPersonForm,
    FieldForm,
    MergeForm,
    PartnerForm,
)
from crm.partners.models import ContactDetail, ContactPerson
from crm.partners.tabs import tabs_for


def load_partner(partner_id: int, *, edit: bool = False):
    """The partner if the user may see it (and edit it when `edit`); else 404/403."""
    actions = ("partner.view", "partner.edit") if edit else ("partner.view",)
    partner = load_or_403(queries.get_partner, partner_id, *actions)
    if edit and partner.merged_into_id:
        abort(403)
    return partner


def list_context(flt: PartnerFilter) -> dict:
    offer_choices(flt)
    return {"flt": flt, "page": queries.partner_page(current_user, flt)}


def offer_choices(flt: PartnerFilter) -> None:
    """The managers and tags the filter's selects offer."""
    flt["manager"].options = [(u.id, u.display_name) for u in queries.responsible_choices()]
    flt["tag"].options = [(t.id, t.name) for t in queries.all_tags()]


@bp.route("/")
def index():
    """The partner list: search as you type, filters, sorting, pages (HTMX swaps the results)."""
    flt = PartnerFilter.from_args(request.args)
    ctx = list_context(flt)
    if not is_fragment_request():
        ctx["cities"] = queries.cities(current_user)
    return render("partners/index.html", "partners/_results.html", **ctx)


def _form_data(form: PartnerForm, *, creating: bool) -> dict:
    data = {
        k: getattr(form, k).data
        for k in (
            "name",
            "code",
            "kind",
            "roles",
            "inn",
            "city",
            "tags",
            "notes",
            "preferred_channel",
            "best_time_to_call",
            "do_not_email",
            "do_not_call",
            "do_not_sms",
            "do_not_mail",
        )
    }
    data["roles"] = data["roles"] or []
    if may(current_user, "records.assign"):
        data["responsible_id"] = form.responsible_id.data
    if creating:
        data["email"], data["phone"] = form.email.data, form.phone.data
    return data


def _partner_form(partner=None) -> PartnerForm:
    form = PartnerForm(obj=partner) if partner else PartnerForm()
    form.responsible_id.choices = [SelectChoice("", "— nobody —")] + [
        SelectChoice(str(u.id), u.display_name) for u in queries.responsible_choices()
    ]
    if partner is not None and request.method == "GET":
        form.roles.data = partner.roles
        form.tags.data = ", ".join(t.name for t in partner.tags)
        form.responsible_id.data = str(partner.responsible_id or "")
    elif partner is None and request.method == "GET":
        form.responsible_id.data = str(current_user.id)
    return form


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Create a partner; a likely duplicate is shown and must be confirmed."""
    if not may(current_user, "partner.create"):
        abort(403)
    form = _partner_form()
    duplicates, status = [], 200
    if request.method == "POST":
        if form.validate():
            try:
                partner = services.create_partner(
                    current_user,
                    _form_data(form, creating=True),
                    confirm_duplicates=form.confirm_duplicates.data,
                )
            except services.DuplicatesFound as exc:
                duplicates, status = queries.mark_visible(current_user, exc.matches), 409
            except DomainError as exc:
                apply_errors(form, exc)
                status = 422
            else:
                db.session.commit()
                flash(f"Partner {partner.name} is created.", "success")
                return redirect(url_for("partners.detail", partner_id=partner.id))
        else:
            status = 422
        db.session.rollback()
    return render(
        "partners/form.html", form=form, partner=None, duplicates=duplicates, status=status
    )


@bp.route("/<int:partner_id>/edit", methods=["GET", "POST"])
def update(partner_id: int):
    """Edit all of a partner's fields."""
    partner = load_partner(partner_id, edit=True)
    form = _partner_form(partner)
    duplicates, status = [], 200
    if request.method == "POST":
        if form.validate():
            try:
                services.update_partner(
                    current_user,
                    partner,
                    _form_data(form, creating=False),
                    confirm_duplicates=form.confirm_duplicates.data,
                    version=submitted_version(form),
                )
            except services.DuplicatesFound as exc:
                duplicates, status = queries.mark_visible(current_user, exc.matches), 409
            except DomainError as exc:
                apply_errors(form, exc)
                status = 409 if isinstance(exc, StaleRecord) else 422
            else:
                db.session.commit()
                flash("Changes saved.", "success")
                return redirect(url_for("partners.detail", partner_id=partner.id))
        else:
            status = 422
        db.session.rollback()
        partner = load_partner(partner_id, edit=True)
    return render(
        "partners/form.html", form=form, partner=partner, duplicates=duplicates, status=status
    )


@bp.route("/<int:partner_id>/delete", methods=["POST"])
def delete(partner_id: int):
    """Delete a partner nothing refers to (admins only)."""
    partner = load_partner(partner_id)
    try:
        services.delete_partner(current_user, partner)
    except PermissionDenied:
        abort(403)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("partners.detail", partner_id=partner_id))
    db.session.commit()
    flash("The partner is deleted.", "success")
    return redirect(url_for("partners.index"))


@bp.route("/<int:partner_id>")
def detail(partner_id: int):
    """The partner card; `?tab=` picks the tab, and HTMX loads just the tab's body."""
    partner = load_partner(partner_id)
    if partner.merged_into_id:
        flash(f"{partner.name} was merged into this partner.", "info")
        return redirect(url_for("partners.detail", partner_id=partner.merged_into_id))
    tabs = tabs_for(current_app, current_user)
    key = request.args.get("tab") or "summary"
    tab = next((t for t in tabs if t.key == key), tabs[0])
    return render(
        "partners/detail.html",
        "partners/_tab.html",
        partner=partner,
        tabs=tabs,
        tab=tab,
        tab_html=tab.html(partner),
        can_edit=may(current_user, "partner.edit", partner),
        # The header (full page only: a tab switch swaps just the tab's body).
        facts=[] if is_fragment_request() else facts_html(current_app, current_user, partner),
    )


@bp.route("/<int:partner_id>/fields/<field>", methods=["GET", "POST"])
def field(partner_id: int, field: str):
    """Inline edit: GET ?edit=1 gives the input, POST saves and gives the value back."""
    if field not in services.INLINE_FIELDS:
        abort(404)
    editing = request.method == "POST" or request.args.get("edit")
    partner = load_partner(partner_id, edit=bool(editing))
    form = FieldForm()
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                services.update_field(
                    current_user,
                    partner,
                    field,
                    form.value.data or "",
                    version=submitted_version(form),
                )
            except DomainError as exc:
                db.session.rollback()
                partner = load_partner(partner_id, edit=True)
                stale = isinstance(exc, StaleRecord)
                errors = [] if stale else exc.field_errors.get(field) or [exc.message]
                # Stale: the editor moves to the current version, with the user's value.
                version = partner.version if stale else submitted_version(form)
                return render(
                    "partners/_field_edit.html",
                    "partners/_field_edit.html",
                    partner=partner,
                    field=field,
                    value=form.value.data,
                    errors=errors,
                    conflict=exc if stale else None,
                    version=version,
                    status=409 if stale else 422,
                )
            db.session.commit()
            if not is_fragment_request():
                flash("Saved.", "success")
                return redirect(url_for("partners.detail", partner_id=partner.id))
        else:
            status = 422
    elif editing:
        return render(
            "partners/_field_edit.html",
            "partners/_field_edit.html",
            partner=partner,
            field=field,
            value=getattr(partner, field),
            errors=[],
        )
    return render(
        "partners/_field.html",
        "partners/_field.html",
        partner=partner,
        field=field,
        can_edit=may(current_user, "partner.edit", partner),
        status=status,
    )


@bp.route("/duplicates")
def duplicates():
    """Live duplicate warning for the partner form (name, e-mail, phone, tax id)."""

    def arg(name: str, limit: int) -> str:
        # Half-typed input is looked up as it is, but PostgreSQL refuses NUL in text.
        return CONTROL_CHARS.sub("", request.args.get(name) or "")[:limit]

    matches = queries.find_duplicates(
        name=arg("name", 255),
        emails=[arg("email", 254)],
        phones=[arg("phone", 40)],
        inn=arg("inn", 20),
        exclude_id=id_or_none(request.args.get("exclude", "")),
    )
    queries.mark_visible(current_user, matches)
    return render(
        "partners/_duplicates.html",
        "partners/_duplicates.html",
        duplicates=matches,
        standalone=True,
    )


# --- contact details and persons ---------------------------------------------------------


def _contacts_response(partner_id: int, status: int = 200, **forms):
    partner = load_partner(partner_id)
    return render(
        "partners/detail.html",
        "partners/_tab_contacts.html",
        partner=partner,
        tabs=tabs_for(current_app, current_user),
        tab=next(t for t in tabs_for(current_app, current_user) if t.key == "contacts"),
        tab_html=None,
        can_edit=may(current_user, "partner.edit", partner),
        detail_form=forms.get("detail_form") or ContactDetailForm(formdata=None),
        person_form=forms.get("person_form") or ContactPersonForm(formdata=None),
        status=status,
    )


def _after_contact_change(partner_id: int, message: str):
    db.session.commit()
    if is_fragment_request():
        return _contacts_response(partner_id)
    flash(message, "success")
    return redirect(url_for("partners.detail", partner_id=partner_id, tab="contacts"))


def _person_of(partner, person_id: int) -> ContactPerson:
    person = db.session.get(ContactPerson, person_id)
    if person is None or person.partner_id != partner.id:
        abort(404)
    return person


@bp.route("/<int:partner_id>/details", methods=["POST"])
@bp.route("/<int:partner_id>/persons/<int:person_id>/details", methods=["POST"])
def detail_create(partner_id: int, person_id: int | None = None):
    """Add a contact detail to the partner or to one of its contact persons."""
    partner = load_partner(partner_id, edit=True)
    person = _person_of(partner, person_id) if person_id else None
    form = ContactDetailForm()
    if form.validate():
        try:
            services.add_contact_detail(current_user, partner, form.data, person)
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            return _after_contact_change(partner_id, "Contact detail added.")
    db.session.rollback()
    return _contacts_response(partner_id, 422, detail_form=form)


def _detail_of(partner, detail_id: int) -> ContactDetail:
    d = db.session.get(ContactDetail, detail_id)
    owner_partner = d and (d.partner_id or (d.contact_person and d.contact_person.partner_id))
    if d is None or owner_partner != partner.id:
        abort(404)
    return d


@bp.route("/<int:partner_id>/details/<int:detail_id>/delete", methods=["POST"])
def detail_delete(partner_id: int, detail_id: int):
    """Remove a contact detail."""
    partner = load_partner(partner_id, edit=True)
    services.delete_contact_detail(current_user, partner, _detail_of(partner, detail_id))
    return _after_contact_change(partner_id, "Contact detail removed.")


@bp.route("/<int:partner_id>/details/<int:detail_id>/main", methods=["POST"])
def detail_main(partner_id: int, detail_id: int):
    """Make a contact detail the main one of its kind."""
    partner = load_partner(partner_id, edit=True)
    services.set_main_detail(current_user, partner, _detail_of(partner, detail_id))
    return _after_contact_change(partner_id, "Main contact detail changed.")


@bp.route("/<int:partner_id>/persons/new", methods=["GET", "POST"])
@bp.route("/<int:partner_id>/persons/<int:person_id>", methods=["GET", "POST"])
def person_form(partner_id: int, person_id: int | None = None):
    """Create or edit a contact person (a page of its own, also without JavaScript)."""
    partner = load_partner(partner_id, edit=True)
    person = _person_of(partner, person_id) if person_id else None
    form = ContactPersonForm(obj=person)
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                services.save_contact_person(
                    current_user, partner, form.data, person, version=submitted_version(form)
                )
            except DomainError as exc:
                db.session.rollback()
                apply_errors(form, exc)
                status = 409 if isinstance(exc, StaleRecord) else 422
            else:
                return _after_contact_change(partner_id, "Contact person saved.")
        else:
            status = 422
        partner = load_partner(partner_id, edit=True)
        person = _person_of(partner, person_id) if person_id else None
    return render(
        "partners/person_form.html", partner=partner, person=person, form=form, status=status
    )


@bp.route("/<int:partner_id>/persons/<int:person_id>/delete", methods=["POST"])
def person_delete(partner_id: int, person_id: int):
    """Remove a contact person with their contact details."""
    partner = load_partner(partner_id, edit=True)
    services.delete_contact_person(current_user, partner, _person_of(partner, person_id))
    return _after_contact_change(partner_id, "Contact person removed.")


# --- merge ---------------------------------------------------------------------------------


@bp.route("/<int:partner_id>/merge", methods=["GET", "POST"])
def merge(partner_id: int):
    """Merge another partner into this one, choosing field by field which value stays."""
    survivor = load_partner(partner_id, edit=True)
    other_raw = request.values.get("other", "")
    other = None
    other_id = id_or_none(other_raw)
    if other_id is not None and other_id != survivor.id:
        other = queries.get_partner(other_id)
        if other is not None and not may(current_user, "partner.edit", other):
            abort(403)
    form = MergeForm()
    if other is None:
        candidates = queries.find_duplicates(
            name=survivor.name,
            emails=[d.value for d in survivor.details("email")],
            phones=[d.value for d in survivor.details("phone")],
            inn=survivor.inn,
            exclude_id=survivor.id,
        )
        if other_raw:
            flash("Choose a partner to merge from the list.", "warning")
        return render(
            "partners/merge.html",
            survivor=survivor,
            other=None,
            form=form,
            candidates=[c for c in candidates if may(current_user, "partner.edit", c.partner)],
        )
    if other.merged_into_id:
        flash(f"{other.name} has been merged already.", "warning")
        return redirect(url_for("partners.detail", partner_id=survivor.id))
    if request.method == "POST" and form.validate():
        choices = {k[len("pick_") :]: v for k, v in request.form.items() if k.startswith("pick_")}
        try:
            moved = services.merge_partners(current_user, survivor, other, choices)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(
                f"Merged: {', '.join(f'{k} {v}' for k, v in moved.items() if v) or 'no linked records'}.",
                "success",
            )
            return redirect(url_for("partners.detail", partner_id=survivor.id))
    return render(
        "partners/merge.html",
        survivor=survivor,
        other=other,
        form=form,
        preview=services.merge_preview(survivor, other),
    )
