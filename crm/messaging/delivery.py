"""Sending the claimed messages: a batch at a time (`send_batch`), each outcome recorded as it
happens (sent with its interaction, retried, failed, bounced), the mailings whose messages are
all out closed (`close_finished`), and the loop of batches until nothing is due
(`run_until_idle`). Claims and their leases are in crm.messaging.claims, the rate limit in
crm.messaging.rate_limit, and who runs the loop (`kick()`: RQ send jobs, or a thread of the
process) in crm.messaging.runners.

A Message row is the source of truth. A worker
1. claims a batch of due messages of a channel and commits (crm.messaging.claims): two
   workers never claim the same message;
2. sends them one at a time, committing each one's new state (with its interaction) right
   after the server accepted it, and renews the lease of the rest as it goes.
So a worker killed at any moment leaves at most the one message in flight unrecorded: the
server may have accepted it, and it is sent again when its lease runs out, with the same
Message-ID (receiving servers drop the copy). Nothing else is ever sent twice.

Temporary errors are retried after MESSAGING_RETRY_SECONDS × 2^(attempts − 1), up to
MESSAGING_MAX_ATTEMPTS; permanent ones fail the message with the reason; an address refused
by the server is bounced and put on the suppression list. A server that cannot be reached
gives the batch back untried. A worker holding messages of a mailing cancelled meanwhile stops
within CANCEL_CHECK_EVERY messages."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, not_, select, update
from sqlalchemy.exc import SQLAlchemyError

from crm.core.timeutil import utcnow
from crm.core.versioning import bump_values
from crm.extensions import db
from crm.messaging.backends import AddressRefused, DeliveryError, TemporaryError, Unavailable
from crm.messaging.claims import Outgoing, claim, give_back, renew, settle, worker_name
from crm.messaging.models import CHANNELS, Mailing, Message, Suppression
from crm.messaging.rate_limit import wait_for_rate

log = logging.getLogger(__name__)

MESSAGE = Message.__table__
MAILING = Mailing.__table__


def ready_channels() -> list[str]:
    """The channels that can send here: e-mail once SMTP_HOST is set (until then its messages
    wait queued), SMS always (its backend defaults to the console)."""
    from crm.notifications.mail import smtp_configured

    return [c for c in CHANNELS if c != "email" or smtp_configured()]


# --- sending a batch -----------------------------------------------------------------------


def _sender(channel: str):
    if channel == "email":
        from crm.messaging.backends.smtp import SmtpSender

        return SmtpSender()
    return _SmsSender()


class _SmsSender:
    """The SMS gateway (crm.messaging.backends.sms) behind the same interface as SMTP."""

    channel = "sms"

    def __init__(self):
        from crm.messaging.backends.sms import gateway

        self.gateway = gateway()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        close = getattr(self.gateway, "close", None)
        if close is not None:
            close()

    def send(self, message: Outgoing) -> str:
        key = message.rfc_message_id.strip("<>").partition("@")[0]
        return str(self.gateway.send(message.address, message.body_text, key) or "")[:120]


def _failed_temporarily(message: Outgoing, worker: str, reason: str, now: datetime) -> None:
    if message.attempts >= current_app.config["MESSAGING_MAX_ATTEMPTS"]:
        settle(message.id, worker, state="failed", error=reason[:500])
        return
    delay = current_app.config["MESSAGING_RETRY_SECONDS"] * 2 ** max(0, message.attempts - 1)
    settle(
        message.id,
        worker,
        state="queued",
        claimed_by="",
        error=reason[:500],
        next_attempt_at=now + timedelta(seconds=delay),
    )


def _suppress(message: Outgoing, reason: str, now: datetime) -> None:
    """The refused address joins the suppression list (once: an existing entry stays)."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    db.session.connection().execute(
        dialect_insert(Suppression.__table__)
        .values(
            channel=message.channel,
            address_norm=message.address_norm,
            reason="bounced",
            note=reason[:500],
            message_id=message.id,
            created_at=now,
        )
        .on_conflict_do_nothing()
    )


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    bounced: int = 0
    unavailable: bool = False


