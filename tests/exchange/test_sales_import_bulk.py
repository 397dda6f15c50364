"""The sales import's bulk path (crm.sales.services.store_documents, core's insert_rows and
the importer's CheckedRecords) stores what the row-by-row rules say: document totals (Σ of the
lines, returns negative), the lines' copy of date and partner, due dates, row errors, and on a
re-import unchanged rows untouched and changed documents rewritten. Expected values are worked
out by hand from the file in each test, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.core.db import insert_rows
from crm.exchange import importer
from crm.exchange.importer import CheckedRecords, run_import
from crm.extensions import db
from crm.sales.models import SalesDocument, SalesLine
from tests.exchange import samples
from tests.exchange.helpers import TODAY, d, documents, lines, write_file

HEADER = ["doc_no", "line_no", "date", "partner_code", "sku", "quantity", "amount", "due_date"]

# three lines, the second a return; its lines are apart in the file (row 5 comes last).
# B-2: Russian-style date and numbers, no line numbers (1, 2 by position), no due date.
# C-3: one line with a due date.
FILE = [
    HEADER,
    ["A-1", "1", "2024-03-05", "P-001", "SKU-1", "2", "100.50", "2024-04-05"],
    ["A-1", "2", "2024-03-05", "P-001", "SKU-2", "-1", "-20.25", "2024-04-05"],
    ["B-2", "", "06.03.2024", "P-002", "SKU-1", "1,5", "1 234,56", ""],
    ["C-3", "1", "2024-03-07", "P-001", "SKU-2", "3", "0.99", "2024-03-31"],
    ["B-2", "", "06.03.2024", "P-002", "SKU-2", "4", "10", ""],
    ["A-1", "3", "2024-03-05", "P-001", "SKU-1", "1", "7.01", "2024-04-05"],
]
# Totals by hand: A-1 100.50 - 20.25 + 7.01 = 87.26; B-2 1234.56 + 10 = 1244.56; C-3 0.99.
DOCUMENTS = [
    ("A-1", date(2024, 3, 5), "P-001", None, None, None, None, date(2024, 4, 5), d("87.26")),
    ("B-2", date(2024, 3, 6), "P-002", None, None, None, None, date(2024, 3, 6), d("1244.56")),
    ("C-3", date(2024, 3, 7), "P-001", None, None, None, None, date(2024, 3, 31), d("0.99")),
]
LINES = [
    ("A-1", 1, date(2024, 3, 5), "P-001", "SKU-1", d("2"), d("100.50"), None),
    ("A-1", 2, date(2024, 3, 5), "P-001", "SKU-2", d("-1"), d("-20.25"), None),
    ("A-1", 3, date(2024, 3, 5), "P-001", "SKU-1", d("1"), d("7.01"), None),
    ("B-2", 1, date(2024, 3, 6), "P-002", "SKU-1", d("1.5"), d("1234.56"), None),
    ("B-2", 2, date(2024, 3, 6), "P-002", "SKU-2", d("4"), d("10"), None),
    ("C-3", 1, date(2024, 3, 7), "P-001", "SKU-2", d("3"), d("0.99"), None),
]


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of 2 rows: A-1's lines land in three batches, so its total is made in parts."""
    monkeypatch.setattr(importer, "BATCH", 2)


@pytest.fixture
def parties(app, make_partner):
    samples.prepare("sales", make_partner)


def _import(tmp_path, rows, **kw):
    report = run_import(write_file(tmp_path, rows, sep=";"), "sales", today=TODAY, **kw)
    db.session.expire_all()
    return report


def _stamps() -> dict[str, object]:
    return dict(db.session.execute(select(SalesDocument.doc_no, SalesDocument.updated_at)).all())


@pytest.mark.parametrize("batch", [2, 2000], ids=["2-row batches", "one batch"])
def test_first_import_stores_totals_lines_and_due_dates(parties, tmp_path, monkeypatch, batch):
    monkeypatch.setattr(importer, "BATCH", batch)
    report = _import(tmp_path, FILE)

    assert (report.rows, report.new, report.updated, report.unchanged) == (6, 6, 0, 0)
    assert report.done and report.written == 6
    assert documents() == DOCUMENTS
    assert lines() == LINES


def test_reimport_of_the_same_file_writes_nothing(parties, tmp_path, small_batches):
    _import(tmp_path, FILE)
    before, stamps = (documents(), lines()), _stamps()

    report = _import(tmp_path, FILE)

    assert (report.new, report.updated, report.unchanged) == (0, 0, 6)
    assert report.done and report.written == 6
    assert (documents(), lines()) == before
    assert _stamps() == stamps


