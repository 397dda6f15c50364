"""Every kind reads CSV (comma or semicolon, with or without a BOM) and XLSX: RFC 4180 quoting,
Cyrillic and emoji kept, numbers like `1 234,50`, both date forms, spaces trimmed, unknown
columns reported and ignored, any column order. The stored rows are read back with plain
queries."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from crm.auth.models import User
from crm.exchange.importer import run_import
from crm.extensions import db
from crm.partners.models import ContactDetail, ContactPerson, Partner
from crm.sales.models import (
    Product,
    ProductGroup,
)
from tests.exchange import samples
from tests.exchange.helpers import (
    FORMATS,
    TODAY,
    add_products,
    d,
    documents,
    lines,
    payments,
    stock,
    write_file,
    xlsx_bytes,
)
from tests.exchange.samples import ORG, PERSON, PRODUCT, TRICKY, WAREHOUSE


def _import(tmp_path, rows, kind, fmt):
    path = write_file(tmp_path, rows, **FORMATS[fmt])
    report = run_import(path, kind, today=TODAY)
    assert report.file_errors == [] and report.errors == [], report
    assert report.done
    return report


def _details(owner_column, owner_id):
    return db.session.execute(
        select(
            ContactDetail.kind, ContactDetail.value, ContactDetail.value_norm, ContactDetail.is_main
        )
        .where(owner_column == owner_id)
        .order_by(ContactDetail.kind)
    ).all()


@pytest.mark.parametrize("fmt", FORMATS)
def test_partners_import_in_every_format(app, tmp_path, fmt):
    rows = samples.PARTNERS

    report = _import(tmp_path, rows, "partners", fmt)

    assert (report.rows, report.new, report.updated, report.unchanged) == (3, 3, 0, 0)
    assert report.warnings == ["Unknown column ignored: note."]
    stored = db.session.execute(
        select(
            Partner.code,
            Partner.name,
            Partner.kind,
            Partner.is_client,
            Partner.is_supplier,
            Partner.is_competitor,
            Partner.is_other,
            Partner.inn,
            Partner.city,
            Partner.created_on,
            User.email,
        )
        .outerjoin(User, User.id == Partner.responsible_id)
        .order_by(Partner.code)
    ).all()
    assert [tuple(r) for r in stored] == [
        (
            "P-001",
            TRICKY,
            "company",
            True,
            True,
            False,
            False,
            "7701234567",
            "Москва",
            date(2023, 2, 1),
            "boss@example.test",
        ),
        (
            "P-002",
            "Иван Петров 😀",
            "person",
            True,
            False,
            False,
            False,
            "",
            "Казань",
            date(2023, 3, 15),
            None,
        ),
        ("P-003", "Acme", "company", False, True, False, False, "", "", TODAY, None),
    ]
    ids = dict(db.session.execute(select(Partner.code, Partner.id)).all())
    assert _details(ContactDetail.partner_id, ids["P-001"]) == [
        ("email", "info@romashka.example", "info@romashka.example", True),
        ("phone", "+7 495 123-45-67", "+74951234567", True),
    ]
    assert _details(ContactDetail.partner_id, ids["P-002"]) == []
    # An unknown manager e-mail becomes an inactive user.
    boss = db.session.execute(select(User.active).where(User.email == "boss@example.test"))
    assert boss.scalar_one() is False


@pytest.mark.parametrize("fmt", FORMATS)
def test_contacts_import_in_every_format(app, tmp_path, fmt, make_partner):
    romashka = make_partner(code="P-001", name="Ромашка").id
    acme = make_partner(code="P-002", name="Acme").id
    rows = samples.CONTACTS

    report = _import(tmp_path, rows, "contacts", fmt)

    assert (report.rows, report.new) == (3, 3)
    assert report.warnings == ["Unknown column ignored: comment."]
    people = db.session.execute(
        select(
            ContactPerson.partner_id, ContactPerson.name, ContactPerson.position, ContactPerson.id
        ).order_by(ContactPerson.partner_id, ContactPerson.name)
    ).all()
    assert [tuple(p[:3]) for p in people] == [
        (romashka, PERSON, "Главный бухгалтер"),
        (romashka, "Пётр", ""),
        (acme, "Пётр", "Директор"),
    ]
    assert _details(ContactDetail.contact_person_id, people[0].id) == [
        ("email", "anna@romashka.example", "anna@romashka.example", True),
        ("phone", "+7 912 000-11-22", "+79120001122", True),
    ]
    assert _details(ContactDetail.contact_person_id, people[1].id) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_products_import_in_every_format(app, tmp_path, fmt):
    rows = samples.PRODUCTS

    report = _import(tmp_path, rows, "products", fmt)

    assert (report.rows, report.new) == (4, 4)
    assert report.warnings == ["Unknown column ignored: comment."]
    stored = db.session.execute(
        select(Product.sku, Product.name, ProductGroup.name, Product.unit, Product.base_price)
        .outerjoin(ProductGroup, ProductGroup.id == Product.group_id)
        .order_by(Product.sku)
    ).all()
    assert [tuple(r) for r in stored] == [
        ("SKU-1", PRODUCT, "Молочка", "шт", d("1234.50")),
        ("SKU-2", "Хлеб", None, "", d("1234.50")),
        ("SKU-3", "Тара", "Молочка", "кг", d("-12.50")),
        ("SKU-4", "Без цены", None, "", None),
    ]
    assert db.session.execute(select(ProductGroup.name)).scalars().all() == ["Молочка"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_sales_import_in_every_format(app, tmp_path, fmt, make_partner):
    samples.prepare("sales", make_partner)
    rows = samples.SALES

    report = _import(tmp_path, rows, "sales", fmt)

    assert (report.rows, report.new) == (3, 3)
    assert report.warnings == ["Unknown column ignored: memo."]
    assert documents() == [
        (
            "D-1",
            date(2024, 3, 5),
            "P-001",
            ORG,
            "Опт",
            "Склад 1",
            "boss@example.test",
            date(2024, 4, 4),
            d("2234.75"),
        ),
        ("D-2", date(2024, 3, 10), "P-002", None, None, None, None, date(2024, 3, 10), d("-12.50")),
    ]
    assert lines() == [
        ("D-1", 1, date(2024, 3, 5), "P-001", "SKU-1", d("1234.5"), d("1234.50"), d("1000.25")),
        ("D-1", 2, date(2024, 3, 5), "P-001", "SKU-2", d("2"), d("1000.25"), None),
        ("D-2", 1, date(2024, 3, 10), "P-002", "SKU-1", d("-1"), d("-12.50"), d("-10")),
    ]


def test_sales_xlsx_with_typed_cells_on_the_first_sheet(app, tmp_path, make_partner):
    """Excel stores dates, numbers and numeric codes as typed cells; a second sheet is not read."""
    make_partner(code="1001", name="Numeric code")
    add_products("12345")
    rows = [
        [
            "doc_no",
            "line_no",
            "date",
            "partner_code",
            "sku",
            "quantity",
            "amount",
            "cost",
            "due_date",
        ],
        [7001, 1, datetime(2024, 3, 5), 1001, 12345, 2, 1234.5, 1000, date(2024, 4, 5)],
        [7001, 2, datetime(2024, 3, 5), 1001, 12345, 0.5, 10.25, None, date(2024, 4, 5)],
    ]
    path = tmp_path / "typed.xlsx"
    path.write_bytes(xlsx_bytes(rows, extra_sheet=[["doc_no"], ["not a document"]]))

    report = run_import(path, "sales", today=TODAY)

    assert (report.errors, report.file_errors, report.new) == ([], [], 2)
    assert documents() == [
        ("7001", date(2024, 3, 5), "1001", None, None, None, None, date(2024, 4, 5), d("1244.75")),
    ]
    assert lines() == [
        ("7001", 1, date(2024, 3, 5), "1001", "12345", d("2"), d("1234.50"), d("1000")),
        ("7001", 2, date(2024, 3, 5), "1001", "12345", d("0.5"), d("10.25"), None),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_payments_import_in_every_format(app, tmp_path, fmt, make_partner):
    samples.prepare("payments", make_partner)
    rows = samples.PAYMENTS

    report = _import(tmp_path, rows, "payments", fmt)

    assert (report.rows, report.new) == (4, 4)
    assert report.warnings == ["Unknown column ignored: bank."]
    assert payments() == [
        (date(2024, 3, 5), "P-001", d("1234.50"), "D-1", 1),
        (date(2024, 3, 6), "P-002", d("500.00"), "", 1),
        (date(2024, 3, 6), "P-002", d("500.00"), "", 2),
        (date(2024, 3, 6), "P-002", d("1000.25"), "", 1),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_stock_import_in_every_format(app, tmp_path, fmt, make_partner):
    samples.prepare("stock", make_partner)
    rows = samples.STOCK

    report = _import(tmp_path, rows, "stock", fmt)

    assert (report.rows, report.new) == (3, 3)
    assert report.warnings == ["Unknown column ignored: comment."]
    assert stock() == [
        ("SKU-1", "Склад 1", d("-12.5"), d("1000.25")),
        ("SKU-1", WAREHOUSE, d("10.5"), d("1234.50")),
        ("SKU-2", "Склад 1", d("3"), d("0")),
    ]


def test_money_rounds_half_up_as_accounting_does():
    from decimal import Decimal

    from crm.exchange.values import number

    assert number("0,125", places=2) == Decimal("0.13")
    assert number("-0.125", places=2) == Decimal("-0.13")
    assert number("1 234,505", places=2) == Decimal("1234.51")
