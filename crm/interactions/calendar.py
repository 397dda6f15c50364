"""The event calendar's sources: interactions register theirs here, later domains (deals'
expected close dates, tasks) add their own with `register_calendar_source`, so the calendar
never imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app


@dataclass(frozen=True)
class CalendarItem:
    key: str  # unique across sources: "interaction-12", "deal-7"
    title: str
    starts_at: datetime  # naive UTC
    ends_at: datetime  # naive UTC; == starts_at for a point in time
    url: str
    kind: str = ""  # css hint: meeting, call, deal…
    kind_title: str = ""
    subtitle: str = ""  # partner / contact
    status: str = ""
    unprocessed: bool = False
    overdue: bool = False
    all_day: bool = False
    # POST target taking `starts_at` (local "YYYY-MM-DDTHH:MM"); None: cannot be moved.
    reschedule_url: str | None = None
    ics_url: str | None = None


@dataclass(frozen=True)
class CalendarSource:
    key: str
    title: str
    # (user, start_utc, end_utc, owner_ids) -> [CalendarItem] overlapping [start, end); owner_ids
    # narrows to the calendars of those users (None: everything the user may see).
    items: Callable
    order: int = 100


def _sources(app) -> dict[str, CalendarSource]:
    return app.extensions.setdefault("crm.calendar_sources", {})


def register_calendar_source(state_or_app, source: CalendarSource) -> None:
    app = getattr(state_or_app, "app", state_or_app)
    _sources(app)[source.key] = source


def calendar_sources() -> list[CalendarSource]:
    return sorted(_sources(current_app).values(), key=lambda s: s.order)


def calendar_items(user, start: datetime, end: datetime, owner_ids=None) -> list[CalendarItem]:
    """Every source's items in [start, end) (UTC), in time order."""
    items: list[CalendarItem] = []
    for source in calendar_sources():
        items.extend(source.items(user, start, end, owner_ids))
    items.sort(key=lambda i: (i.starts_at, i.title))
    return items
