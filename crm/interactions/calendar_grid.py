"""The calendar's layout, apart from the views: which view, date and owner a request asks for,
the period it covers, and the items placed on the local days and hours they cover.

Everything here works in the signed-in user's zone: a period's bounds are local midnights, and
an item shows on every local day it touches.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.auth.models import User
from crm.core.filters import ChoiceField, DateField, ListFilter, TextField
from crm.core.formats import fmt_date

# Dates the calendar can page to: the app's date bounds (a month grid reaches a week either
# side of its month, and that stays inside Python's calendar).
from crm.core.params import MAX_DATE, MIN_DATE, id_or_none
from crm.core.policy import may
from crm.core.timeutil import to_zone
from crm.extensions import db
from crm.interactions.calendar import CalendarItem
from crm.interactions.labels import (
    day_heading,
    first_upper,
    input_value,
    local_datetime,
    local_time,
    month_heading,
    span_label,
)

VIEWS = {"day": _l("Day"), "week": _l("Week"), "month": _l("Month"), "agenda": _l("Agenda")}
DEFAULT_VIEW = "month"
AGENDA_DAYS = 30
# Hour rows of the week and day views; items outside go to an "earlier" / "later" row.
FIRST_HOUR, LAST_HOUR = 7, 21

# --- what the request asks for ------------------------------------------------------------


class CalendarQuery(ListFilter):
    """The view, date and whose calendar, read from the query string (or a form): bad values
    fall back to a default and leave a message in `problems`. parse_query() fills in the
    date's default (today) and whose items to show."""

    view = ChoiceField(
        _l("View"),
        VIEWS,
        default=DEFAULT_VIEW,
        strip=True,
        cut=20,
        keep_default=True,
        message=_l("There is no calendar view {value}; showing the month."),
    )
    day = DateField(
        _l("Date"),
        name="date",
        id="calendar-date",
        keep_default=True,
        bad=lambda raw: _(
            "%(value)s is not a date (YYYY-MM-DD); showing today.", value=repr(raw[:20])
        ),
        out_of_range=lambda raw, error: _(
            "Choose a date between %(first)s and %(last)s; showing today.",
            first=MIN_DATE.year,
            last=MAX_DATE.year,
        ),
    )
    # "" (the default: one's own, or everyone's for who has no calendar), "me", "all", or an id
    user_param = TextField(_l("Whose calendar"), name="user")
    owner_ids: list[int] | None = None  # None: every item the signed-in user may see
    owner_label: str = ""


def parse_query(args, user, today: date) -> CalendarQuery:
    q = CalendarQuery(args)
    q.day = q.day or today
    chosen, q.owner_ids, q.owner_label = _owner(q.user_param, user, q.problems)
    q.user_param = owner_param(user, chosen)
    return q


def owner_param(user, chosen: str) -> str:
    """The `user` parameter of links for a chosen calendar ("me", "all", an id): left out
    ("") when it is the user's default."""
    return "" if chosen == default_owner(user) else chosen


def default_owner(user) -> str:
    """Whose calendar opens first: one's own — but a user who is never responsible for an
    item (a viewer, a marketer) would open an empty one, so he sees everyone's."""
    if may(user, "calendar.view_others") and not may(user, "records.own"):
        return "all"
    return "me"


def _owner(raw, user, problems: list[str]) -> tuple[str, list[int] | None, str]:
    raw = (raw or "").strip()
    if not raw:
        raw = default_owner(user)
    own = ("me", [user.id], _("My calendar"))
    if raw in ("me", str(user.id)):
        return own
    if not may(user, "calendar.view_others"):
        problems.append(
            _("You can see only your own calendar (and what you take part in); showing yours.")
        )
        return own
    if raw == "all":
        return "all", None, _("Everyone")
    other_id = id_or_none(raw)
    other = db.session.get(User, other_id) if other_id else None
    if other is None:
        problems.append(
            _("There is no user %(value)s; showing your calendar.", value=repr(raw[:20]))
        )
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


def period_of(view: str, day: date) -> Period:
    """The days a view shows around `day`; weeks start on Monday."""
    if view == "day":
        return Period(
            day,
            day + timedelta(days=1),
            day_heading(day),
            day - timedelta(days=1),
            day + timedelta(days=1),
        )
    if view == "week":
        first = day - timedelta(days=day.weekday())
        return Period(
            first,
            first + timedelta(days=7),
            span_label(first, first + timedelta(days=6)),
            day - timedelta(days=7),
            day + timedelta(days=7),
        )
    if view == "agenda":
        last = day + timedelta(days=AGENDA_DAYS - 1)
        return Period(
            day,
            last + timedelta(days=1),
            span_label(day, last),
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
        month_heading(day),
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

    # Labels in the reader's language; `start` and `end` are already local wall-clock times.

    @property
    def time_label(self) -> str:
        if self.item.all_day:
            return _("All day")
        if self.continued:
            return f"…–{local_time(self.end)}" if self.end > self.start else "…"
        if self.end > self.start:
            if self.end.date() == self.start.date():
                return f"{local_time(self.start)}–{local_time(self.end)}"
            end_day = fmt_date(self.end.date(), kind="day")
            return f"{local_time(self.start)}–{end_day} {local_time(self.end)}"
        return local_time(self.start)

    @property
    def short_time(self) -> str:
        """The start only, for a month cell."""
        if self.item.all_day:
            return _("All day")
        return "…" if self.continued else local_time(self.start)

    @property
    def when(self) -> str:
        """The full local time range, for the item's details: "Пятница, 4 декабря 2026,
        10:00 – 11:30"."""
        day = first_upper(fmt_date(self.start.date(), kind="long_day"))
        if self.item.all_day:
            return _("%(day)s, all day", day=day)
        text = f"{day}, {local_time(self.start)}"
        if self.end > self.start:
            if self.end.date() == self.start.date():
                text += f" – {local_time(self.end)}"
            else:
                text += f" – {fmt_date(self.end.date(), kind='day')}, {local_time(self.end)}"
        return text

    @property
    def local_start(self) -> str:
        return input_value(self.start)

    @property
    def moves(self) -> list[tuple[str, str, str]]:
        """One-tap moves (label, new local start, the new start as people read it): wall-clock
        days keep the time across a change to or from summer time."""
        if not self.item.reschedule_url:
            return []
        shifts = (
            (_("−1 day"), timedelta(days=-1)),
            (_("+1 day"), timedelta(days=1)),
            (_("+1 hour"), timedelta(hours=1)),
        )
        if self.item.all_day:  # a date (a deal's expected close) moves by days only
            shifts = shifts[:2]
        return [
            (label, input_value(self.start + delta), local_datetime(self.start + delta))
            for label, delta in shifts
        ]


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
