"""Import is an upsert on each kind's key: the same file twice changes nothing (every table,
updated_at included), a changed row updates its record, sales lines are numbered by their
position in the document, equal payments are separate payments, document totals follow lines."""

from __future__ import annotations

import time
from datetime import date

import pytest
from sqlalchemy import select

from crm.exchange.importer import run_import
from crm.extensions import db
from crm.partners.models import ContactPerson, Partner
from crm.sales.models import Payment, Product, SalesDocument, SalesLine, StockBalance
from tests.exchange import samples
from tests.exchange.helpers import TODAY, count, d, documents, dump, lines, payments, stock
from tests.exchange.helpers import write_file as _write


def _run(path, kind):
    report = run_import(path, kind, today=TODAY)
    assert report.file_errors == [] and report.errors == [], report
    return report


def _later():
    """Let the clock move on, so a rewritten updated_at would differ from the stored one."""
    time.sleep(0.002)


@pytest.mark.parametrize("kind", samples.KINDS)
def test_importing_the_same_file_twice_changes_nothing(app, tmp_path, make_partner, kind):
    samples.prepare(kind, make_partner)
    path = _write(tmp_path, samples.ROWS[kind], sep=";")
    first = _run(path, kind)
    before = dump()
    _later()

    second = _run(path, kind)

    n = len(samples.ROWS[kind]) - 1
    assert (first.rows, first.new, first.updated, first.unchanged) == (n, n, 0, 0)
    assert (second.rows, second.new, second.updated, second.unchanged) == (n, 0, 0, n)
    assert second.done and second.written == n
    assert dump() == before


def _updated_at(model, **where):
    db.session.expire_all()
    return db.session.execute(select(model.updated_at).filter_by(**where)).scalar_one()


def test_a_changed_partner_row_updates_only_that_partner(app, tmp_path):
    _run(_write(tmp_path, samples.PARTNERS, name="a.csv"), "partners")
    p1_stamp = _updated_at(Partner, code="P-001")
    p2_stamp = _updated_at(Partner, code="P-002")
    changed = [list(r) for r in samples.PARTNERS]
    changed[2][0], changed[2][3] = "Иван Петрович Петров", "Самара"  # name, city of P-002
    _later()

    report = _run(_write(tmp_path, changed, name="b.csv"), "partners")

    assert (report.new, report.updated, report.unchanged) == (0, 1, 2)
    row = db.session.execute(
        select(Partner.name, Partner.city, Partner.kind).where(Partner.code == "P-002")
    ).one()
    assert tuple(row) == ("Иван Петрович Петров", "Самара", "person")
    assert count(Partner) == 3
    assert _updated_at(Partner, code="P-002") > p2_stamp
    assert _updated_at(Partner, code="P-001") == p1_stamp


def test_a_changed_contact_row_updates_the_contact(app, tmp_path, make_partner):
    samples.prepare("contacts", make_partner)
    _run(_write(tmp_path, samples.CONTACTS, name="a.csv"), "contacts")
    changed = [list(r) for r in samples.CONTACTS]
    changed[3][3] = "Генеральный директор"  # position of Пётр at P-002

    report = _run(_write(tmp_path, changed, name="b.csv"), "contacts")

    assert (report.new, report.updated, report.unchanged) == (0, 1, 2)
    people = db.session.execute(
        select(Partner.code, ContactPerson.name, ContactPerson.position)
        .join(Partner, Partner.id == ContactPerson.partner_id)
        .order_by(Partner.code, ContactPerson.name)
    ).all()
    assert [tuple(p) for p in people] == [
        ("P-001", samples.PERSON, "Главный бухгалтер"),
        ("P-001", "Пётр", ""),
        ("P-002", "Пётр", "Генеральный директор"),
    ]


