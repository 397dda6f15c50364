"""Background jobs: a JobRun row the UI polls; run on RQ workers when Redis is set, else on a
background thread of the web process (or inline: the CLI, tests with JOBS_INLINE).

A job function takes plain ids/values plus a keyword `run` (its JobRun) for progress, and must be
idempotent: running it twice leaves the same result. It writes in one transaction, so a process
killed half-way leaves nothing behind.

A running job holds a lease it renews from a small heartbeat thread. A job whose process died
stops renewing; `sweep_dead_jobs` (run on status polls, enqueues and by `worker.py --cron`)
marks it failed once its lease has run out, and calls the job's `on_failure` hook (see `job`),
so whatever waited on it (an import in "importing") can be run again.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import time
from datetime import timedelta

from flask import current_app, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from crm.core.errors import DomainError
from crm.core.i18n import in_language
from crm.core.models import JobRun
from crm.core.timeutil import utcnow
from crm.extensions import db

log = logging.getLogger(__name__)

# What users read on a failed job; the exception itself (SQL, parameters, paths) only goes to
# the log, under the run's id.
# Translated in the language of the user who started the job (`{id}`: the run's id).
FAILED_MESSAGE = _l(
    "The job failed because of an internal error; nothing was written. "
    "The error is logged (reference #{id})."
)
DIED_MESSAGE = _l(
    "The job stopped because the process running it ended; nothing was written. "
    "Run it again (reference #{id})."
)


def _locale_of(user_id: int | None) -> str | None:
    """The language of the user who started a run (None: the default). The user table by
    name, as JobRun's foreign key names it: core imports no domain."""
    if user_id is None:
        return None
    users = db.metadata.tables["user"]
    return db.session.execute(select(users.c.locale).where(users.c.id == user_id)).scalar()


def job(*, on_failure=None):
    """Mark a job function; `on_failure(*args, run=run)` is called (and committed) when the
    job fails or its process dies, to release what it held."""

    def mark(func):
        func.on_failure = on_failure
        return func

    return mark


def redis_connection(app=None):
    """The app's Redis client for RQ, or None when jobs run without Redis."""
    app = app or current_app
    return app.extensions.get("crm.redis")


def get_queue(name: str | None = None):
    """An RQ queue; by default the first of RQ_QUEUES (the ones worker.py serves)."""
    from rq import Queue

    return Queue(name or current_app.config["RQ_QUEUES"][0], connection=redis_connection())


def _path(func) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def _resolve(path: str):
    module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def _lease(now):
    return now + timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"])


def enqueue(func, *args, user=None, queue: str | None = None, background=None) -> JobRun:
    """Record a JobRun and run `func(*args, run=...)`: on RQ when Redis is set; otherwise on a
    background thread when called from a request (a request never runs a long job), inline
    from the CLI or when JOBS_INLINE is set. `background` True/False forces the choice when
    there is no Redis."""
    sweep_dead_jobs()
    run = JobRun(name=_path(func), args=list(args), user_id=getattr(user, "id", None))
    use_rq = redis_connection() is not None
    if background is None:
        background = has_request_context() and not current_app.config["JOBS_INLINE"]
    if not use_rq:
        # Leased from now: a process that dies before its thread starts is noticed too.
        run.worker, run.lease_until = process_name(), _lease(utcnow())
    db.session.add(run)
    db.session.flush()
    run_id = run.id
    db.session.commit()
    if use_rq:
        job_ = get_queue(queue).enqueue(execute, run_id, job_timeout=6 * 3600)
        run.rq_job_id = job_.id
        db.session.commit()
        return run
    if background:
        app = current_app._get_current_object()
        threading.Thread(
            target=_thread_main, args=(app, run_id), name=f"crm-job-{run_id}", daemon=True
        ).start()
        return run
    # Run as the worker would, in an app context (so a database session and `g`) of its own:
    # a job that expunges its session must not detach the caller's objects, such as `run` or
    # the request's current_user.
    with current_app.app_context():
        run_job(run_id)
    return db.session.get(JobRun, run_id)


