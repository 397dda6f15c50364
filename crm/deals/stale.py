"""Stale deals: an open deal whose days in its current stage exceed twice the median days in
stage of the open deals of that stage (the board flags it, "My day" lists it, its manager is
told). The median is over the whole stage, whatever filter the board shows."""

from __future__ import annotations

from datetime import datetime
from statistics import median

from sqlalchemy import select

from crm.deals.models import Deal
from crm.extensions import db


def days_in_stage(entered_at: datetime, now: datetime) -> int:
    """Whole days since the deal entered its stage (0 on the first day)."""
    return max(0, (now - entered_at).days)


def stage_medians(kind_ids: list[int] | None, now: datetime) -> dict[int | None, float]:
    """{stage_id: median days in stage} of the open deals of these kinds (None: all kinds);
    a kind without stages has its open deals under None. Reads two columns of the open deals
    through the board's index."""
    query = select(Deal.stage_id, Deal.stage_entered_at).where(Deal.status == "open")
    if kind_ids is not None:
        query = query.where(Deal.kind_id.in_(kind_ids))
    days: dict[int | None, list[int]] = {}
    for stage_id, entered_at in db.session.execute(query):
        days.setdefault(stage_id, []).append(days_in_stage(entered_at, now))
    return {stage_id: float(median(values)) for stage_id, values in days.items()}


def stale_factor() -> float:
    from flask import current_app, has_app_context

    return float(current_app.config.get("DEAL_STALE_FACTOR", 2)) if has_app_context() else 2.0


def is_stale(days: int, stage_median: float | None) -> bool:
    return stage_median is not None and days > stale_factor() * stage_median
