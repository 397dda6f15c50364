"""The import templates: for every kind a CSV and an XLSX with the exchange columns and one
example row, which imports as it is (kinds in their order: partners before their contacts,
products before the sales that name them); the XLSX explains each column on a second sheet,
in the reader's language; the import page describes each kind's columns."""

from __future__ import annotations

import html
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from crm.exchange.models import ImportFile
from crm.extensions import db
from crm.partners.models import ContactPerson, Partner
from crm.sales.models import Payment, Product, SalesDocument, SalesLine, StockBalance
from tests.exchange.helpers import read_csv, read_xlsx

# The columns of each kind as ../shared/spec/data-exchange.md names them, in import order.
SPEC = {
    "partners": [
        "code",
        "name",
        "kind",
        "roles",
        "inn",
        "email",
        "phone",
        "city",
        "manager",
        "created_on",
    ],
    "contacts": ["partner_code", "name", "position", "email", "phone"],
    "products": ["sku", "name", "group", "unit", "base_price"],
    "sales": [
        "doc_no",
        "line_no",
        "date",
        "partner_code",
        "sku",
        "quantity",
        "amount",
        "cost",
        "organization",
        "department",
        "warehouse",
        "manager",
        "due_date",
        "status",
    ],
    "payments": ["date", "partner_code", "amount", "doc_no"],
    "stock": ["sku", "warehouse", "quantity", "value"],
}
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload(client, kind: str, data: bytes, filename: str):
    return client.post(
        "/exchange/upload",
        data={"kind": kind, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def _last_import() -> ImportFile:
    db.session.expire_all()
    return db.session.execute(select(ImportFile).order_by(ImportFile.id.desc())).scalars().first()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_kinds_template_imports_its_example_row(app, client, login_as, fmt):
    login_as("admin")
    for kind, columns in SPEC.items():
        answer = client.get(f"/exchange/template/{kind}.{fmt}")
        assert answer.status_code == 200
        assert f"{kind}-template.{fmt}" in answer.headers["Content-Disposition"]
        rows = read_csv(answer.data) if fmt == "csv" else read_xlsx(answer.data)
        assert rows[0] == columns  # the contract's names, not translated
        assert len(rows) == 2  # the header and one example row

        assert _upload(client, kind, answer.data, f"{kind}.{fmt}").status_code == 302
        imp = _last_import()
        assert imp.status == "validated", (kind, imp.report)
        assert (imp.report["rows"], imp.report["rejected"], imp.report["errors"]) == (1, 0, [])
        assert imp.report["warnings"] == [] and imp.report["file_errors"] == []
        client.post(f"/exchange/{imp.id}/confirm")
        assert _last_import().status == "done", kind

    # The example values, as written by hand from the templates' rows.
    db.session.expire_all()
    partner = db.session.execute(select(Partner)).scalar_one()
    assert (partner.code, partner.name, partner.city, partner.inn) == (
        "P-0001",
        "ООО «Ромашка»",
        "Москва",
        "7707083893",
    )
    assert partner.created_on == date(2026, 1, 15)
    person = db.session.execute(select(ContactPerson)).scalar_one()
    assert (person.partner_id, person.name, person.position) == (
        partner.id,
        "Иванов Иван Иванович",
        "Директор",
    )
    product = db.session.execute(select(Product)).scalar_one()
    assert (product.sku, product.name, product.base_price) == (
        "A-100",
        "Бумага офисная А4",
        Decimal("350.00"),
    )
    doc = db.session.execute(select(SalesDocument)).scalar_one()
    assert (doc.doc_no, doc.date, doc.due_date) == (
        "РН-000123",
        date(2026, 12, 1),
        date(2026, 12, 31),
    )
    line = db.session.execute(select(SalesLine)).scalar_one()
    assert (line.quantity, line.amount, line.cost) == (Decimal(10), Decimal(3500), Decimal(2800))
    payment = db.session.execute(select(Payment)).scalar_one()
    assert (payment.date, payment.amount, payment.doc_no) == (
        date(2026, 12, 10),
        Decimal(3500),
        "РН-000123",
    )
    stock = db.session.execute(select(StockBalance)).scalar_one()
    assert (stock.quantity, stock.value) == (Decimal(120), Decimal(42000))


def _sheets(data: bytes) -> dict[str, list[list]]:
    wb = load_workbook(io.BytesIO(data))
    out = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    comments = {c.value: c.comment.text for c in wb.worksheets[0][1] if c.comment}
    return out, comments


def test_the_xlsx_template_explains_each_column(app, client, login_as):
    login_as("admin")

    answer = client.get("/exchange/template/partners.xlsx")

    assert answer.mimetype == XLSX_MIME
    sheets, comments = _sheets(answer.data)
    assert list(sheets) == ["partners", "Columns"]
    about = sheets["Columns"]
    assert about[0] == ["Column", "Required", "Description", "Example"]
    assert [r[0] for r in about[1:]] == SPEC["partners"]
    assert about[1] == [
        "code",
        "yes",
        "The partner's code in your accounting system: unique, up to 64 characters.",
        "P-0001",
    ]
    assert about[3][:2] == ["kind", "no"]
    assert comments["inn"] == "Tax id (INN): 10 digits for a company, 12 for a person. Optional."


def test_the_templates_speak_russian_but_keep_the_column_names(app, client, login_as):
    login_as("admin", locale="ru")

    sheets, comments = _sheets(client.get("/exchange/template/sales.xlsx").data)

    assert list(sheets) == ["sales", "Описание"]
    about = sheets["Описание"]
    assert about[0] == ["Колонка", "Обязательно", "Описание", "Пример"]
    assert about[1] == ["doc_no", "да", "Номер документа.", "РН-000123"]
    assert about[8] == [
        "cost",
        "нет",
        "Себестоимость строки; валовая прибыль = amount − cost.",
        "2800.00",
    ]
    assert comments["doc_no"] == "Номер документа. Обязательная."
    csv_rows = read_csv(client.get("/exchange/template/sales.csv").data)
    assert csv_rows[0] == SPEC["sales"]


def test_a_template_of_an_unknown_kind_or_format_is_not_found(app, client, login_as):
    login_as("admin")

    assert client.get("/exchange/template/nothing.csv").status_code == 404
    assert client.get("/exchange/template/partners.pdf").status_code == 404


def test_templates_are_for_admins_only(app, client, login_as):
    login_as("manager")

    assert client.get("/exchange/template/partners.csv").status_code == 403


def _words(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_the_import_page_describes_each_kinds_format(app, client, login_as):
    login_as("admin")

    page = client.get("/exchange/").get_data(as_text=True)

    for kind in SPEC:
        assert f'href="/exchange/template/{kind}.csv"' in page
        assert f'href="/exchange/template/{kind}.xlsx"' in page
    words = _words(page)
    assert "Sales (sales) · key: doc_no, line_no" in words
    assert (
        "due_date no Payment due date of the document (default: the document date). 2026-12-31"
    ) in words