def test_a_changed_product_row_updates_the_product(app, tmp_path):
    _run(_write(tmp_path, samples.PRODUCTS, name="a.csv"), "products")
    changed = [list(r) for r in samples.PRODUCTS]
    changed[2][4] = "99,90"  # base_price of SKU-2

    report = _run(_write(tmp_path, changed, name="b.csv"), "products")

    assert (report.new, report.updated, report.unchanged) == (0, 1, 3)
    prices = dict(db.session.execute(select(Product.sku, Product.base_price)).all())
    assert prices == {
        "SKU-1": d("1234.50"),
        "SKU-2": d("99.90"),
        "SKU-3": d("-12.50"),
        "SKU-4": None,
    }


def test_a_changed_sales_line_updates_it_and_the_document_total(app, tmp_path, make_partner):
    samples.prepare("sales", make_partner)
    _run(_write(tmp_path, samples.SALES, name="a.csv"), "sales")
    d2_stamp = _updated_at(SalesDocument, doc_no="D-2")
    changed = [list(r) for r in samples.SALES]
    changed[2][5] = "2000"  # amount of D-1 line 2
    _later()

    report = _run(_write(tmp_path, changed, name="b.csv"), "sales")

    assert (report.new, report.updated, report.unchanged) == (0, 1, 2)
    assert [ln[:2] + ln[6:7] for ln in lines()] == [
        ("D-1", 1, d("1234.50")),
        ("D-1", 2, d("2000")),
        ("D-2", 1, d("-12.50")),
    ]
    # total = 1234.50 + 2000 for D-1; D-2 untouched.
    assert [(doc[0], doc[-1]) for doc in documents()] == [
        ("D-1", d("3234.50")),
        ("D-2", d("-12.50")),
    ]
    assert _updated_at(SalesDocument, doc_no="D-2") == d2_stamp


def test_a_changed_due_date_updates_the_document(app, tmp_path, make_partner):
    samples.prepare("sales", make_partner)
    _run(_write(tmp_path, samples.SALES, name="a.csv"), "sales")
    stamp = _updated_at(SalesDocument, doc_no="D-2")
    changed = [list(r) for r in samples.SALES]
    changed[3][11] = "2024-05-10"  # due_date of D-2
    _later()

    report = _run(_write(tmp_path, changed, name="b.csv"), "sales")

    assert (report.new, report.updated, report.unchanged) == (0, 1, 2)
    assert {doc[0]: doc[7] for doc in documents()} == {
        "D-1": date(2024, 4, 4),
        "D-2": date(2024, 5, 10),
    }
    assert _updated_at(SalesDocument, doc_no="D-2") > stamp


def test_sales_line_numbers_default_to_the_position_within_the_document(
    app, tmp_path, make_partner
):
    samples.prepare("sales", make_partner)
    rows = [
        ["doc_no", "line_no", "date", "partner_code", "sku", "quantity", "amount"],
        ["A-1", "", "2024-01-10", "P-001", "SKU-1", "1", "10"],
        ["B-7", "", "2024-01-11", "P-002", "SKU-1", "1", "20"],
        ["A-1", "", "2024-01-10", "P-001", "SKU-2", "2", "30"],
        ["B-7", "5", "2024-01-11", "P-002", "SKU-2", "3", "40"],
        ["A-1", "", "2024-01-10", "P-001", "SKU-1", "4", "50"],
    ]

    report = _run(_write(tmp_path, rows), "sales")

    assert (report.rows, report.new) == (5, 5)
    assert [(ln[0], ln[1], ln[4], ln[6]) for ln in lines()] == [
        ("A-1", 1, "SKU-1", d("10")),
        ("A-1", 2, "SKU-2", d("30")),
        ("A-1", 3, "SKU-1", d("50")),
        ("B-7", 1, "SKU-1", d("20")),
        ("B-7", 5, "SKU-2", d("40")),
    ]
    assert [(doc[0], doc[-1]) for doc in documents()] == [("A-1", d("90")), ("B-7", d("60"))]


