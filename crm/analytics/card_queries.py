"""Reads of the stored snapshots for the pages people work in: an object's class and a client's
stage in the latest snapshot, their monthly history, and the conditions of the list filters
"ABC/XYZ class" and "Stage" (crm.analytics.snapshots fills the tables).

"Latest" is the latest snapshot taken: the latest month with class rows of that kind of object,
the latest month end with stage rows. An object without a row there is not classified (no
sales in that window) or, for stages, was no client then; an older row is not shown as current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, or_, select

from crm.analytics.models import ClassSnapshot, StageSnapshot
from crm.extensions import db

HISTORY_MONTHS = 36
CLASSES = tuple(a + x for a in "ABC" for x in "XYZ")  # AX, AY, … CZ


def _latest_month(of: str, until: date | None = None):
    """The latest class snapshot's month; with `until`, the latest whose month had ended by
    that day (a snapshot of June is known from June 30 on)."""
    stmt = select(func.max(ClassSnapshot.month)).where(ClassSnapshot.of == of)
    if until is not None:
        # A month has ended by `until` when it comes before the month of the day after.
        stmt = stmt.where(ClassSnapshot.month < (until + timedelta(days=1)).replace(day=1))
    return stmt.scalar_subquery()


def _latest_at(until: date | None = None):
    """The latest stage snapshot's month end; with `until`, the latest on or before it."""
    stmt = select(func.max(StageSnapshot.at))
    if until is not None:
        stmt = stmt.where(StageSnapshot.at <= until)
    return stmt.scalar_subquery()


def latest_class(of: str, object_id: int) -> tuple[date | None, ClassSnapshot | None]:
    """(month of the latest class snapshot of `of`, the object's row in it or None)."""
    month = db.session.execute(select(_latest_month(of))).scalar()
    if month is None:
        return None, None
    row = db.session.execute(
        select(ClassSnapshot).where(
            ClassSnapshot.of == of,
            ClassSnapshot.month == month,
            ClassSnapshot.object_id == object_id,
        )
    ).scalar_one_or_none()
    return month, row


def latest_stage(partner_id: int) -> tuple[date | None, StageSnapshot | None]:
    """(the latest stage snapshot's date, the partner's row in it or None)."""
    at = db.session.execute(select(_latest_at())).scalar()
    if at is None:
        return None, None
    row = db.session.execute(
        select(StageSnapshot).where(StageSnapshot.at == at, StageSnapshot.partner_id == partner_id)
    ).scalar_one_or_none()
    return at, row


@dataclass(slots=True)
class HistoryRow:
    month: date  # the first day of the month
    abc: str | None = None
    xyz: str | None = None
    metric: Decimal | None = None
    cv_pct: Decimal | None = None
    stage: str | None = None
    at: date | None = None  # the stage snapshot's month end
    revenue_window: Decimal | None = None
    last_purchase: date | None = None

    @property
    def klass(self) -> str | None:
        return f"{self.abc}{self.xyz}" if self.abc else None


def history(of: str, object_id: int, limit: int = HISTORY_MONTHS) -> list[HistoryRow]:
    """The object's class (and, for partners, stage) per snapshot month, newest first, over the
    `limit` latest months that have either."""
    rows: dict[date, HistoryRow] = {}
    classes = db.session.execute(
        select(ClassSnapshot)
        .where(ClassSnapshot.of == of, ClassSnapshot.object_id == object_id)
        .order_by(ClassSnapshot.month.desc())
        .limit(limit)
    ).scalars()
    for c in classes:
        month = c.month.replace(day=1)
        rows[month] = HistoryRow(month, c.abc, c.xyz, c.abc_metric, c.cv_pct)
    if of == "partners":
        stages = db.session.execute(
            select(StageSnapshot)
            .where(StageSnapshot.partner_id == object_id)
            .order_by(StageSnapshot.at.desc())
            .limit(limit)
        ).scalars()
        for s in stages:
            month = s.at.replace(day=1)
            row = rows.setdefault(month, HistoryRow(month))
            row.stage, row.at = s.stage, s.at
            row.revenue_window, row.last_purchase = s.revenue_window, s.last_purchase
    return [rows[m] for m in sorted(rows, reverse=True)[:limit]]


def class_clause(of: str, id_column, value: str):
    """`id_column` (Partner.id or Product.id) is among the objects of class `value` (AX…CZ)
    in the latest class snapshot of `of`."""
    return classes_clause(of, id_column, classes=[value])


def classes_clause(
    of: str,
    id_column,
    abc: list[str] | None = None,
    xyz: list[str] | None = None,
    classes: list[str] | None = None,
    until: date | None = None,
):
    """`id_column` is among the objects whose class in the latest class snapshot of `of` (the
    latest taken by `until`, when given) has its ABC letter among `abc`, its XYZ letter among
    `xyz` and is one of `classes` (AX…CZ) — each only when given."""
    conditions = [ClassSnapshot.of == of, ClassSnapshot.month == _latest_month(of, until)]
    if abc is not None:
        conditions.append(ClassSnapshot.abc.in_(abc))
    if xyz is not None:
        conditions.append(ClassSnapshot.xyz.in_(xyz))
    if classes is not None:
        conditions.append(
            or_(*(and_(ClassSnapshot.abc == c[0], ClassSnapshot.xyz == c[1]) for c in classes))
        )
    return id_column.in_(select(ClassSnapshot.object_id).where(*conditions))


def stage_clause(id_column, value: str):
    """`id_column` (Partner.id) is among the clients at stage `value` in the latest snapshot."""
    return stages_clause(id_column, [value])


def stages_clause(id_column, stages: list[str], until: date | None = None):
    """`id_column` (Partner.id) is among the clients at one of `stages` in the latest stage
    snapshot (the latest taken by `until`, when given)."""
    return id_column.in_(
        select(StageSnapshot.partner_id).where(
            StageSnapshot.at == _latest_at(until), StageSnapshot.stage.in_(stages)
        )
    )
