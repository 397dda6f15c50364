"""Reads of the stored snapshots for the pages people work in: an object's class and a client's
stage in the latest snapshot, their monthly history, and the conditions of the list filters
"ABC/XYZ class" and "Stage" (crm.analytics.snapshots fills the tables).

"Latest" is the latest snapshot taken: the latest month with class rows of that kind of object,
the latest month end with stage rows. An object without a row there is not classified (no
sales in that window) or, for stages, was no client then; an older row is not shown as current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from crm.analytics.models import ClassSnapshot, StageSnapshot
from crm.extensions import db

HISTORY_MONTHS = 36
CLASSES = tuple(a + x for a in "ABC" for x in "XYZ")  # AX, AY, … CZ


def _latest_month(of: str):
    return select(func.max(ClassSnapshot.month)).where(ClassSnapshot.of == of).scalar_subquery()


def _latest_at():
    return select(func.max(StageSnapshot.at)).scalar_subquery()


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
    return id_column.in_(
        select(ClassSnapshot.object_id).where(
            ClassSnapshot.of == of,
            ClassSnapshot.month == _latest_month(of),
            ClassSnapshot.abc == value[0],
            ClassSnapshot.xyz == value[1],
        )
    )


def stage_clause(id_column, value: str):
    """`id_column` (Partner.id) is among the clients at stage `value` in the latest snapshot."""
    return id_column.in_(
        select(StageSnapshot.partner_id).where(
            StageSnapshot.at == _latest_at(), StageSnapshot.stage == value
        )
    )
