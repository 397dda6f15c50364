"""Period buckets of the analytics (shared/spec/analytics.md, Common): calendar months by
default, ISO weeks (Monday to Sunday) and calendar quarters. A window [from, to] covers every
bucket that overlaps it, including the buckets without sales; a bucket is named by its first day.
`bucket_sql` gives the same first day in SQL so that the grouping per object × bucket happens
in the database."""

from __future__ import annotations

from datetime import date, timedelta

from crm.core.periods_sql import BUCKETS, as_date, bucket_sql

__all__ = ["BUCKETS", "DEFAULT_BUCKET", "as_date", "bucket_sql", "bucket_start", "buckets"]

DEFAULT_BUCKET = "month"


def _check(bucket: str) -> None:
    if bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r} (one of {', '.join(BUCKETS)})")


def bucket_start(day: date, bucket: str = DEFAULT_BUCKET) -> date:
    """The first day of the bucket holding `day`."""
    _check(bucket)
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return day.replace(day=1)


def next_bucket(start: date, bucket: str = DEFAULT_BUCKET) -> date:
    """The first day of the bucket after the one starting on `start`."""
    _check(bucket)
    if bucket == "week":
        return start + timedelta(days=7)
    months = 3 if bucket == "quarter" else 1
    month0 = start.month - 1 + months
    return date(start.year + month0 // 12, month0 % 12 + 1, 1)


def buckets(date_from: date, date_to: date, bucket: str = DEFAULT_BUCKET) -> list[date]:
    """The first days of every bucket that overlaps [date_from, date_to], in order; empty when
    the window is empty (date_from > date_to)."""
    _check(bucket)
    out: list[date] = []
    if date_from > date_to:
        return out
    start = bucket_start(date_from, bucket)
    while start <= date_to:
        out.append(start)
        start = next_bucket(start, bucket)
    return out


def bucket_label(start: date, bucket: str = DEFAULT_BUCKET) -> str:
    """A machine label: `2026-03` (month), `2026-W09` (ISO week), `2026-Q1` (quarter)."""
    _check(bucket)
    if bucket == "week":
        year, week, _day = start.isocalendar()
        return f"{year}-W{week:02d}"
    if bucket == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


def twelve_complete_months(today: date) -> tuple[date, date]:
    """The reports' default window: the twelve calendar months before today's."""
    end = today.replace(day=1) - timedelta(days=1)
    month = end.year * 12 + end.month - 1 - 11
    return date(month // 12, month % 12 + 1, 1), end


class TwelveMonthsByDefault:
    """For a report filter with `date_from`/`date_to` (ListFilter fields): given `today`, the
    period defaults to the twelve complete months before it (or the twelve months ending with
    `to`'s); dates given the wrong way round are swapped, with a message."""

    def __init__(self, args=None, today: date | None = None, **kwargs):
        self.today = today or date.today()
        super().__init__(args, **kwargs)

    def check(self) -> None:
        from flask_babel import gettext as _

        if self.date_to is None:
            self.date_to = twelve_complete_months(self.today)[1]
        if self.date_from is None:  # the twelve months ending with the month of `to`
            self.date_from = twelve_complete_months(next_bucket(bucket_start(self.date_to)))[0]
        if self.date_from > self.date_to:
            self.date_from, self.date_to = self.date_to, self.date_from
            self.problems.append(_("The period started after it ended: the dates were swapped."))
