"""The mailing form: a new draft and a draft's changes (name, channel, template, group,
recipient list, partners added by hand, tracking, time), with the preview of whom the values
typed so far would reach. The list, the card and the moves of a mailing's state are in
crm.messaging.views."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from crm.core.errors import DomainError
from crm.core.params import BadValue, parse_id
from crm.core.policy import load_or_403, requires
from crm.core.timeutil import parse_local, to_zone, user_zone
from crm.extensions import db
from crm.forms import apply_errors, submitted_version
from crm.htmx import render
from crm.messaging import bp, queries, services
from crm.messaging.forms import MailingForm, ScopePicker
from crm.messaging.labels import CHANNEL_TITLES
from crm.messaging.mailing_labels import PAGE_LABELS, group_kind_title
from crm.messaging.models import Mailing, MailingGroup, MessageTemplate


def _zone() -> str:
    return user_zone(current_user)


def _local_input(value) -> str:
    """A UTC time as a `datetime-local` value in the user's zone (a machine format)."""
    local = to_zone(value, _zone())
    return local.replace(tzinfo=None).isoformat(timespec="minutes") if local else ""


def _template_choices() -> list[tuple[str, list[tuple[int, str]]]]:
    """The templates by channel (the form's select groups them)."""
    rows = db.session.execute(
        select(MessageTemplate.id, MessageTemplate.name, MessageTemplate.channel).order_by(
            MessageTemplate.name, MessageTemplate.id
        )
    ).all()
    return [
        (str(title), [(tid, name) for tid, name, ch in rows if ch == channel])
        for channel, title in CHANNEL_TITLES.items()
    ]


def _group_choices(mailing: Mailing | None) -> list[SelectChoice]:
    """The active groups (and the mailing's own, should it have been switched off since)."""
    stmt = select(MailingGroup).order_by(MailingGroup.name)
    groups = [
        g
        for g in db.session.execute(stmt).scalars()
        if g.is_active or (mailing is not None and g.id == mailing.group_id)
    ]
    return [SelectChoice("", _("— choose —"))] + [
        SelectChoice(str(g.id), f"{g.name} ({group_kind_title(g.kind)})") for g in groups
    ]


def _prepare(form: MailingForm, mailing: Mailing | None) -> None:
    form.group_id.choices = _group_choices(mailing)
    # Drawn by the template with optgroups; kept here for the field's own value.
    form.template_id.choices = [SelectChoice("", "")] + [
        SelectChoice(str(tid), name) for _title, rows in _template_choices() for tid, name in rows
    ]


def _fill(form: MailingForm, mailing: Mailing) -> None:
    """The form opened on a saved draft."""
    form.name.data = mailing.name
    form.channel.data = mailing.channel
    form.template_id.data = str(mailing.template_id or "")
    form.group_id.data = str(mailing.group_id or "")
    form.tracking.data = mailing.tracking
    form.when.data = "at" if mailing.scheduled_at else "now"
    form.send_at.data = _local_input(mailing.scheduled_at)
    form.version.data = mailing.version


def _picker(mailing: Mailing | None = None) -> ScopePicker:
    """The recipient-list pickers: as posted, else as the mailing has them."""
    if request.method == "POST":
        return ScopePicker(request.form)
    if mailing is not None and mailing.scope_key:
        return ScopePicker({mailing.scope_key: mailing.scope_value})
    return ScopePicker({})


def _id(field) -> int | None | bool:
    """The id a select posted: None for none, False (with an error) for a malformed one."""
    raw = (field.data or "").strip()
    if not raw:
        return None
    try:
        return parse_id(raw)
    except BadValue:
        field.errors = [*field.errors, _("Choose from the list.")]
        return False


def _read(form: MailingForm, picker: ScopePicker, scope_errors: list) -> services.MailingData:
    """The posted values as a MailingData; what cannot be read goes next to its field (the
    caller checks `form.errors` and `scope_errors`)."""
    template_id, group_id = _id(form.template_id), _id(form.group_id)
    at = None
    if form.when.data == "at":
        try:
            at = parse_local(form.send_at.data, _zone())
        except BadValue as exc:
            form.send_at.errors = [*form.send_at.errors, f"{exc}."]
        else:
            if at is None:
                form.send_at.errors = [*form.send_at.errors, _("Enter a date and time.")]
    scope_errors.extend(picker.problems)
    chosen = picker.chosen()
    if len(chosen) > 1:
        scope_errors.append(_("Choose one recipient list."))
    key, value = chosen[0] if chosen else ("", "")
    return services.MailingData(
        name=form.name.data or "",
        channel=form.channel.data if form.channel.data in CHANNEL_TITLES else "",
        template_id=template_id or None,
        group_id=group_id or None,
        scope_key=key,
        scope_value=value,
        tracking=bool(form.tracking.data),
        scheduled_at=at,
    )


def _removed_ids() -> list[int]:
    """The partners added by hand that the form's check boxes remove (malformed ids ignored:
    they name nobody)."""
    ids = []
    for raw in request.form.getlist("remove_partner")[: services.MAX_CODES]:
        try:
            ids.append(parse_id(raw))
        except BadValue:
            continue
    return ids


