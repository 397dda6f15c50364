"""Spreadsheet safety of every file we write: a text cell never starts a formula, and the
import's inverse gives back exactly the text that was written."""

from decimal import Decimal

import pytest

from crm.core.cells import escape_formula, unescape_formula
from crm.exporting import csv_cell

# (stored text, the cell written), the expected cells written by hand.
CELLS = [
    ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
    ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    ("@SUM(1)", "'@SUM(1)"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("+1", "'+1"),
    ("-cmd", "'-cmd"),
    ("+7 495 123-45-67", "'+7 495 123-45-67"),
    ("@alfa_shop", "'@alfa_shop"),
    ("\tTab", "'\tTab"),
    ("\rCR", "'\rCR"),
    ("'=quoted", "''=quoted"),
    ("''@twice", "'''@twice"),
    ("'plain", "'plain"),  # a quote before ordinary text is not an escape: left alone
    ("'", "'"),
    ("' =spaced", "' =spaced"),
    ("ООО Ромашка", "ООО Ромашка"),
    ("a=b", "a=b"),
    ("", ""),
]


@pytest.mark.parametrize(("stored", "written"), CELLS)
def test_text_that_would_start_a_formula_gets_one_leading_quote(stored, written):
    assert escape_formula(stored) == written


@pytest.mark.parametrize(("stored", "written"), CELLS)
def test_reading_the_written_cell_gives_back_the_stored_text(stored, written):
    assert unescape_formula(written) == stored


@pytest.mark.parametrize("value", [Decimal("-5.00"), -5, 12.5, None])
def test_numbers_are_not_text_and_are_never_escaped(value):
    assert escape_formula(value) == value
    assert unescape_formula(value) == value


def test_a_csv_writes_negative_decimals_as_plain_numbers():
    assert csv_cell(Decimal("-5.00")) == "-5.00"
    assert csv_cell(Decimal("1E+3")) == "1000"
    assert csv_cell("-5.00") == "'-5.00"  # text that looks like a number is still text
