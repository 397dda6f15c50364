"""The interactions workplace: list, forms, detail with the thread, quick actions, files."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core.errors import DomainError, PermissionDenied
from crm.core.formats import fmt_datetime
from crm.core.params import id_or_none
from crm.core.policy import load_or_403, may
from crm.core.timeutil import parse_local, to_zone, user_zone, utcnow
from crm.core.urls import safe_next
from crm.core.versioning import StaleRecord
from crm.extensions import db
from crm.forms import submitted_version
from crm.htmx import is_fragment_request, render
from crm.interactions import attachments, bp, form_support, queries, services, subjects
from crm.interactions.filters import InteractionFilter
from crm.interactions.form_support import zone
from crm.interactions.forms import OUTCOMES, InteractionForm, LogForm, QuickForm
from crm.interactions.labels import day_heading, input_value
from crm.interactions.models import KINDS, STATUSES, Attachment, Interaction
from crm.partners.models import Partner


def load_interaction(interaction_id: int, *, edit: bool = False) -> Interaction:
    actions = ("interaction.view", "interaction.edit") if edit else ("interaction.view",)
    return load_or_403(queries.get_interaction, interaction_id, *actions)


# --- the list -----------------------------------------------------------------------------


def list_context(flt: InteractionFilter) -> dict:
    partner = db.session.get(Partner, flt.partner) if flt.partner else None
    if partner is not None and not may(current_user, "partner.view", partner):
        partner = None  # the filter still applies; the label names no one he may not see
    now = utcnow()
    page = queries.interaction_page(current_user, flt, zone(), now=now)
    # The fold of older unprocessed items sits under the first page of the recent ones.
    older = queries.older_unprocessed(current_user, flt, zone(), now) if page.page == 1 else None
    flt["responsible"].options = [(u.id, u.display_name) for u in queries.assignable_users()]
    items = page.items + (older.items if older else [])
    return {
        "flt": flt,
        "page": page,
        "older": older,
        "recent_days": queries.RECENT_DAYS,
        "kinds": KINDS,
        "partner": partner,
        "subject_labels": subjects.describe(
            [(i.subject_type, i.subject_id) for i in items], current_user
        ),
        "quick": QuickForm(formdata=None),
        "now": now,
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
        return i.partner_id, (i.partner.name if i.partner else _("No partner"))
    if group == "responsible":
        return i.responsible_id, i.responsible.display_name
    if group == "subject":
        key = (i.subject_type, i.subject_id, i.subject_text)
        return key, None  # the heading is looked up in subject_labels
    if group == "day":
        day = to_zone(i.starts_at, user_zone(current_user)).date()
        return day, day_heading(day)
    return None, None


# --- create / edit ------------------------------------------------------------------------


def _show_form(form, interaction, status=200, parent=None, extra_errors=None):
    partner = (
        form_support.chosen_partner(form)
        if interaction is None
        else (form_support.chosen_partner(form) or interaction.partner)
    )
    form_support.fill_choices(form, partner)
    parent_id = form.parent_id.data
    if parent is None and id_or_none(parent_id):
        parent = db.session.get(Interaction, id_or_none(parent_id))
        if parent is not None and not may(current_user, "interaction.view", parent):
            parent = None  # a posted id of someone else's item: its title is not shown
    return render(
        "interactions/form.html",
        form=form,
        interaction=interaction,
        partner=partner,
        parent=parent,
        participants=form_support.participant_rows(interaction),
        zone=zone(),
        outcomes=OUTCOMES,
        users=queries.assignable_users(),
        participant_errors=(extra_errors or {}).get("participants", []),
        attachment_errors=(extra_errors or {}).get("attachments", []),
        status=status,
    )


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Record or plan an interaction; `?parent_id=` makes it a reply/follow-up."""
    if not may(current_user, "interaction.create"):
        abort(403)
    form = form_support.new_form()
    if request.method == "POST":
        status, extra = 422, {}
        data = form_support.form_data(form) if form.validate() else None
        if data is not None:
            try:
                i = services.create_interaction(
                    current_user, data, form_support.participants_from(request.form)
                )
                attachments.add_attachments(current_user, i, request.files.getlist("attachments"))
            except PermissionDenied:
                abort(403)
            except DomainError as exc:
                extra = form_support.place_errors(form, exc)
            else:
                db.session.commit()
                flash(_("%(kind)s is saved.", kind=i.kind_title), "success")
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
        for name in (
            "responsible_id",
            "partner_id",
            "contact_person_id",
            "subject_id",
            "parent_id",
        ):
            value = getattr(i, name)
            getattr(form, name).data = "" if value is None else str(value)
        form.remind_minutes.data = "" if i.remind_minutes is None else str(i.remind_minutes)
        form.starts_at.data = form_support.local_input(i.starts_at)
        form.follow_up_at.data = form_support.local_input(i.follow_up_at)
        return _show_form(form, i)
    data = form_support.form_data(form) if form.validate() else None
    extra, status = {}, 422
    if data is not None:
        try:
            services.update_interaction(
                current_user,
                i,
                data,
                form_support.participants_from(request.form),
                version=submitted_version(form),
            )
            attachments.add_attachments(current_user, i, request.files.getlist("attachments"))
        except DomainError as exc:
            extra = form_support.place_errors(form, exc)
            status = 409 if isinstance(exc, StaleRecord) else 422
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("interactions.detail", interaction_id=i.id))
    db.session.rollback()
    return _show_form(form, load_interaction(interaction_id, edit=True), status, extra_errors=extra)