def _show(form, mailing, picker, *, status=200, preview=None, scope_errors=()):
    picked, picked_total = (
        queries.hand_picked(mailing, current_user) if mailing is not None else ([], 0)
    )
    return render(
        "messaging/form.html",
        # HTMX asks for the preview alone; the form itself is always drawn whole.
        "messaging/_mailing_preview.html" if preview is not None else None,
        status=status,
        form=form,
        mailing=mailing,
        picker=picker,
        scope_errors=list(scope_errors),
        templates=_template_choices(),
        picked=picked,
        picked_total=picked_total,
        removed={str(i) for i in _removed_ids()} if request.method == "POST" else set(),
        preview=preview,
        zone=_zone(),
        **PAGE_LABELS,
    )


def _apply(form, exc: DomainError, scope_errors: list) -> None:
    scope_errors.extend(exc.field_errors.get("scope", []))
    apply_errors(form, exc)


@bp.route("/mailings/new", methods=["GET", "POST"])
@requires("messaging.edit")
def mailing_create():
    """A new draft mailing: name, channel, template, group, recipients, tracking, time."""
    form = MailingForm()
    _prepare(form, None)
    picker = _picker()
    if request.method == "GET":
        return _show(form, None, picker)
    scope_errors: list[str] = []
    valid = form.validate()
    data = _read(form, picker, scope_errors)
    if valid and not form.errors and not scope_errors:
        try:
            mailing = services.create_mailing(
                current_user, data, codes=services.split_codes(form.codes.data or "")
            )
        except DomainError as exc:
            db.session.rollback()
            _apply(form, exc, scope_errors)
        else:
            db.session.commit()
            flash(_("Mailing %(name)s is saved as a draft.", name=mailing.name), "success")
            return redirect(url_for("messaging.mailing_detail", mailing_id=mailing.id), code=303)
    db.session.rollback()
    return _show(form, None, picker, status=422, scope_errors=scope_errors)


def _preview_codes(form: MailingForm) -> list[int]:
    """The partners the form's codes name, for a preview (unknown ones noted on the field)."""
    codes = services.split_codes(form.codes.data or "")[: services.MAX_CODES]
    if not codes:
        return []
    ids, unknown = services.partner_ids_for_codes(current_user, codes)
    if unknown:
        shown = ", ".join(unknown[:20]) + (" …" if len(unknown) > 20 else "")
        form.codes.errors = [_("Not found or not yours: %(codes)s.", codes=shown)]
    return ids


@bp.route("/mailings/<int:mailing_id>/edit", methods=["GET", "POST"])
@requires("messaging.edit")
def mailing_update(mailing_id: int):
    """Change a draft: its values and the partners added by hand."""
    mailing = load_or_403(Mailing, mailing_id, "messaging.view")
    if mailing.state != "draft":
        flash(_("Only a draft can be changed: copy the mailing to send it again."), "warning")
        return redirect(url_for("messaging.mailing_detail", mailing_id=mailing.id))
    form = MailingForm()
    _prepare(form, mailing)
    picker = _picker(mailing)
    if request.method == "GET":
        _fill(form, mailing)
        return _show(form, mailing, picker)
    scope_errors: list[str] = []
    valid = form.validate()
    data = _read(form, picker, scope_errors)
    if valid and not form.errors and not scope_errors:
        try:
            services.update_mailing(
                current_user,
                mailing,
                data,
                add_codes=services.split_codes(form.codes.data or ""),
                remove_ids=_removed_ids(),
                remove_all=bool(form.remove_all.data),
                version=submitted_version(form),
            )
        except DomainError as exc:
            db.session.rollback()
            mailing = db.session.get(Mailing, mailing_id)
            if mailing is None:
                flash(exc.message, "danger")
                return redirect(url_for("messaging.index"))
            _apply(form, exc, scope_errors)
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("messaging.mailing_detail", mailing_id=mailing.id), code=303)
    db.session.rollback()
    return _show(form, mailing, picker, status=422, scope_errors=scope_errors)


def _form_preview(mailing: Mailing | None):
    """The recipient preview of the values the form holds now (nothing is saved)."""
    form = MailingForm()
    _prepare(form, mailing)
    picker = _picker(mailing)
    scope_errors: list[str] = []
    data = _read(form, picker, scope_errors)  # a preview needs no name
    if scope_errors:
        result = queries.Preview(restricted=queries.restricted(current_user))
        result.problem = " ".join(scope_errors)
    else:
        add_ids = _preview_codes(form)
        group = db.session.get(MailingGroup, data.group_id) if data.group_id else None
        result = queries.preview(
            data.channel or "email",
            group,
            current_user,
            scope_key=data.scope_key,
            scope_value=data.scope_value,
            mailing_id=mailing.id if mailing is not None else None,
            add_ids=add_ids,
            remove_ids=_removed_ids(),
            remove_all=bool(form.remove_all.data),
        )
    return _show(form, mailing, picker, preview=result, scope_errors=scope_errors)


@bp.route("/mailings/new/preview", methods=["POST"])
@requires("messaging.edit")
def mailing_create_preview():
    """Whom a new mailing as typed would reach (HTMX: the preview; without: the form with it)."""
    return _form_preview(None)


@bp.route("/mailings/<int:mailing_id>/preview", methods=["POST"])
@requires("messaging.edit")
def mailing_update_preview(mailing_id: int):
    """Whom a draft as typed in its form would reach."""
    mailing = load_or_403(Mailing, mailing_id, "messaging.view")
    return _form_preview(mailing)
