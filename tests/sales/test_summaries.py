"""crm.sales.summaries: every reader sees the sales lines as they are. The documents' summary
columns (total, gross profit, Σ quantity, lines, purchase lines) after imports, re-imports and
API updates, and `product_months` over any window, with months marked or summed again, equal
what a few lines of pandas compute from the sales_line rows read with plain SQL; the hand
values of the first file check that computation too. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from crm.exchange import importer
from crm.exchange.importer import run_import
from crm.extensions import db
from crm.sales.services import store_documents
from crm.sales.summaries import (
    dirty_months,
    mark_months,
    rebuild,
    refresh_months,
)
from tests.api.conftest import api, make_token  # noqa: F401 (fixtures of the API test)
from tests.exchange.helpers import TODAY, add_products, write_file
from tests.sales.summary_checks import (
    by_hand,
    expected_documents,
    expected_months,
    marked,
    raw_lines,
    read_months,
    stored_documents,
    summary_table,
)

HEADER = ["doc_no", "line_no", "date", "partner_code", "sku", "quantity", "amount", "cost"]

# Products: SKU-1, SKU-2 in group "Молочка", SKU-3 in "Хлеб", SKU-4 in none.
FIRST = [
    HEADER,
    ["A-1", "1", "2024-03-05", "P-001", "SKU-1", "2", "100.50", "60.25"],
    ["A-1", "2", "2024-03-05", "P-001", "SKU-2", "-1", "-20.25", "-12.10"],  # a return
    ["A-1", "3", "2024-03-05", "P-001", "SKU-3", "1", "7.01", ""],  # cost unknown
    ["B-2", "1", "2024-03-31", "P-002", "SKU-1", "1,5", "1 234,56", "1000"],
    ["B-2", "2", "2024-03-31", "P-002", "SKU-4", "4", "10", ""],
    ["C-3", "1", "2024-04-01", "P-001", "SKU-3", "-3", "-0.99", "-0.50"],  # returns only
    ["D-4", "1", "2024-02-15", "P-002", "SKU-2", "5", "50", "45"],
    ["E-5", "1", "2024-01-20", "P-001", "SKU-1", "1", "33.33", "30"],
    ["E-5", "2", "2024-01-20", "P-001", "SKU-1", "2", "66.67", ""],  # one product twice
    ["F-6", "1", "2024-02-29", "P-001", "SKU-4", "1", "5.55", "5"],
]
# By hand: total, gross profit (lines with a known cost), Σ quantity, lines, lines with amount > 0.
d = Decimal
FIRST_DOCS = {
    "A-1": (d("87.26"), d("32.10"), d("2"), 3, 2),
    "B-2": (d("1244.56"), d("234.56"), d("5.5"), 2, 2),
    "C-3": (d("-0.99"), d("-0.49"), d("-3"), 1, 0),
    "D-4": (d("50"), d("5"), d("5"), 1, 1),
    "E-5": (d("100.00"), d("3.33"), d("3"), 2, 2),
    "F-6": (d("5.55"), d("0.55"), d("1"), 1, 1),
}
# A re-import. A-1: another month and partner, line 1 changed (its cost now unknown), a line 4
# added, lines 2 and 3 not in the file (they stay and follow their document). B-2: line 2 of
# another product, its cost now known. D-4 leaves February for May, E-5 January (its only
# document) for February; a new document that is a return. C-3 and F-6 are not in the file.
SECOND = [
    HEADER,
    ["A-1", "1", "2024-04-10", "P-002", "SKU-1", "3", "150.75", ""],
    ["A-1", "4", "2024-04-10", "P-002", "SKU-4", "2", "20", "18"],
    ["B-2", "2", "2024-03-31", "P-002", "SKU-3", "4", "10", "7.5"],
    ["D-4", "1", "2024-05-02", "P-002", "SKU-2", "5", "50", "45"],
    ["E-5", "1", "2024-02-10", "P-001", "SKU-1", "1", "33.33", "30"],
    ["G-7", "1", "2024-03-15", "P-001", "SKU-2", "-2", "-40", "-30"],
]
SECOND_DOCS = {
    **FIRST_DOCS,
    # 150.75 − 20.25 + 7.01 + 20; profit (−20.25 + 12.10) + (20 − 18); quantity 3 − 1 + 1 + 2.
    "A-1": (d("157.51"), d("-6.15"), d("5"), 4, 3),
    "B-2": (d("1244.56"), d("237.06"), d("5.5"), 2, 2),
    "G-7": (d("-40"), d("-10"), d("-2"), 1, 0),
}
M = {n: date(2024, n, 1) for n in range(1, 13)}
WINDOWS = [
    pytest.param(date(2024, 1, 1), date(2024, 12, 31), id="whole year"),
    pytest.param(date(2024, 2, 1), date(2024, 3, 31), id="whole months"),
    pytest.param(date(2023, 12, 1), date(2024, 2, 29), id="whole months before the data"),
    pytest.param(date(2024, 1, 15), date(2024, 3, 10), id="mid-month to mid-month"),
    pytest.param(date(2024, 2, 16), date(2024, 4, 30), id="mid-month to a month's end"),
    pytest.param(date(2024, 3, 1), date(2024, 4, 5), id="month's start to mid-month"),
    pytest.param(date(2024, 3, 5), date(2024, 3, 20), id="inside one month"),
    pytest.param(date(2024, 3, 31), date(2024, 4, 1), id="a day either side of a month's end"),
    pytest.param(date(2024, 2, 29), date(2024, 2, 29), id="one day"),
]


def groups() -> list[int | None]:
    ids = db.session.execute(text("SELECT id FROM product_group ORDER BY id")).scalars().all()
    assert len(ids) == 2
    return [None, *ids]


def assert_every_reader_sees_the_lines() -> None:
    """Documents' summaries, the lines' copy of their document's date and partner, and
    product_months over every window and group, all as the lines are now."""
    assert stored_documents() == expected_documents()
    for r in raw_lines():
        assert (r["date"], r["partner_id"]) == (r["doc_date"], r["doc_partner"]), r
    for group in groups():
        for window in WINDOWS:
            date_from, date_to = window.values
            assert read_months(date_from, date_to, group) == expected_months(
                date_from, date_to, group
            ), (window.id, group)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def catalog(app, make_partner):
    make_partner(code="P-001", name="Ромашка")
    make_partner(code="P-002", name="Acme")
    add_products("SKU-1", "SKU-2", group="Молочка")
    add_products("SKU-3", group="Хлеб")
    add_products("SKU-4")


def _import(tmp_path, rows, name="sales.csv"):
    report = run_import(write_file(tmp_path, rows, sep=";", name=name), "sales", today=TODAY)
    assert report.done and not report.errors, report.errors
    db.session.expire_all()
    return report


@pytest.fixture(params=[2, 2000], ids=["2-row batches", "one batch"])
def batch(request, monkeypatch):
    """2-row batches put a document's lines in several batches (stored, then completed)."""
    monkeypatch.setattr(importer, "BATCH", request.param)


