"""The Notifications tab of the messaging section: every registered client notification kind
with its switch, channel, template, group and parameters (edited by who may change the
messaging settings) and the messages it produced in the last 30 days. Also sets the
notifications up: the kinds, the subscriber of the events domains report, the periodic job
and the command."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_pgettext as _lp
from flask_login import current_user

from crm.core.client_notifications import client_notification_kind
from crm.core.errors import DomainError
from crm.core.policy import may, requires
from crm.extensions import db
from crm.htmx import is_fragment_request, render
from crm.messaging import bp, notification_queries, notification_services
from crm.messaging.labels import CHANNEL_TITLES
from crm.messaging.models import CHANNELS


def _setup_notifications(state):
    from crm.core.client_notifications import (
        ClientEventSubscriber,
        register_client_notification_kind,
        subscribe_client_events,
    )
    from crm.core.periodic import PeriodicJob, register_periodic
    from crm.messaging.notification_jobs import produce_notifications, register_cli
    from crm.messaging.notification_kinds import KINDS
    from crm.messaging.sections import Section, register_section

    for kind in KINDS:
        register_client_notification_kind(state, kind)
    subscribe_client_events(
        state, ClientEventSubscriber("messaging", notification_services.on_client_events)
    )
    every = int(state.app.config["MESSAGING_NOTIFY_SECONDS"])
    register_periodic(state, PeriodicJob("messaging-notifications", produce_notifications, every))
    register_section(
        state, Section("messaging.notifications", _lp("to clients", "Notifications"), 30)
    )
    register_cli()


bp.record_once(_setup_notifications)


def _values(row: notification_queries.KindRow) -> dict:
    """A kind's form values as stored (a kind never saved: off, its channel, a service group)."""
    setting = row.setting
    return {
        "enabled": row.enabled,
        "channel": row.channel,
        "template_id": str(setting.template_id or "") if setting else "",
        "group_id": str(setting.group_id or "") if setting else None,
        "params": {k: str(v) for k, v in row.params.items()},
        "stamp": notification_services.stamp_of(setting),
    }


def _posted(row: notification_queries.KindRow) -> dict:
    """The form values as submitted (shown again beside their errors)."""
    form = request.form
    channel = form.get("channel", "")
    return {
        "enabled": form.get("enabled") in ("1", "on"),
        "channel": channel if channel in CHANNELS else row.channel,
        "template_id": form.get("template_id", ""),
        "group_id": form.get("group_id", ""),
        "params": {p.key: form.get(f"param_{p.key}", "") for p in row.kind.params},
        "stamp": form.get("stamp", ""),
    }


def _card_context(row, values, errors=None, message="", saved=False) -> dict:
    groups = notification_queries.groups()
    if values["group_id"] is None:  # never saved: a service group by default
        values["group_id"] = str(notification_queries.default_group_id(groups) or "")
    setting = row.setting
    if setting is not None and setting.group is not None and setting.group not in groups:
        groups.append(setting.group)  # a group made inactive since stays shown
    return {
        "row": row,
        "form": values,
        "errors": errors or {},
        "message": message,
        "saved": saved,
        "templates": notification_queries.templates_of(values["channel"]),
        "groups": groups,
        "channels": CHANNEL_TITLES,
        "editable": may(current_user, "messaging.settings"),
        "recent_days": notification_queries.RECENT_DAYS,
        "every_minutes": max(1, int(current_app.config["MESSAGING_NOTIFY_SECONDS"]) // 60),
    }


def _page(cards: list[dict], status: int = 200):
    return render("messaging/notifications/index.html", status=status, cards=cards)


@bp.get("/notifications")
@requires("messaging.view")
def notifications():
    """Every client notification kind: on or off, its template and group, its parameters and
    the messages of the last 30 days."""
    return _page([_card_context(row, _values(row)) for row in notification_queries.kind_rows()])


def _row_or_404(kind_key: str) -> notification_queries.KindRow:
    if client_notification_kind(kind_key) is None:
        abort(404)
    return notification_queries.kind_rows(only=kind_key)[0]


@bp.post("/notifications/<kind_key>")
@requires("messaging.settings")
def notification_update(kind_key: str):
    """Save one kind's settings; the card again (HTMX) or the page."""
    row = _row_or_404(kind_key)
    try:
        notification_services.save_setting(
            current_user, row.kind, request.form, stamp=request.form.get("stamp")
        )
    except notification_services.StaleSetting as exc:
        db.session.rollback()
        row = _row_or_404(kind_key)
        context, status = _card_context(row, _values(row), message=exc.message), 409
    except DomainError as exc:
        db.session.rollback()
        row = _row_or_404(kind_key)
        context = _card_context(row, _posted(row), exc.field_errors, exc.message)
        status = 422
    else:
        db.session.commit()
        if not is_fragment_request():
            flash(_("Notification «%(kind)s» saved.", kind=row.kind.title), "success")
            return redirect(url_for("messaging.notifications") + f"#notification-{kind_key}")
        row = _row_or_404(kind_key)
        context = _card_context(row, _values(row), saved=True)
        return render("messaging/notifications/_kind.html", card=context)
    if is_fragment_request():
        return render("messaging/notifications/_kind.html", status=status, card=context)
    cards = [
        context if r.kind.key == kind_key else _card_context(r, _values(r))
        for r in notification_queries.kind_rows()
    ]
    return _page(cards, status)


@bp.get("/notifications/<kind_key>/templates")
@requires("messaging.settings")
def notification_templates(kind_key: str):
    """The template <select> of a kind's form for the chosen channel (HTMX, on a change)."""
    row = _row_or_404(kind_key)
    channel = request.args.get("channel", "")
    if channel not in CHANNELS:
        channel = row.kind.channel
    values = {**_values(row), "channel": channel}
    if row.channel != channel:
        values["template_id"] = ""
    return render("messaging/notifications/_template_select.html", card=_card_context(row, values))
