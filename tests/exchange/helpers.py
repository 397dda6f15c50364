"""Building exchange files (CSV with either separator, with or without a BOM, and XLSX) and
reading the database back with plain queries, independent of the import code."""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
from openpyxl import Workbook, load_workbook
from sqlalchemy import event, func, select
from sqlalchemy.orm import aliased

from crm.auth.models import User
from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import (
    Department,
    Organization,
    Payment,
    Product,
    ProductGroup,
    SalesDocument,
    SalesLine,
    StockBalance,
    Warehouse,
)

HX = {"HX-Request": "true"}
TODAY = date(2024, 6, 1)

# The formats every kind must read: comma without a BOM, semicolon with one (as Excel's
# "CSV UTF-8" saves it in a Russian locale), and XLSX.
FORMATS = {
    "csv-comma": {"fmt": "csv", "sep": ","},
    "csv-semicolon-bom": {"fmt": "csv", "sep": ";", "bom": True},
    "xlsx": {"fmt": "xlsx"},
}


@contextmanager
def writes():
    """The INSERT/UPDATE/DELETE/COPY statements sent to the database inside the block (but
    those naming the user table: a file's new manager). COPY (the bulk insert on PostgreSQL)
    goes to psycopg's cursor directly, past SQLAlchemy's events: it is seen by wrapping
    psycopg's Cursor.copy, which still runs."""
    seen: list[str] = []

    def names_user(statement: str) -> bool:
        return statement.split("(", 1)[0].split()[-1].strip('"') == "user"

    def before(conn, cursor, statement, parameters, context, executemany):
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE") and not names_user(statement):
            seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    original = psycopg.Cursor.copy

    def copy(self, statement, *args, **kwargs):
        seen.append(str(statement))
        return original(self, statement, *args, **kwargs)

    psycopg.Cursor.copy = copy
    try:
        yield seen
    finally:
        psycopg.Cursor.copy = original
        event.remove(engine, "before_cursor_execute", before)


# Tables the import never writes: job bookkeeping of the UI.
NOT_DATA = {"job_run", "import_file"}


def csv_bytes(rows, *, sep: str = ",", bom: bool = False, encoding: str = "utf-8") -> bytes:
    """RFC 4180 CSV: fields holding the separator, quotes or a newline are quoted."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows(rows)
    data = buf.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows, *, extra_sheet=None) -> bytes:
    """A workbook whose first sheet holds `rows`; `extra_sheet` rows go to a second sheet."""
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(list(row))
    if extra_sheet is not None:
        other = wb.create_sheet("Notes")
        for row in extra_sheet:
            other.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_file(
    tmp_path: Path,
    rows,
    *,
    fmt: str = "csv",
    sep: str = ",",
    bom: bool = False,
    name: str | None = None,
) -> Path:
    path = tmp_path / (name or f"data.{fmt}")
    data = xlsx_bytes(rows) if fmt == "xlsx" else csv_bytes(rows, sep=sep, bom=bom)
    path.write_bytes(data)
    return path


def read_csv(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def read_xlsx(data: bytes) -> list[list]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    rows = [["" if v is None else v for v in row] for row in wb.worksheets[0].values]
    wb.close()
    return rows


def count(model) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def counts() -> dict[str, int]:
    """Rows per data table."""
    db.session.expire_all()
    return {
        t.name: db.session.execute(select(func.count()).select_from(t)).scalar_one()
        for t in db.metadata.sorted_tables
        if t.name not in NOT_DATA
    }


def dump() -> dict[str, list[tuple]]:
    """Every row of every data table, every column (updated_at included), in id order."""
    db.session.expire_all()
    out = {}
    for table in db.metadata.sorted_tables:
        if table.name in NOT_DATA:
            continue
        order = list(table.primary_key.columns) or list(table.columns)
        out[table.name] = [tuple(r) for r in db.session.execute(select(table).order_by(*order))]
    return out


def add_products(*skus: str, group: str | None = None) -> dict[str, int]:
    """Products made directly (not through the import); returns sku → id."""
    grp = ProductGroup(name=group) if group else None
    products = [Product(sku=s, name=f"Product {s}", unit="pcs", group=grp) for s in skus]
    db.session.add_all(products)
    db.session.commit()
    return {p.sku: p.id for p in products}


def d(text: str) -> Decimal:
    return Decimal(text)


def documents() -> list[tuple]:
    """(doc_no, date, partner code, organization, department, warehouse, manager e-mail,
    due date, total) per document."""
    org, dep, wh = aliased(Organization), aliased(Department), aliased(Warehouse)
    rows = db.session.execute(
        select(
            SalesDocument.doc_no,
            SalesDocument.date,
            Partner.code,
            org.name,
            dep.name,
            wh.name,
            User.email,
            SalesDocument.due_date,
            SalesDocument.total,
        )
        .join(Partner, Partner.id == SalesDocument.partner_id)
        .outerjoin(org, org.id == SalesDocument.organization_id)
        .outerjoin(dep, dep.id == SalesDocument.department_id)
        .outerjoin(wh, wh.id == SalesDocument.warehouse_id)
        .outerjoin(User, User.id == SalesDocument.manager_id)
        .order_by(SalesDocument.doc_no)
    ).all()
    return [tuple(r) for r in rows]


def lines() -> list[tuple]:
    """(doc_no, line_no, date, partner code, sku, quantity, amount, cost) per line."""
    rows = db.session.execute(
        select(
            SalesDocument.doc_no,
            SalesLine.line_no,
            SalesLine.date,
            Partner.code,
            Product.sku,
            SalesLine.quantity,
            SalesLine.amount,
            SalesLine.cost,
        )
        .join(SalesDocument, SalesDocument.id == SalesLine.document_id)
        .join(Partner, Partner.id == SalesLine.partner_id)
        .join(Product, Product.id == SalesLine.product_id)
        .order_by(SalesDocument.doc_no, SalesLine.line_no)
    ).all()
    return [tuple(r) for r in rows]


def payments() -> list[tuple]:
    """(date, partner code, amount, doc_no, occurrence) per payment."""
    rows = db.session.execute(
        select(Payment.date, Partner.code, Payment.amount, Payment.doc_no, Payment.occurrence)
        .join(Partner, Partner.id == Payment.partner_id)
        .order_by(Payment.date, Payment.amount, Payment.occurrence)
    ).all()
    return [tuple(r) for r in rows]


def stock() -> list[tuple]:
    """(sku, warehouse, quantity, value) per balance."""
    rows = db.session.execute(
        select(Product.sku, Warehouse.name, StockBalance.quantity, StockBalance.value)
        .join(Product, Product.id == StockBalance.product_id)
        .join(Warehouse, Warehouse.id == StockBalance.warehouse_id)
        .order_by(Product.sku, StockBalance.quantity)
    ).all()
    return [tuple(r) for r in rows]


def hold_at_gate(kind, method: str, gate, *, after_calls: int, setattr=setattr) -> None:
    """Make `kind.<method>` wait at `gate` right after its `after_calls`-th call (for `write`:
    with that batch's rows written inside the import's open transaction)."""
    real, calls = getattr(kind, method), []

    def held(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(1)
        if len(calls) == after_calls:
            gate.wait()
        return result

    setattr(kind, method, held)
