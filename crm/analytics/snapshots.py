"""Writes: the stored monthly snapshots (crm.analytics.models) — every client's stage at a month
end and the ABC/XYZ classes of products and partners for the window ending with a month — and
what a partner merge does to them.

Each snapshot replaces its rows (and its SnapshotRun) in the caller's transaction: taking one
twice leaves the same rows, and a failure half-way leaves the previous snapshot as it was. The
functions flush; the job or the command commits.

Periods: a stage snapshot is dated by its month end (`at`), a class snapshot by its month's first
day; any day names its month. Only complete months are taken (a month end still to come would
store a stage that can still change).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from crm.analytics.abc_xyz import OBJECTS, abc_xyz
from crm.analytics.models import ClassSnapshot, SnapshotRun, StageSnapshot
from crm.analytics.stages import NEW, month_end, month_first, month_index, settings, stages_at
from crm.core.errors import DomainError
from crm.core.formats import fmt_date
from crm.core.timeutil import site_today, utcnow
from crm.extensions import db
from crm.sales.models import SalesLine

STAGES_KIND, CLASSES_KIND = "stages", "classes"
# cv_pct is kept as Numeric(12, 4): a CV beyond it (μ barely above zero after returns) is stored
# as this bound; it is Z either way.
CV_MAX = Decimal("99999999.9999")
FOUR = Decimal("0.0001")


def period_of(kind: str, day: date) -> date:
    """The date a snapshot of `kind` covering `day`'s month is stored under."""
    return month_end(day) if kind == STAGES_KIND else day.replace(day=1)


def last_complete_month(today: date | None = None) -> date:
    """The first day of the month before `today`'s (the site's today by default)."""
    today = today or site_today()
    return month_first(month_index(today) - 1)


def check_month(day: date, today: date | None = None) -> date:
    """`day`'s month's first day, refused when that month has not ended yet."""
    first = day.replace(day=1)
    latest = last_complete_month(today)
    if first > latest:
        raise DomainError(
            _(
                "A snapshot is taken of a month that has ended: the latest one ended on %(day)s.",
                day=fmt_date(month_end(latest)),
            )
        )
    return first


def class_window(month: date) -> tuple[date, date]:
    """The ABC/XYZ window of a class snapshot: ANALYTICS_CLASS_WINDOW_MONTHS months ending with
    `month`'s month, first day to last day."""
    months = int(current_app.config.get("ANALYTICS_CLASS_WINDOW_MONTHS", 12))
    return month_first(month_index(month) - months + 1), month_end(month)


def _claim_run(kind: str, period: date) -> SnapshotRun:
    """The SnapshotRun of (kind, period), created if missing and locked until the caller's
    transaction ends: two takes of one snapshot at once (the periodic job and a recompute)
    write one after the other instead of tripping over the rows' unique key. SQLite has no
    row locks; its single writer serialises them anyway."""
    query = (
        select(SnapshotRun)
        .where(SnapshotRun.kind == kind, SnapshotRun.period == period)
        .with_for_update()
    )
    run = db.session.execute(query).scalar_one_or_none()
    if run is None:
        try:
            with db.session.begin_nested():
                db.session.add(SnapshotRun(kind=kind, period=period, rows=0))
        except IntegrityError:  # another take created it first: wait for it below
            pass
        run = db.session.execute(query).scalar_one()
    return run


def _record_run(run: SnapshotRun, rows: int) -> None:
    run.rows, run.computed_at = rows, utcnow()
    db.session.flush()


def _window_revenue(first: date, last: date) -> dict[int, Decimal]:
    """partner_id → net revenue of the lines dated first..last."""
    rows = db.session.execute(
        select(SalesLine.partner_id, func.sum(SalesLine.amount))
        .where(SalesLine.date >= first, SalesLine.date <= last)
        .group_by(SalesLine.partner_id)
    ).all()
    return {pid: Decimal(str(total)) for pid, total in rows}


def _last_purchases(last: date) -> dict[int, date]:
    """partner_id → the date of its last purchase (amount > 0) on or before `last`."""
    rows = db.session.execute(
        select(SalesLine.partner_id, func.max(SalesLine.date))
        .where(SalesLine.amount > 0, SalesLine.date <= last)
        .group_by(SalesLine.partner_id)
    ).all()
    return {pid: d if isinstance(d, date) else date.fromisoformat(str(d)) for pid, d in rows}


