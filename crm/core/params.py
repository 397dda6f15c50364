"""Typed values from requests, forms, files and the API, with bounds the database keeps.

Every id, page, whole number, date, date-time and money value a user can type goes through one
of these parsers, so that no value reaches a query or a column it cannot hold: an id above
PostgreSQL's `integer` (SQLite's 64 bits raise too), a digit Python reads but `int()` refuses
("²".isdigit() is True), a year whose day-after or time-zone shift leaves Python's calendar,
money with more digits than `Numeric(14, 2)` keeps. Each parser raises BadValue (a ValueError)
with a short message saying what was expected.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter, ValidationError

INT_MAX = 2_147_483_647  # PostgreSQL `integer`, the type of every id and counter column
# Dates a user may enter: far enough to hold any real record, near enough that a period's
# bounds ± a year and a time-zone shift stay inside Python's years 1..9999.
MIN_YEAR, MAX_YEAR = 1900, 2999
MIN_DATE, MAX_DATE = date(MIN_YEAR, 1, 1), date(MAX_YEAR, 12, 31)
# Integer digits of the decimal columns: Numeric(14, 2) money, Numeric(14, 3) quantities.
MONEY_PLACES, MONEY_DIGITS = 2, 12
QUANTITY_PLACES, QUANTITY_DIGITS = 3, 11
MAX_MONEY = Decimal("999999999999.99")
PAGE_MAX = 100_000  # far beyond any real list, and (page - 1) × page size stays an integer

_DIGITS = re.compile(r"[0-9]+")
_SIGNED = re.compile(r"[+-]?[0-9]+")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DMY = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})")
_LOCAL = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)


class BadValue(ValueError):
    """The value cannot be read as the type asked for; the message says what was expected."""


class OutOfRange(BadValue):
    """The value is of the right type but beyond what the database (or the rule) keeps."""


def _shown(raw, label: str = "") -> str:
    """What a message calls the value: its label, else the value itself (cut, quoted)."""
    if label:
        return label
    text = str(raw)
    return repr(text[:40]) if text.isprintable() else _("The value")


# The bounds in the messages below are written as the input is (digits without grouping, ISO
# dates): they tell what may be typed or put in a file, in the form it is read.


# --- text -----------------------------------------------------------------------------------


def parse_text(raw, *, max_len: int | None = None, label: str = "") -> str:
    """Trimmed text a text column can hold: no NUL (PostgreSQL refuses it in any text), at
    most `max_len` characters."""
    text = "" if raw is None else str(raw).strip()
    if "\x00" in text:
        raise BadValue(_("%(value)s contains a NUL character", value=label or _("The text")))
    if max_len is not None and len(text) > max_len:
        raise OutOfRange(
            _(
                "%(value)s is longer than %(max)s characters",
                value=label or _("The text"),
                max=max_len,
            )
        )
    return text


# --- whole numbers --------------------------------------------------------------------------


def parse_int(raw, *, minimum: int = 0, maximum: int = INT_MAX, label: str = "") -> int:
    """A whole number in ASCII digits (an optional sign) within [minimum, maximum]."""
    if isinstance(raw, bool):
        raise BadValue(_("%(value)s is not a whole number", value=_shown(raw, label)))
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw).strip()
        if not _SIGNED.fullmatch(text):
            raise BadValue(_("%(value)s is not a whole number", value=_shown(raw, label)))
        # Digit count first: int() of a long string is slow, and no column holds it.
        digits = text.lstrip("+-").lstrip("0")
        value = int(text) if len(digits) <= 19 else (-1 if text[0] == "-" else 1) * 10**19
    if not minimum <= value <= maximum:
        raise OutOfRange(
            _(
                "%(value)s must be between %(min)s and %(max)s",
                value=_shown(raw, label),
                min=minimum,
                max=maximum,
            )
        )
    return value


def parse_id(raw) -> int:
    """A record id: 1..INT_MAX in ASCII digits."""
    text = str(raw).strip()
    if (
        isinstance(raw, bool)
        or not _DIGITS.fullmatch(text)
        or len(text) > 10
        or not 1 <= int(text) <= INT_MAX
    ):
        raise BadValue(_("%(value)s is not a record number", value=_shown(raw)))
    return int(text)


def id_or_none(raw) -> int | None:
    """A record id, or None for anything else (a filter drops an unknown value)."""
    try:
        return parse_id(raw) if raw not in (None, "") else None
    except BadValue:
        return None


def parse_page(raw) -> int:
    """A page number, 1 when none is given; BadValue for anything but 1..PAGE_MAX."""
    if raw in (None, ""):
        return 1
    return parse_int(raw, minimum=1, maximum=PAGE_MAX, label=_("The page number"))


def page_or_first(raw, problems: list[str] | None = None) -> int:
    """The page asked for, or 1 (with a note in `problems`) when it is not a page number."""
    try:
        return parse_page(raw)
    except BadValue:
        if problems is not None:
            problems.append(_("Unknown page number; showing the first page."))
        return 1


class BoundedIntegerConverter(IntegerConverter):
    """`<int:…>` in URLs, app-wide: ASCII digits up to INT_MAX, so an id no column can hold
    is a 404 in every route, not a 500 from the database."""

    regex = r"[0-9]+"  # werkzeug's \d+ also matches other scripts' digits

    def __init__(self, map, fixed_digits=0, min=None, max=INT_MAX, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        if len(value.lstrip("-")) > 10:  # no need to read a long number to refuse it
            raise ValidationError()
        return super().to_python(value)


class TextConverter(UnicodeConverter):
    """`<name>` and `<string:…>` in URLs: no NUL (PostgreSQL text cannot hold one, so no
    record has it in its key: a 404, not a database error)."""

    def to_python(self, value: str) -> str:
        if "\x00" in value:
            raise ValidationError()
        return value


class TextPathConverter(PathConverter):
    """`<path:…>` in URLs: as TextConverter, slashes allowed."""

    def to_python(self, value: str) -> str:
        if "\x00" in value:
            raise ValidationError()
        return value


URL_CONVERTERS = {
    "int": BoundedIntegerConverter,
    "default": TextConverter,
    "string": TextConverter,
    "path": TextPathConverter,
}


# --- decimals -------------------------------------------------------------------------------


def parse_decimal(raw, *, places: int | None, digits: int, label: str = "") -> Decimal:
    """A finite number rounded half-up to `places` decimals (None: as given) with at most
    `digits` before the point: 1234.5, "1 234,50", "-12,5" (an XLSX cell's int or float too).
    Exponents in text, NaN and infinities are refused."""
    if isinstance(raw, bool):
        raise BadValue(_("%(value)s is not a number", value=_shown(raw, label)))
    if isinstance(raw, Decimal):
        result = raw
    elif isinstance(raw, int):
        result = Decimal(raw)
    elif isinstance(raw, float):
        result = Decimal(repr(raw))
    else:
        text = str(raw).strip()
        if not _NUMBER.fullmatch(text):  # not already plain ("1234.5"): spaces, decimal comma
            text = _SPACES.sub("", text)
            if text.count(",") == 1 and "." not in text:
                text = text.replace(",", ".")
            if not text or len(text) > 60 or not _NUMBER.fullmatch(text):
                raise BadValue(_("%(value)s is not a number", value=_shown(raw, label)))
        result = Decimal(text)
    if not result.is_finite():
        raise BadValue(_("%(value)s is not a number", value=_shown(raw, label)))
    if places is not None and result:
        try:
            result = result.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        except InvalidOperation:  # more digits than the context's 28: far too large
            pass
    if result and result.adjusted() >= digits:  # 10**digits or more (also after rounding)
        largest = "9" * digits + ("." + "9" * places if places else "")
        raise OutOfRange(
            _(
                "%(value)s is too large: the limit is ±%(max)s",
                value=_shown(raw, label),
                max=largest,
            )
        )
    return result


def parse_money(raw, label: str = "") -> Decimal:
    """An amount of money for a Numeric(14, 2) column."""
    return parse_decimal(raw, places=MONEY_PLACES, digits=MONEY_DIGITS, label=label)


def parse_quantity(raw, label: str = "") -> Decimal:
    """A quantity for a Numeric(14, 3) column."""
    return parse_decimal(raw, places=QUANTITY_PLACES, digits=QUANTITY_DIGITS, label=label)


# --- dates and times ------------------------------------------------------------------------


def check_date(value: date, label: str = "") -> date:
    """`value` if it lies between MIN_DATE and MAX_DATE (a datetime: its day)."""
    day = value.date() if isinstance(value, datetime) else value
    if not MIN_DATE <= day <= MAX_DATE:
        raise OutOfRange(
            _(
                "%(value)s must be between %(min)s and %(max)s",
                value=_shown(day.isoformat(), label),
                min=MIN_DATE,
                max=MAX_DATE,
            )
        )
    return value


def parse_date(raw, *, label: str = "") -> date:
    """A date from `YYYY-MM-DD` or `DD.MM.YYYY` (or a date object), within the years allowed."""
    if isinstance(raw, datetime):
        return check_date(raw.date(), label)
    if isinstance(raw, date):
        return check_date(raw, label)
    text = str(raw).strip()
    try:
        if match := _DMY.fullmatch(text):
            d, m, y = (int(g) for g in match.groups())
            value = date(y, m, d)
        elif _ISO_DATE.fullmatch(text):
            value = date.fromisoformat(text)
        else:
            raise BadValue(
                _("%(value)s is not a date (use YYYY-MM-DD or DD.MM.YYYY)", value=_shown(raw))
            )
    except BadValue:
        raise
    except ValueError as exc:
        raise BadValue(_("%(value)s is not a real date", value=_shown(raw))) from exc
    return check_date(value, label)


def parse_datetime(raw, *, label: str = "") -> datetime:
    """A date and time `YYYY-MM-DDTHH:MM[:SS]` (naive, as typed), within the years allowed."""
    if isinstance(raw, datetime):
        return check_date(raw, label)
    text = str(raw).strip()
    if not _LOCAL.fullmatch(text):
        raise BadValue(_("%(value)s is not a date and time (YYYY-MM-DD HH:MM)", value=_shown(raw)))
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadValue(_("%(value)s is not a real date and time", value=_shown(raw))) from exc
    return check_date(value, label)
