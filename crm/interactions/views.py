"""The interactions workplace: list, forms, detail with the thread, quick actions, files."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from crm.core.errors import DomainError, PermissionDenied
from crm.core.timeutil import parse_local, to_zone, user_zone, utcnow
from crm.extensions import db
from crm.forms import apply_errors
from crm.htmx import is_fragment_request, render
from crm.interactions import attachments, bp, queries, services, subjects
from crm.interactions.filters import GROUPS, InteractionFilter
from crm.interactions.forms import OUTCOMES, InteractionForm, LogForm, QuickForm
from crm.interactions.models import KINDS, STATUSES, Attachment, Interaction
from crm.partners import queries as partner_queries
from crm.partners.models import Partner

PARTNER_CHOICES = 50  # partners offered in a form's select before the user searches


def zone() -> str:
    return user_zone(current_user)


def local_input(value: datetime | None) -> str:
    """A UTC datetime as the value of a `datetime-local` input in the user's zone."""
    local = to_zone(value, zone())
    return local.strftime("%Y-%m-%dT%H:%M") if local else ""


def load_interaction(interaction_id: int, *, edit: bool = False) -> Interaction:
    i = queries.get_interaction(interaction_id)
    if i is None:
        abort(404)
    if not queries.can_view(current_user, i):
        abort(403)
    if edit and not queries.can_edit(current_user, i):
        abort(403)
    return i


# --- the list -----------------------------------------------------------------------------


def list_context(flt: InteractionFilter) -> dict:
    partner = db.session.get(Partner, flt.partner) if flt.partner else None
    page = queries.interaction_page(current_user, flt, zone())
    return {
        "flt": flt,
        "page": page,
        "kinds": KINDS,
        "statuses": STATUSES,
        "groups": GROUPS,
        "users": queries.assignable_users(),
        "partner": partner,
        "subject_labels": subjects.describe([(i.subject_type, i.subject_id) for i in page.items]),
        "quick": QuickForm(formdata=None),
        "now": utcnow(),
        "zone": zone(),
    }


@bp.route("/")
def index():
    """The workplace: filters, grouping, search; HTMX swaps the results and keeps the URL."""
    flt = InteractionFilter.from_args(request.args)
    return render("interactions/index.html", "interactions/_results.html", **list_context(flt))


@bp.app_template_filter("group_key")
def group_key(i: Interaction, group: str) -> tuple:
    """(key, heading) of the group an interaction falls in on the list."""
    if group == "partner":
        return i.partner_id, (i.partner.name if i.partner else "No partner")
    if group == "responsible":
        return i.responsible_id, i.responsible.display_name
    if group == "subject":
        key = (i.subject_type, i.subject_id, i.subject_text)
        return key, None  # the heading is looked up in subject_labels
    if group == "day":
        local = to_zone(i.starts_at, user_zone(current_user))
        return local.date(), local.strftime("%A, %d %B %Y")
    return None, None


# --- create / edit ------------------------------------------------------------------------


def _partner_choices(selected: Partner | None, blank: str = "— no partner —") -> list[SelectChoice]:
    stmt = select(Partner).where(Partner.merged_into_id.is_(None))
    visible = partner_queries.visibility_clause(current_user)
    if visible is not None:
        stmt = stmt.where(visible)
    q = (request.args.get("partner_q") or "").strip()[:100]
    if q:
        from crm.core.text import fold

        stmt = stmt.where(Partner.search_text.contains(fold(q), autoescape=True))
    partners = list(db.session.execute(
        stmt.order_by(Partner.name_norm).limit(PARTNER_CHOICES)).scalars())  # fmt: skip
    if selected is not None and selected not in partners:
        partners.insert(0, selected)
    return [SelectChoice("", blank)] + [
        SelectChoice(str(p.id), f"{p.name} ({p.code})") for p in partners
    ]


def _person_choices(partner: Partner | None) -> list[SelectChoice]:
    persons = partner.contact_persons if partner is not None else []
    return [SelectChoice("", "—")] + [
        SelectChoice(str(p.id), p.name + (f", {p.position}" if p.position else "")) for p in persons
    ]


def _subject_choices() -> list[SelectChoice]:
    return [SelectChoice("", "Free text")] + [
        SelectChoice(t.key, t.title) for t in subjects.subject_types()
    ]