# --- the documents' summaries -----------------------------------------------------------------


def test_first_import_stores_each_documents_summary(catalog, batch, tmp_path):
    _import(tmp_path, FIRST)

    assert stored_documents() == by_hand(FIRST_DOCS)
    assert expected_documents() == by_hand(FIRST_DOCS)  # the pandas check agrees with the hand


def test_reimport_changing_date_partner_lines_and_costs_updates_the_summaries(
    catalog, batch, tmp_path
):
    _import(tmp_path, FIRST)
    _import(tmp_path, SECOND, name="again.csv")

    assert stored_documents() == by_hand(SECOND_DOCS)
    assert expected_documents() == by_hand(SECOND_DOCS)
    a1 = [r for r in raw_lines() if r["doc_no"] == "A-1"]
    assert sorted(r["line_no"] for r in a1) == [1, 2, 3, 4]
    assert {(r["date"], r["doc_date"]) for r in a1} == {(date(2024, 4, 10), date(2024, 4, 10))}
    assert_every_reader_sees_the_lines()


def test_repeated_import_changes_no_summary(catalog, tmp_path):
    _import(tmp_path, FIRST)
    _import(tmp_path, SECOND, name="again.csv")
    before = stored_documents()
    stamps = dict(db.session.execute(text("SELECT doc_no, updated_at FROM sales_document")).all())

    report = _import(tmp_path, SECOND, name="third.csv")

    assert report.unchanged == len(SECOND) - 1
    assert stored_documents() == before == by_hand(SECOND_DOCS)
    assert (
        dict(db.session.execute(text("SELECT doc_no, updated_at FROM sales_document")).all())
        == stamps
    )


