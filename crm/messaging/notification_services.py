"""Event notifications to clients: the settings of each kind (switch, template, group,
parameters) and turning events into messages.

An event (crm.core.client_notifications.Occurrence) of a kind that is switched on becomes one
message per address of its client on the channel of the kind's template: the partner's
addresses and its contact persons' (crm.messaging.recipients), or a contact person's own. The
addresses are checked as every message's are (crm.messaging.eligibility): suppression and the
group's opt-outs always hold; consent only for an advertising group. Messages are written
through the outbox, whose unique (event key, channel, address) makes an event reach an address
once, even when two producers run at the same time or a domain reports it twice.

Events come two ways: a domain reports one as it happens (`on_client_events`, in the domain's
transaction: nothing is written unless it commits; the delivery is woken after the commit), or
the notifications job asks each scheduled kind for its due events (`produce_scheduled`, run by
crm/messaging/notification_jobs.py). Events from before a kind was switched on are never
notified: switching a kind on (again) does not mail the past."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event, select

from crm.core import audit
from crm.core.client_notifications import (
    ClientNotificationKind,
    Occurrence,
    client_notification_kind,
    client_notification_kinds,
)
from crm.core.errors import DomainError, FieldErrors
from crm.core.message_placeholders import Recipient
from crm.core.params import BadValue, id_or_none, parse_int
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.messaging import eligibility
from crm.messaging.compose import compose
from crm.messaging.models import (
    ADDRESS_KINDS,
    CHANNELS,
    MailingGroup,
    Message,
    MessageTemplate,
    NotificationSetting,
)
from crm.messaging.outbox import store
from crm.messaging.recipients import DO_NOT, resolve_partners
from crm.partners.models import ContactDetail, ContactPerson, Partner

log = logging.getLogger(__name__)

# Occurrences composed and stored per batch (the placeholders load once per batch).
BATCH = 200
# Partner and contact person ids per IN (…) list.
ID_CHUNK = 900
EVENT_KEY_MAX = 200  # Message.event_key


class StaleSetting(DomainError):
    """The setting was saved by someone else since the form was opened."""


# --- settings -------------------------------------------------------------------------------


def setting_of(kind_key: str) -> NotificationSetting | None:
    return db.session.execute(
        select(NotificationSetting).where(NotificationSetting.kind == kind_key)
    ).scalar_one_or_none()


def is_on(setting: NotificationSetting | None) -> bool:
    """Switched on, with a template to write the messages in."""
    return bool(
        setting is not None
        and setting.enabled
        and setting.enabled_at is not None
        and setting.template is not None
    )


def stamp_of(setting: NotificationSetting | None) -> str:
    """The version a settings form carries: the setting's last save (none yet: "")."""
    return setting.updated_at.isoformat() if setting is not None and setting.updated_at else ""


def _snapshot(setting: NotificationSetting) -> dict:
    return {
        "enabled": setting.enabled,
        "template": setting.template.name if setting.template else None,
        "group": setting.group.name if setting.group else None,
        "params": dict(setting.params or {}),
    }


