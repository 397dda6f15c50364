"""The calendar's layout, apart from the views: which view, date and owner a request asks for,
the period it covers, and the items placed on the local days and hours they cover.

Everything here works in the signed-in user's zone: a period's bounds are local midnights, and
an item shows on every local day it touches.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from crm.auth.models import User
from crm.core.filters import ChoiceField, DateField, ListFilter, TextField

# Dates the calendar can page to: the app's date bounds (a month grid reaches a week either
# side of its month, and that stays inside Python's calendar).
from crm.core.params import MAX_DATE, MIN_DATE, id_or_none
from crm.core.policy import may
from crm.core.timeutil import to_zone
from crm.extensions import db
from crm.interactions.calendar import CalendarItem

VIEWS = {"day": "Day", "week": "Week", "month": "Month", "agenda": "Agenda"}
DEFAULT_VIEW = "month"
AGENDA_DAYS = 30
# Hour rows of the week and day views; items outside go to an "earlier" / "later" row.
FIRST_HOUR, LAST_HOUR = 7, 21
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # the value of a datetime-local input

# --- what the request asks for ------------------------------------------------------------


class CalendarQuery(ListFilter):
    """The view, date and whose calendar, read from the query string (or a form): bad values
    fall back to a default and leave a message in `problems`. parse_query() fills in the
    date's default (today) and whose items to show."""

    view = ChoiceField(
        "View",
        VIEWS,
        default=DEFAULT_VIEW,
        strip=True,
        cut=20,
        keep_default=True,
        message="There is no calendar view {value}; showing the month.",
    )
    day = DateField(
        "Date",
        name="date",
        id="calendar-date",
        keep_default=True,
        bad=lambda raw: f"{raw[:20]!r} is not a date (YYYY-MM-DD); showing today.",
        out_of_range=lambda raw, error: (
            f"Choose a date between {MIN_DATE.year} and {MAX_DATE.year}; showing today."
        ),
    )
    user_param = TextField("Whose calendar", name="user")  # "" (one's own), "all", or a user id
    owner_ids: list[int] | None = None  # None: every item the signed-in user may see
    owner_label: str = ""


def parse_query(args, user, today: date) -> CalendarQuery:
    q = CalendarQuery(args)
    q.day = q.day or today
    q.user_param, q.owner_ids, q.owner_label = _owner(q.user_param, user, q.problems)
    return q


def _owner(raw, user, problems: list[str]) -> tuple[str, list[int] | None, str]:
    raw = (raw or "").strip()
    own = ("", [user.id], "My calendar")
    if raw in ("", "me", str(user.id)):
        return own
    if not may(user, "calendar.view_others"):
        problems.append(
            "You can see only your own calendar (and what you take part in); showing yours."
        )
        return own
    if raw == "all":
        return "all", None, "Everyone"
    other_id = id_or_none(raw)
    other = db.session.get(User, other_id) if other_id else None
    if other is None:
        problems.append(f"There is no user {raw[:20]!r}; showing your calendar.")
        return own
    return str(other.id), [other.id], other.display_name


# --- periods and layout ---------------------------------------------------------------------


@dataclass
class Period:
    first: date  # the first day shown
    end: date  # the day after the last one shown
    label: str
    prev: date
    next: date
    month: int | None = None  # the month view's month (days of others are dimmed)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.end - self.first).days)]


def _add_months(day: date, n: int) -> date:
    month = day.month - 1 + n
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def _span_label(first: date, last: date) -> str:
    if first.year != last.year:
        return f"{first:%-d %b %Y} – {last:%-d %b %Y}"
    if first.month != last.month:
        return f"{first:%-d %b} – {last:%-d %b %Y}"
    return f"{first.day} – {last:%-d %B %Y}"


def period_of(view: str, day: date) -> Period:
    """The days a view shows around `day`; weeks start on Monday."""
    if view == "day":
        return Period(
            day,
            day + timedelta(days=1),
            f"{day:%A, %-d %B %Y}",
            day - timedelta(days=1),
            day + timedelta(days=1),
        )
    if view == "week":
        first = day - timedelta(days=day.weekday())
        return Period(
            first,
            first + timedelta(days=7),
            _span_label(first, first + timedelta(days=6)),
            day - timedelta(days=7),
            day + timedelta(days=7),
        )
    if view == "agenda":
        last = day + timedelta(days=AGENDA_DAYS - 1)
        return Period(
            day,
            last + timedelta(days=1),
            _span_label(day, last),
            day - timedelta(days=AGENDA_DAYS),
            day + timedelta(days=AGENDA_DAYS),
        )
    month_first = day.replace(day=1)
    month_last = month_first.replace(day=monthrange(day.year, day.month)[1])
    first = month_first - timedelta(days=month_first.weekday())
    end = month_last + timedelta(days=7 - month_last.weekday())
    return Period(
        first,
        end,
        f"{day:%B %Y}",
        _add_months(month_first, -1),
        _add_months(month_first, 1),
        month=day.month,
    )


