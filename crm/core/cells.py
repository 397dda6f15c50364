"""Spreadsheet cells that never start a formula, and the way back.

Excel, LibreOffice and Google Sheets run a cell starting with = + - @ tab or CR as a formula
(CSV injection: =HYPERLINK(…), +cmd|' /C calc'!A0). Every text cell we write to a CSV or
XLSX file goes through `escape_formula`, which puts one ' in front (as OWASP recommends; the
spreadsheet shows the rest as text). Text that already starts with quotes followed by such a
character gets one more quote, so `unescape_formula`, which the import applies to every text
cell, takes exactly one off and gives back the stored value, whatever it was:

    stored        written        read back
    =SUM(1)       '=SUM(1)       =SUM(1)
    '=quoted      ''=quoted      '=quoted
    'plain        'plain         'plain

Numbers (int, Decimal, float) are not text and are never touched: a CSV "-5.00" is read by a
spreadsheet as the number -5, not run, and an XLSX number cell is a number.
"""

from __future__ import annotations

import re

# A formula character, after any number of quotes (those quotes are part of the value).
_NEEDS_QUOTE = re.compile(r"'*[=+\-@\t\r]")
# What `escape_formula` wrote: at least one quote, then a formula character.
_QUOTED = re.compile(r"'+[=+\-@\t\r]")


def escape_formula(value):
    """`value` safe to put in a spreadsheet cell: text that would start a formula gets a '."""
    if isinstance(value, str) and _NEEDS_QUOTE.match(value):
        return "'" + value
    return value


def unescape_formula(value):
    """The inverse of `escape_formula` for a cell read from a file (other values as they are)."""
    if isinstance(value, str) and value[:1] == "'" and _QUOTED.match(value):
        return value[1:]
    return value
