"""The event calendar's sources: interactions register theirs here, later domains (deals'
expected close dates, tasks) add their own with `register_calendar_source`, so the calendar
never imports them."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from crm.core.registry import RegistryKey
from crm.core.timeutil import from_zone, to_zone


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
    status: str = ""  # css hint: planned, completed…
    status_title: str = ""  # the status as the reader says it
    unprocessed: bool = False
    overdue: bool = False
    all_day: bool = False
    # POST target taking `starts_at` (local "YYYY-MM-DDTHH:MM"); None: cannot be moved.
    reschedule_url: str | None = None
    ics_url: str | None = None
    # The item's version when drawn (crm.core.versioning), sent with a move: a move chosen
    # against an outdated picture is refused. None: the source does not version its items.
    version: int | None = None


@dataclass(frozen=True)
class CalendarWindow:
    """What the calendar asks its sources for."""

    user: object
    start: datetime  # naive UTC, inclusive
    end: datetime  # naive UTC, exclusive
    owner_ids: list[int] | None  # the calendars of these users; None: all the user may see
    zone: str = "UTC"  # the viewer's zone: local days for `per_day`
    # A month cell shows this many items of a local day and "+N more": a source may stop
    # loading after that many (and count the rest); None: every item.
    per_day: int | None = None


@dataclass
class SourceItems:
    items: list[CalendarItem]
    hidden: Counter = field(default_factory=Counter)  # local date -> items left out by per_day


@dataclass(frozen=True)
class CalendarSource:
    key: str
    title: str
    items: Callable  # (CalendarWindow) -> SourceItems of the items overlapping the window
    order: int = 100


SOURCES: RegistryKey[CalendarSource] = RegistryKey("crm.calendar_sources")


def register_calendar_source(state_or_app, source: CalendarSource) -> None:
    SOURCES.register(state_or_app, source)


def calendar_sources() -> list[CalendarSource]:
    return list(SOURCES.of())


def local_day(starts_at: datetime, zone: str, all_day: bool = False) -> date:
    return starts_at.date() if all_day else to_zone(starts_at, zone).date()


def local_days(moments: list[datetime], zone: str) -> list[date]:
    """The local dates of many naive-UTC moments: each is placed between the UTC instants of
    the local midnights around it (a month of a busy calendar is thousands of moments; zone
    conversion of each one cost more than the query that read them)."""
    if not moments:
        return []
    first, last = local_day(min(moments), zone), local_day(max(moments), zone)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    midnights = [from_zone(datetime.combine(d, time.min), zone) for d in days]
    return [days[bisect_right(midnights, m) - 1] for m in moments]


def cap_per_day(keyed_days: list[tuple[object, date]], per_day: int):
    """Of (key, local day) pairs in time order, the keys of the first `per_day` of each day,
    and how many were left out per day."""
    kept, shown, hidden = [], Counter(), Counter()
    for key, day in keyed_days:
        if shown[day] < per_day:
            shown[day] += 1
            kept.append(key)
        else:
            hidden[day] += 1
    return kept, hidden


def calendar_items(window: CalendarWindow) -> SourceItems:
    """Every source's items in the window, in time order (capped per local day if asked)."""
    merged = SourceItems([])
    for source in calendar_sources():
        found = source.items(window)
        merged.items.extend(found.items)
        merged.hidden.update(found.hidden)
    merged.items.sort(key=lambda i: (i.starts_at, i.title))
    if window.per_day and len(calendar_sources()) > 1:
        # Each source kept per_day a day; together they may have more.
        by_key = {i.key: i for i in merged.items}
        days = [(i.key, local_day(i.starts_at, window.zone, i.all_day)) for i in merged.items]
        kept, hidden = cap_per_day(days, window.per_day)
        merged.items = [by_key[k] for k in kept]
        merged.hidden.update(hidden)
    return merged