def save_setting(
    actor, kind: ClientNotificationKind, data: Mapping[str, str], stamp: str | None = None
) -> NotificationSetting:
    """Save a kind's switch, template (of the chosen channel), group and parameters from a
    form's values; DomainError with the fields' errors (nothing changed) when they are not
    usable, StaleSetting when the setting was saved since `stamp` (its form's version)."""
    setting = setting_of(kind.key)
    if stamp is not None and stamp != stamp_of(setting):
        raise StaleSetting(
            _(
                "Someone saved this notification while you were editing it; nothing is "
                "changed. Its current settings are shown: make your change again."
            )
        )
    errors = FieldErrors()
    enabled = (data.get("enabled") or "") in ("1", "on", "true", "y", "yes")
    channel = (data.get("channel") or "").strip()
    if channel not in CHANNELS:
        errors.add("channel", _("Choose a channel."))
    template = None
    template_id = id_or_none(data.get("template_id"))
    if template_id is not None:
        template = db.session.get(MessageTemplate, template_id)
        if template is None or template.channel != channel:
            errors.add("template_id", _("Choose a template of this channel."))
            template = None
    elif data.get("template_id"):
        errors.add("template_id", _("Choose a template of this channel."))
    group = None
    group_id = id_or_none(data.get("group_id"))
    if group_id is not None:
        group = db.session.get(MailingGroup, group_id)
        if group is None:
            errors.add("group_id", _("Choose a mailing group."))
    elif data.get("group_id"):
        errors.add("group_id", _("Choose a mailing group."))
    if enabled and template is None and "template_id" not in errors.fields:
        errors.add("template_id", _("A notification that is on needs a template."))
    if enabled and group is None and "group_id" not in errors.fields:
        errors.add("group_id", _("A notification that is on needs a mailing group."))
    params = {}
    for p in kind.params:
        field = f"param_{p.key}"
        raw = (data.get(field) or "").strip()
        try:
            if not raw:
                raise BadValue(raw)
            params[p.key] = parse_int(raw, minimum=p.minimum, maximum=p.maximum)
        except BadValue:
            errors.add(
                field,
                _("Enter a whole number from %(min)s to %(max)s.", min=p.minimum, max=p.maximum),
            )
    errors.raise_if_any()
    now = utcnow()
    created = setting is None
    if created:
        setting = NotificationSetting(kind=kind.key, params={})
        db.session.add(setting)
        before = {}
    else:
        before = _snapshot(setting)
    if enabled and not setting.enabled:
        # Switched on (again): the events from now on are notified, none from before.
        setting.enabled_at = now
    setting.enabled = enabled
    setting.template = template
    setting.group = group
    setting.params = params
    setting.updated_at = now
    db.session.flush()
    after = _snapshot(setting)
    audit.record(
        actor,
        "create" if created else "update",
        setting,
        changes=audit.diff(before, after),
        summary=f"notification {kind.key}",
    )
    return setting


# --- turning events into messages -----------------------------------------------------------


def _person_recipients(
    channel: str, group: MailingGroup | None, person_ids: Sequence[int]
) -> dict[int, list[Recipient]]:
    """{contact person id: recipients}: each person's own addresses of the channel that may be
    sent to (not of a partner marked "do not e-mail/SMS", nor blocked for the group)."""
    kind = ADDRESS_KINDS[channel]
    found: dict[int, list[tuple[int, str, str]]] = {}
    ids = sorted(set(person_ids))
    for start in range(0, len(ids), ID_CHUNK):
        stmt = (
            select(
                ContactDetail.contact_person_id,
                ContactPerson.partner_id,
                ContactDetail.value,
                ContactDetail.value_norm,
            )
            .join(ContactPerson, ContactPerson.id == ContactDetail.contact_person_id)
            .join(Partner, Partner.id == ContactPerson.partner_id)
            .where(
                ContactDetail.kind == kind,
                ContactDetail.contact_person_id.in_(ids[start : start + ID_CHUNK]),
                Partner.merged_into_id.is_(None),
                DO_NOT[channel].is_(False),
            )
            .order_by(
                ContactDetail.contact_person_id, ContactDetail.is_main.desc(), ContactDetail.id
            )
        )
        for person_id, partner_id, value, value_norm in db.session.execute(stmt):
            if not value_norm:
                continue
            mine = found.setdefault(person_id, [])
            if all(norm != value_norm for _p, _v, norm in mine):
                mine.append((partner_id, value, value_norm))
    every = {norm for rows in found.values() for _p, _v, norm in rows}
    blocked = eligibility.blocked(channel, group, every)
    languages = eligibility.languages(channel, every)
    return {
        person_id: [
            Recipient(
                partner_id=partner_id,
                contact_person_id=person_id,
                channel=channel,
                address=value,
                address_norm=norm,
                language=languages.get(norm, "ru"),
            )
            for partner_id, value, norm in rows
            if norm not in blocked
        ]
        for person_id, rows in found.items()
    }


def _partner_recipients(
    channel: str, group: MailingGroup | None, partner_ids: Sequence[int]
) -> dict[int, list[Recipient]]:
    """{partner id: recipients}: the partner's and its contact persons' addresses."""
    by_partner: dict[int, list[Recipient]] = {}
    ids = sorted(set(partner_ids))
    for start in range(0, len(ids), ID_CHUNK):
        resolution = resolve_partners(channel, group, ids[start : start + ID_CHUNK])
        for r in resolution.recipients:
            by_partner.setdefault(r.partner_id, []).append(r)
    return by_partner


