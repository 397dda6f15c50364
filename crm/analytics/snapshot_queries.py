"""Reads of the stored snapshots: which exist and when they were taken, the runs of the
snapshot job, and the clients whose stage declined between the two latest stage snapshots
(My day). Declines follow the rank rule of shared/spec/analytics.md (crm.analytics.stages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import case, select
from sqlalchemy.orm import aliased

from crm.analytics.jobs import take_snapshot
from crm.analytics.models import SnapshotRun, StageSnapshot
from crm.analytics.snapshots import CLASSES_KIND, STAGES_KIND, last_complete_month
from crm.analytics.stages import RANK
from crm.core.models import JobRun
from crm.core.policy import visible
from crm.extensions import db
from crm.partners.models import Partner

SNAPSHOT_JOB = f"{take_snapshot.__module__}.{take_snapshot.__qualname__}"


@dataclass
class MonthSnapshots:
    month: date  # first day
    stages: SnapshotRun | None
    classes: SnapshotRun | None


def snapshot_months(latest: date | None = None) -> list[MonthSnapshots]:
    """Every month with a snapshot, newest first, and the last complete month even without
    one (the one the periodic job takes next)."""
    latest = latest or last_complete_month()
    found: dict[date, MonthSnapshots] = {latest: MonthSnapshots(latest, None, None)}
    for run in db.session.execute(select(SnapshotRun)).scalars():
        month = run.period.replace(day=1)
        entry = found.setdefault(month, MonthSnapshots(month, None, None))
        if run.kind == STAGES_KIND:
            entry.stages = run
        elif run.kind == CLASSES_KIND:
            entry.classes = run
    return sorted(found.values(), key=lambda m: m.month, reverse=True)


def recent_snapshot_jobs(limit: int = 10) -> list[JobRun]:
    """The latest runs of the on-demand snapshot job, newest first."""
    return list(
        db.session.execute(
            select(JobRun)
            .where(JobRun.name == SNAPSHOT_JOB)
            .order_by(JobRun.id.desc())
            .limit(limit)
        ).scalars()
    )


def snapshot_job(run_id: int) -> JobRun | None:
    run = db.session.get(JobRun, run_id)
    return run if run is not None and run.name == SNAPSHOT_JOB else None


def latest_stage_dates() -> tuple[date, date] | None:
    """The month ends of the two latest stage snapshots (older first), or None."""
    periods = list(
        db.session.execute(
            select(SnapshotRun.period)
            .where(SnapshotRun.kind == STAGES_KIND)
            .order_by(SnapshotRun.period.desc())
            .limit(2)
        ).scalars()
    )
    return (periods[1], periods[0]) if len(periods) == 2 else None


@dataclass
class MovedDown:
    partner_id: int
    code: str
    name: str
    source: str
    target: str
    revenue_window: Decimal  # R at the first snapshot
    last_purchase: date | None


def _rank(column):
    return case(*((column == stage, rank) for stage, rank in RANK.items()), else_=None)


def moved_down(reader, manager_id: int | None, start: date, end: date) -> list[MovedDown]:
    """The clients the reader may see (of `manager_id` when given) whose stage declined from
    the snapshot `start` to `end`: a rank ≥ 2 to a lower one. Largest R at `start` first."""
    a, b = aliased(StageSnapshot), aliased(StageSnapshot)
    rank_a, rank_b = _rank(a.stage), _rank(b.stage)
    stmt = (
        select(
            Partner.id,
            Partner.code,
            Partner.name,
            a.stage,
            b.stage,
            a.revenue_window,
            b.last_purchase,
        )  # fmt: skip
        .join(a, (a.partner_id == Partner.id) & (a.at == start))
        .join(b, (b.partner_id == Partner.id) & (b.at == end))
        .where(Partner.merged_into_id.is_(None), rank_a >= 2, rank_b < rank_a)
        .order_by(a.revenue_window.desc(), Partner.code)
    )
    if manager_id is not None:
        stmt = stmt.where(Partner.responsible_id == manager_id)
    return [MovedDown(*row) for row in db.session.execute(visible(reader, Partner, stmt)).all()]
