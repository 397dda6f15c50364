"""Exporting a kind with exactly its import columns, so an export re-imports unchanged. The
rows come from the kind (its domain knows where they are stored); this module gives each
value its file form."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from crm.exchange.registry import kind_named
from crm.extensions import db

BATCH = 5000


def cell(value):
    """Dates as YYYY-MM-DD, numbers without trailing zeros (still numbers: a CSV writes them
    without exponent, an XLSX as number cells), None as empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return value.normalize()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def stream(stmt, batch: int = BATCH) -> Iterator:
    """Rows of a select in key order, read in pages so memory stays flat, as file cells."""
    result = db.session.execute(stmt.execution_options(yield_per=batch))
    for row in result:
        yield tuple(cell(v) for v in row)


def export_rows(kind_name: str) -> tuple[list[str], Iterator[tuple]]:
    """The header (the import's columns) and the rows of a kind."""
    kind = kind_named(kind_name)
    return kind.column_names, kind.export()