def clamp(day: date) -> date:
    return min(max(day, MIN_DATE), MAX_DATE)


@dataclass
class Entry:
    """One item as shown on one local day."""

    item: CalendarItem
    start: datetime  # local, naive
    end: datetime  # local, naive
    continued: bool = False  # began on an earlier day

    @property
    def hour(self) -> int:
        return self.start.hour

    @property
    def time_label(self) -> str:
        if self.item.all_day:
            return "All day"
        if self.continued:
            return f"…–{self.end:%H:%M}" if self.end > self.start else "…"
        if self.end > self.start:
            if self.end.date() == self.start.date():
                return f"{self.start:%H:%M}–{self.end:%H:%M}"
            return f"{self.start:%H:%M}–{self.end:%-d %b %H:%M}"
        return f"{self.start:%H:%M}"

    @property
    def short_time(self) -> str:
        """The start only, for a month cell."""
        if self.item.all_day:
            return "All day"
        return "…" if self.continued else f"{self.start:%H:%M}"

    @property
    def when(self) -> str:
        """The full local time range, for the item's details."""
        if self.item.all_day:
            return f"{self.start:%a %-d %b %Y}, all day"
        text = f"{self.start:%a %-d %b %Y, %H:%M}"
        if self.end > self.start:
            same_day = self.end.date() == self.start.date()
            text += f" – {self.end:%H:%M}" if same_day else f" – {self.end:%a %-d %b, %H:%M}"
        return text

    @property
    def local_start(self) -> str:
        return self.start.strftime(LOCAL_INPUT)

    @property
    def moves(self) -> list[tuple[str, str]]:
        """One-tap moves (label, new local start): wall-clock days keep the time across a
        change to or from summer time."""
        if not self.item.reschedule_url:
            return []
        shifts = (
            ("−1 day", timedelta(days=-1)),
            ("+1 day", timedelta(days=1)),
            ("+1 hour", timedelta(hours=1)),
        )
        return [(label, (self.start + delta).strftime(LOCAL_INPUT)) for label, delta in shifts]


def _local_span(item: CalendarItem, zone_name: str) -> tuple[datetime, datetime]:
    if item.all_day:
        # All-day items carry calendar dates, the same in every zone (as iCalendar's DATE).
        return item.starts_at, max(item.ends_at, item.starts_at)
    start = to_zone(item.starts_at, zone_name).replace(tzinfo=None)
    end = to_zone(max(item.ends_at, item.starts_at), zone_name).replace(tzinfo=None)
    return start, end


def bucket(items: list[CalendarItem], days: list[date], zone_name: str) -> dict[date, list[Entry]]:
    """Items by the local days they cover (a meeting past midnight shows on both days)."""
    out: dict[date, list[Entry]] = {d: [] for d in days}
    for item in items:
        start, end = _local_span(item, zone_name)
        last = start.date()
        if end > start:
            # An item ending at midnight does not reach into the next day.
            last = (end - timedelta(microseconds=1)).date()
            if item.all_day and end.time() != time.min:
                last = end.date()
        day = start.date()
        while day <= last:
            if day in out:
                out[day].append(Entry(item, start, end, continued=day != start.date()))
            day += timedelta(days=1)
    return out


@dataclass
class DayColumn:
    """A day of the week/day view split into rows: all-day, earlier, each hour, later."""

    day: date
    all_day: list[Entry] = field(default_factory=list)
    earlier: list[Entry] = field(default_factory=list)
    hours: dict[int, list[Entry]] = field(default_factory=dict)
    later: list[Entry] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.all_day or self.earlier or self.later or any(self.hours.values()))


def columns(entries: dict[date, list[Entry]]) -> list[DayColumn]:
    out = []
    for day, day_entries in entries.items():
        col = DayColumn(day, hours={h: [] for h in range(FIRST_HOUR, LAST_HOUR + 1)})
        for e in day_entries:
            if e.item.all_day or e.continued:
                col.all_day.append(e)
            elif e.hour < FIRST_HOUR:
                col.earlier.append(e)
            elif e.hour > LAST_HOUR:
                col.later.append(e)
            else:
                col.hours[e.hour].append(e)
        out.append(col)
    return out
