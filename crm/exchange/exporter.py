"""Exporting each kind with exactly the import columns, so an export re-imports unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import aliased, selectinload

from crm.auth.models import User
from crm.exchange.kinds import KINDS
from crm.extensions import db
from crm.partners.models import ContactPerson, Partner
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


def _stream(stmt, batch: int = BATCH) -> Iterator:
    """Rows of a select in key order, read in pages so memory stays flat."""
    result = db.session.execute(stmt.execution_options(yield_per=batch))
    for row in result:
        yield tuple(cell(v) for v in row)


def _main(owner, kind):
    found = [d for d in owner.contact_details if d.kind == kind]
    main = next((d for d in found if d.is_main), found[0] if found else None)
    return main.value if main else ""


def _partners() -> Iterator[tuple]:
    emails = dict(db.session.execute(select(User.id, User.email)).all())
    last = ""
    while True:
        page = list(db.session.execute(
            select(Partner).where(Partner.code > last, Partner.merged_into_id.is_(None))
            .order_by(Partner.code).limit(1000).options(selectinload(Partner.contact_details))
        ).scalars())  # fmt: skip
        for p in page:
            yield (p.code, p.name, p.kind, ";".join(p.roles), p.inn, _main(p, "email"),
                   _main(p, "phone"), p.city, emails.get(p.responsible_id, ""),
                   p.created_on.isoformat())  # fmt: skip
        if len(page) < 1000:
            return
        last = page[-1].code
        db.session.expunge_all()


def _contacts() -> Iterator[tuple]:
    last = (0, "")
    while True:
        page = list(db.session.execute(
            select(ContactPerson, Partner.code).join(Partner, Partner.id == ContactPerson.partner_id)
            .where(Partner.merged_into_id.is_(None))
            .where(ContactPerson.id > last[0])
            .order_by(ContactPerson.id).limit(1000)
            .options(selectinload(ContactPerson.contact_details))
        ).all())  # fmt: skip
        for person, code in page:
            yield (code, person.name, person.position, _main(person, "email"),
                   _main(person, "phone"))  # fmt: skip
        if len(page) < 1000:
            return
        last = (page[-1][0].id, "")
        db.session.expunge_all()


def _products():
    return _stream(
        select(Product.sku, Product.name, ProductGroup.name, Product.unit, Product.base_price)
        .outerjoin(ProductGroup, ProductGroup.id == Product.group_id)
        .order_by(Product.sku)
    )


def _sales():
    org, dep, wh = aliased(Organization), aliased(Department), aliased(Warehouse)
    return _stream(
        select(
            SalesDocument.doc_no,
            SalesLine.line_no,
            SalesDocument.date,
            Partner.code,
            Product.sku,
            SalesLine.quantity,
            SalesLine.amount,
            SalesLine.cost,
            org.name,
            dep.name,
            wh.name,
            User.email,
            SalesDocument.due_date,
        )  # fmt: skip
        .join(SalesLine, SalesLine.document_id == SalesDocument.id)
        .join(Partner, Partner.id == SalesDocument.partner_id)
        .join(Product, Product.id == SalesLine.product_id)
        .outerjoin(org, org.id == SalesDocument.organization_id)
        .outerjoin(dep, dep.id == SalesDocument.department_id)
        .outerjoin(wh, wh.id == SalesDocument.warehouse_id)
        .outerjoin(User, User.id == SalesDocument.manager_id)
        .order_by(SalesDocument.doc_no, SalesLine.line_no)
    )


def _payments():
    # Occurrence is not a column: equal payments are written in their occurrence order, so a
    # re-import numbers them the same way.
    return (
        row[:4]
        for row in _stream(
            select(Payment.date, Partner.code, Payment.amount, Payment.doc_no, Payment.occurrence)
            .join(Partner, Partner.id == Payment.partner_id)
            .order_by(
                Payment.date, Partner.code, Payment.amount, Payment.doc_no, Payment.occurrence
            )  # fmt: skip
        )
    )


def _stock():
    return _stream(
        select(Product.sku, Warehouse.name, StockBalance.quantity, StockBalance.value)
        .join(Product, Product.id == StockBalance.product_id)
        .join(Warehouse, Warehouse.id == StockBalance.warehouse_id)
        .order_by(Product.sku, Warehouse.name)
    )


SOURCES = {
    "partners": _partners,
    "contacts": _contacts,
    "products": _products,
    "sales": _sales,
    "payments": _payments,
    "stock": _stock,
}


def export_rows(kind_name: str) -> tuple[list[str], Iterator[tuple]]:
    """The header (the import's columns) and the rows of a kind."""
    return KINDS[kind_name].column_names, SOURCES[kind_name]()
