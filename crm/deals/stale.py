"""Stale deals: an open deal whose whole days in its current stage exceed DEAL_STALE_FACTOR (2)
times the median days in stage of the open deals of that stage. The board flags it, the list
filters it, "My day" lists it and its manager is told — all through this module, so the rule
is one. The median is over the whole stage, whatever filter a page shows; the open deals
without a stage of one kind (a kind without stages) count as one stage of that kind."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import and_, func, or_, select

from crm.deals.models import Deal
from crm.extensions import db

StageKey = tuple[int, int | None]  # (kind_id, stage_id)


def days_in_stage(entered_at: datetime, now: datetime) -> int:
    """Whole days since the deal entered its stage (0 on the first day)."""
    return max(0, (now - entered_at).days)


def in_stage(key: StageKey):
    kind_id, stage_id = key
    same = Deal.stage_id.is_(None) if stage_id is None else Deal.stage_id == stage_id
    return and_(Deal.kind_id == kind_id, same)


def open_counts(kind_ids: list[int] | None = None) -> dict[StageKey, int]:
    """{(kind, stage): open deals} — one GROUP BY along the board's index."""
    stmt = select(Deal.kind_id, Deal.stage_id, func.count()).where(Deal.status == "open")
    if kind_ids is not None:
        stmt = stmt.where(Deal.kind_id.in_(kind_ids))
    rows = db.session.execute(stmt.group_by(Deal.kind_id, Deal.stage_id)).all()
    return {(kind_id, stage_id): n for kind_id, stage_id, n in rows}


def stage_medians(
    kind_ids: list[int] | None, now: datetime, counts: dict[StageKey, int] | None = None
) -> dict[StageKey, float]:
    """{(kind, stage): median days in stage} of the open deals of these kinds (None: all).

    Days in stage fall as the entry time rises, so a stage's median is that of its one or two
    middle stays in entry order: the open deals are counted per stage (or `counts` is given by
    a caller that has them), then only those middle rows are read, by OFFSET along the board's
    index (kind, status, stage, entered) — not every open deal (12,000 rows in Python for a
    board of 20,000 open deals)."""
    if counts is None:
        counts = open_counts(kind_ids)
    result = {}
    for key, n in counts.items():
        middle = db.session.execute(
            select(Deal.stage_entered_at)
            .where(Deal.status == "open", in_stage(key))
            .order_by(Deal.stage_entered_at)
            .offset((n - 1) // 2)
            .limit(1 if n % 2 else 2)
        ).scalars()
        result[key] = float(median(days_in_stage(at, now) for at in middle))
    return result


def stale_factor() -> float:
    from flask import current_app, has_app_context

    return float(current_app.config.get("DEAL_STALE_FACTOR", 2)) if has_app_context() else 2.0


def is_stale(days: int, stage_median: float | None) -> bool:
    return stage_median is not None and days > stale_factor() * stage_median


def stale_condition(medians: dict[StageKey, float], now: datetime):
    """SQL for `is_stale(days_in_stage(entered, now), median of its stage)` of open deals:
    whole days > factor × median ⇔ days ≥ ⌊factor × median⌋ + 1 ⇔ entered at least that many
    days before now. None when no stage has open deals."""
    factor = stale_factor()
    conditions = [
        and_(
            in_stage(key),
            Deal.stage_entered_at <= now - timedelta(days=math.floor(factor * value) + 1),
        )
        for key, value in medians.items()
    ]
    return and_(Deal.status == "open", or_(*conditions)) if conditions else None
