"""The registry of periodic jobs: work a domain wants done on a schedule that is not a
notification (crm.notifications.producers has those), such as the monthly analytics snapshots.
A domain registers its job in its blueprint setup:

    register_periodic(state, PeriodicJob("analytics-snapshots", take_missing_snapshots, 3600))

`worker.py --cron` enqueues each on RQ every `interval` seconds; without Redis nothing runs
them on a schedule (each domain offers a command for system cron instead).
"""

from __future__ import annotations

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
