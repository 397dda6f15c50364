"""How interactions and the calendar write days, times and durations for people, through the
shared formats (crm/core/formats.py) in the reader's language: headings ("Пятница, 4 декабря
2026"), spans ("30.11.2026 – 06.12.2026"), times of local wall-clock values — and
the value of a `datetime-local` input, which is the same in every language."""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import get_day_names
from flask_babel import get_locale

from crm.core.formats import fmt_date, fmt_datetime, fmt_number


def first_upper(text: str) -> str:
    """A heading starts with a capital: Russian month and day names are written in lower case
    ("декабрь 2026" → "Декабрь 2026"); English ones already are."""
    return text[:1].upper() + text[1:]


def input_value(local: datetime) -> str:
    """A local wall-clock time as the value of a `datetime-local` input ("2026-12-04T10:30"):
    a machine format, the same in every language."""
    return local.replace(tzinfo=None, second=0, microsecond=0).isoformat(timespec="minutes")


def local_time(value: datetime) -> str:
    """`10:30` of a wall-clock time already in the reader's zone (no shift again)."""
    return fmt_datetime(value.replace(tzinfo=None), zone="UTC", kind="time")


def local_datetime(value: datetime) -> str:
    """`04.12.2026 10:30` of a wall-clock time already in the reader's zone."""
    return fmt_datetime(value.replace(tzinfo=None), zone="UTC")


def day_heading(day: date) -> str:
    """`Пятница, 4 декабря 2026` / `Friday, 4 December 2026`."""
    return first_upper(fmt_date(day, kind="long_day"))


def month_heading(day: date) -> str:
    """`Декабрь 2026` / `December 2026`."""
    return first_upper(fmt_date(day, kind="month"))


def span_label(first: date, last: date) -> str:
    """The days of a week or an agenda: `30.11.2026 – 06.12.2026`."""
    return f"{fmt_date(first)} – {fmt_date(last)}"


def weekday_names() -> list[str]:
    """Monday to Sunday, short (`пн` … `вс`, `Mon` … `Sun`), for the month's header row."""
    names = get_day_names("abbreviated", locale=get_locale())
    return [first_upper(names[n]) for n in range(7)]


def count_label(n: int, more: bool = False) -> str:
    """A count as shown: `1 234`, with `+` when counting stopped there."""
    return fmt_number(n, 0) + ("+" if more else "")
