"""Reads of a segment of products: a page of its members (searched by SKU or name) with what
the product list shows (group, unit, stock) and the figures of a segment's page — revenue over
the last year and the last sale — read for the page's products only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.core.paging import Page, capped_page
from crm.core.periods_sql import as_date
from crm.core.timeutil import site_today
from crm.extensions import db
from crm.sales.models import Product, SalesLine
from crm.sales.products import product_rows

FIGURE_DAYS = 365
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ProductMemberRow:
    id: int
    code: str  # the SKU
    name: str
    group: str
    unit: str
    stock_quantity: Decimal
    revenue: Decimal  # Σ line amounts in the FIGURE_DAYS ending today (returns negative)
    last_sale: date | None


def member_page(ids_select, page: int, q: str = "", per_page: int = 50) -> Page:
    inner = ids_select.subquery()
    stmt = select(Product.id).where(Product.id.in_(select(inner.c.id)))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(Product.sku.ilike(like) | Product.name.ilike(like))
    found = capped_page(stmt.order_by(Product.name, Product.id), page, per_page)
    found.items = member_rows(found.items)
    return found


def member_rows(ids: list[int], today: date | None = None) -> list[ProductMemberRow]:
    if not ids:
        return []
    today = today or site_today()
    since = today - timedelta(days=FIGURE_DAYS - 1)
    line = SalesLine
    revenue = dict(
        db.session.execute(
            select(line.product_id, func.sum(line.amount))
            .where(line.product_id.in_(ids), line.date >= since, line.date <= today)
            .group_by(line.product_id)
        ).all()
    )
    last = dict(
        db.session.execute(
            select(line.product_id, func.max(line.date))
            .where(line.product_id.in_(ids), line.amount > 0, line.date <= today)
            .group_by(line.product_id)
        ).all()
    )
    return [
        ProductMemberRow(
            r.id,
            r.sku,
            r.name,
            r.group or "",
            r.unit,
            r.stock_quantity,
            Decimal(revenue.get(r.id) or 0).quantize(CENT),
            as_date(last.get(r.id)),
        )
        for r in product_rows(ids)
    ]


# The export's columns (titles translated when the export is written) and a row's values.
EXPORT_TITLES = (
    _l("SKU"),
    _l("Product"),
    _l("Product group"),
    _l("Unit"),
    _l("In stock"),
    _l("Revenue, 12 months"),
    _l("Last sale"),
)


def export_row(r: ProductMemberRow) -> tuple:
    return (r.code, r.name, r.group, r.unit, r.stock_quantity, r.revenue, r.last_sale)


def rows_in_chunks(ids: list[int], chunk: int = 1000):
    today = site_today()
    for start in range(0, len(ids), chunk):
        yield from member_rows(ids[start : start + chunk], today)