def _already_notified(keys: Sequence[str], channel: str) -> set[str]:
    """The event keys that have messages on `channel` already (not composed again)."""
    found: set[str] = set()
    unique = sorted(set(keys))
    for start in range(0, len(unique), ID_CHUNK):
        stmt = select(Message.event_key).where(
            Message.event_key.in_(unique[start : start + ID_CHUNK]), Message.channel == channel
        )
        found.update(db.session.execute(stmt).scalars())
    return found


def deliver(setting: NotificationSetting, occurrences: Sequence[Occurrence]) -> int:
    """Write the messages of `occurrences` (events of the setting's kind) to their clients'
    addresses; returns how many are new. The caller commits."""
    template = setting.template
    if template is None or not occurrences:
        return 0
    channel, group = template.channel, setting.group
    fresh: list[Occurrence] = []
    for o in occurrences:
        if len(o.event_key) > EVENT_KEY_MAX:
            log.warning("event key longer than %s characters skipped: %r", EVENT_KEY_MAX, o)
        else:
            fresh.append(o)
    done = _already_notified([o.event_key for o in fresh], channel)
    fresh = [o for o in fresh if o.event_key not in done]
    written = 0
    for start in range(0, len(fresh), BATCH):
        batch = fresh[start : start + BATCH]
        partners = _partner_recipients(
            channel, group, [o.partner_id for o in batch if o.contact_person_id is None]
        )
        persons = _person_recipients(
            channel, group, [o.contact_person_id for o in batch if o.contact_person_id]
        )
        recipients: list[Recipient] = []
        keys: list[str] = []
        seen: set[tuple[str, str]] = set()
        for o in batch:
            reached = (
                persons.get(o.contact_person_id, [])
                if o.contact_person_id
                else partners.get(o.partner_id, [])
            )
            for r in reached:
                if (o.event_key, r.address_norm) in seen:
                    continue  # one event reported twice in one call
                seen.add((o.event_key, r.address_norm))
                recipients.append(replace(r, event=dict(o.event)))
                keys.append(o.event_key)
        if not recipients:
            continue
        composed = compose(template, recipients, group=group, kind=setting.kind)
        written += store(
            composed,
            channel,
            group_id=group.id if group else None,
            kind=setting.kind,
            event_keys=keys,
        )
    return written


def on_client_events(kind_key: str, occurrences: Sequence[Occurrence]) -> int:
    """The subscriber of crm.core.client_notifications: events a domain reports as they
    happen, written in its transaction (nothing when the kind is off); the delivery is woken
    once that transaction commits."""
    if client_notification_kind(kind_key) is None:
        return 0
    setting = setting_of(kind_key)
    if not is_on(setting):
        return 0
    written = deliver(setting, occurrences)
    if written:
        kick_after_commit()
    return written


def produce_scheduled(now: datetime | None = None) -> dict[str, int]:
    """Ask every scheduled kind that is on for its due events and write their messages, each
    kind committed on its own (a failing kind is logged and the others still run); returns
    {kind: messages written}. Running it twice, or in two processes at once, writes nothing
    twice."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    for kind in client_notification_kinds():
        if not kind.scheduled:
            continue
        setting = setting_of(kind.key)
        if not is_on(setting):
            continue
        try:
            params = kind.with_defaults(setting.params)
            occurrences = list(kind.produce(params, setting.enabled_at, now))
            counts[kind.key] = deliver(setting, occurrences)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("client notifications of kind %s could not be produced", kind.key)
    return counts


# --- waking the delivery --------------------------------------------------------------------


def kick() -> None:
    """Have the queued messages sent soon (crm.messaging.runners; never sends here)."""
    from crm.messaging import runners

    runners.kick()


_KICK = "crm.messaging.kick_after_commit"


def kick_after_commit() -> None:
    """Wake the delivery once the current transaction commits (a message written in a
    transaction that rolls back is never there to send)."""
    session = db.session()
    session.info[_KICK] = True
    if not session.info.get(_KICK + ".listening"):
        session.info[_KICK + ".listening"] = True
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)


def _after_commit(session) -> None:
    if not session.info.pop(_KICK, False):
        return
    # A committed session emits no more SQL inside this event: the delivery reads the
    # database, if it needs to, in an app context (and so a session) of its own.
    try:
        with current_app.app_context():
            kick()
    except Exception:  # the messages are committed; the delivery's own sweep finds them
        log.exception("the delivery could not be woken after a commit")


def _after_rollback(session) -> None:
    session.info.pop(_KICK, None)
