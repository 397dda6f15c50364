"""Time helpers: the database stores naive UTC; pages show the user's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def utcnow() -> datetime:
    """Naive UTC now: the same meaning on SQLite (no zones) and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_zone(value: datetime | None, zone: str) -> datetime | None:
    if value is None:
        return None
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    return value.replace(tzinfo=UTC).astimezone(tz)