def _thread_main(app, run_id: int) -> None:
    """A job on a thread of the web process, with its own app context and database session."""
    with app.app_context():
        try:
            run_job(run_id)
        except Exception:  # run_job records failures itself; this is a bug in the recording
            log.exception("job run %s: the background thread failed", run_id)
        finally:
            db.session.remove()


def execute(run_id: int) -> None:
    """The RQ entry point (worker.py runs it inside an app context): a failure is recorded on
    the JobRun, then raised so that RQ reports it too."""
    error = run_job(run_id)
    if error is not None:
        raise error


def run_job(run_id: int) -> Exception | None:
    """Claim a queued run, run it under a heartbeat, record done or failed; returns the error."""
    now = utcnow()
    claimed = db.session.execute(
        update(JobRun)
        .where(JobRun.id == run_id, JobRun.status == "queued")
        .values(
            status="running",
            started_at=now,
            message="",
            worker=process_name(),
            heartbeat_at=now,
            lease_until=_lease(now),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    run = db.session.get(JobRun, run_id)
    if not claimed:
        # Gone, or marked failed by the sweep before a worker took it: not run twice.
        log.warning("job run %s not run: it is %s", run_id, run.status if run else "gone")
        return None
    func = _resolve(run.name)
    args = list(run.args)
    # The job's messages (progress, refusals, its failure) in the language of its user.
    with Heartbeat(run_id), in_language(_locale_of(run.user_id)):
        try:
            func(*args, run=run)
        except Exception as exc:
            db.session.rollback()
            log.exception("job run %s (%s %r) failed", run_id, _path(func), args)
            message = exc.message if isinstance(exc, DomainError) else str(FAILED_MESSAGE)
            _record_failure(run_id, func, message.format(id=run_id))
            return exc
    run = db.session.get(JobRun, run_id)  # the job may have expunged its copy
    run.status, run.finished_at = "done", utcnow()
    if run.total:
        run.progress = run.total
    db.session.commit()
    return None


def _record_failure(run_id: int, func, message: str) -> None:
    """Failed with `message`, then the job's on_failure hook, each committed."""
    run = db.session.get(JobRun, run_id)
    run.status, run.finished_at, run.message = "failed", utcnow(), message
    run.lease_until = None
    db.session.commit()
    _call_failure_hook(run, func)


def _call_failure_hook(run: JobRun, func) -> None:
    hook = getattr(func, "on_failure", None)
    if hook is None:
        return
    try:
        hook(*run.args, run=run)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("job run %s: its on_failure hook failed", run.id)


# --- leases ------------------------------------------------------------------------------


def _start_ticks(pid) -> str:
    """When the process started (Linux clock ticks since boot), so that a pid reused by another
    process is not taken for the job's; "" where /proc is not there."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rpartition(")")[2].split()
    except OSError:
        return ""
    return "" if fields[0] == "Z" else fields[19]  # a zombie is dead


def process_name() -> str:
    """This process as a JobRun's `worker`: host, pid and start time."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_ticks('self')}"


def _alive_here(worker: str) -> bool:
    """Whether `worker` is a process of this host that still runs. On SQLite an importing
    process holds the write lock for the whole import, so its heartbeat cannot be written:
    its lease runs out although it is alive."""
    host, _, rest = (worker or "").partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another host (or unknown): only the lease tells
    if int(pid) == os.getpid():
        return True
    if started:
        return _start_ticks(pid) == started
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Heartbeat:
    """Renews a running job's lease every JOB_HEARTBEAT_SECONDS from a thread of its own, on a
    connection of its own (the job's session is in the middle of its transaction), and writes
    the progress a job reports while it writes (`live_progress`)."""

    _current = threading.local()

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.engine = db.engine
        self.every = current_app.config["JOB_HEARTBEAT_SECONDS"]
        self.lease = current_app.config["JOB_LEASE_SECONDS"]
        self.progress: int | None = None
        self._written: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"crm-heartbeat-{run_id}", daemon=True
        )

    def __enter__(self):
        Heartbeat._current.beat = self
        self._thread.start()
        return self

    def __exit__(self, *exc):
        Heartbeat._current.beat = None
        self._stop.set()

    def _loop(self) -> None:
        # Progress is shown within a second or two; the lease is renewed every `every` s.
        tick = min(self.every, 1.0)
        last = time.monotonic()
        while not self._stop.wait(tick):
            due = time.monotonic() - last >= self.every
            if due or self.progress != self._written:
                self.beat()
                last = time.monotonic()

    def beat(self) -> None:
        now = utcnow()
        values = {"heartbeat_at": now, "lease_until": now + timedelta(seconds=self.lease)}
        progress = self.progress
        if progress is not None:
            values["progress"] = progress
        table = JobRun.__table__
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(table)
                    .where(table.c.id == self.run_id, table.c.status == "running")
                    .values(**values)
                )
            self._written = progress
        except SQLAlchemyError as exc:  # e.g. SQLite locked by the job's own write: next time
            log.warning("job run %s: heartbeat not written (%s)", self.run_id, exc)


