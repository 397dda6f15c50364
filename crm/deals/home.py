"""The deals' blocks of My day (crm/dashboard/widgets.py): deals closing this week (with the
overdue ones, whose expected close date has passed while they are open) and stale deals.

Whose: one user's day shows the open deals he is responsible for; the team's day every open
deal the reader may see."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.core.policy import visible
from crm.dashboard.widgets import Day, HomeWidget
from crm.deals.links import deal_url, list_url
from crm.deals.models import Deal
from crm.deals.stale import days_in_stage, stage_medians, stale_condition
from crm.extensions import db

LIST_LIMIT = 10  # rows a block lists; the count says how many there are
WEEK = 7


def _whose(day: Day, stmt):
    stmt = visible(day.reader, Deal, stmt.where(Deal.status == "open"))
    if day.user_id is not None:
        stmt = stmt.where(Deal.manager_id == day.user_id)
    return stmt


def _first(stmt, order) -> tuple[list[Deal], int]:
    deals = list(db.session.execute(stmt.order_by(*order).limit(LIST_LIMIT)).scalars())
    total = len(deals)
    if total == LIST_LIMIT:
        total = db.session.execute(
            stmt.with_only_columns(func.count(Deal.id)).order_by(None)
        ).scalar_one()
    return deals, total


def closing_this_week(day: Day) -> str:
    """Open deals expected to close from today to a week ahead, and those whose date passed,
    by date."""
    today, last = day.today, day.today + timedelta(days=WEEK)
    stmt = _whose(day, select(Deal).where(Deal.expected_close <= last))
    deals, total = _first(stmt, (Deal.expected_close, Deal.deal_no))
    link = list_url(status="open", manager=day.user_id, expected_to=last.isoformat())
    return render_template(
        "deals/_home_closing.html",
        deals=deals,
        total=total,
        today=today,
        team=day.user_id is None,
        link=link,
        deal_url=deal_url,
    )


def stale_deals(day: Day) -> str:
    """Open deals that stay in their stage over the stale factor (twice by default) times the
    stage's median, longest first."""
    medians = stage_medians(None, day.now)
    condition = stale_condition(medians, day.now)
    deals, total = [], 0
    if condition is not None:
        stmt = _whose(day, select(Deal).where(condition))
        deals, total = _first(stmt, (Deal.stage_entered_at, Deal.id))
    rows = [
        (d, days_in_stage(d.stage_entered_at, day.now), medians.get((d.kind_id, d.stage_id)))
        for d in deals
    ]
    return render_template(
        "deals/_home_stale.html",
        rows=rows,
        total=total,
        team=day.user_id is None,
        link=list_url(status="open", manager=day.user_id, stale=1),
        deal_url=deal_url,
    )


WIDGETS = [
    HomeWidget("deals-closing", _l("Deals closing this week"), closing_this_week, 55),
    HomeWidget("deals-stale", _l("Stale deals"), stale_deals, 57),
]
