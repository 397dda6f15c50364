"""RQ entry points of analytics: a snapshot taken on demand (the snapshots page, through
crm.jobs.enqueue) and the periodic job that takes the last complete month's missing
snapshots (crm.core.periodic, run by `worker.py --cron`). Both are idempotent: a snapshot
replaces its rows."""

from __future__ import annotations

import logging
from datetime import date

from crm.analytics.snapshots import (
    CLASSES_KIND,
    STAGES_KIND,
    TAKERS,
    missing_snapshots,
    take_class_snapshots,
    take_stage_snapshot,
)
from crm.extensions import db
from crm.jobs import live_progress

log = logging.getLogger(__name__)

KINDS = (STAGES_KIND, CLASSES_KIND)
# Steps a run reports: the stages in one, the classes in two (products, then partners).
STEPS = {STAGES_KIND: 1, CLASSES_KIND: 2}


def take_snapshot(kind: str, month: str, *, run) -> None:
    """Take the snapshot of `kind` ("stages", "classes" or "all") for `month` (YYYY-MM-DD, any
    day of it) in one transaction."""
    kinds = KINDS if kind == "all" else (kind,)
    day = date.fromisoformat(month)
    run.total = sum(STEPS[k] for k in kinds)
    db.session.commit()
    done = 0
    for k in kinds:
        if k == STAGES_KIND:
            take_stage_snapshot(day)
            done += 1
            live_progress(done)
        else:
            base = done
            take_class_snapshots(day, progress=lambda step, base=base: live_progress(base + step))
            done += STEPS[k]
    db.session.commit()


def take_missing_snapshots() -> dict[str, int]:
    """The periodic job: take the last complete month's snapshots that are not there yet, each
    committed on its own; {"kind period": rows}. Nothing to do is one small query."""
    taken = {}
    for kind, period in missing_snapshots():
        try:
            taken[f"{kind} {period.isoformat()}"] = TAKERS[kind](period)
            db.session.commit()
        except Exception:
            # The worker's session serves its next job: leave it clean; RQ records the error.
            db.session.rollback()
            log.exception("analytics snapshot %s %s failed", kind, period)
            raise
    return taken