def test_reimport_rewrites_changed_documents_only(parties, tmp_path, small_batches):
    _import(tmp_path, FILE)
    stamps = _stamps()
    # A-1 moves to 2024-03-10 and partner P-002 in a file that names only its line 2, now
    # -30.00; B-2 gains a line 3 of 5.05; C-3 as it was.
    changed = [
        HEADER,
        ["A-1", "2", "2024-03-10", "P-002", "SKU-2", "-1", "-30.00", "2024-04-05"],
        ["B-2", "1", "06.03.2024", "P-002", "SKU-1", "1,5", "1 234,56", ""],
        ["B-2", "2", "06.03.2024", "P-002", "SKU-2", "4", "10", ""],
        ["B-2", "3", "06.03.2024", "P-002", "SKU-2", "1", "5.05", ""],
        ["C-3", "1", "2024-03-07", "P-001", "SKU-2", "3", "0.99", "2024-03-31"],
    ]
    report = _import(tmp_path, changed)

    assert (report.new, report.updated, report.unchanged) == (1, 1, 3)
    # 100.50 - 30.00 + 7.01 = 77.51, every line on the new date and partner.
    # B-2: 1244.56 + 5.05 = 1249.61.
    assert documents() == [
        ("A-1", date(2024, 3, 10), "P-002", None, None, None, None, date(2024, 4, 5), d("77.51")),
        ("B-2", date(2024, 3, 6), "P-002", None, None, None, None, date(2024, 3, 6), d("1249.61")),
        DOCUMENTS[2],
    ]
    assert lines() == [
        ("A-1", 1, date(2024, 3, 10), "P-002", "SKU-1", d("2"), d("100.50"), None),
        ("A-1", 2, date(2024, 3, 10), "P-002", "SKU-2", d("-1"), d("-30.00"), None),
        ("A-1", 3, date(2024, 3, 10), "P-002", "SKU-1", d("1"), d("7.01"), None),
        *LINES[3:5],
        ("B-2", 3, date(2024, 3, 6), "P-002", "SKU-2", d("1"), d("5.05"), None),
        LINES[5],
    ]
    after = _stamps()
    assert after["C-3"] == stamps["C-3"]
    assert after["A-1"] != stamps["A-1"]


def test_rows_with_errors_are_reported_and_the_valid_ones_stored(parties, tmp_path):
    rows = [
        HEADER,
        ["A-1", "1", "2024-03-05", "P-001", "SKU-1", "2", "100.50", ""],
        ["A-1", "2", "2024-03-05", "NOPE", "SKU-1", "1", "1", ""],
        ["D-4", "1", "2024-03-05", "P-001", "SKU-1", "1", "12abc", ""],
        ["A-1", "1", "2024-03-05", "P-001", "SKU-2", "1", "3", ""],
        ["E-5", "1", "2024-03-08", "P-002", "SKU-2", "2", "4.40", ""],
    ]
    refused = _import(tmp_path, rows)
    assert [(e.row, e.column, e.code) for e in refused.errors] == [
        (3, "partner_code", "unknown"),
        (4, "amount", "bad_value"),
        (5, "doc_no", "duplicate_key"),
    ]
    assert not refused.done and documents() == []

    report = _import(tmp_path, rows, valid_only=True)

    assert (report.new, report.rejected) == (2, 3)
    assert [(r[0], r[-1]) for r in documents()] == [("A-1", d("100.50")), ("E-5", d("4.40"))]
    assert [(r[0], r[1], r[6]) for r in lines()] == [("A-1", 1, d("100.50")), ("E-5", 1, d("4.40"))]


def test_insert_rows_stores_every_column_and_refuses_a_taken_key(parties, tmp_path):
    _import(tmp_path, FILE[:2])
    doc_id = db.session.execute(select(SalesDocument.id)).scalar_one()
    partner_id, product_id = db.session.execute(
        select(SalesLine.partner_id, SalesLine.product_id)
    ).one()
    row = {
        "document_id": doc_id,
        "line_no": 7,
        "date": date(2024, 3, 5),
        "partner_id": partner_id,
        "product_id": product_id,
        "quantity": d("1.250"),
        "amount": d("-3.10"),
        "cost": None,
    }
    insert_rows(SalesLine.__table__, [row])
    stored = db.session.execute(
        select(SalesLine.line_no, SalesLine.quantity, SalesLine.amount, SalesLine.cost).where(
            SalesLine.line_no == 7
        )
    ).one()
    assert tuple(stored) == (7, d("1.250"), d("-3.10"), None)

    # SQLAlchemy's IntegrityError on both databases (COPY's error too): a key race is told
    # apart from other failures by it.
    with pytest.raises(IntegrityError, match="(?i)unique|duplicate"):
        insert_rows(SalesLine.__table__, [row])
    db.session.rollback()


def test_checked_records_read_back_in_order_every_time():
    with CheckedRecords() as checked:
        checked.add([{"a": 1, "n": d("1.50")}, {"a": 2, "n": None}])
        checked.add([{"a": 3, "n": d("-2")}])
        first = list(checked)
        assert first == [{"a": 1, "n": d("1.50")}, {"a": 2, "n": None}, {"a": 3, "n": d("-2")}]
        assert list(checked) == first
