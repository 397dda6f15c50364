"""Time helpers: the database stores naive UTC; pages show the user's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.core.params import parse_datetime


def utcnow() -> datetime:
    """Naive UTC now: the same meaning on SQLite (no zones) and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


def site_today() -> date:
    """Today in the site's zone (DEFAULT_TIMEZONE): the day a record dated by the company
    (a partner's creation date) falls on, not UTC's (which is still yesterday in Moscow until
    03:00)."""
    from flask import current_app, has_app_context

    zone = current_app.config["DEFAULT_TIMEZONE"] if has_app_context() else "UTC"
    return to_zone(utcnow(), zone).date()


def to_zone(value: datetime | None, zone: str) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC).astimezone(zone_of(zone))


def zone_of(name: str | None):
    """The ZoneInfo for `name`, UTC when it is unknown."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def from_zone(local: datetime | None, zone: str) -> datetime | None:
    """A wall-clock time in `zone` (naive) as naive UTC, the way the database stores it."""
    if local is None:
        return None
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone_of(zone))
    return local.astimezone(UTC).replace(tzinfo=None)


def user_zone(user) -> str:
    """The zone a user sees times in: his own, else the site's DEFAULT_TIMEZONE."""
    from flask import current_app

    return getattr(user, "timezone", None) or current_app.config["DEFAULT_TIMEZONE"]


def parse_local(raw: str | None, zone: str) -> datetime | None:
    """A `datetime-local` value ("2026-11-28T09:30") typed in `zone`, as naive UTC.
    None for an empty value; BadValue (a ValueError) when it is not a date and time or lies
    outside the years params allows (whose zone shift could leave Python's calendar)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    value = parse_datetime(raw)
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return from_zone(value, zone)