@bp.route("/<int:interaction_id>")
def detail(interaction_id: int):
    """One interaction with its participants, files and the whole thread."""
    i = load_interaction(interaction_id)
    labels = subjects.describe([(i.subject_type, i.subject_id)], current_user)
    return render(
        "interactions/detail.html",
        i=i,
        thread=queries.thread(i, current_user),
        can_edit=may(current_user, "interaction.edit", i),
        quick=QuickForm(formdata=None),
        subject_labels=labels,
        create_links=subjects.create_links(current_user, i),
        now=utcnow(),
    )


@bp.route("/<int:interaction_id>/delete", methods=["POST"])
def delete(interaction_id: int):
    """Delete an interaction; its replies stay and start threads of their own."""
    i = load_interaction(interaction_id, edit=True)
    files = [attachments.path_of(a) for a in i.attachments]
    services.delete_interaction(current_user, i)
    db.session.commit()
    for path in files:
        attachments.unlink_quietly(path)
    flash(_("The interaction is deleted."), "success")
    return redirect(url_for("interactions.index"))


# --- quick actions -------------------------------------------------------------------------


def _row(i: Interaction, **context):
    """The interaction's list row (an HTMX swap) with a message or an error."""
    labels = subjects.describe([(i.subject_type, i.subject_id)], current_user)
    quick = QuickForm(formdata=None)
    # On the interaction's own page the heading is its title: the row leaves it out.
    hide_title = request.form.get("hide_title") == "1"
    context.update(i=i, quick=quick, subject_labels=labels, now=utcnow(), hide_title=hide_title)
    return render("interactions/_row.html", **context)


def _quick_response(i: Interaction, message: str):
    """The row again for the list (HTMX), else back where the user came from."""
    if is_fragment_request():
        return _row(i, message=message)
    flash(message, "success")
    back = url_for("interactions.detail", interaction_id=i.id)
    return redirect(safe_next(request.form.get("next"), back))


def _quick_error(i: Interaction, message: str):
    if is_fragment_request():
        return _row(i, error=message, status=422)
    flash(message, "danger")
    return redirect(url_for("interactions.detail", interaction_id=i.id))


@bp.route("/<int:interaction_id>/complete", methods=["POST"])
def complete(interaction_id: int):
    """Mark completed (with an optional outcome)."""
    i = load_interaction(interaction_id, edit=True)
    services.complete(current_user, i, request.form.get("outcome", ""))
    db.session.commit()
    return _quick_response(i, _("Completed."))


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
        return _quick_error(
            load_interaction(interaction_id), _("Choose a date and time to defer to.")
        )
    db.session.commit()
    return _quick_response(i, _("Deferred to %(when)s.", when=fmt_datetime(until)))


@bp.route("/<int:interaction_id>/processed", methods=["POST"])
def processed(interaction_id: int):
    """Nothing more to do: clear the follow-up (and complete it if still open)."""
    i = load_interaction(interaction_id, edit=True)
    services.mark_processed(current_user, i)
    db.session.commit()
    return _quick_response(i, _("Marked as processed."))


@bp.route("/<int:interaction_id>/cancel", methods=["POST"])
def cancel(interaction_id: int):
    i = load_interaction(interaction_id, edit=True)
    services.cancel(current_user, i)
    db.session.commit()
    return _quick_response(i, _("Cancelled."))


# --- the phone form -------------------------------------------------------------------------


