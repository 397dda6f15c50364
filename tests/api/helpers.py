"""Data for the API tests, written with the ORM (not through the import or the API), and the
stored rows read back on a connection of their own."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from crm.extensions import db
from crm.sales.models import (
    Payment,
    Product,
    ProductGroup,
    SalesDocument,
    SalesLine,
    StockBalance,
    Warehouse,
)
from tests.helpers import sync_documents


def make_product(sku: str, name: str | None = None, base_price=None, group=None, unit=""):
    group_row = None
    if group:
        group_row = db.session.execute(
            select(ProductGroup).where(ProductGroup.name == group)
        ).scalar_one_or_none() or ProductGroup(name=group)
    product = Product(
        sku=sku,
        name=name or f"Product {sku}",
        unit=unit,
        group=group_row,
        base_price=None if base_price is None else Decimal(base_price),
    )
    db.session.add(product)
    db.session.commit()
    return product


def make_document(doc_no: str, partner, lines, day=date(2024, 3, 1), due=None):
    """A sales document; `lines` are (product, quantity, amount, cost) with the total by hand."""
    doc = SalesDocument(
        doc_no=doc_no,
        date=day,
        partner_id=partner.id,
        due_date=due or day,
        total=sum((Decimal(a) for _, _, a, _ in lines), Decimal("0")),
    )
    for n, (product, qty, amount, cost) in enumerate(lines, start=1):
        doc.lines.append(
            SalesLine(
                line_no=n,
                date=day,
                partner_id=partner.id,
                product_id=product.id,
                quantity=Decimal(qty),
                amount=Decimal(amount),
                cost=None if cost is None else Decimal(cost),
            )
        )
    db.session.add(doc)
    sync_documents([doc])
    db.session.commit()
    return doc


def make_payment(partner, amount, day=date(2024, 3, 5), doc_no=""):
    payment = Payment(date=day, partner_id=partner.id, amount=Decimal(amount), doc_no=doc_no)
    db.session.add(payment)
    db.session.commit()
    return payment


def make_stock(product, warehouse: str, quantity, value):
    wh = db.session.execute(
        select(Warehouse).where(Warehouse.name == warehouse)
    ).scalar_one_or_none() or Warehouse(name=warehouse)
    db.session.add(wh)
    db.session.flush()
    row = StockBalance(
        product_id=product.id, warehouse_id=wh.id, quantity=Decimal(quantity), value=Decimal(value)
    )
    db.session.add(row)
    db.session.commit()
    return row


def stored(stmt) -> list[tuple]:
    """What is really stored (committed), read on a connection of its own."""
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(stmt).all()]


def import_errors(tmp_path: Path, kind: str, header: list[str], row: list[str]) -> list[str]:
    """The file import's error lines for a one-row CSV (its data row is the file's row 2):
    what the API must say too."""
    import csv

    from crm.exchange.importer import run_import

    path = tmp_path / f"{kind}.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, row])
    report = run_import(path, kind, dry_run=True)
    return report.error_lines
