"""Reads for the ABC/XYZ report page: the 3×3 matrix of a classification (counts, revenue and,
for products, the stock on hand), the objects of a cell, row or column, and the download rows.

The classification itself is crm.analytics.abc_xyz (the spec's contract); this module only
groups its rows. Revenue per object is the classification's metric when it is revenue, else
one more grouped query through `abc_xyz.grouped_rows` (so a speed-up there serves it too).
Stock is today's StockBalance summed per product in SQL, over every warehouse or the one of
the scope (and the product group of the scope)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Numeric, func, select, type_coerce

from crm.analytics.abc_xyz import ZERO, AbcXyzResult, AbcXyzRow, grouped_rows
from crm.core.policy import rows_clause
from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import Product, StockBalance

ABC = ("A", "B", "C")
XYZ = ("X", "Y", "Z")
CELLS = tuple(a + x for a in ABC for x in XYZ)
ALL = "all"
# What `?cell=` may name: a cell, a row (A/B/C), a column (X/Y/Z) or every object.
SELECTIONS = (*CELLS, *ABC, *XYZ, ALL)
# Steady sellers whose stock turns over fast, and irregular ones whose stock sits.
FAST = ("AX", "BX")
SLOW = ("CY", "CZ")


@dataclass
class Stock:
    quantity: Decimal = ZERO
    value: Decimal = ZERO


@dataclass
class Cell:
    """The objects of a cell (or a row, a column, the whole matrix)."""

    key: str
    count: int = 0
    revenue: Decimal = ZERO
    stock_quantity: Decimal = ZERO
    stock_value: Decimal = ZERO

    def add(self, revenue: Decimal, stock: Stock | None) -> None:
        self.count += 1
        self.revenue += revenue
        if stock is not None:
            self.stock_quantity += stock.quantity
            self.stock_value += stock.value


@dataclass
class Matrix:
    cells: dict[str, Cell]  # every key of SELECTIONS
    with_stock: bool
    # Products of the scope with stock on hand and no sales line in the window: they are in no
    # class (the spec classifies what sold), yet they are the slowest stock of all.
    unsold: Cell = field(default_factory=lambda: Cell("unsold"))

    def __getitem__(self, key: str) -> Cell:
        return self.cells[key]


def stock_by_product(warehouse_id: int | None = None, product_group_id: int | None = None):
    """{product id: Stock} summed over the warehouses (or the one given), grouped in SQL."""
    q = select(
        StockBalance.product_id,
        # Typed sums: SQLite sums NUMERIC as floating point; these come back as exact Decimals.
        type_coerce(func.sum(StockBalance.quantity), Numeric(18, 3)),
        type_coerce(func.sum(StockBalance.value), Numeric(18, 2)),
    ).group_by(StockBalance.product_id)
    if warehouse_id is not None:
        q = q.where(StockBalance.warehouse_id == warehouse_id)
    if product_group_id is not None:
        q = q.where(
            StockBalance.product_id.in_(
                select(Product.id).where(Product.group_id == product_group_id)
            )
        )
    return {
        pid: Stock(Decimal(qty or 0), Decimal(value or 0))
        for pid, qty, value in db.session.execute(q)
    }


def revenue_by_object(result: AbcXyzResult, scope: dict) -> dict[int, Decimal]:
    """Each classified object's revenue in the window and scope."""
    if result.abc_by == "revenue":
        return {r.object_id: r.abc_metric for r in result.rows}
    if result.xyz_by == "revenue":
        return {r.object_id: r.xyz_metric for r in result.rows}
    out: dict[int, Decimal] = {}
    rows = grouped_rows(
        result.of, result.date_from, result.date_to, ("revenue",), result.bucket, **scope
    )
    for obj, _bucket, revenue in rows:
        out[obj] = out.get(obj, ZERO) + (revenue or ZERO)
    return out


def selected(row: AbcXyzRow, key: str) -> bool:
    """Is the row in the cell, row or column `key`?"""
    return key == ALL or key in (row.abc, row.xyz, row.abc_xyz)


def matrix(result: AbcXyzResult, revenue: dict[int, Decimal], stock: dict | None) -> Matrix:
    """The 3×3 matrix with its row, column and grand totals."""
    out = Matrix({key: Cell(key) for key in SELECTIONS}, with_stock=stock is not None)
    for r in result.rows:
        item = stock.get(r.object_id) if stock is not None else None
        for key in (r.abc_xyz, r.abc, r.xyz, ALL):
            out.cells[key].add(revenue.get(r.object_id, ZERO), item)
    if stock is not None:
        classified = {r.object_id for r in result.rows}
        for pid, item in stock.items():
            if pid not in classified and (item.quantity or item.value):
                out.unsold.add(ZERO, item)
    return out


def visible_partner_ids(user, ids) -> set[int] | None:
    """The ids among `ids` of the partners `user` may see; None when he sees every partner."""
    clause = rows_clause(user, Partner)
    if clause is None:
        return None
    # A manager's own partners are few: read them all rather than pass thousands of ids.
    mine = set(db.session.execute(select(Partner.id).where(clause)).scalars())
    return mine & set(ids)


@dataclass
class Listing:
    rows: list[AbcXyzRow]  # the objects of the selection the user may see, in rank order
    hidden: int  # objects of the selection left out because the user may not see them


def listing(result: AbcXyzResult, key: str, user) -> Listing:
    """The objects of a cell, row, column or of all (`key`), in rank order; a partner list
    holds only the partners `user` may see."""
    rows = [r for r in result.rows if selected(r, key)]
    if result.of != "partners":
        return Listing(rows, 0)
    seen = visible_partner_ids(user, (r.object_id for r in rows))
    if seen is None:
        return Listing(rows, 0)
    shown = [r for r in rows if r.object_id in seen]
    return Listing(shown, len(rows) - len(shown))


def pareto_points(rows: list[AbcXyzRow], limit: int = 500) -> list[AbcXyzRow]:
    """At most about `limit` rows of the ranked list for the Pareto curve: every k-th row, the
    last row of each class and the very last one. A curve of 5,000 points draws no better than
    one of 500 and weighs ten times as much in the results fragment (~40 KB at 500)."""
    if len(rows) <= limit:
        return rows
    step = -(-len(rows) // limit)
    keep = set(range(0, len(rows), step)) | {len(rows) - 1}
    keep |= {i for i in range(len(rows) - 1) if rows[i].abc != rows[i + 1].abc}
    return [rows[i] for i in sorted(keep)]
