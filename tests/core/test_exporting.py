"""Spreadsheet safety of downloads: formula-like text is defused in CSV, numbers are not."""

import pytest

from crm.exporting import guard_formula


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|x", "'-2+3+cmd|x"),
        ("+7 495 123-45-67", "+7 495 123-45-67"),
        ("+7 (916) 111-22-33", "+7 (916) 111-22-33"),
        ("-12,50", "-12,50"),
        ("ООО Ромашка", "ООО Ромашка"),
        ("@alfa_shop", "@alfa_shop"),
        ("=A1", "'=A1"),
        (42, 42),
    ],
)
def test_formula_like_cells_get_a_leading_apostrophe_and_numbers_stay(cell, shown):
    assert guard_formula(cell) == shown
