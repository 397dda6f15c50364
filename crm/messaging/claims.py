"""Claiming the due messages for a sending loop, and the lease it holds them under.

A worker claims a batch (MESSAGING_BATCH) of due messages of a channel in one transaction —
ones whose worker's lease ran out (it died), then queued ones whose retry time has come —
setting them "sending" under its name and a lease (MESSAGING_LEASE_SECONDS), and commits:
two workers never claim the same message (each UPDATE picks its rows with FOR UPDATE SKIP
LOCKED on PostgreSQL; SQLite runs one writer at a time). Messages of a cancelled mailing are
never claimed. While it sends (crm.messaging.delivery) the worker renews the lease of the rest
(`renew`: those of a mailing cancelled meanwhile are cancelled), gives back what it did not
try (`give_back`), and moves each message it still holds to its outcome (`settle`)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, exists, func, not_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.jobs import process_name
from crm.messaging.models import Mailing, MailingGroup, Message

MESSAGE = Message.__table__
MAILING = Mailing.__table__


@dataclass
class Outgoing:
    """A claimed message, as the backends send it."""

    id: int
    channel: str
    address: str
    address_norm: str
    subject: str
    body_html: str
    body_text: str
    rfc_message_id: str
    language: str
    kind: str
    group_id: int | None
    mailing_id: int | None
    partner_id: int | None
    contact_person_id: int | None
    attempts: int
    marketing: bool = False


def worker_name() -> str:
    """This sending loop as a message's claimed_by: host, pid, process start, thread."""
    return f"{process_name()}:{threading.get_ident()}"[:120]


# --- claiming ------------------------------------------------------------------------------


def _waiting(channel: str, now: datetime):
    """Queued messages of `channel` whose (retry) time has come."""
    return and_(
        MESSAGE.c.channel == channel,
        MESSAGE.c.state == "queued",
        or_(MESSAGE.c.next_attempt_at.is_(None), MESSAGE.c.next_attempt_at <= now),
    )


def _abandoned(channel: str, now: datetime):
    """Messages of `channel` whose worker's lease ran out (it died), not yet out of attempts."""
    return and_(
        MESSAGE.c.channel == channel,
        MESSAGE.c.state == "sending",
        MESSAGE.c.lease_until < now,
        MESSAGE.c.attempts < current_app.config["MESSAGING_MAX_ATTEMPTS"],
    )


def _not_cancelled():
    return not_(
        exists().where(MAILING.c.id == MESSAGE.c.mailing_id, MAILING.c.state == "cancelled")
    )


def claimable(channel: str, cap: int) -> int:
    """How many messages of `channel` could be claimed now, counted up to `cap`."""
    now = utcnow()
    found = 0
    for condition in (_abandoned(channel, now), _waiting(channel, now)):  # each along the index
        inner = select(MESSAGE.c.id).where(condition, _not_cancelled()).limit(cap - found)
        found += db.session.execute(select(func.count()).select_from(inner.subquery())).scalar_one()
        if found >= cap:
            break
    return found


CLAIMED = (
    MESSAGE.c.id,
    MESSAGE.c.channel,
    MESSAGE.c.address,
    MESSAGE.c.address_norm,
    MESSAGE.c.subject,
    MESSAGE.c.body_html,
    MESSAGE.c.body_text,
    MESSAGE.c.rfc_message_id,
    MESSAGE.c.language,
    MESSAGE.c.kind,
    MESSAGE.c.group_id,
    MESSAGE.c.mailing_id,
    MESSAGE.c.partner_id,
    MESSAGE.c.contact_person_id,
    MESSAGE.c.attempts,
)


def _claim_where(condition, order_by, limit: int, worker: str, now: datetime):
    """One UPDATE … WHERE id IN (SELECT … LIMIT n [FOR UPDATE SKIP LOCKED]) RETURNING."""
    pick = select(MESSAGE.c.id).where(condition, _not_cancelled()).order_by(order_by).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        # Rows another worker is claiming right now are skipped, not waited for.
        pick = pick.with_for_update(skip_locked=True)
    return (
        update(MESSAGE)
        .where(MESSAGE.c.id.in_(pick))
        .values(
            state="sending",
            claimed_by=worker,
            lease_until=now + timedelta(seconds=current_app.config["MESSAGING_LEASE_SECONDS"]),
            attempts=MESSAGE.c.attempts + 1,
        )
        .returning(*CLAIMED)
    )