def live_progress(rows: int) -> None:
    """Progress of a job in the middle of its transaction (it cannot commit its JobRun): the
    heartbeat writes it on its own connection."""
    beat = getattr(Heartbeat._current, "beat", None)
    if beat is not None:
        beat.progress = rows


# --- the sweep ---------------------------------------------------------------------------

_sweep_lock = threading.Lock()
_last_sweep = [float("-inf")]


def sweep_dead_jobs(*, force: bool = False) -> int:
    """Mark failed the jobs whose lease ran out (their process died); at most once per
    JOB_SWEEP_SECONDS per process unless forced. Returns how many. Commits the session."""
    with _sweep_lock:
        now_m = time.monotonic()
        if not force and now_m - _last_sweep[0] < current_app.config["JOB_SWEEP_SECONDS"]:
            return 0
        _last_sweep[0] = now_m
    now = utcnow()
    expired = or_(
        JobRun.lease_until < now,
        # Runs started before leases existed.
        and_(
            JobRun.status == "running",
            JobRun.lease_until.is_(None),
            JobRun.started_at < now - timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"]),
        ),
    )
    swept = 0
    try:
        rows = db.session.execute(
            select(JobRun.id, JobRun.status, JobRun.worker, JobRun.user_id)
            .where(JobRun.status.in_(("queued", "running")), expired)
            .order_by(JobRun.id)
        ).all()
        for run_id, status, worker, user_id in rows:
            if _alive_here(worker):
                continue
            with in_language(_locale_of(user_id)):
                died = str(DIED_MESSAGE).format(id=run_id)
            # Conditional: a heartbeat or the job's end since the read wins.
            done = db.session.execute(
                update(JobRun)
                .where(JobRun.id == run_id, JobRun.status == status, expired)
                .values(
                    status="failed",
                    finished_at=now,
                    lease_until=None,
                    message=died,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            db.session.commit()
            if not done:
                continue
            swept += 1
            run = db.session.get(JobRun, run_id)
            log.error("job run %s (%s) died with its process %s", run_id, run.name, worker)
            try:
                func = _resolve(run.name)
            except (ImportError, AttributeError):
                continue
            _call_failure_hook(run, func)
    except SQLAlchemyError:
        # E.g. SQLite busy with an import's write: the next sweep tries again.
        db.session.rollback()
        log.warning("sweep of dead jobs skipped", exc_info=True)
    return swept


def job_meta(run: JobRun | None) -> dict:
    """What a running RQ job reported through its meta (rows written inside a transaction)."""
    if run is None or not run.rq_job_id or redis_connection() is None:
        return {}
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        return Job.fetch(run.rq_job_id, connection=redis_connection()).meta or {}
    except NoSuchJobError:
        return {}