@bp.route("/log", methods=["GET", "POST"])
def log():
    """One screen on a phone: log a call or meeting's outcome and plan the next step."""
    if not may(current_user, "interaction.create"):
        abort(403)
    form = LogForm()
    status = 200
    if request.method == "GET":
        now = to_zone(utcnow(), zone())
        form.starts_at.data = input_value(now)
        nxt = (now + timedelta(days=1)).replace(hour=10, minute=0)
        form.next_at.data = input_value(nxt)
        form.partner_id.data = request.args.get("partner_id", "")
    elif form.validate():
        status = 422
        times = form_support.datetimes(form, ("starts_at", "next_at"))
        if False not in times.values() and not form.duration_minutes.errors:
            logged = {
                k: getattr(form, k).data
                for k in (
                    "kind",
                    "direction",
                    "partner_id",
                    "contact_person_id",
                    "contact_text",
                    "address",
                    "duration_minutes",
                    "outcome",
                    "description",
                )
            }
            logged["starts_at"] = times["starts_at"]
            logged["remind_minutes"] = None
            if logged["kind"] != "call":
                logged["direction"] = ""
            next_step = None
            if form.next_kind.data:
                next_step = {
                    "kind": form.next_kind.data,
                    "title": form.next_title.data,
                    "starts_at": times["next_at"],
                    "direction": "outgoing",
                    "duration_minutes": 30 if form.next_kind.data == "meeting" else 0,
                }
                if times["next_at"] is None:
                    form.next_at.errors = [_("When is the next step?")]
            if not form.next_at.errors:
                try:
                    done, nxt = services.log_and_plan(current_user, logged, next_step)
                except DomainError as exc:
                    form_support.log_errors(form, exc)
                else:
                    db.session.commit()
                    if nxt is None:
                        message = _("%(kind)s logged.", kind=done.kind_title)
                    else:
                        message = _(
                            "%(kind)s logged; next step planned for %(when)s.",
                            kind=done.kind_title,
                            when=fmt_datetime(nxt.starts_at, kind="short_datetime"),
                        )
                    flash(message, "success")
                    return redirect(url_for("interactions.log", partner_id=done.partner_id or ""))
        db.session.rollback()
    else:
        status = 422
    partner = form_support.chosen_partner(form)
    form_support.fill_choices(form, partner)
    return render(
        "interactions/log.html",
        form=form,
        partner=partner,
        outcomes=OUTCOMES,
        zone=zone(),
        status=status,
    )


# --- form helpers (HTMX) --------------------------------------------------------------------


@bp.route("/partner-options")
def partner_options():
    """<option>s of the partners matching `partner_q`, for the form's partner select."""
    blank = (request.args.get("blank") or _("— no partner —"))[:40]
    return render_template(
        "interactions/_partner_options.html",
        choices=form_support.partner_choices(None, blank),
        selected="",
    )


@bp.route("/contact-options")
def contact_options():
    """The contact persons and phone/e-mail links of the chosen partner."""
    partner_id = id_or_none(request.args.get("partner_id"))
    partner = db.session.get(Partner, partner_id) if partner_id else None
    if partner is not None and not may(current_user, "partner.view", partner):
        partner = None
    return render_template(
        "interactions/_contact_block.html",
        partner=partner,
        person_choices=form_support.person_choices(partner),
        selected="",
        field_name="contact_person_id",
    )


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
    return send_file(
        path,
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=att.filename,
        max_age=0,
    )


@bp.route("/<int:interaction_id>/files/<int:attachment_id>/delete", methods=["POST"])
def attachment_delete(interaction_id: int, attachment_id: int):
    i = load_interaction(interaction_id, edit=True)
    att = _attachment(i, attachment_id)
    path = attachments.delete_attachment(current_user, i, att)
    db.session.commit()
    attachments.unlink_quietly(path)
    flash(_("The file is removed."), "success")
    return redirect(url_for("interactions.detail", interaction_id=i.id))


# --- the partner card's tab -------------------------------------------------------------------


def partner_tab(partner) -> str:
    """The partner's interactions in time order, filtered by kind and status."""
    kind = request.args.get("kind", "")
    status = request.args.get("status", "")
    kind = kind if kind in KINDS else ""
    status = status if status in STATUSES else ""
    items, more = queries.partner_history(current_user, partner.id, kind, status)
    return render_template(
        "interactions/_tab.html",
        partner=partner,
        items=items,
        more=more,
        kind=kind,
        status=status,
        kinds=KINDS,
        statuses=STATUSES,
        quick=QuickForm(formdata=None),
        now=utcnow(),
        subject_labels=subjects.describe(
            [(i.subject_type, i.subject_id) for i in items], current_user
        ),
        can_create=may(current_user, "interaction.create"),
    )


@bp.app_template_global("local_input")
def _local_input(value) -> str:
    return form_support.local_input(value)


@bp.app_template_global("defer_default")
def defer_default() -> str:
    """Tomorrow 09:00 in the user's zone: the usual answer to "defer to when?"."""
    tomorrow = to_zone(utcnow(), zone()) + timedelta(days=1)
    return input_value(tomorrow.replace(hour=9, minute=0))
