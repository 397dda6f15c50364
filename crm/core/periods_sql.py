"""Calendar buckets in SQL: the first day of a date column's month, ISO week or quarter, so that
the grouping per object × bucket happens in the database (analytics, sales summaries)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, cast, func

BUCKETS = ("month", "week", "quarter")


def bucket_sql(column, bucket: str, dialect: str):
    """An SQL expression giving the first day of the bucket of a date column: a `date` on
    PostgreSQL, the ISO text `YYYY-MM-DD` on SQLite (see `as_date`)."""
    if bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r} (one of {', '.join(BUCKETS)})")
    if dialect == "postgresql":
        return cast(func.date_trunc(bucket, column), Date)
    if bucket == "week":
        # 'weekday 0' moves to the next Sunday (or stays on one); 6 days back is its Monday.
        return func.date(column, "weekday 0", "-6 days")
    if bucket == "quarter":
        # SQLite keeps dates as YYYY-MM-DD text: slicing it costs less than strftime.
        month = cast(func.substr(column, 6, 2), Integer)
        first = func.substr("01040710", (month - 1) // 3 * 2 + 1, 2)
        return func.substr(column, 1, 5).concat(first).concat("-01")
    return func.substr(column, 1, 7).concat("-01")


def as_date(value) -> date:
    """A bucket start read back from `bucket_sql` (a date, a datetime or ISO text)."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if hasattr(value, "date") and callable(value.date):
        return value.date()
    return value
