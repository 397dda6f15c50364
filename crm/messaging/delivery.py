"""Sending the queued messages: the workers' loop, the rate limit per channel, and `kick()`,
which makes sure somebody runs the loop soon.

A Message row is the source of truth. A worker
1. claims a batch (MESSAGING_BATCH) of due messages of a channel in one transaction — ones
   whose worker's lease ran out (it died), then queued ones whose retry time has come —
   setting them "sending" under its name and a lease (MESSAGING_LEASE_SECONDS), and commits:
   two workers never claim the same message (each UPDATE picks its rows with FOR UPDATE SKIP
   LOCKED on PostgreSQL; SQLite runs one writer at a time);
2. sends them one at a time, committing each one's new state (with its interaction) right
   after the server accepted it, and renews the lease of the rest as it goes.
So a worker killed at any moment leaves at most the one message in flight unrecorded: the
server may have accepted it, and it is sent again when its lease runs out, with the same
Message-ID (receiving servers drop the copy). Nothing else is ever sent twice.

Temporary errors are retried after MESSAGING_RETRY_SECONDS × 2^(attempts − 1), up to
MESSAGING_MAX_ATTEMPTS; permanent ones fail the message with the reason; an address refused
by the server is bounced and put on the suppression list. A server that cannot be reached
gives the batch back untried. Messages of a cancelled mailing are never claimed, and a worker
holding some stops within CANCEL_CHECK_EVERY messages.

Who runs the loop: with Redis, plain RQ jobs on the app's queue (`worker.py`), up to
MESSAGING_PARALLEL per channel, each holding a slot key in Redis while queued or running;
without Redis, one daemon thread of the process (never the request that called kick()).
The periodic dispatcher (crm.messaging.jobs.dispatch) kicks whenever messages are due, which
is what resumes sending after a worker died or Redis restarted."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, exists, func, not_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from crm.core.timeutil import utcnow
from crm.core.versioning import bump_values
from crm.extensions import db
from crm.jobs import process_name, redis_connection
from crm.messaging.backends import AddressRefused, DeliveryError, TemporaryError, Unavailable
from crm.messaging.models import CHANNELS, Mailing, MailingGroup, Message, Suppression

log = logging.getLogger(__name__)

MESSAGE = Message.__table__
MAILING = Mailing.__table__
# A send job hands over to a fresh one after this long, so that other jobs on the queue (an
# import, a report) get their turn on a worker during a long mailing.
JOB_BUDGET_SECONDS = 300
# How long a queued send job holds its slot (a running one renews it for a lease): a job
# lost from the queue frees its slot at the latest then.
QUEUED_SLOT_SECONDS = 24 * 3600


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


def _cfg(name: str):
    return current_app.config[name]


def ready_channels() -> list[str]:
    """The channels that can send here: e-mail once SMTP_HOST is set (until then its messages
    wait queued), SMS always (its backend defaults to the console)."""
    from crm.notifications.mail import smtp_configured

    return [c for c in CHANNELS if c != "email" or smtp_configured()]


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
        MESSAGE.c.attempts < _cfg("MESSAGING_MAX_ATTEMPTS"),
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
            lease_until=now + timedelta(seconds=_cfg("MESSAGING_LEASE_SECONDS")),
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


# --- the rate limit ------------------------------------------------------------------------

_local_windows: dict[tuple, int] = {}
_local_lock = threading.Lock()


def _window(rate: float) -> tuple[int, int]:
    """(window in seconds, messages per window) for `rate` messages a second (0.5: one in 2 s)."""
    seconds = 1 if rate >= 1 else math.ceil(1 / rate)
    return seconds, max(1, int(rate * seconds))


def _namespace() -> str:
    # Apps (or test runs) sharing a Redis keep their keys apart by their queue's name.
    return f"crm:messaging:{current_app.config['RQ_QUEUES'][0]}"


def wait_for_rate(channel: str) -> None:
    """Block until one more message of `channel` may go: MESSAGING_RATE_<CHANNEL> a second
    over all workers (a counter per window in Redis), or per process without Redis."""
    rate = float(_cfg(f"MESSAGING_RATE_{channel.upper()}") or 0)
    if rate <= 0:
        return
    seconds, allowed = _window(rate)
    conn = redis_connection()
    while True:
        now = time.time()
        window = int(now // seconds)
        if conn is not None:
            key = f"{_namespace()}:rate:{channel}:{window}"
            pipe = conn.pipeline()
            pipe.incr(key)
            pipe.expire(key, seconds + 1)
            count = pipe.execute()[0]
        else:
            with _local_lock:
                for old in [k for k in _local_windows if k[0] == channel and k[1] < window]:
                    del _local_windows[old]
                count = _local_windows[channel, window] = (
                    _local_windows.get((channel, window), 0) + 1
                )
        if count <= allowed:
            return
        time.sleep(max(0.001, (window + 1) * seconds - now))


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


def _mine(worker: str, ids: Iterable[int]):
    return and_(
        MESSAGE.c.id.in_(list(ids)), MESSAGE.c.claimed_by == worker, MESSAGE.c.state == "sending"
    )


def _set(message_id: int, worker: str, **values) -> int:
    """Move a message this worker holds to its outcome; how many rows moved (0: no longer
    ours — its lease ran out and another worker took it)."""
    values.setdefault("lease_until", None)
    return (
        db.session.connection()
        .execute(update(MESSAGE).where(_mine(worker, [message_id])).values(**values))
        .rowcount
    )


def _renew(worker: str, remaining: list[Outgoing]) -> list[Outgoing]:
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
        .values(lease_until=utcnow() + timedelta(seconds=_cfg("MESSAGING_LEASE_SECONDS")))
        .returning(MESSAGE.c.id)
    ).scalars()
    kept = set(kept)
    db.session.commit()
    return [m for m in remaining if m.id in kept]


def _give_back(
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


def _failed_temporarily(message: Outgoing, worker: str, reason: str, now: datetime) -> None:
    if message.attempts >= _cfg("MESSAGING_MAX_ATTEMPTS"):
        _set(message.id, worker, state="failed", error=reason[:500])
        return
    delay = _cfg("MESSAGING_RETRY_SECONDS") * 2 ** max(0, message.attempts - 1)
    _set(
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
    messages = claim(channel, _cfg("MESSAGING_BATCH"), worker)
    result.claimed = len(messages)
    if not messages:
        return result
    renew_every = max(0.5, _cfg("MESSAGING_LEASE_SECONDS") / 3)
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
                    remaining = _renew(worker, remaining)
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
                    retry_at = utcnow() + timedelta(seconds=_cfg("MESSAGING_RETRY_SECONDS"))
                    _give_back(worker, remaining, retry_at, exc.reason)
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
            _give_back(worker, remaining[1:] if on_its_way else remaining, None)
    close_finished(mailing_ids)
    return result


def _record_error(message: Outgoing, worker: str, exc: DeliveryError, result: BatchResult) -> None:
    now = utcnow()
    if isinstance(exc, TemporaryError):
        _failed_temporarily(message, worker, exc.reason, now)
        result.retried += 1
    elif isinstance(exc, AddressRefused):
        if _set(message.id, worker, state="bounced", error=exc.reason):
            _suppress(message, exc.reason, now)
        result.bounced += 1
    else:
        _set(message.id, worker, state="failed", error=exc.reason)
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


def run_until_idle(channels: Iterable[str] | None = None, *, budget: float | None = None,
                   on_renew=None) -> int:  # fmt: skip
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


# --- kick: who runs the loop ---------------------------------------------------------------


_here = threading.local()


@contextlib.contextmanager
def sending_here():
    """Within it (the CLI's dispatch without Redis), kick() starts no thread: the caller sends
    what is due itself afterwards (a thread would die with the command's process)."""
    previous = getattr(_here, "active", False)
    _here.active = True
    try:
        yield
    finally:
        _here.active = previous


def kick() -> None:
    """Make sure the due messages get sent soon, never in the caller: RQ send jobs with
    Redis, the process's sending thread without. Call it after committing the messages (a
    send job may start at once); it writes nothing in the caller's session."""
    if redis_connection() is None:
        if not getattr(_here, "active", False):
            _kick_thread(current_app._get_current_object())
        return
    try:
        _kick_rq()
    except Exception:  # Redis down: the dispatcher kicks again; the caller's work stands
        log.exception("messaging: send jobs not queued")


# With Redis: slots. Slot n of a channel is a key holding the id of the RQ job that serves
# it; set (NX) before the job is queued, renewed by the running job, deleted when it ends.


def _slot_key(channel: str, slot: int) -> str:
    return f"{_namespace()}:slot:{channel}:{slot}"


_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
return 0
"""


def _job_alive(conn, job_id: bytes) -> bool:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        status = Job.fetch(job_id.decode(), connection=conn).get_status(refresh=False)
    except NoSuchJobError:
        return False
    return str(getattr(status, "value", status)) in ("queued", "started", "deferred", "scheduled")


def _kick_rq() -> None:
    from crm.jobs import get_queue

    conn = redis_connection()
    batch, parallel = _cfg("MESSAGING_BATCH"), _cfg("MESSAGING_PARALLEL")
    for channel in ready_channels():
        due = claimable(channel, batch * parallel)
        wanted = min(parallel, math.ceil(due / batch))
        for slot in range(wanted):
            key = _slot_key(channel, slot)
            current = conn.get(key)
            if current is not None:
                if _job_alive(conn, current):
                    continue
                conn.eval(_RELEASE, 1, key, current)  # a job lost with its queue: free it
            # The job's id names the queue: a test run's cleanup finds its jobs by it.
            token = f"{_namespace().replace(':', '-')}-send-{uuid.uuid4().hex}"
            if conn.set(key, token, nx=True, ex=QUEUED_SLOT_SECONDS):
                get_queue().enqueue(
                    send_job,
                    channel,
                    slot,
                    token,
                    job_id=token,
                    job_timeout=JOB_BUDGET_SECONDS + 3600,
                    result_ttl=60,
                    failure_ttl=24 * 3600,
                )


def send_job(channel: str, slot: int, token: str) -> int:
    """The RQ job of one slot: send `channel`'s due messages until there are none (or the
    job's time is up: a fresh job then takes over); returns how many were processed."""
    conn = redis_connection()
    key = _slot_key(channel, slot)
    ttl = max(10, int(_cfg("MESSAGING_LEASE_SECONDS")))
    if not conn.eval(_RENEW, 1, key, token, ttl):
        return 0  # the slot was freed and given to another job meanwhile

    def renew():
        conn.eval(_RENEW, 1, key, token, ttl)

    started = time.monotonic()
    done = 0
    while True:
        left = JOB_BUDGET_SECONDS - (time.monotonic() - started)
        try:
            done += run_until_idle([channel], budget=max(0.0, left), on_renew=renew)
        finally:
            conn.eval(_RELEASE, 1, key, token)
        if time.monotonic() - started >= JOB_BUDGET_SECONDS:
            kick()  # hand over to a fresh job at the back of the queue
            return done
        # Messages stored after the last empty claim but before the release found the slot
        # taken and did not queue a job: take the slot back for them.
        if not claimable(channel, 1) or not conn.set(key, token, nx=True, ex=ttl):
            db.session.commit()
            return done


# Without Redis: one daemon thread per process (per app), with an app context of its own.


class _ThreadState:
    def __init__(self):
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.again = False


_states_lock = threading.Lock()


def _thread_state(app) -> _ThreadState:
    with _states_lock:
        return app.extensions.setdefault("crm.messaging.sender", _ThreadState())


def _kick_thread(app) -> None:
    state = _thread_state(app)
    with state.lock:
        state.again = True
        if state.thread is not None and state.thread.is_alive():
            return
        state.thread = threading.Thread(
            target=_thread_main, args=(app, state), name="crm-messaging-sender", daemon=True
        )
        state.thread.start()


def _thread_main(app, state: _ThreadState) -> None:
    with app.app_context():
        try:
            while True:
                with state.lock:
                    state.again = False
                run_until_idle()
                with state.lock:
                    if not state.again:
                        state.thread = None
                        return
        except Exception:
            log.exception("messaging: the sending thread stopped")
            with state.lock:
                state.thread = None
        finally:
            db.session.remove()


def wait_for_sending_thread(app=None, timeout: float = 60) -> bool:
    """Wait until this process's sending thread (no Redis) has nothing left; True when it
    ended in time. For the CLI and tests."""
    state = _thread_state(app or current_app._get_current_object())
    deadline = time.monotonic() + timeout
    while True:
        with state.lock:
            thread = state.thread
        if thread is None:
            return True
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            return False
