"""Jobs of the mailings' delivery: starting a mailing (its recipients resolved now, its
messages composed and stored batch by batch), the periodic dispatcher and the retention of
message bodies.

Starting commits batch by batch, unlike most jobs: a start killed half-way keeps what it
stored, and the next start of the same mailing (the dispatcher's, within minutes) composes
only the addresses that have no message yet. The mailing's `total` is written when every
message is made: until then (0) the senders do not mark it done, however fast they are."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from crm.core.db import ANALYZE_AFTER_ROWS, analyze
from crm.core.errors import DomainError
from crm.core.i18n import in_language
from crm.core.models import JobRun
from crm.core.policy import require
from crm.core.timeutil import utcnow
from crm.core.versioning import bump_values
from crm.extensions import db
from crm.jobs import enqueue, job, redis_connection, sweep_dead_jobs
from crm.messaging import bp
from crm.messaging.models import FINAL_STATES, Mailing, Message

log = logging.getLogger(__name__)

MAILING = Mailing.__table__
MESSAGE = Message.__table__
START_JOB = "crm.messaging.jobs.start_mailing"
COMPOSE_BATCH = 500  # recipients composed and stored per commit
# A start that failed is tried again by the dispatcher after this long: a scheduled mailing
# whose segment is gone fails once an hour (its JobRun says why), not every minute; a
# mailing whose start died half-way resumes within minutes.
RETRY_FAILED_START = {"scheduled": timedelta(hours=1), "sending": timedelta(minutes=5)}
PURGE_BATCH = 2000


def _is_due(mailing: Mailing, now=None) -> bool:
    return mailing.scheduled_at is None or mailing.scheduled_at <= (now or utcnow())


def start_run(mailing_id: int, *, live_only: bool = False) -> JobRun | None:
    """The latest start of a mailing (its progress, or why it failed); only a queued or
    running one with `live_only`."""
    stmt = select(JobRun).where(JobRun.name == START_JOB).order_by(JobRun.id.desc())
    live = JobRun.status.in_(("queued", "running"))
    stmt = stmt.where(live) if live_only else stmt.limit(200)
    for run in db.session.execute(stmt).scalars():
        if run.args and run.args[0] == mailing_id:
            return run
    return None


def start_mailing_now(mailing: Mailing, user) -> JobRun:
    """Start sending a scheduled mailing that is due (or resume one that is sending): the
    start job resolves its recipients now, composes and stores their messages and gets them
    sent. A start already queued or running is returned instead of a second one."""
    require(user, "messaging.send")
    if mailing.state not in ("scheduled", "sending"):
        raise DomainError(_("Only a scheduled mailing can be started."))
    if mailing.state == "scheduled" and not _is_due(mailing):
        raise DomainError(_("The mailing is scheduled for later; it starts at its time."))
    live = start_run(mailing.id, live_only=True)
    if live is not None:
        return live
    return enqueue(start_mailing, mailing.id, user=user)


def _existing_addresses(mailing_id: int) -> set[str]:
    return set(
        db.session.execute(
            select(MESSAGE.c.address_norm).where(MESSAGE.c.mailing_id == mailing_id)
        ).scalars()
    )


def _set_mailing(mailing_id: int, *states: str, **values) -> int:
    stmt = update(MAILING).where(MAILING.c.id == mailing_id)
    if states:
        stmt = stmt.where(MAILING.c.state.in_(states))
    return db.session.execute(stmt.values(**values, **bump_values(MAILING))).rowcount


@job()
def start_mailing(mailing_id: int, *, run) -> None:
    """Resolve a mailing's recipients now, compose and store their messages batch by batch
    (committing each) and kick the senders. Only a scheduled mailing that is due, or one
    that is sending (a start that died is resumed); a cancelled one never starts. A recipient
    list that cannot be resolved (its segment was deleted) leaves a scheduled mailing
    scheduled and fails the job with the reason."""
    from crm.messaging import delivery, runners
    from crm.messaging.compose import compose
    from crm.messaging.outbox import store
    from crm.messaging.recipients import ScopeError, resolve

    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None:
        run.message = _("The mailing no longer exists.")
        return
    if mailing.state not in ("scheduled", "sending"):
        run.message = _("The mailing is not waiting to be sent; nothing was done.")
        return
    if mailing.state == "scheduled" and not _is_due(mailing):
        run.message = _("The mailing is scheduled for later; nothing was done.")
        return
    if mailing.state == "sending" and mailing.total > 0:
        # Every message is made already: only the sending remains.
        delivery.close_finished([mailing_id])
        runners.kick()
        return
    template = mailing.template
    if template is None or template.channel != mailing.channel:
        raise DomainError(_("The mailing cannot start: it has no template for its channel."))
    resuming = mailing.state == "sending"
    try:
        resolution = resolve(mailing)
    except ScopeError as exc:
        if not resuming:
            raise DomainError(
                _("The mailing cannot start: %(reason)s", reason=exc.reason)
            ) from None
        # Started already, then its list went away: what was made is sent, and that is all.
        log.warning("mailing %s: recipients not resolved on resuming: %s", mailing_id, exc)
        run.message = _("The recipients could not be resolved again: %(reason)s", reason=exc.reason)
        resolution = None
    now = utcnow()
    values = {"state": "sending", "started_at": mailing.started_at or now}
    if resolution is not None:
        values["skipped"] = dict(resolution.skipped)
    if not _set_mailing(mailing_id, "scheduled", "sending", **values):
        db.session.rollback()
        return  # cancelled in the meantime
    db.session.commit()

    group, channel, tracking = mailing.group, mailing.channel, mailing.tracking
    made = _existing_addresses(mailing_id)
    todo = [r for r in resolution.recipients if r.address_norm not in made] if resolution else []
    run.total, run.progress = len(todo), 0
    db.session.commit()
    for start in range(0, len(todo), COMPOSE_BATCH):
        state = db.session.execute(select(MAILING.c.state).where(MAILING.c.id == mailing_id))
        if state.scalar() != "sending":
            run.message = _("The mailing was cancelled while its messages were being made.")
            db.session.commit()
            return
        chunk = todo[start : start + COMPOSE_BATCH]
        composed = compose(template, chunk, group=group, tracking=tracking)
        store(composed, channel, mailing_id=mailing_id, group_id=group.id if group else None)
        run.progress = start + len(chunk)
        db.session.commit()
        runners.kick()  # the senders start on the first batch while the rest is made

    total = db.session.execute(
        select(func.count()).select_from(MESSAGE).where(MESSAGE.c.mailing_id == mailing_id)
    ).scalar_one()
    if total >= ANALYZE_AFTER_ROWS:
        # The claim's plan: a message table that grew from nothing looks empty to PostgreSQL.
        analyze(db.session.connection(), [MESSAGE])
    if total:
        _set_mailing(mailing_id, "sending", total=total)
    else:
        # Nobody to send to (all skipped): done at once.
        _set_mailing(mailing_id, "sending", state="done", finished_at=utcnow())
    db.session.commit()
    delivery.close_finished([mailing_id])  # the senders may have finished before the total
    runners.kick()


# --- the dispatcher ------------------------------------------------------------------------


def _startable(now) -> list[tuple[int, str, int | None]]:
    """(id, state, author) of the mailings to start: scheduled and due, or sending with
    their messages not all made (a start that died)."""
    stmt = select(MAILING.c.id, MAILING.c.state, MAILING.c.created_by_id).where(
        or_(
            (MAILING.c.state == "scheduled")
            & (MAILING.c.scheduled_at.is_(None) | (MAILING.c.scheduled_at <= now)),
            (MAILING.c.state == "sending") & (MAILING.c.total == 0),
        )
    )
    return [tuple(r) for r in db.session.execute(stmt.order_by(MAILING.c.id))]


def start_due(now=None) -> int:
    """Start the mailings due (idempotent: not one with a start queued or running, nor one
    whose start failed a short while ago); returns how many starts were queued."""
    from crm.auth.models import User

    now = now or utcnow()
    candidates = _startable(now)
    if not candidates:
        return 0
    oldest = now - max(RETRY_FAILED_START.values())
    runs = db.session.execute(
        select(JobRun.args, JobRun.status, JobRun.created_at).where(
            JobRun.name == START_JOB,
            or_(
                JobRun.status.in_(("queued", "running")),
                (JobRun.status == "failed") & (JobRun.created_at >= oldest),
            ),
        )
    ).all()
    live: set = set()
    failed: dict = {}
    for args, status, created_at in runs:
        key = args[0] if args else None
        if status in ("queued", "running"):
            live.add(key)
        else:
            failed[key] = max(failed.get(key, created_at), created_at)
    started = 0
    for mailing_id, state, author_id in candidates:
        if mailing_id in live:
            continue
        last_failure = failed.get(mailing_id)
        if last_failure is not None and last_failure >= now - RETRY_FAILED_START[state]:
            continue
        author = db.session.get(User, author_id) if author_id else None
        enqueue(start_mailing, mailing_id, user=author)
        started += 1
    return started


def release_stuck(now=None) -> dict[str, int]:
    """Unsent messages of cancelled mailings become cancelled; a message whose workers died
    with it MESSAGING_MAX_ATTEMPTS times fails (it is not claimed again). Commits."""
    now = now or utcnow()
    cancelled_mailing = select(MAILING.c.id).where(MAILING.c.state == "cancelled")
    unsent = (MESSAGE.c.state == "queued") | (
        (MESSAGE.c.state == "sending") & (MESSAGE.c.lease_until < now)
    )
    cancelled = db.session.execute(
        update(MESSAGE)
        .where(MESSAGE.c.mailing_id.in_(cancelled_mailing), unsent)
        .values(state="cancelled", lease_until=None)
    ).rowcount
    # Stored once for every reader: in the site's language, as the servers' replies are.
    with in_language(None):
        reason = _("Sending was interrupted too many times (the worker stopped).")
    exhausted = db.session.execute(
        update(MESSAGE)
        .where(
            MESSAGE.c.state == "sending",
            MESSAGE.c.lease_until < now,
            MESSAGE.c.attempts >= current_app.config["MESSAGING_MAX_ATTEMPTS"],
        )
        .values(state="failed", lease_until=None, error=reason[:500])
    ).rowcount
    db.session.commit()
    return {"cancelled": cancelled, "failed": exhausted}


def dispatch(*, inline: bool = False) -> dict[str, int]:
    """The periodic round (every MESSAGING_DISPATCH_SECONDS): start the mailings due,
    release what is stuck, close the finished mailings, and get the due messages sent —
    which is what resumes sending after a worker died or Redis restarted. `inline` (the CLI
    without Redis): send them in this process now instead of kicking a thread."""
    from crm.messaging import claims, delivery, runners

    sweep_dead_jobs()  # a start whose process died is failed, so that it can be resumed
    here = inline and redis_connection() is None
    with runners.sending_here() if here else contextlib.nullcontext():
        counts = {"started": start_due()}
        counts.update(release_stuck())
        counts["closed"] = delivery.close_finished()
        due = sum(claims.claimable(c, 1) for c in delivery.ready_channels())
        db.session.commit()
        counts["sent"] = 0
        if here:
            counts["sent"] = delivery.run_until_idle()
            counts["closed"] += delivery.close_finished()
        elif due:
            runners.kick()
    return counts


# --- retention -----------------------------------------------------------------------------


def purge_bodies(now=None) -> int:
    """Empty the bodies of the processed messages older than MESSAGING_RETENTION_DAYS (their
    state, dates and counts stay); returns how many. Commits a batch at a time."""
    now = now or utcnow()
    cutoff = now - timedelta(days=current_app.config["MESSAGING_RETENTION_DAYS"])
    purged = 0
    while True:
        ids = list(
            db.session.execute(
                select(MESSAGE.c.id)
                .where(
                    MESSAGE.c.purged_at.is_(None),
                    MESSAGE.c.created_at < cutoff,
                    MESSAGE.c.state.in_(FINAL_STATES),
                )
                .limit(PURGE_BATCH)
            ).scalars()
        )
        if not ids:
            db.session.commit()
            return purged
        db.session.execute(
            update(MESSAGE)
            .where(MESSAGE.c.id.in_(ids))
            .values(body_html="", body_text="", purged_at=now)
        )
        db.session.commit()
        purged += len(ids)


# --- setup ---------------------------------------------------------------------------------


def _setup_delivery(state) -> None:
    from crm.core.periodic import PeriodicJob, register_periodic
    from crm.messaging import cli

    interval = max(1, int(state.app.config["MESSAGING_DISPATCH_SECONDS"]))
    register_periodic(state, PeriodicJob("messaging-dispatch", dispatch, interval, 70))
    register_periodic(state, PeriodicJob("messaging-purge", purge_bodies, 3600, 80))
    cli.register()


bp.record_once(_setup_delivery)
