"""The shared parsers of request, form, file and API values: the type, and the bounds of the
columns the value goes to (expected values written by hand)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from crm.core.params import (
    BadValue,
    OutOfRange,
    id_or_none,
    page_or_first,
    parse_date,
    parse_datetime,
    parse_id,
    parse_money,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        ("2147483647", 2147483647),
        (" 42 ", 42),
        (7, 7),
    ],
)
def test_an_id_is_1_to_the_database_integer(raw, expected):
    assert parse_id(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "0",
        "-1",
        "2147483648",
        "99999999999999999999",
        "²",
        "٣",
        "1.0",
        "1e3",
        "",
        "abc",
        "\x00",
        True,
    ],
)
def test_anything_else_is_no_id(raw):
    with pytest.raises(BadValue):
        parse_id(raw)
    assert id_or_none(raw) is None


def test_a_page_that_is_no_page_number_is_the_first_with_a_note():
    problems: list[str] = []
    assert [page_or_first(p, problems) for p in ("", None, "3", "²", "0", "9" * 20)] == [
        1,
        1,
        3,
        1,
        1,
        1,
    ]
    assert problems == ["Unknown page number; showing the first page."] * 3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1 234,505", Decimal("1234.51")),
        ("-0.125", Decimal("-0.13")),
        (12, Decimal("12.00")),
        (0.1, Decimal("0.10")),
        ("999999999999.99", Decimal("999999999999.99")),
        (Decimal("-999999999999.994"), Decimal("-999999999999.99")),
        (Decimal("1E-900"), 0),
    ],
)
def test_money_is_rounded_half_up_to_cents(raw, expected):
    assert parse_money(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["1000000000000", "999999999999.995", "-1000000000000", Decimal("1E+308"), 10**400, 1e300],
)
def test_money_beyond_numeric_14_2_is_out_of_range(raw):
    with pytest.raises(OutOfRange, match="the limit is ±999999999999.99"):
        parse_money(raw)


@pytest.mark.parametrize(
    "raw", ["1e308", "NaN", "inf", Decimal("NaN"), float("inf"), "1,2,3", "²", True, ""]
)
def test_exponents_and_non_numbers_are_no_money(raw):
    with pytest.raises(BadValue):
        parse_money(raw)


def test_a_quantity_keeps_three_places_and_eleven_digits():
    assert parse_quantity("99999999999.9994") == Decimal("99999999999.999")
    with pytest.raises(OutOfRange, match="the limit is ±99999999999.999"):
        parse_quantity("99999999999.9996")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-02-29", date(2024, 2, 29)),
        ("31.12.2999", date(2999, 12, 31)),
        ("1900-01-01", date(1900, 1, 1)),
        (datetime(2024, 1, 2, 3, 4), date(2024, 1, 2)),
    ],
)
def test_dates_within_the_years_kept(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("9999-12-31", OutOfRange),
        ("0001-01-01", OutOfRange),
        ("1899-12-31", OutOfRange),
        ("3000-01-01", OutOfRange),
        ("2024-02-30", BadValue),
        ("²⁰²⁴-01-01", BadValue),
        ("yesterday", BadValue),
    ],
)
def test_dates_outside_the_years_kept_or_no_dates_are_refused(raw, error):
    with pytest.raises(error):
        parse_date(raw)


def test_a_date_and_time_far_away_is_out_of_range_before_any_zone_arithmetic():
    assert parse_datetime("2026-11-28T09:30") == datetime(2026, 11, 28, 9, 30)
    for raw in ("0001-01-01T00:00", "9999-12-31T23:59"):
        with pytest.raises(OutOfRange, match="must be between 1900-01-01 and 2999-12-31"):
            parse_datetime(raw)
