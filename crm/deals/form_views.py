"""The deal form: create and edit a deal with its contact persons and participants (new from
scratch, from a partner, or from an interaction chain), and the fragments the form asks for
while it is filled in (more contact/participant rows, the stages of the chosen kind). The list
and the card are crm/deals/views.py."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from crm.core.errors import DomainError, PermissionDenied
from crm.core.params import id_or_none
from crm.core.policy import may
from crm.core.versioning import StaleRecord
from crm.deals import bp, queries, services
from crm.deals.forms import EMPTY_ROWS, DealForm, contacts_from, participants_from
from crm.deals.models import Deal
from crm.deals.views import load_deal
from crm.extensions import db
from crm.forms import submitted_version
from crm.htmx import render
from crm.interactions.form_support import place_errors
from crm.partners.models import Partner


def _source_interaction():
    """The interaction of `?from_interaction=`: its chain becomes the deal's (404 for a bad
    or unknown id, 403 for one the user may not see)."""
    raw = request.args.get("from_interaction")
    if raw in (None, ""):
        return None
    from crm.interactions.models import Interaction

    interaction_id = id_or_none(raw)
    interaction = db.session.get(Interaction, interaction_id) if interaction_id else None
    if interaction is None:
        abort(404)
    if not may(current_user, "interaction.view", interaction):
        abort(403)
    return interaction


def _chosen_partner(form: DealForm, deal: Deal | None) -> Partner | None:
    partner_id = id_or_none(form.partner_id.data)
    partner = db.session.get(Partner, partner_id) if partner_id else None
    if partner is None:
        return deal.partner if deal is not None else None
    if deal is not None and partner.id == deal.partner_id:
        return partner
    return partner if may(current_user, "partner.view", partner) else None


def _fill_choices(form: DealForm, deal: Deal | None, partner: Partner | None) -> None:
    from crm.interactions.form_support import partner_choices

    form.partner_id.choices = partner_choices(partner, _("— choose a partner —"))
    form.kind_id.choices = [SelectChoice("", _("— choose the kind —"))] + [
        SelectChoice(str(k.id), k.name) for k in queries.kinds(active_only=True)
    ]
    users = queries.assignable_users()
    current = deal.manager if deal is not None else current_user._get_current_object()
    if current is not None and current.id not in {u.id for u in users}:
        users.insert(0, current)
    form.manager_id.choices = [SelectChoice(str(u.id), u.display_name) for u in users]


def _form_data(form: DealForm, *, creating: bool) -> dict:
    data = {
        name: getattr(form, name).data or ""
        for name in ("partner_id", "title", "amount", "expected_close", "source", "description")
    }
    if creating:
        data["kind_id"] = form.kind_id.data or ""
        data["stage_id"] = request.form.get("stage_id", "")
    if may(current_user, "records.assign"):
        data["manager_id"] = form.manager_id.data or ""
    return data


def _rows(deal: Deal | None, kind: str) -> list[dict]:
    if request.method == "POST":
        rows = (
            contacts_from(request.form) if kind == "contacts" else participants_from(request.form)
        )
    elif deal is not None:
        rows = queries.contact_rows(deal) if kind == "contacts" else queries.participant_rows(deal)
    else:
        rows = []
    empty = (
        {"contact_person_id": "", "role_id": ""}
        if kind == "contacts"
        else {"user_id": "", "role_id": ""}
    )
    return rows + [dict(empty) for _n in range(EMPTY_ROWS)]


def _show_form(form: DealForm, deal: Deal | None, *, status=200, errors=None, source=None):
    partner = _chosen_partner(form, deal)
    _fill_choices(form, deal, partner)
    kinds = queries.kinds(active_only=True)
    return render(
        "deals/form.html",
        form=form,
        deal=deal,
        partner=partner,
        source=source,
        stage_groups=[(k, k.stages) for k in kinds if not k.is_process and k.stages],
        chosen_stage=request.form.get("stage_id", "") if request.method == "POST" else "",
        contacts=_rows(deal, "contacts"),
        participants=_rows(deal, "participants"),
        persons=partner.contact_persons if partner is not None else [],
        roles=queries.roles(),
        users=queries.assignable_users(),
        row_errors=errors or {},
        can_assign=may(current_user, "records.assign"),
        status=status,
    )


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Open a deal; `?partner_id=` prefills the partner, `?from_interaction=` makes every
    interaction of that one's chain about the new deal."""
    if not may(current_user, "deal.create"):
        abort(403)
    source = _source_interaction()
    form = DealForm()
    if request.method == "GET":
        partner_id = id_or_none(request.args.get("partner_id"))
        if source is not None and source.partner_id:
            partner_id = source.partner_id
        form.partner_id.data = str(partner_id or "")
        form.manager_id.data = str(current_user.id)
        if source is not None:
            form.title.data = source.title
        return _show_form(form, None, source=source)
    errors = {}
    if form.validate():
        data = _form_data(form, creating=True)
        people = {
            "contacts": contacts_from(request.form),
            "participants": participants_from(request.form),
        }
        try:
            if source is not None:
                deal = services.create_from_chain(current_user, source, data, **people)
            else:
                deal = services.create_deal(current_user, data, **people)
        except PermissionDenied:
            db.session.rollback()
            abort(403)
        except DomainError as exc:
            errors = place_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Deal %(deal)s is created.", deal=deal.label), "success")
            return redirect(url_for("deals.detail", deal_id=deal.id))
    db.session.rollback()
    return _show_form(form, None, status=422, errors=errors, source=source)


