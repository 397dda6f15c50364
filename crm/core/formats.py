"""How the interface writes dates, numbers and money — in one place, per language.

Russian: `04.12.2026`, `04.12.2026 10:30`, `1 234 567,89`, `356 559,31 ₽`, `12,5 %`.
English: `4 Dec 2026`, `4 Dec 2026, 10:30`, `1,234,567.89`, `₽356,559.31`, `12.5%`.
Times are shown in the reader's zone (crm/core/i18n.py picks it). Machine formats are not made
here: CSV exports keep ISO dates and `.` decimals (../shared/spec/data-exchange.md) and XLSX
files get real date and number cells.

Every function takes an optional `locale` so a job or an e-mail can format for its reader;
without one it uses the current request's (or `in_language(...)`'s) language.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.numbers import format_decimal, format_percent, get_currency_symbol
from flask import current_app, has_app_context
from flask_babel import get_locale, get_timezone

from crm.core.timeutil import to_zone

# Patterns per language (CLDR syntax). Russian business documents write dates as 04.12.2026.
PATTERNS = {
    "ru": {
        "date": "dd.MM.yyyy",
        "datetime": "dd.MM.yyyy HH:mm",
        "short_datetime": "dd.MM HH:mm",
        "time": "HH:mm",
        "month": "LLLL yyyy",
        "short_month": "LLL yyyy",
        "day": "EEE d MMM",
        "long_day": "EEEE, d MMMM yyyy",
    },
    "en": {
        "date": "d MMM yyyy",
        "datetime": "d MMM yyyy, HH:mm",
        "short_datetime": "d MMM HH:mm",
        "time": "HH:mm",
        "month": "LLLL yyyy",
        "short_month": "LLL yyyy",
        "day": "EEE d MMM",
        "long_day": "EEEE, d MMMM yyyy",
    },
}


def _locale(locale=None) -> Locale:
    if locale:
        return Locale.parse(str(locale))
    found = get_locale() if has_app_context() else None
    if found is not None:
        return found
    default = current_app.config["DEFAULT_LOCALE"] if has_app_context() else "ru"
    return Locale.parse(default)


def _pattern(kind: str, locale: Locale) -> str:
    return PATTERNS.get(locale.language, PATTERNS["en"])[kind]


def _zone_name(zone: str | None) -> str:
    if zone:
        return zone
    if has_app_context():
        return str(get_timezone())
    return "UTC"


def fmt_date(value, locale=None, zone: str | None = None, kind: str = "date") -> str:
    """A date (or the local date of a naive-UTC datetime): `04.12.2026`. '' for None."""
    if value is None or value == "":
        return ""
    loc = _locale(locale)
    if isinstance(value, datetime):
        value = to_zone(value, _zone_name(zone)).date()
    return _babel_date(value, _pattern(kind, loc), locale=loc)


def fmt_datetime(value, locale=None, zone: str | None = None, kind: str = "datetime") -> str:
    """A naive-UTC datetime in the reader's zone: `04.12.2026 10:30`. '' for None.
    kind: "datetime", "short_datetime" (`04.12 10:30`) or "time" (`10:30`)."""
    if value is None or value == "":
        return ""
    loc = _locale(locale)
    if not isinstance(value, datetime):  # a plain date: nothing to shift
        return fmt_date(value, loc)
    local = to_zone(value, _zone_name(zone))
    return _babel_datetime(local, _pattern(kind, loc), locale=loc)


def fmt_number(value, digits: int | None = None, locale=None) -> str:
    """`1 234 567,89`; `digits` fixes the decimals (0 for counts). '' for None."""
    if value is None or value == "":
        return ""
    loc = _locale(locale)
    if digits is None:
        return format_decimal(value, locale=loc)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=loc, decimal_quantization=True)


def currency_sign(currency: str, locale=None) -> str:
    """The sign of a currency as the reader knows it; the Russian sign when his language has
    only the ISO code for it (₽ rather than "RUB" in English)."""
    loc = _locale(locale)
    sign = get_currency_symbol(currency, locale=loc)
    if sign == currency:
        sign = get_currency_symbol(currency, locale="ru")
    return sign


def fmt_money(value, currency: str | None = None, locale=None) -> str:
    """`356 559,31 ₽` in Russian, `₽356,559.31` in English; '—' for None."""
    if value is None or value == "":
        return "—"
    loc = _locale(locale)
    currency = currency or (current_app.config["BASE_CURRENCY"] if has_app_context() else "RUB")
    number = fmt_number(Decimal(str(value)), 2, loc)
    sign = currency_sign(currency, loc)
    if loc.language == "ru":
        return f"{number}\N{NO-BREAK SPACE}{sign}"
    if number.startswith("-"):
        return f"-{sign}{number[1:]}"
    return f"{sign}{number}"


def fmt_percent(value, digits: int = 1, locale=None) -> str:
    """A share (0.125) as `12,5 %` / `12.5%`; '' for None."""
    if value is None or value == "":
        return ""
    loc = _locale(locale)
    pattern = loc.percent_formats[None].pattern
    decimals = "0." + "#" * digits if digits else "0"
    pattern = pattern.replace("0", decimals, 1) if "0" in pattern else pattern
    return format_percent(Decimal(str(value)), format=pattern, locale=loc)


def plotly_separators(locale=None) -> str:
    """Plotly's `separators` layout value: the decimal mark, then the thousands separator."""
    from babel.numbers import get_decimal_symbol, get_group_symbol

    loc = _locale(locale)
    return get_decimal_symbol(loc) + get_group_symbol(loc)


def register_filters(app) -> None:
    """The Jinja filters pages use: `{{ d|date }}`, `{{ t|datetime }}`, `{{ n|number }}`,
    `{{ amount|money }}`, `{{ share|percent }}`."""
    app.jinja_env.filters.update(
        date=fmt_date,
        datetime=fmt_datetime,
        number=fmt_number,
        money=fmt_money,
        percent=fmt_percent,
    )
