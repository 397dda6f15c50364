"""Deals in the event calendar (crm/interactions/calendar.py): the expected close date of each
open deal the user may see, as an all-day item in its responsible manager's calendar. Who may
edit the deal moves the date there (crm/deals/calendar_moves.py)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.core.policy import may, visible
from crm.core.timeutil import to_zone, utcnow
from crm.deals.links import deal_url_prefix
from crm.deals.models import Deal, status_title
from crm.deals.subjects import deal_label
from crm.extensions import db
from crm.interactions.calendar import (
    CalendarItem,
    CalendarSource,
    CalendarWindow,
    SourceItems,
    cap_per_day,
)


def window_days(window: CalendarWindow) -> tuple[date, date]:
    """The first and last local days the window touches (its bounds are UTC instants)."""
    first = to_zone(window.start, window.zone).date()
    last = to_zone(window.end - timedelta(microseconds=1), window.zone).date()
    return first, last


def closing_span(window: CalendarWindow):
    """(id, expected close) of the open deals closing within the window's days, by date."""
    first, last = window_days(window)
    stmt = select(Deal.id, Deal.expected_close).where(
        Deal.status == "open", Deal.expected_close >= first, Deal.expected_close <= last
    )
    if window.owner_ids is not None:
        stmt = stmt.where(Deal.manager_id.in_(list(window.owner_ids)))
    stmt = visible(window.user, Deal, stmt).order_by(Deal.expected_close, Deal.deal_no)
    return list(db.session.execute(stmt).all())


def calendar_source_items(window: CalendarWindow) -> SourceItems:
    """The registered source: with a per-day cap only the shown deals are loaded."""
    span = closing_span(window)
    hidden: Counter = Counter()
    if window.per_day:
        ids, hidden = cap_per_day([(row[0], row[1]) for row in span], window.per_day)
    else:
        ids = [row[0] for row in span]
    if not ids:
        return SourceItems([], hidden)
    today = to_zone(utcnow(), window.zone).date()
    prefix = deal_url_prefix()
    move_prefix = url_for("deals.move_close", deal_id=0).removesuffix("0/expected-close")
    deals = db.session.execute(
        select(Deal).where(Deal.id.in_(ids)).order_by(Deal.expected_close, Deal.deal_no)
    ).scalars()
    kind_title, status = _("Expected close of a deal"), status_title("open")
    items = []
    for deal in deals:
        # All-day items carry the calendar date itself, the same in every zone.
        day = datetime.combine(deal.expected_close, time.min)
        movable = may(window.user, "deal.edit", deal)
        items.append(
            CalendarItem(
                key=f"deal-{deal.id}",
                title=deal_label(deal.deal_no, deal.title, ""),
                starts_at=day,
                ends_at=day,
                url=f"{prefix}{deal.id}",
                kind="deal",
                kind_title=kind_title,
                subtitle=deal.partner.name,
                status=deal.status,
                status_title=status,
                overdue=deal.expected_close < today,
                all_day=True,
                reschedule_url=f"{move_prefix}{deal.id}/expected-close" if movable else None,
                version=deal.version,
            )
        )
    return SourceItems(items, hidden)


SOURCE = CalendarSource("deals", _l("Deals"), calendar_source_items, 30)
