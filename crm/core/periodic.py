"""The registry of periodic jobs: work a domain wants done on a schedule that is not a
notification (crm.notifications.producers has those), such as the monthly analytics snapshots.
A domain registers its job in its blueprint setup:

    register_periodic(state, PeriodicJob("analytics-snapshots", take_missing_snapshots, 3600))

`worker.py --cron` enqueues each on RQ every `interval` seconds. Without Redis the web process
runs the due ones itself (`run_due`, from the notifications' background thread that the unread
badge's poll starts at most once a minute), so a fresh install keeps its snapshots and
summaries without a worker; each domain also offers a command for system cron.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from crm.core.registry import RegistryKey


@dataclass(frozen=True)
class PeriodicJob:
    key: str
    # A module-level function called without arguments (RQ imports it by name): idempotent,
    # cheap when there is nothing to do, commits its own work.
    func: Callable
    interval: int = 3600  # seconds between runs
    order: int = 100


PERIODIC_JOBS: RegistryKey[PeriodicJob] = RegistryKey("crm.periodic_jobs")


def register_periodic(state_or_app, job: PeriodicJob) -> None:
    PERIODIC_JOBS.register(state_or_app, job)


def periodic_jobs(app=None) -> list[PeriodicJob]:
    return list(PERIODIC_JOBS.of(app))


log = logging.getLogger(__name__)


def run_due(app, now: float | None = None) -> list[str]:
    """Run, in this process, every periodic job whose interval has passed since this process
    last ran it (each in an app context of its own; a failure is logged and rolled back);
    returns the keys run. For a web process without Redis: the caller is a background thread."""
    from crm.extensions import db

    now = time.monotonic() if now is None else now
    last: dict[str, float] = app.extensions.setdefault("crm.periodic_last_run", {})
    ran = []
    for job in periodic_jobs(app):
        if job.key in last and now - last[job.key] < job.interval:
            continue
        last[job.key] = now
        with app.app_context():
            try:
                job.func()
            except Exception:
                db.session.rollback()
                log.exception("periodic job %s failed (run in the web process)", job.key)
        ran.append(job.key)
    return ran