def test_a_document_total_is_the_sum_of_lines_from_several_files(app, tmp_path, make_partner):
    samples.prepare("sales", make_partner)
    header = ["doc_no", "line_no", "date", "partner_code", "sku", "quantity", "amount"]
    _run(
        _write(
            tmp_path,
            [header, ["A-1", "1", "2024-01-10", "P-001", "SKU-1", "1", "10,10"]],
            name="a.csv",
        ),
        "sales",
    )

    # The second file adds line 2 and moves the document to another date.
    _run(
        _write(
            tmp_path,
            [header, ["A-1", "2", "2024-01-12", "P-001", "SKU-2", "1", "5,05"]],
            name="b.csv",
        ),
        "sales",
    )

    assert documents()[0][:2] + documents()[0][-1:] == ("A-1", date(2024, 1, 12), d("15.15"))
    # Line 1, not in the second file, follows its document's new date.
    assert [(ln[1], ln[2]) for ln in lines()] == [(1, date(2024, 1, 12)), (2, date(2024, 1, 12))]


def test_equal_payments_on_one_day_are_separate_and_reimport_keeps_them(
    app, tmp_path, make_partner
):
    samples.prepare("payments", make_partner)
    row = ["2024-03-06", "P-002", "500", ""]
    header = ["date", "partner_code", "amount", "doc_no"]
    path = _write(tmp_path, [header, row, row], name="two.csv")
    _run(path, "payments")
    before = dump()

    again = _run(path, "payments")
    third = _run(_write(tmp_path, [header, row, row, row], name="three.csv"), "payments")

    assert (again.new, again.unchanged) == (0, 2)
    assert before["payment"] == dump()["payment"][:2]
    assert (third.new, third.unchanged) == (1, 2)
    assert payments() == [(date(2024, 3, 6), "P-002", d("500"), "", n) for n in (1, 2, 3)]
    assert count(Payment) == 3


def test_stock_reimport_replaces_the_balance(app, tmp_path, make_partner):
    samples.prepare("stock", make_partner)
    header = ["sku", "warehouse", "quantity", "value"]
    _run(
        _write(
            tmp_path,
            [header, ["SKU-1", "Главный", "10", "100"], ["SKU-2", "Главный", "1", "7"]],
            name="a.csv",
        ),
        "stock",
    )
    stamp = _updated_at(StockBalance, quantity=d("10"))
    _later()

    report = _run(
        _write(
            tmp_path,
            [header, ["SKU-1", "Главный", "4", "40,5"], ["SKU-2", "Главный", "1", "7"]],
            name="b.csv",
        ),
        "stock",
    )

    assert (report.new, report.updated, report.unchanged) == (0, 1, 1)
    assert stock() == [
        ("SKU-1", "Главный", d("4"), d("40.50")),
        ("SKU-2", "Главный", d("1"), d("7")),
    ]
    assert count(StockBalance) == 2
    assert _updated_at(StockBalance, quantity=d("4")) > stamp


def test_sales_reimport_does_not_duplicate_lines(app, tmp_path, make_partner):
    samples.prepare("sales", make_partner)
    path = _write(tmp_path, samples.SALES)
    _run(path, "sales")
    _run(path, "sales")
    assert (count(SalesDocument), count(SalesLine)) == (2, 3)


def test_a_partner_changed_by_import_shows_old_and_new_values_in_its_history(app, tmp_path):
    from crm.core.models import AuditEntry

    header = ["code", "name", "city"]
    _run(_write(tmp_path, [header, ["C-1", "Ромашка", "Москва"]]), "partners")
    _run(_write(tmp_path, [header, ["C-1", "Ромашка", "Тверь"]]), "partners")
    _run(_write(tmp_path, [header, ["C-1", "Ромашка", "Тверь"]]), "partners")  # unchanged

    partner = db.session.execute(select(Partner).where(Partner.code == "C-1")).scalar_one()
    entries = db.session.execute(
        select(AuditEntry.action, AuditEntry.changes)
        .where(AuditEntry.root_type == "partner", AuditEntry.root_id == partner.id)
        .order_by(AuditEntry.id)
    ).all()
    assert [a for a, _ in entries] == ["create", "update"]
    assert entries[1][1] == {"city": ["Москва", "Тверь"]}
