"""Reads of the product pages: the product list (search, group, sort, a page of rows with their
stock) and the product card (stock per warehouse, sales by month)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, func, select

from crm.core.paging import Page, capped_page
from crm.core.text import fold
from crm.extensions import db
from crm.sales.filters import ProductFilter
from crm.sales.models import Product, ProductGroup, SalesLine, StockBalance, Warehouse
from crm.sales.queries import _month_key, month_starts

PER_PAGE = 50
SALES_MONTHS = 24
ZERO = Decimal("0")

ORDER = {
    "name": (Product.name, Product.id),
    "-name": (Product.name.desc(), Product.id.desc()),
    "sku": (Product.sku,),
}


def folded(column):
    """SQL of crm.core.text.fold(column) for a search: SQLite's lower() folds ASCII only, so
    SQLite connections get Python's fold as `crm_fold` (crm/__init__.py)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.crm_fold(column)
    return func.replace(func.lower(column), "ё", "е")


def product_ids_stmt(flt: ProductFilter) -> Select:
    """The ids of the listed products in list order."""
    stmt = select(Product.id)
    for word in fold(flt.q).split():
        stmt = stmt.where(
            folded(Product.name).contains(word, autoescape=True)
            | folded(Product.sku).contains(word, autoescape=True)
        )
    if flt.group == "none":
        stmt = stmt.where(Product.group_id.is_(None))
    elif flt.group:
        stmt = stmt.where(Product.group_id == int(flt.group))
    for clause in flt.extra_clauses():
        stmt = stmt.where(clause)
    return stmt.order_by(*ORDER[flt.sort])


@dataclass(slots=True)
class ProductRow:
    id: int
    sku: str
    name: str
    group: str | None
    unit: str
    base_price: Decimal | None
    stock_quantity: Decimal
    stock_value: Decimal


def product_rows(ids: list[int]) -> list[ProductRow]:
    """The rows of the products `ids`, in that order, with their stock over every warehouse."""
    if not ids:
        return []
    sums = db.session.execute(
        select(
            StockBalance.product_id, func.sum(StockBalance.quantity), func.sum(StockBalance.value)
        )
        .where(StockBalance.product_id.in_(ids))
        .group_by(StockBalance.product_id)
    )
    stock = {pid: (qty, value) for pid, qty, value in sums}
    rows = {}
    found = db.session.execute(
        select(
            Product.id,
            Product.sku,
            Product.name,
            ProductGroup.name,
            Product.unit,
            Product.base_price,
        )
        .outerjoin(ProductGroup, ProductGroup.id == Product.group_id)
        .where(Product.id.in_(ids))
    )
    for pid, sku, name, group, unit, price in found:
        qty, value = stock.get(pid, (ZERO, ZERO))
        rows[pid] = ProductRow(pid, sku, name, group, unit or "", price, qty, value)
    return [rows[i] for i in ids if i in rows]


def product_page(flt: ProductFilter, per_page: int = PER_PAGE) -> Page:
    page = capped_page(product_ids_stmt(flt), flt.page, per_page)
    page.items = product_rows(page.items)
    return page


def group_options() -> list[tuple[int, str]]:
    return [
        tuple(g)
        for g in db.session.execute(
            select(ProductGroup.id, ProductGroup.name).order_by(ProductGroup.name)
        )
    ]


def get_product(product_id: int) -> Product | None:
    return db.session.get(Product, product_id)


@dataclass(slots=True)
class StockRow:
    warehouse: str
    quantity: Decimal
    value: Decimal
    updated_at: datetime


def stock_by_warehouse(product_id: int) -> list[StockRow]:
    """The product's stock balance in each warehouse that holds a row for it, by name."""
    found = db.session.execute(
        select(Warehouse.name, StockBalance.quantity, StockBalance.value, StockBalance.updated_at)
        .join(Warehouse, Warehouse.id == StockBalance.warehouse_id)
        .where(StockBalance.product_id == product_id)
        .order_by(Warehouse.name)
    )
    return [StockRow(*r) for r in found]


@dataclass(slots=True)
class MonthSales:
    month: date  # the first day
    quantity: Decimal
    revenue: Decimal
    documents: int


def monthly_sales(product_id: int, today: date, months: int = SALES_MONTHS) -> list[MonthSales]:
    """Quantity, revenue (Σ line amounts, returns negative) and documents of the product per
    month over the `months` months ending with today's, oldest first, empty months included."""
    starts = month_starts(today, months)
    key = _month_key(SalesLine.date).label("month")
    found = db.session.execute(
        select(
            key,
            func.sum(SalesLine.quantity),
            func.sum(SalesLine.amount),
            func.count(func.distinct(SalesLine.document_id)),
        )
        .where(
            SalesLine.product_id == product_id,
            SalesLine.date >= starts[0],
            SalesLine.date <= today,
        )
        .group_by(key)
    )
    sums = {month: (qty, amount, docs) for month, qty, amount, docs in found}
    out = []
    for m in starts:
        qty, amount, docs = sums.get(m.strftime("%Y-%m"), (ZERO, ZERO, 0))
        out.append(MonthSales(m, Decimal(qty), Decimal(amount), docs))
    return out
