"""Parsing cell values as data-exchange.md defines them: trimmed text, `YYYY-MM-DD` or
`DD.MM.YYYY` dates, numbers with `.` or `,` decimals and spaces (also non-breaking) inside."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]")
_DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")
_STEPS = {2: Decimal("0.01"), 3: Decimal("0.001")}  # quantize steps of money and quantities


class BadValue(ValueError):
    """The cell cannot be read as the column's type; the message says what was expected."""


def text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # XLSX stores codes like 1001 as numbers
    return str(value).strip()


def number(value, *, places: int | None = None) -> Decimal:
    """A Decimal from 1234.5, '1 234,50', '-12,5'; `places` rounds half-up for money."""
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        result = Decimal(value)  # already plain ("1234.5"), the common case of a CSV cell
    elif isinstance(value, bool):
        raise BadValue(f"{value!r} is not a number")
    elif isinstance(value, (int, Decimal)):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        raw = text(value)
        if not _NUMBER.fullmatch(raw):  # not already plain ("1234.5"): spaces, decimal comma
            raw = _SPACES.sub("", raw)
            if raw.count(",") == 1 and "." not in raw:
                raw = raw.replace(",", ".")
            if not raw or not _NUMBER.fullmatch(raw):
                raise BadValue(f"{text(value)[:40]!r} is not a number")
        try:
            result = Decimal(raw)
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
            raise BadValue(f"{raw!r} is not a number") from exc
    if not result.is_finite():
        raise BadValue(f"{value!r} is not a number")
    if places is not None:
        step = _STEPS.get(places) or Decimal(1).scaleb(-places)
        result = result.quantize(step, rounding=ROUND_HALF_UP)  # as accounting rounds
    return result


def whole(value) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)  # the common case, "3": no Decimal needed
    result = number(value)
    if result != result.to_integral_value():
        raise BadValue(f"{text(value)!r} is not a whole number")
    return int(result)


def day(value) -> date:
    """A date from `YYYY-MM-DD`, `DD.MM.YYYY`, or an XLSX date cell."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return _day_text(text(value))


@lru_cache(maxsize=8192)
def _day_text(raw: str) -> date:
    # Cached: a big file repeats a few hundred dates, and equal dates share one object.
    match = _DMY.match(raw)
    try:
        if match:
            d, m, y = (int(g) for g in match.groups())
            return date(y, m, d)
        if _ISO.fullmatch(raw):
            return date.fromisoformat(raw)
    except ValueError as exc:
        raise BadValue(f"{raw!r} is not a real date") from exc
    raise BadValue(f"{raw[:40]!r} is not a date (use YYYY-MM-DD or DD.MM.YYYY)")