def _fill_choices(form, partner: Partner | None) -> None:
    form.partner_id.choices = _partner_choices(partner)
    form.contact_person_id.choices = _person_choices(partner)
    if hasattr(form, "responsible_id"):
        form.responsible_id.choices = [
            SelectChoice(str(u.id), u.display_name) for u in queries.assignable_users()
        ]
        form.subject_type.choices = _subject_choices()


def _chosen_partner(form) -> Partner | None:
    raw = form.partner_id.data or request.args.get("partner_id") or ""
    partner = db.session.get(Partner, int(raw)) if str(raw).isdigit() else None
    if partner is not None and not partner_queries.can_view(current_user, partner):
        return None
    return partner


def _datetimes(form, names: tuple[str, ...]) -> dict:
    """Parse the form's local date-times; a bad one becomes a field error."""
    values = {}
    for name in names:
        try:
            values[name] = parse_local(getattr(form, name).data, zone())
        except ValueError:
            getattr(form, name).errors = ["Enter a date and time (YYYY-MM-DD HH:MM)."]
            values[name] = False
    return values


def _participants_from(form_data) -> list[dict]:
    rows = []
    for n in range(20):
        prefix = f"participants-{n}-"
        row = {key: form_data.get(prefix + key, "") for key in
               ("user_id", "contact_person_id", "name", "note")}  # fmt: skip
        if any(row.values()):
            rows.append(row)
    return rows


def _form_data(form: InteractionForm) -> dict | None:
    data = {name: getattr(form, name).data for name in (
        "kind", "status", "title", "responsible_id", "partner_id", "contact_person_id",
        "contact_text", "direction", "address", "duration_minutes", "outcome", "subject_type",
        "subject_id", "subject_text", "description", "parent_id")}  # fmt: skip
    data["remind_minutes"] = form.remind_minutes.data or None
    if form.duration_minutes.errors:
        return None
    times = _datetimes(form, ("starts_at", "follow_up_at"))
    if False in times.values():
        return None
    data.update(times)
    return data