@bp.route("/<int:deal_id>/edit", methods=["GET", "POST"])
def update(deal_id: int):
    """Edit a deal (its responsible manager or an admin); a save from an older version is
    refused with what changed since."""
    deal = load_deal(deal_id, edit=True)
    if request.method == "GET":
        form = DealForm(obj=deal)
        form.partner_id.data = str(deal.partner_id)
        form.kind_id.data = str(deal.kind_id)
        form.manager_id.data = str(deal.manager_id or "")
        form.amount.data = format(deal.amount, "f") if deal.amount is not None else ""
        form.expected_close.data = deal.expected_close.isoformat() if deal.expected_close else ""
        form.version.data = deal.version
        return _show_form(form, deal)
    form = DealForm()
    errors, status = {}, 422
    if form.validate():
        try:
            services.update_deal(
                current_user,
                deal,
                _form_data(form, creating=False),
                contacts=contacts_from(request.form),
                participants=participants_from(request.form),
                version=submitted_version(form),
            )
        except PermissionDenied:
            db.session.rollback()
            abort(403)
        except DomainError as exc:
            errors = place_errors(form, exc)
            status = 409 if isinstance(exc, StaleRecord) else 422
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("deals.detail", deal_id=deal.id))
    db.session.rollback()
    return _show_form(form, load_deal(deal_id, edit=True), status=status, errors=errors)


@bp.route("/contact-rows")
def contact_rows():
    """The form's contact-person rows for the chosen partner (HTMX, on a partner change)."""
    partner_id = id_or_none(request.args.get("partner_id"))
    partner = db.session.get(Partner, partner_id) if partner_id else None
    if partner is not None and not may(current_user, "partner.view", partner):
        partner = None
    return render_template(
        "deals/_contacts.html",
        contacts=[{"contact_person_id": "", "role_id": ""} for _n in range(EMPTY_ROWS + 1)],
        persons=partner.contact_persons if partner is not None else [],
        roles=queries.roles(),
        row_errors={},
    )


@bp.route("/stage-options")
def stage_options():
    """The stage filter's <option>s for the chosen kind (HTMX, on a kind change)."""
    kind_id = id_or_none(request.args.get("kind"))
    return render_template(
        "deals/_stage_options.html", options=queries.stage_options(kind_id), selected=""
    )
