"""Two imports of the same file confirmed at the same moment store every row once: the keys
(and the names of reference rows created on first use, and unknown managers) are unique in the
database; the import that loses the race starts over once and finds the rows stored. Threads
with their own connections, on SQLite and PostgreSQL; both validate before either writes."""

from __future__ import annotations

import pytest

import crm.exchange.importer
from crm.exchange.importer import run_import
from tests.exchange import samples
from tests.exchange.helpers import TODAY, counts
from tests.exchange.helpers import write_file as _write
from tests.helpers import meet_before, run_together

# Rows per table after one import of the kind's sample file (its `prepare` rows included),
# counted by hand from tests/exchange/samples.py; tables not named hold no rows.
EXPECTED = {
    "partners": {"partner": 3, "user": 1, "contact_detail": 2, "audit_entry": 3},
    "contacts": {"partner": 2, "contact_person": 3, "contact_detail": 2},
    "products": {"product": 4, "product_group": 1},
    "sales": {
        "partner": 2,
        "product": 2,
        "sales_document": 2,
        "sales_line": 3,
        # Both documents are of one month, marked for the monthly summaries (crm.sales.summaries).
        "sales_dirty_month": 1,
        "organization": 1,
        "department": 1,
        "warehouse": 1,
        "user": 1,
    },
    "payments": {"partner": 2, "payment": 4},
    "stock": {"product": 2, "stock_balance": 3, "warehouse": 2},
}


@pytest.mark.parametrize("kind", samples.KINDS)
def test_two_imports_of_one_file_at_once_store_every_row_once(
    app, tmp_path, make_partner, monkeypatch, kind
):
    samples.prepare(kind, make_partner)
    path = _write(tmp_path, samples.ROWS[kind], sep=";")
    meet_before(monkeypatch, crm.exchange.importer, "_write_rows", 2)

    reports = run_together(app, 2, lambda i: run_import(path, kind, today=TODAY))

    assert [r.done for r in reports] == [True, True]
    assert {t: n for t, n in counts().items() if n} == EXPECTED[kind]