def _new_form() -> InteractionForm:
    """A blank form, prefilled from the query string (kind, partner, reply to…)."""
    form = InteractionForm()
    if request.method == "POST":
        return form
    args = request.args
    kind = args.get("kind") if args.get("kind") in KINDS else "call"
    form.kind.data = kind
    form.status.data = "planned" if kind in ("meeting", "planned") else "completed"
    form.responsible_id.data = str(current_user.id)
    form.partner_id.data = args.get("partner_id", "")
    now = to_zone(utcnow(), zone())
    start = now.replace(second=0, microsecond=0)
    if kind in ("meeting", "planned"):
        start = (now + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
        form.duration_minutes.data = 60
    form.starts_at.data = start.strftime("%Y-%m-%dT%H:%M")
    form.direction.data = "outgoing"
    parent_id = args.get("parent_id", "")
    parent = db.session.get(Interaction, int(parent_id)) if parent_id.isdigit() else None
    if parent is not None and queries.can_view(current_user, parent):
        form.parent_id.data = str(parent.id)
        form.partner_id.data = str(parent.partner_id or "")
        form.contact_person_id.data = str(parent.contact_person_id or "")
        form.contact_text.data = parent.contact_text
        form.address.data = parent.address
        form.subject_type.data, form.subject_text.data = parent.subject_type, parent.subject_text
        form.subject_id.data = str(parent.subject_id or "")
        title = parent.title
        if args.get("reply") and title and not title.lower().startswith("re:"):
            title = f"Re: {title}"
        form.title.data = title
        if args.get("reply"):
            form.kind.data = parent.kind
            form.direction.data = "incoming" if parent.direction == "outgoing" else "outgoing"
    return form


def _apply_errors(form, exc: DomainError) -> dict:
    """Field errors next to their fields; returns those of the non-WTForms parts
    (participants, attachments) for the template."""
    extra = {k: v for k, v in exc.field_errors.items() if not hasattr(form, k)}
    placed = {k: v for k, v in exc.field_errors.items() if hasattr(form, k)}
    apply_errors(form, DomainError(exc.message, placed))
    return extra


def _show_form(form, interaction, status=200, parent=None, extra_errors=None):
    partner = _chosen_partner(form) if interaction is None else (
        _chosen_partner(form) or interaction.partner)  # fmt: skip
    _fill_choices(form, partner)
    parent_id = form.parent_id.data
    if parent is None and str(parent_id or "").isdigit():
        parent = db.session.get(Interaction, int(parent_id))
    return render("interactions/form.html", form=form, interaction=interaction, partner=partner,
                  parent=parent, participants=_participant_rows(interaction), zone=zone(),
                  outcomes=OUTCOMES, users=queries.assignable_users(),
                  participant_errors=(extra_errors or {}).get("participants", []),
                  attachment_errors=(extra_errors or {}).get("attachments", []),
                  status=status)  # fmt: skip


def _participant_rows(interaction) -> list[dict]:
    if request.method == "POST":
        rows = _participants_from(request.form)
    elif interaction is not None:
        rows = [{"user_id": str(p.user_id or ""), "contact_person_id": str(p.contact_person_id or ""),
                 "name": p.name, "note": p.note} for p in interaction.participants]  # fmt: skip
    else:
        rows = []
    return rows + [{"user_id": "", "contact_person_id": "", "name": "", "note": ""}] * 2


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Record or plan an interaction; `?parent_id=` makes it a reply/follow-up."""
    if not services.can_create(current_user):
        abort(403)
    form = _new_form()
    if request.method == "POST":
        status, extra = 422, {}
        data = _form_data(form) if form.validate() else None
        if data is not None:
            try:
                i = services.create_interaction(current_user, data,
                                                _participants_from(request.form))  # fmt: skip
                attachments.add_attachments(current_user, i, request.files.getlist("attachments"))
            except PermissionDenied:
                abort(403)
            except DomainError as exc:
                extra = _apply_errors(form, exc)
            else:
                db.session.commit()
                flash(f"{i.kind_title} is saved.", "success")
                return redirect(url_for("interactions.detail", interaction_id=i.id))
        db.session.rollback()
        return _show_form(form, None, status, extra_errors=extra)
    return _show_form(form, None)


@bp.route("/<int:interaction_id>/edit", methods=["GET", "POST"])
def update(interaction_id: int):
    """Edit an interaction (its responsible user or an admin)."""
    i = load_interaction(interaction_id, edit=True)
    form = InteractionForm(obj=i) if request.method == "GET" else InteractionForm()
    if request.method == "GET":
        for name in ("responsible_id", "partner_id", "contact_person_id", "subject_id",
                     "parent_id"):  # fmt: skip
            value = getattr(i, name)
            getattr(form, name).data = "" if value is None else str(value)
        form.remind_minutes.data = "" if i.remind_minutes is None else str(i.remind_minutes)
        form.starts_at.data = local_input(i.starts_at)
        form.follow_up_at.data = local_input(i.follow_up_at)
        return _show_form(form, i)
    data = _form_data(form) if form.validate() else None
    extra = {}
    if data is not None:
        try:
            services.update_interaction(current_user, i, data, _participants_from(request.form))
            attachments.add_attachments(current_user, i, request.files.getlist("attachments"))
        except DomainError as exc:
            extra = _apply_errors(form, exc)
        else:
            db.session.commit()
            flash("Changes saved.", "success")
            return redirect(url_for("interactions.detail", interaction_id=i.id))
    db.session.rollback()
    return _show_form(form, load_interaction(interaction_id, edit=True), 422, extra_errors=extra)


@bp.route("/<int:interaction_id>")
def detail(interaction_id: int):
    """One interaction with its participants, files and the whole thread."""
    i = load_interaction(interaction_id)
    labels = subjects.describe([(i.subject_type, i.subject_id)])
    return render("interactions/detail.html", i=i, thread=queries.thread(i, current_user),
                  can_edit=queries.can_edit(current_user, i), quick=QuickForm(formdata=None),
                  subject_labels=labels, now=utcnow())  # fmt: skip


@bp.route("/<int:interaction_id>/delete", methods=["POST"])
def delete(interaction_id: int):
    """Delete an interaction; its replies stay and start threads of their own."""
    i = load_interaction(interaction_id, edit=True)
    files = [attachments.path_of(a) for a in i.attachments]
    services.delete_interaction(current_user, i)
    db.session.commit()
    for path in files:
        attachments.unlink_quietly(path)
    flash("The interaction is deleted.", "success")
    return redirect(url_for("interactions.index"))


# --- quick actions -------------------------------------------------------------------------


def _quick_response(i: Interaction, message: str):
    """The row again for the list (HTMX), else back where the user came from."""
    if is_fragment_request():
        labels = subjects.describe([(i.subject_type, i.subject_id)])
        return render("interactions/_row.html", i=i, quick=QuickForm(formdata=None),
                      subject_labels=labels, now=utcnow(), message=message)  # fmt: skip
    flash(message, "success")
    back = request.form.get("next") or ""
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("interactions.detail", interaction_id=i.id)
    return redirect(back)


def _quick_error(i: Interaction, message: str):
    if is_fragment_request():
        labels = subjects.describe([(i.subject_type, i.subject_id)])
        return render("interactions/_row.html", i=i, quick=QuickForm(formdata=None),
                      subject_labels=labels, now=utcnow(), error=message,
                      status=422)  # fmt: skip
    flash(message, "danger")
    return redirect(url_for("interactions.detail", interaction_id=i.id))


@bp.route("/<int:interaction_id>/complete", methods=["POST"])
def complete(interaction_id: int):
    """Mark completed (with an optional outcome)."""
    i = load_interaction(interaction_id, edit=True)
    services.complete(current_user, i, request.form.get("outcome", ""))
    db.session.commit()
    return _quick_response(i, "Completed.")


@bp.route("/<int:interaction_id>/defer", methods=["POST"])
def defer(interaction_id: int):
    """Put off to a date and time (the user's zone)."""
    i = load_interaction(interaction_id, edit=True)
    try:
        until = parse_local(request.form.get("until"), zone())
        if until is None:
            raise ValueError
        services.defer(current_user, i, until)
    except (ValueError, DomainError):
        db.session.rollback()
        return _quick_error(load_interaction(interaction_id), "Choose a date and time to defer to.")
    db.session.commit()
    return _quick_response(i, f"Deferred to {to_zone(until, zone()):%d.%m.%Y %H:%M}.")


@bp.route("/<int:interaction_id>/processed", methods=["POST"])
def processed(interaction_id: int):
    """Nothing more to do: clear the follow-up (and complete it if still open)."""
    i = load_interaction(interaction_id, edit=True)
    services.mark_processed(current_user, i)
    db.session.commit()
    return _quick_response(i, "Marked as processed.")


@bp.route("/<int:interaction_id>/cancel", methods=["POST"])
def cancel(interaction_id: int):
    i = load_interaction(interaction_id, edit=True)
    services.cancel(current_user, i)
    db.session.commit()
    return _quick_response(i, "Cancelled.")


# --- the phone form -------------------------------------------------------------------------


@bp.route("/log", methods=["GET", "POST"])
def log():
    """One screen on a phone: log a call or meeting's outcome and plan the next step."""
    if not services.can_create(current_user):
        abort(403)
    form = LogForm()
    status = 200
    if request.method == "GET":
        now = to_zone(utcnow(), zone())
        form.starts_at.data = now.strftime("%Y-%m-%dT%H:%M")
        nxt = (now + timedelta(days=1)).replace(hour=10, minute=0)
        form.next_at.data = nxt.strftime("%Y-%m-%dT%H:%M")
        form.partner_id.data = request.args.get("partner_id", "")
    elif form.validate():
        status = 422
        times = _datetimes(form, ("starts_at", "next_at"))
        if False not in times.values() and not form.duration_minutes.errors:
            logged = {k: getattr(form, k).data for k in (
                "kind", "direction", "partner_id", "contact_person_id", "contact_text",
                "address", "duration_minutes", "outcome", "description")}  # fmt: skip
            logged["starts_at"] = times["starts_at"]
            logged["remind_minutes"] = None
            if logged["kind"] != "call":
                logged["direction"] = ""
            next_step = None
            if form.next_kind.data:
                next_step = {"kind": form.next_kind.data, "title": form.next_title.data,
                             "starts_at": times["next_at"], "direction": "outgoing",
                             "duration_minutes": 30 if form.next_kind.data == "meeting" else 0}  # fmt: skip
                if times["next_at"] is None:
                    form.next_at.errors = ["When is the next step?"]
            if not form.next_at.errors:
                try:
                    done, nxt = services.log_and_plan(current_user, logged, next_step)
                except DomainError as exc:
                    _log_errors(form, exc)
                else:
                    db.session.commit()
                    flash(f"{done.kind_title} logged" +
                          (f"; next step planned for {to_zone(nxt.starts_at, zone()):%d.%m %H:%M}."
                           if nxt else "."), "success")  # fmt: skip
                    return redirect(url_for("interactions.log",
                                            partner_id=done.partner_id or ""))  # fmt: skip
        db.session.rollback()
    else:
        status = 422
    partner = _chosen_partner(form)
    _fill_choices(form, partner)
    return render("interactions/log.html", form=form, partner=partner, outcomes=OUTCOMES,
                  zone=zone(), status=status)  # fmt: skip


def _log_errors(form: LogForm, exc: DomainError) -> None:
    """Errors of the next step's fields appear on the next-step inputs."""
    mapped = {"starts_at": "starts_at", "title": "next_title"}
    for name, messages in exc.field_errors.items():
        field = getattr(form, mapped.get(name, name), None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)
        else:
            form.form_errors.extend(messages)
    if not exc.field_errors:
        form.form_errors.append(exc.message)


# --- form helpers (HTMX) --------------------------------------------------------------------


@bp.route("/partner-options")
def partner_options():
    """<option>s of the partners matching `partner_q`, for the form's partner select."""
    blank = (request.args.get("blank") or "— no partner —")[:40]
    return render_template("interactions/_partner_options.html",
                           choices=_partner_choices(None, blank), selected="")  # fmt: skip


@bp.route("/contact-options")
def contact_options():
    """The contact persons and phone/e-mail links of the chosen partner."""
    raw = request.args.get("partner_id", "")
    partner = db.session.get(Partner, int(raw)) if raw.isdigit() else None
    if partner is not None and not partner_queries.can_view(current_user, partner):
        partner = None
    return render_template("interactions/_contact_block.html", partner=partner,
                           person_choices=_person_choices(partner), selected="",
                           field_name="contact_person_id")  # fmt: skip


# --- attachments ----------------------------------------------------------------------------


def _attachment(i: Interaction, attachment_id: int) -> Attachment:
    att = db.session.get(Attachment, attachment_id)
    if att is None or att.interaction_id != i.id:
        abort(404)
    return att


@bp.route("/<int:interaction_id>/files/<int:attachment_id>")
def attachment(interaction_id: int, attachment_id: int):
    """Download a file: only for those who may see the interaction."""
    i = load_interaction(interaction_id)
    att = _attachment(i, attachment_id)
    path = attachments.path_of(att)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype="application/octet-stream", as_attachment=True,
                     download_name=att.filename, max_age=0)  # fmt: skip


@bp.route("/<int:interaction_id>/files/<int:attachment_id>/delete", methods=["POST"])
def attachment_delete(interaction_id: int, attachment_id: int):
    i = load_interaction(interaction_id, edit=True)
    att = _attachment(i, attachment_id)
    path = attachments.delete_attachment(current_user, i, att)
    db.session.commit()
    attachments.unlink_quietly(path)
    flash("The file is removed.", "success")
    return redirect(url_for("interactions.detail", interaction_id=i.id))


# --- the partner card's tab -------------------------------------------------------------------


def partner_tab(partner) -> str:
    """The partner's interactions in time order, filtered by kind and status."""
    kind = request.args.get("kind", "")
    status = request.args.get("status", "")
    kind = kind if kind in KINDS else ""
    status = status if status in STATUSES else ""
    items, more = queries.partner_history(current_user, partner.id, kind, status)
    return render_template("interactions/_tab.html", partner=partner, items=items, more=more,
                           kind=kind, status=status, kinds=KINDS, statuses=STATUSES,
                           quick=QuickForm(formdata=None), now=utcnow(),
                           subject_labels=subjects.describe(
                               [(i.subject_type, i.subject_id) for i in items]),
                           can_create=services.can_create(current_user))  # fmt: skip


@bp.app_template_global("can_edit_interaction")
def can_edit_interaction(i: Interaction) -> bool:
    return queries.can_edit(current_user, i)


@bp.app_template_global("local_input")
def _local_input(value) -> str:
    return local_input(value)


@bp.app_template_global("defer_default")
def defer_default() -> str:
    """Tomorrow 09:00 in the user's zone: the usual answer to "defer to when?"."""
    tomorrow = to_zone(utcnow(), zone()) + timedelta(days=1)
    return tomorrow.strftime("%Y-%m-%dT09:00")