def claim(channel: str, limit: int, worker: str) -> list[Outgoing]:
    """Take up to `limit` due messages of `channel` for `worker` (state sending, a lease, one
    attempt more) and commit: first those a dead worker left, then queued ones.

    The queued ones are read along ix_message_claim (state, next_attempt_at), due retries
    first: in id order the database would walk past every message already sent of a big
    mailing on each claim (23 ms a claim half-way through 100,000 messages, and growing),
    along the index it reads only the queued ones (~0.1 ms)."""
    db.session.commit()  # the claim is a transaction of its own
    now = utcnow()
    conn = db.session.connection()
    rows = []
    try:
        rows = conn.execute(
            _claim_where(_abandoned(channel, now), MESSAGE.c.id, limit, worker, now)
        ).all()
        if len(rows) < limit:
            stmt = _claim_where(
                _waiting(channel, now), MESSAGE.c.next_attempt_at, limit - len(rows), worker, now
            )
            rows += conn.execute(stmt).all()
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        raise
    messages = sorted((Outgoing(*row) for row in rows), key=lambda m: m.id)
    _mark_marketing(messages)
    return messages


def _mark_marketing(messages: list[Outgoing]) -> None:
    """Marketing e-mail (a mailing's, or a notification of an advertising group) carries the
    one-click unsubscribe headers (compose.needs_unsubscribe says the same for the footer)."""
    group_ids = {m.group_id for m in messages if m.kind and m.group_id}
    kinds = {}
    if group_ids:
        kinds = dict(
            db.session.execute(
                select(MailingGroup.id, MailingGroup.kind).where(MailingGroup.id.in_(group_ids))
            ).all()
        )
    for m in messages:
        m.marketing = not m.kind or kinds.get(m.group_id) == "advertising"


# --- the lease -----------------------------------------------------------------------------


def _mine(worker: str, ids: Iterable[int]):
    """Those of the messages `ids` that `worker` still holds."""
    return and_(
        MESSAGE.c.id.in_(list(ids)), MESSAGE.c.claimed_by == worker, MESSAGE.c.state == "sending"
    )


def settle(message_id: int, worker: str, **values) -> int:
    """Move a message this worker holds to its outcome; how many rows moved (0: no longer
    ours — its lease ran out and another worker took it)."""
    values.setdefault("lease_until", None)
    return (
        db.session.connection()
        .execute(update(MESSAGE).where(_mine(worker, [message_id])).values(**values))
        .rowcount
    )


def renew(worker: str, remaining: list[Outgoing]) -> list[Outgoing]:
    """Extend the lease of the messages still to send; those of a mailing cancelled meanwhile
    are cancelled, and any no longer ours dropped. Commits; returns what is left to send."""
    if not remaining:
        return remaining
    ids = [m.id for m in remaining]
    cancelled = exists().where(MAILING.c.id == MESSAGE.c.mailing_id, MAILING.c.state == "cancelled")
    conn = db.session.connection()
    conn.execute(
        update(MESSAGE)
        .where(_mine(worker, ids), cancelled)
        .values(state="cancelled", lease_until=None, attempts=MESSAGE.c.attempts - 1)
    )
    kept = conn.execute(
        update(MESSAGE)
        .where(_mine(worker, ids))
        .values(
            lease_until=utcnow() + timedelta(seconds=current_app.config["MESSAGING_LEASE_SECONDS"])
        )
        .returning(MESSAGE.c.id)
    ).scalars()
    kept = set(kept)
    db.session.commit()
    return [m for m in remaining if m.id in kept]


def give_back(
    worker: str, messages: list[Outgoing], retry_at: datetime | None, error: str | None = None
) -> None:
    """Messages claimed but not tried go back to the queue, their attempt not counted."""
    if not messages:
        return
    values = {
        "state": "queued",
        "claimed_by": "",
        "lease_until": None,
        "next_attempt_at": retry_at,
        "attempts": MESSAGE.c.attempts - 1,
    }
    if error is not None:
        values["error"] = error[:500]
    db.session.connection().execute(
        update(MESSAGE).where(_mine(worker, [m.id for m in messages])).values(**values)
    )
    db.session.commit()