# Every this many messages a worker looks whether a mailing of its batch was cancelled.
CANCEL_CHECK_EVERY = 10


def _any_cancelled(mailing_ids: set[int]) -> bool:
    if not mailing_ids:
        return False
    found = db.session.execute(
        select(MAILING.c.id)
        .where(MAILING.c.id.in_(sorted(mailing_ids)), MAILING.c.state == "cancelled")
        .limit(1)
    ).first()
    db.session.commit()
    return found is not None


def send_batch(channel: str, *, on_renew=None) -> BatchResult:
    """Claim one batch of `channel` and send it (see the module's description); `on_renew`
    is called whenever the batch's lease is renewed (the RQ job renews its slot then). A
    mailing cancelled meanwhile stops within CANCEL_CHECK_EVERY of its messages."""
    from crm.messaging import journal

    worker = worker_name()
    result = BatchResult()
    messages = claim(channel, current_app.config["MESSAGING_BATCH"], worker)
    result.claimed = len(messages)
    if not messages:
        return result
    renew_every = max(0.5, current_app.config["MESSAGING_LEASE_SECONDS"] / 3)
    renew_at = time.monotonic() + renew_every
    remaining = list(messages)
    mailing_ids = {m.mailing_id for m in messages if m.mailing_id}
    on_its_way = False  # the first of `remaining` has left (accepted) but is not recorded
    try:
        ctx = journal.context_for(messages)
        journal.reserve_ids(ctx, len(messages))
        with _sender(channel) as sender:
            while remaining:
                due_check = (len(messages) - len(remaining)) % CANCEL_CHECK_EVERY == 0
                if due_check and len(remaining) < len(messages) and _any_cancelled(mailing_ids):
                    renew_at = 0.0  # renewing cancels them
                if time.monotonic() >= renew_at:
                    remaining = renew(worker, remaining)
                    renew_at = time.monotonic() + renew_every
                    if on_renew is not None:
                        on_renew()
                    if not remaining:
                        break
                message = remaining[0]
                wait_for_rate(channel)
                try:
                    provider_id = sender.send(message)
                except Unavailable as exc:
                    # Nothing was sent: the whole rest of the batch waits for the server.
                    log.warning("%s unavailable, batch given back: %s", channel, exc.reason)
                    retry_at = utcnow() + timedelta(
                        seconds=current_app.config["MESSAGING_RETRY_SECONDS"]
                    )
                    give_back(worker, remaining, retry_at, exc.reason)
                    remaining = []
                    result.unavailable = True
                    break
                except DeliveryError as exc:
                    _record_error(message, worker, exc, result)
                    remaining.pop(0)
                    continue
                on_its_way = True
                _record_sent(message, worker, provider_id, ctx)
                on_its_way = False
                remaining.pop(0)
                result.sent += 1
    finally:
        if remaining:
            # An unexpected error (the database went away): the untried rest goes back at
            # once. A message the server accepted but that could not be recorded keeps its
            # claim: it is sent again when its lease runs out (with its attempts counted, so
            # a message that always breaks the recording stops after MESSAGING_MAX_ATTEMPTS).
            db.session.rollback()
            give_back(worker, remaining[1:] if on_its_way else remaining, None)
    close_finished(mailing_ids)
    return result


def _record_error(message: Outgoing, worker: str, exc: DeliveryError, result: BatchResult) -> None:
    now = utcnow()
    if isinstance(exc, TemporaryError):
        _failed_temporarily(message, worker, exc.reason, now)
        result.retried += 1
    elif isinstance(exc, AddressRefused):
        if settle(message.id, worker, state="bounced", error=exc.reason):
            _suppress(message, exc.reason, now)
        result.bounced += 1
    else:
        settle(message.id, worker, state="failed", error=exc.reason)
        result.failed += 1
    db.session.commit()


