"""Background jobs: a JobRun row the UI polls, run by RQ when Redis is set, else inline.

A job function takes plain ids/values plus a keyword `run` (its JobRun) for progress, and must be
idempotent: running it twice leaves the same result.
"""

from __future__ import annotations

import importlib
import logging
import traceback

from flask import current_app

from crm.core.models import JobRun
from crm.core.timeutil import utcnow
from crm.extensions import db

log = logging.getLogger(__name__)


def redis_connection(app=None):
    """The app's Redis client for RQ, or None when jobs run inline."""
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


def enqueue(func, *args, user=None, queue: str | None = None) -> JobRun:
    """Record a JobRun and run `func(*args, run=...)` on RQ, or now when Redis is not set."""
    run = JobRun(name=_path(func), args=list(args), user_id=getattr(user, "id", None))
    db.session.add(run)
    db.session.flush()
    run_id = run.id
    db.session.commit()
    if redis_connection() is None:
        # Run as the worker would, in an app context (so a database session and `g`) of its
        # own: a job that expunges its session must not detach the caller's objects, such as
        # `run` or the request's current_user.
        with current_app.app_context():
            execute(run_id)
        return db.session.get(JobRun, run_id)
    else:
        job = get_queue(queue).enqueue(execute, run.id, job_timeout=6 * 3600)
        run.rq_job_id = job.id
        db.session.commit()
    return run


def execute(run_id: int) -> None:
    """Run a recorded job; called by the RQ worker (inside an app context) or inline."""
    run = db.session.get(JobRun, run_id)
    if run is None:
        log.warning("job run %s vanished before it ran", run_id)
        return
    run.status, run.started_at, run.message = "running", utcnow(), ""
    db.session.commit()
    try:
        _resolve(run.name)(*run.args, run=run)
    except Exception as exc:  # a failed job is recorded for the UI, then reported to RQ
        db.session.rollback()
        run = db.session.get(JobRun, run_id)
        run.status, run.finished_at = "failed", utcnow()
        run.message = f"{type(exc).__name__}: {exc}"
        db.session.commit()
        log.error("job %s failed\n%s", run_id, traceback.format_exc())
        if redis_connection() is not None:
            raise
        return
    run = db.session.get(JobRun, run_id)  # the job may have expunged its copy
    run.status, run.finished_at = "done", utcnow()
    if run.total:
        run.progress = run.total
    db.session.commit()


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