def test_api_update_that_drops_lines_and_moves_the_document(catalog, api, tmp_path):  # noqa: F811
    _import(tmp_path, FIRST)
    refresh_months()
    assert not dirty_months()

    response = api("admin").patch(
        "/api/v1/sales-documents/A-1",
        json={
            "date": "2024-06-07",
            "partner_code": "P-002",
            "lines": [
                {"line_no": 1, "sku": "SKU-1", "quantity": 1, "amount": "10.00", "cost": "4"},
                {"line_no": 3, "sku": "SKU-3", "quantity": "2", "amount": "-7.01"},
            ],
        },
    )
    db.session.expire_all()

    assert response.status_code == 200, response.get_json()
    # Line 2 dropped; line 3 now a return of unknown cost: 10 − 7.01, profit 10 − 4.
    want = {**FIRST_DOCS, "A-1": (d("2.99"), d("6"), d("3"), 2, 1)}
    assert stored_documents() == by_hand(want) == expected_documents()
    # March (its lines' month before) and June (after) are read from the lines until summed.
    assert {M[3], M[6]} <= marked()
    assert_every_reader_sees_the_lines()
    refresh_months()
    assert not marked()
    assert summary_table() == expected_months(date.min, date.max, count=True)
    assert_every_reader_sees_the_lines()

    # A change of the header alone keeps the lines and their summary; they move with it.
    response = api("admin").patch("/api/v1/sales-documents/B-2", json={"date": "2024-05-20"})
    db.session.expire_all()
    assert response.status_code == 200, response.get_json()
    assert stored_documents() == by_hand(want)
    assert {M[3], M[5]} <= marked()
    assert_every_reader_sees_the_lines()


# --- the product × month summary ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("date_from", "date_to"), [w.values for w in WINDOWS], ids=[w.id for w in WINDOWS]
)
def test_product_months_equal_the_lines_marked_or_summed(catalog, tmp_path, date_from, date_to):
    _import(tmp_path, FIRST)
    want = {g: expected_months(date_from, date_to, g) for g in groups()}
    assert want[None], "the window has lines"

    # Right after the import every month with lines is marked: read from the lines.
    assert marked() == {M[1], M[2], M[3], M[4]}
    assert {g: read_months(date_from, date_to, g) for g in groups()} == want

    assert refresh_months() == 4
    assert not marked() and not dirty_months()
    assert {g: read_months(date_from, date_to, g) for g in groups()} == want

    # Only some months marked (the summary still right): the same answer.
    mark_months([date(2024, 3, 17), date(2024, 1, 2)])
    db.session.commit()
    assert marked() == {M[1], M[3]}
    assert {g: read_months(date_from, date_to, g) for g in groups()} == want


def test_product_months_by_hand_and_of_an_empty_window(catalog, tmp_path):
    _import(tmp_path, FIRST)
    refresh_months()
    ids = dict(db.session.execute(text("SELECT sku, id FROM product")).all())
    dairy = groups()[1]

    # 2024-03-05..2024-03-31, group Молочка: A-1's lines 1-2 and B-2's line 1.
    assert read_months(date(2024, 3, 5), date(2024, 3, 31), dairy) == {
        (ids["SKU-1"], M[3]): (d("1335.06"), d("274.81"), d("3.500")),
        (ids["SKU-2"], M[3]): (d("-20.25"), d("-8.15"), d("-1.000")),
    }
    # B-2's day alone: SKU-4's line with an unknown cost has a profit of 0.
    assert read_months(date(2024, 3, 31), date(2024, 3, 31)) == {
        (ids["SKU-1"], M[3]): (d("1234.56"), d("234.56"), d("1.500")),
        (ids["SKU-4"], M[3]): (d("10.00"), d("0.00"), d("4.000")),
    }
    assert read_months(date(2024, 3, 6), date(2024, 3, 30)) == {}
    assert read_months(date(2024, 6, 1), date(2024, 8, 31)) == {}
    assert read_months(date(2024, 4, 1), date(2024, 3, 1)) == {}


def test_reimport_moving_documents_between_months(catalog, tmp_path):
    _import(tmp_path, FIRST)
    refresh_months()
    summed_before = summary_table()
    assert summed_before == expected_months(date.min, date.max, count=True)

    _import(tmp_path, SECOND, name="again.csv")

    # The months the lines left (January, February, March) and went to (April, May) are marked;
    # the summary table still holds the old sums, yet every reader sees the lines.
    assert {M[1], M[2], M[3], M[4], M[5]} <= marked()
    assert summary_table() == summed_before != expected_months(date.min, date.max, count=True)
    assert_every_reader_sees_the_lines()
    for month in (M[1], M[2], M[4], M[5]):  # both months of each move, alone
        end = date(2024, month.month + 1, 1).toordinal() - 1
        assert read_months(month, date.fromordinal(end)) == expected_months(
            month, date.fromordinal(end)
        )
    assert not expected_months(M[1], date(2024, 1, 31))  # January has no line left

    refresh_months()

    assert not marked()
    table = summary_table()
    assert table == expected_months(date.min, date.max, count=True)
    assert not [key for key in table if key[1] == M[1]]  # January's rows are gone
    assert_every_reader_sees_the_lines()


