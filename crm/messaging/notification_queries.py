"""Reads of the notifications settings page: each registered kind with its setting, the
templates and groups a setting may choose, and the messages each kind produced lately."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from crm.core.client_notifications import ClientNotificationKind, client_notification_kinds
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.messaging.models import MailingGroup, Message, MessageTemplate, NotificationSetting

RECENT_DAYS = 30


@dataclass
class KindRow:
    kind: ClientNotificationKind
    setting: NotificationSetting | None
    params: dict[str, int]  # the stored values over the defaults
    messages: int = 0  # produced in the last RECENT_DAYS days
    failed: int = 0

    @property
    def enabled(self) -> bool:
        return bool(self.setting and self.setting.enabled)

    @property
    def channel(self) -> str:
        """The channel of its template, else the kind's own."""
        if self.setting is not None and self.setting.template is not None:
            return self.setting.template.channel
        return self.kind.channel


def recent_counts(days: int = RECENT_DAYS, now: datetime | None = None) -> dict[str, tuple]:
    """{kind: (messages, failed)} of the notifications written in the last `days` days."""
    since = (now or utcnow()) - timedelta(days=days)
    failed = func.sum(case((Message.state.in_(("failed", "bounced")), 1), else_=0))
    stmt = (
        select(Message.kind, func.count(), failed)
        # `kind > ''` (not `!= ''`, which no index serves): a range of ix_message_kind_created
        # that leaves out the mailings' messages, however many they are.
        .where(Message.kind > "", Message.created_at >= since)
        .group_by(Message.kind)
    )
    return {kind: (int(n), int(bad or 0)) for kind, n, bad in db.session.execute(stmt)}


def kind_rows(only: str | None = None) -> list[KindRow]:
    """Every registered kind (or the one `only` names) in its order, with its setting."""
    kinds = [k for k in client_notification_kinds() if only is None or k.key == only]
    settings = {
        s.kind: s
        for s in db.session.execute(
            select(NotificationSetting).where(NotificationSetting.kind.in_([k.key for k in kinds]))
        ).scalars()
    }
    counts = recent_counts()
    rows = []
    for kind in kinds:
        setting = settings.get(kind.key)
        messages, failed = counts.get(kind.key, (0, 0))
        params = kind.with_defaults(setting.params if setting else None)
        rows.append(KindRow(kind, setting, params, messages, failed))
    return rows


def templates_of(channel: str) -> list[MessageTemplate]:
    return list(
        db.session.execute(
            select(MessageTemplate)
            .where(MessageTemplate.channel == channel)
            .order_by(MessageTemplate.name)
        ).scalars()
    )


def groups() -> list[MailingGroup]:
    """The active groups, service ones first (what a notification usually is)."""
    return list(
        db.session.execute(
            select(MailingGroup)
            .where(MailingGroup.is_active.is_(True))
            .order_by((MailingGroup.kind == "service").desc(), MailingGroup.name)
        ).scalars()
    )


def default_group_id(choices: list[MailingGroup]) -> int | None:
    """A new setting's group: the first service group."""
    return next((g.id for g in choices if g.kind == "service"), None)
