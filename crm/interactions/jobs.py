"""Background jobs of interactions: reminders to the responsible user before a planned
interaction starts and when its follow-up date has passed, written in his language and zone."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from crm.auth.models import User
from crm.core.formats import fmt_datetime
from crm.core.i18n import in_language
from crm.core.timeutil import to_zone, user_zone, utcnow
from crm.extensions import db
from crm.interactions.models import OPEN_STATUSES, Interaction
from crm.notifications import mail
from crm.notifications.services import existing, notify

# Reminders are at most a week ahead (models.MAX_REMIND); follow-ups that passed longer ago
# than this are not announced (the first run after a deploy would flood everyone otherwise).
AHEAD = timedelta(days=7)
FOLLOW_UP_LOOKBACK = timedelta(days=7)
# "0 minutes before" means "when it starts": due in the first minute of the interaction, so
# a run every minute catches it.
AT_START = timedelta(minutes=1)


def _minute(value: datetime) -> str:
    # Part of a notification's key (a machine value, never shown): "2026-11-30T10:00".
    return value.replace(second=0, microsecond=0).isoformat(timespec="minutes")


def start_key(interaction_id: int, starts_at: datetime) -> str:
    """A reminder is once per interaction and start: a rescheduled one is reminded again."""
    return f"interaction:{interaction_id}:start:{_minute(starts_at)}"


def follow_up_key(interaction_id: int, follow_up_at: datetime) -> str:
    return f"interaction:{interaction_id}:follow-up:{_minute(follow_up_at)}"


def start_reminder_due(starts_at: datetime, remind_minutes: int, now: datetime) -> bool:
    """starts_at − remind ≤ now < starts_at (for 0 minutes: the start's first minute)."""
    remind_at = starts_at - timedelta(minutes=remind_minutes)
    return remind_at <= now < max(starts_at, remind_at + AT_START)


def _url(i: Interaction) -> str:
    # Jobs run without a request (no host to build an absolute URL from): a path on this site.
    return f"/interactions/{i.id}"


# Titles and bodies are written in the recipient's language (`in_language(user.locale)` around
# them) and his time zone: the job runs for everyone at once, outside any request.


def _with_whom(i: Interaction) -> str:
    if i.partner is not None:
        return _("%(kind)s with %(name)s", kind=i.kind_title, name=i.partner.name)
    if i.contact_text:
        return _("%(kind)s with %(name)s", kind=i.kind_title, name=i.contact_text)
    return f"{i.kind_title}: {i.title}" if i.title else i.kind_title


def _local(value: datetime, user: User, now: datetime) -> str:
    """'10:00' today in the user's zone, else '30.11.2026 10:00' (in his language)."""
    zone = user_zone(user)
    today = to_zone(now, zone).date()
    kind = "time" if to_zone(value, zone).date() == today else "datetime"
    return fmt_datetime(value, zone=zone, kind=kind)


def _body(i: Interaction) -> str:
    lines = [i.title] if i.title and i.partner is not None else []
    if i.contact_person is not None:
        lines.append(i.contact_person.name)
    return "\n".join(lines)


def _start_reminders(now: datetime) -> int:
    # Ids first, over the indexed starts_at range; the remind offset is checked in Python
    # because date arithmetic on a column differs between SQLite and PostgreSQL.
    stmt = (
        select(
            Interaction.id,
            Interaction.responsible_id,
            Interaction.starts_at,
            Interaction.remind_minutes,
        )
        .join(User, User.id == Interaction.responsible_id)
        .where(
            Interaction.starts_at > now - AT_START,
            Interaction.starts_at <= now + AHEAD,
            Interaction.status.in_(OPEN_STATUSES),
            Interaction.remind_minutes.is_not(None),
            User.active.is_(True),
        )
    )
    due = {
        (row.responsible_id, start_key(row.id, row.starts_at)): row.id
        for row in db.session.execute(stmt)
        if start_reminder_due(row.starts_at, row.remind_minutes, now)
    }
    return _announce(
        due,
        lambda i: (
            start_key(i.id, i.starts_at),
            _(
                "%(what)s at %(when)s",
                what=_with_whom(i),
                when=_local(i.starts_at, i.responsible, now),
            ),
        ),
    )


def _follow_up_reminders(now: datetime) -> int:
    stmt = (
        select(Interaction.id, Interaction.responsible_id, Interaction.follow_up_at)
        .join(User, User.id == Interaction.responsible_id)
        .where(
            Interaction.follow_up_at <= now,
            Interaction.follow_up_at >= now - FOLLOW_UP_LOOKBACK,
            Interaction.status != "cancelled",
            User.active.is_(True),
        )
    )
    due = {
        (row.responsible_id, follow_up_key(row.id, row.follow_up_at)): row.id
        for row in db.session.execute(stmt)
    }
    return _announce(
        due,
        lambda i: (
            follow_up_key(i.id, i.follow_up_at),
            _(
                "Follow-up due: %(what)s (%(when)s)",
                what=_with_whom(i),
                when=_local(i.follow_up_at, i.responsible, now),
            ),
        ),
    )


def _announce(due: dict[tuple[int, str], int], key_and_title) -> int:
    """Notify the responsible users of the candidates not announced yet; how many were new.
    `key_and_title(interaction)` gives the notification's key and title."""
    created = 0
    for i in _load(_not_yet_notified(due)):
        with in_language(i.responsible.locale):
            key, title = key_and_title(i)
            body = _body(i)
        created += notify(i.responsible_id, key, title, body, _url(i)) is not None
    return created


def _not_yet_notified(due: dict[tuple[int, str], int]) -> list[int]:
    """Ids of the candidates {(user id, key): interaction id} not announced yet: a run every
    minute sees the same follow-ups for a week, and loads only what is new."""
    done = existing(list(due))
    return [interaction_id for pair, interaction_id in due.items() if pair not in done]


def _load(ids: list[int]) -> list[Interaction]:
    if not ids:
        return []
    stmt = select(Interaction).where(Interaction.id.in_(ids)).order_by(Interaction.id)
    return list(db.session.execute(stmt).unique().scalars())


def send_reminders(run=None, now: datetime | None = None) -> dict:
    """Notify responsible users of interactions about to start and of follow-ups that came due,
    then e-mail the copies; idempotent (a notification exists once per interaction and time)."""
    now = now or utcnow()
    try:
        notified = _start_reminders(now) + _follow_up_reminders(now)
        db.session.commit()
    except Exception:
        db.session.rollback()  # the worker's session outlives the job
        raise
    emailed = mail.deliver_pending()
    if run is not None:  # the job's log line, read by admins
        run.message = f"{notified} notified, {emailed} e-mailed"
        db.session.commit()
    return {"notified": notified, "emailed": emailed}