def _record_sent(message: Outgoing, worker: str, provider_id: str, ctx) -> None:
    """The server accepted it: its interaction and its state "sent", in one commit. A message
    of a mailing cancelled while it was on its way is still recorded as sent (it was)."""
    now = utcnow()
    try:
        moved = _mark_sent(message, worker, provider_id, now, ctx)
    except SQLAlchemyError:
        # A journal that cannot be written must not keep the message from being recorded as
        # sent (it would be sent again): recorded without its interaction.
        db.session.rollback()
        log.exception("message %s: its interaction could not be written", message.id)
        moved = _mark_sent(message, worker, provider_id, now, None)
    if not moved:
        # Its lease ran out while it was on its way and another worker took it over: that
        # one records it (this copy carried the same Message-ID).
        db.session.rollback()
        log.warning("message %s was taken over by another worker while sent", message.id)
        return
    db.session.commit()


def _mark_sent(message: Outgoing, worker: str, provider_id: str, now, ctx) -> int:
    """Mark it sent with its interaction (none when `ctx` is None); rows moved."""
    from crm.messaging import journal

    conn = db.session.connection()
    found = journal.rows(message, now, ctx) if ctx is not None else None
    interaction_id = None
    ctes = []
    if found is not None and ctx.ids:
        # PostgreSQL, the id reserved: the interaction is written by the same statement,
        # as common table expressions (one round trip per sent message).
        interaction_id = ctx.ids.pop()
        ctes = [
            stmt.returning(stmt.table.c.id).cte(f"journal_{n}")
            for n, stmt in enumerate(journal.insert_statements(*found, interaction_id))
        ]
    elif found is not None:
        interaction_id = journal.record(conn, *found)
    stmt = (
        update(MESSAGE)
        .where(
            MESSAGE.c.id == message.id,
            MESSAGE.c.claimed_by == worker,
            MESSAGE.c.state.in_(("sending", "cancelled")),
        )
        .values(
            state="sent",
            sent_at=now,
            lease_until=None,
            error="",
            provider_id=provider_id,
            interaction_id=interaction_id,
        )
    )
    if ctes:
        stmt = stmt.add_cte(*ctes)
    return conn.execute(stmt).rowcount


def close_finished(mailing_ids: Iterable[int] | None = None) -> int:
    """Mark done the sending mailings whose every message is made (total set by the start
    job) and none is queued or sending; exactly once (a conditional update). Commits."""
    pending = exists().where(
        MESSAGE.c.mailing_id == MAILING.c.id, MESSAGE.c.state.in_(("queued", "sending"))
    )
    stmt = update(MAILING).where(MAILING.c.state == "sending", MAILING.c.total > 0, not_(pending))
    if mailing_ids is not None:
        ids = sorted(set(mailing_ids))
        if not ids:
            return 0
        stmt = stmt.where(MAILING.c.id.in_(ids))
    now = utcnow()
    done = (
        db.session.connection()
        .execute(stmt.values(state="done", finished_at=now, **bump_values(MAILING)))
        .rowcount
    )
    db.session.commit()
    return done


def run_until_idle(
    channels: Iterable[str] | None = None, *, budget: float | None = None, on_renew=None
) -> int:
    """Send batches of `channels` (the ready ones) until none has anything due, or `budget`
    seconds have passed; returns how many messages were processed. `on_renew` is called
    after each batch and whenever a batch's lease is renewed."""
    channels = list(channels) if channels is not None else ready_channels()
    started = time.monotonic()
    done = 0
    active = list(channels)
    while active:
        for channel in list(active):
            result = send_batch(channel, on_renew=on_renew)
            done += result.claimed
            if on_renew is not None:
                on_renew()
            if not result.claimed or result.unavailable:
                active.remove(channel)
            if budget is not None and time.monotonic() - started >= budget:
                return done
    return done