# --- refresh and rebuild ------------------------------------------------------------------------


def test_refresh_is_idempotent_and_rebuild_equals_the_incremental_result(catalog, api, tmp_path):  # noqa: F811
    _import(tmp_path, FIRST)
    refresh_months()
    _import(tmp_path, SECOND, name="again.csv")
    api("admin").patch(
        "/api/v1/sales-documents/C-3",
        json={"lines": [{"line_no": 2, "sku": "SKU-2", "quantity": 7, "amount": "70.70"}]},
    )
    db.session.expire_all()
    assert refresh_months() >= 5
    incremental = (summary_table(), stored_documents())
    assert incremental == (expected_months(date.min, date.max, count=True), expected_documents())

    assert refresh_months() == 0  # nothing marked: nothing summed
    assert (summary_table(), stored_documents()) == incremental
    # Every month (and one without lines) marked again: summed to the same rows.
    mark_months([*(M[n] for n in range(1, 13)), date(2023, 7, 9)])
    db.session.commit()
    assert refresh_months() == 13
    assert refresh_months() == 0
    assert not marked()
    assert (summary_table(), stored_documents()) == incremental

    # From scratch: the summary table and the documents' summaries wiped, then rebuilt.
    db.session.execute(text("DELETE FROM sales_product_month"))
    db.session.execute(
        text(
            "UPDATE sales_document SET total = 0, profit_total = 0, quantity_total = 0,"
            " line_count = 0, purchase_lines = 0"
        )
    )
    db.session.commit()
    db.session.expire_all()
    rebuild()
    db.session.expire_all()

    assert not marked()
    assert (summary_table(), stored_documents()) == incremental
    assert_every_reader_sees_the_lines()


# --- a refresh beside a writer that has not committed (PostgreSQL: SQLite has one writer) ------


def test_refresh_leaves_marked_a_month_whose_writer_has_not_committed(app, catalog, tmp_path):
    if app.config["CRM_BACKEND"] != "postgresql":
        pytest.skip("SQLite lets one writer at a time: a refresh waits for the import")
    _import(tmp_path, FIRST)
    refresh_months()
    mark_months([M[3]])  # March is marked already: the writer holds its mark
    db.session.commit()
    partners = dict(db.session.execute(text("SELECT code, id FROM partner")).all())
    sku1 = db.session.execute(text("SELECT id FROM product WHERE sku = 'SKU-1'")).scalar_one()
    written, release, errors = threading.Event(), threading.Event(), []

    def writer():
        with app.app_context():
            try:
                headers = {
                    doc_no: {
                        "date": day,
                        "partner_id": partners["P-001"],
                        "organization_id": None,
                        "department_id": None,
                        "warehouse_id": None,
                        "manager_id": None,
                        "due_date": day,
                    }
                    for doc_no, day in (("W-1", date(2024, 3, 10)), ("W-2", date(2024, 6, 10)))
                }
                lines = [
                    {
                        "doc_no": doc_no,
                        "line_no": 1,
                        "date": h["date"],
                        "partner_id": h["partner_id"],
                        "product_id": sku1,
                        "quantity": Decimal("1"),
                        "amount": Decimal("500.00"),
                        "cost": Decimal("400.00"),
                    }
                    for doc_no, h in headers.items()
                ]
                store_documents(headers, lines)
                written.set()
                assert release.wait(30)
                db.session.commit()
            except Exception as exc:  # reported by the test's thread
                errors.append(exc)
                written.set()
            finally:
                db.session.remove()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert written.wait(30) and not errors, errors
        # March is held by the writer, June's mark is not committed: nothing is summed, and
        # readers see the committed lines.
        assert refresh_months() == 0
        assert marked() == {M[3]}
        assert_every_reader_sees_the_lines()
    finally:
        release.set()
        thread.join(30)
    assert not errors, errors
    db.session.expire_all()

    assert marked() == {M[3], M[6]}
    assert any(r["doc_no"] == "W-2" for r in raw_lines())
    assert_every_reader_sees_the_lines()
    assert refresh_months() == 2
    assert summary_table() == expected_months(date.min, date.max, count=True)
    assert_every_reader_sees_the_lines()
