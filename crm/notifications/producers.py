"""Jobs that produce notifications (interactions' reminders, later deals' and claims'), which
higher domains register here so that this package runs them without importing those domains.

They run in one of three ways (see README, "Reminders"): a cron process (`worker.py --cron`)
enqueueing each on RQ every `interval` seconds, system cron calling `flask crm reminders`, or —
with no Redis — inline from the unread-badge poll, at most once a minute per process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from crm.core.periodic import run_due
from crm.core.registry import RegistryKey
from crm.extensions import db

log = logging.getLogger(__name__)

INLINE_EVERY_SECONDS = 60


@dataclass(frozen=True)
class NotificationProducer:
    key: str
    # A module-level function `func(run=None, now=None) -> dict` (RQ imports it by name):
    # idempotent, commits its own work, delivers e-mail copies.
    func: Callable
    interval: int = 60  # seconds between runs
    order: int = 100


PRODUCERS: RegistryKey[NotificationProducer] = RegistryKey("crm.notification_producers")


def register_producer(state_or_app, producer: NotificationProducer) -> None:
    PRODUCERS.register(state_or_app, producer)


def producers(app=None) -> list[NotificationProducer]:
    return list(PRODUCERS.of(app))


def run_all() -> dict[str, dict]:
    """Run every producer now, in this process; {key: its counts}."""
    return {p.key: p.func() for p in producers()}


_inline_lock = threading.Lock()


def run_inline_if_due() -> None:
    """Without Redis nothing runs the producers on a schedule: the badge poll does, at most once
    per INLINE_EVERY_SECONDS per process (per app), and never lets a failure reach the page.
    They run on a background thread (a request never runs a job: an SMTP server that does not
    answer would hold the badge for its time-out), or in the caller when JOBS_INLINE is set."""
    app = current_app._get_current_object()
    if not _inline_lock.acquire(blocking=False):
        return  # another request of this process is running them
    try:
        last = app.extensions.get("crm.notifications_inline_at")
        if last is not None and time.monotonic() - last < INLINE_EVERY_SECONDS:
            _inline_lock.release()
            return
        app.extensions["crm.notifications_inline_at"] = time.monotonic()
        if app.config.get("JOBS_INLINE"):
            _run_producers(app)
        else:
            # The thread releases the lock when it is done, so runs never overlap.
            threading.Thread(
                target=_run_producers, args=(app,), name="crm-notification-producers", daemon=True
            ).start()
    except BaseException:
        _inline_lock.release()
        raise


def _run_producers(app) -> None:
    """Every producer once, each in an app context of its own (its commits and rollbacks stay
    off any request's session); then the inline lock is free again."""
    try:
        for producer in producers(app):
            with app.app_context():
                try:
                    producer.func()
                except Exception:
                    db.session.rollback()
                    log.exception("notification producer %s failed (run inline)", producer.key)
        if not app.config.get("JOBS_INLINE"):
            # The other periodic jobs (snapshots, summaries) when they are due: heavier than a
            # producer, so never inside a request (JOBS_INLINE runs this in one).
            run_due(app)
    finally:
        _inline_lock.release()