def take_stage_snapshot(at: date) -> int:
    """Store every client's stage at the end of `at`'s month (clients created later have no
    row), with R (its net revenue over the W months ending then) and its last purchase;
    returns the number of rows."""
    at = month_end(check_month(at))
    frame = stages_at(at)
    frame = frame[frame["stage"] != NEW]
    first = month_first(month_index(at) - settings().window + 1)
    revenue = _window_revenue(first, at)
    last = _last_purchases(at)
    rows = [
        {
            "at": at,
            "partner_id": int(pid),
            "stage": stage,
            "revenue_window": revenue.get(int(pid), Decimal("0")),
            "last_purchase": last.get(int(pid)),
        }
        for pid, stage in zip(frame["partner_id"], frame["stage"], strict=True)
    ]
    run = _claim_run(STAGES_KIND, at)
    db.session.execute(delete(StageSnapshot).where(StageSnapshot.at == at))
    if rows:
        db.session.execute(insert(StageSnapshot), rows)
    _record_run(run, len(rows))
    return len(rows)


def _cv(value: Decimal | None) -> Decimal | None:
    return None if value is None else min(value, CV_MAX).quantize(FOUR)


def take_class_snapshots(month: date, progress: Callable[[int], None] | None = None) -> int:
    """Store the ABC/XYZ class of every product and every partner with sales in the window
    ending with `month` (default metrics and settings, monthly buckets); returns the number of
    rows. `progress(n)` is told after each of the two classifications."""
    month = check_month(month)
    start, end = class_window(month)
    rows = []
    for step, of in enumerate(OBJECTS, start=1):
        result = abc_xyz(of, start, end)
        rows += [
            {
                "of": of,
                "month": month,
                "object_id": r.object_id,
                "abc": r.abc,
                "xyz": r.xyz,
                "abc_metric": Decimal(r.abc_metric),
                "cv_pct": _cv(r.cv_pct),
            }
            for r in result.rows
        ]
        if progress is not None:
            progress(step)
    run = _claim_run(CLASSES_KIND, month)
    db.session.execute(delete(ClassSnapshot).where(ClassSnapshot.month == month))
    if rows:
        db.session.execute(insert(ClassSnapshot), rows)
    _record_run(run, len(rows))
    return len(rows)


TAKERS = {STAGES_KIND: take_stage_snapshot, CLASSES_KIND: take_class_snapshots}


def missing_snapshots(today: date | None = None) -> list[tuple[str, date]]:
    """(kind, period) of the last complete month's snapshots not taken yet."""
    month = last_complete_month(today)
    taken = set(
        db.session.execute(
            select(SnapshotRun.kind, SnapshotRun.period).where(
                SnapshotRun.period.in_(period_of(k, month) for k in TAKERS)
            )
        ).all()
    )
    return [(k, period_of(k, month)) for k in TAKERS if (k, period_of(k, month)) not in taken]


# --- partner merge ---------------------------------------------------------------------------


def merge_snapshot_rows(other_id: int, survivor_id: int) -> None:
    """Before partner `other_id` is merged into `survivor_id`: the survivor keeps his own
    snapshot rows; the other's rows of a date the survivor has no row for become the
    survivor's, the rest are dropped (a snapshot holds one row per partner and date). A
    snapshot taken again after the merge counts their sales together."""
    mine = aliased(StageSnapshot)
    db.session.execute(
        delete(StageSnapshot)
        .where(StageSnapshot.partner_id == other_id)
        .where(exists().where(and_(mine.partner_id == survivor_id, mine.at == StageSnapshot.at)))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(StageSnapshot)
        .where(StageSnapshot.partner_id == other_id)
        .values(partner_id=survivor_id)
        .execution_options(synchronize_session=False)
    )
    kept = aliased(ClassSnapshot)
    db.session.execute(
        delete(ClassSnapshot)
        .where(ClassSnapshot.of == "partners", ClassSnapshot.object_id == other_id)
        .where(
            exists().where(
                and_(
                    kept.of == "partners",
                    kept.object_id == survivor_id,
                    kept.month == ClassSnapshot.month,
                )
            )
        )
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(ClassSnapshot)
        .where(ClassSnapshot.of == "partners", ClassSnapshot.object_id == other_id)
        .values(object_id=survivor_id)
        .execution_options(synchronize_session=False)
    )
