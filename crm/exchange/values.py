"""Parsing cell values as data-exchange.md defines them: trimmed text, `YYYY-MM-DD` or
`DD.MM.YYYY` dates, numbers with `.` or `,` decimals and spaces (also non-breaking) inside.
The types and their bounds are crm.core.params's, shared with forms and the API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from crm.core.params import INT_MAX, BadValue, OutOfRange, parse_date, parse_decimal, parse_int

__all__ = ["BadValue", "OutOfRange", "day", "number", "text", "whole"]


def text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # XLSX stores codes like 1001 as numbers
    return str(value).strip()


def number(value, *, places: int | None = None) -> Decimal:
    """A Decimal from 1234.5, '1 234,50', '-12,5'; `places` rounds half-up for money (2) and
    quantities (3), and bounds the value by its Numeric(14, places) column."""
    return parse_decimal(value, places=places, digits=14 - (places or 0))


def whole(value) -> int:
    """A whole number that an integer column holds ("3", 3, 3.0 from an XLSX cell)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)  # the common case, "3": no Decimal needed
    try:
        return parse_int(value, minimum=-INT_MAX, maximum=INT_MAX)
    except OutOfRange:
        raise
    except BadValue:
        pass
    try:
        result = number(value)
    except OutOfRange:
        result = Decimal(10) ** 14  # too large for any integer column: the message below
    if result != result.to_integral_value():
        raise BadValue(f"{text(value)[:40]!r} is not a whole number")
    try:
        return parse_int(int(result), minimum=-INT_MAX, maximum=INT_MAX)
    except OutOfRange:
        raise OutOfRange(f"{text(value)[:40]!r} must be between {-INT_MAX} and {INT_MAX}") from None


def day(value) -> date:
    """A date from `YYYY-MM-DD`, `DD.MM.YYYY`, or an XLSX date cell."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return parse_date(value)
    return _day_text(text(value))


@lru_cache(maxsize=8192)
def _day_text(raw: str) -> date:
    # Cached: a big file repeats a few hundred dates, and equal dates share one object.
    return parse_date(raw)
