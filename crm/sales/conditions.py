"""Segment conditions over purchases and receivables (crm.core.conditions), registered by
sales, which owns the data: "bought" (at least N sales with a purchase, of a product group or
product, within the last N days or a period), "revenue, number of sales or average check at
least or below a value", and from the receivables rule as of the rule's date (crm.sales.
receivables, whose SQL builders these reuse): "debt above a value", "overdue debt above a
value", "overdue for more than N days". A window of days ends on the rule's as-of date (today
unless asked otherwise; crm.core.conditions.window)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from crm.core.conditions import WINDOW, ConditionType, Param, window
from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import Product, ProductGroup, SalesDocument, SalesLine


def _bought(values):
    start, end = window(values)
    times = values["times"] or 1
    line = SalesLine
    if values["groups"] is None and values["products"] is None:
        # Any product: the documents' purchase counts (crm.sales.summaries), no lines read.
        doc = SalesDocument
        buyers = (
            select(doc.partner_id)
            .where(doc.purchase_lines > 0, doc.date >= start, doc.date <= end)
            .group_by(doc.partner_id)
            .having(func.count() >= times)
        )
        return Partner.id.in_(buyers)
    conditions = [line.amount > 0, line.date >= start, line.date <= end]
    if values["products"] is not None:
        conditions.append(line.product_id.in_(values["products"]))
    if values["groups"] is not None:
        conditions.append(
            line.product_id.in_(select(Product.id).where(Product.group_id.in_(values["groups"])))
        )
    buyers = (
        select(line.partner_id)
        .where(and_(*conditions))
        .group_by(line.partner_id)
        .having(func.count(line.document_id.distinct()) >= times)
    )
    return Partner.id.in_(buyers)


def _figure(values):
    start, end = window(values)
    doc = SalesDocument
    if values["metric"] == "average_check":
        return _average_check(values, start, end)
    measure = func.sum(doc.total) if values["metric"] == "revenue" else func.count()
    reaching = (
        select(doc.partner_id)
        .where(doc.line_count > 0, doc.date >= start, doc.date <= end)
        .group_by(doc.partner_id)
        .having(measure >= values["value"])
    )
    if values["compare"] == "at_least":
        return Partner.id.in_(reaching)
    # "below" counts a partner with no sales in the window as 0: below any positive value.
    return Partner.id.not_in(reaching)


def _average_check(values, start, end):
    """Average check = revenue ÷ number of sales in the window, the other two metrics over the
    same documents (a return is a sale of a negative amount, as in those). A partner that made
    no purchase in the window has no average check: neither "at least" nor "below" holds for
    it ("average check below 1,000" lists buyers with small checks, not everyone else).

    Compared in whole cents (Σ cents ≥ value in cents × sales), without a division: exact on
    SQLite too, whose NUMERIC is floating point."""
    doc = SalesDocument
    revenue = func.sum(func.round(doc.total * 100))
    target = int(values["value"] * 100) * func.count()
    reaching = revenue >= target if values["compare"] == "at_least" else revenue < target
    buyers = (
        select(doc.partner_id)
        .where(doc.line_count > 0, doc.date >= start, doc.date <= end)
        .group_by(doc.partner_id)
        .having(func.sum(doc.purchase_lines) > 0, reaching)
    )
    return Partner.id.in_(buyers)


def _everyone():
    return Partner.id.is_not(None)


def _overdue(values):
    from crm.sales.receivables import partners_overdue_above

    if values["above"] < 0:
        return _everyone()  # nobody's overdue debt is below zero
    # `within` (crm.core.conditions): only those partners' documents and payments are read.
    return Partner.id.in_(
        partners_overdue_above(values["as_of"], values["above"], values["within"])
    )


def _debt(values):
    from crm.sales.receivables import partners_debt_above

    return Partner.id.in_(partners_debt_above(values["as_of"], values["above"]))


def _overdue_days(values):
    """Something more than `days` days past due: the oldest overdue unsettled document (the
    receivables walk's `oldest_overdue`) was due before the rule's date − `days`."""
    from crm.sales.receivables import partners_overdue_above

    return Partner.id.in_(
        partners_overdue_above(values["as_of"], 0, values["within"], late_by=values["days"])
    )


TIMES = Param(
    "times", "int", required=False, minimum=1, maximum=100_000, title=_l("At least N sales")
)
METRICS = {
    "revenue": _l("Revenue"),
    "sales": _l("Number of sales"),
    "average_check": _l("Average check"),
}
COMPARE = {"at_least": _l("at least"), "below": _l("below")}
# The builder lists every product only for a catalogue this small; a larger one takes ids.
PRODUCT_OPTIONS_MAX = 1000


def _groups() -> list[tuple[int, str]]:
    return [
        tuple(r)
        for r in db.session.execute(
            select(ProductGroup.id, ProductGroup.name).order_by(ProductGroup.name)
        )
    ]


def _products() -> list[tuple[int, str]] | None:
    rows = db.session.execute(
        select(Product.id, Product.sku, Product.name)
        .order_by(Product.name)
        .limit(PRODUCT_OPTIONS_MAX + 1)
    ).all()
    if len(rows) > PRODUCT_OPTIONS_MAX:
        return None
    return [(pid, f"{sku} — {name}") for pid, sku, name in rows]


CONDITIONS = (
    ConditionType(
        "sales.bought",
        _l("Bought"),
        (
            *WINDOW,
            Param("groups", "ids", required=False, title=_l("Product groups"), options=_groups),
            Param("products", "ids", required=False, title=_l("Products"), options=_products),
            TIMES,
        ),
        _bought,
        order=30,
    ),
    ConditionType(
        "sales.figure",
        _l("Revenue, number of sales or average check"),
        (
            Param("metric", "choice", choices=tuple(METRICS), title=_l("What"), labels=METRICS),
            Param("compare", "choice", choices=tuple(COMPARE), title=_l("Is"), labels=COMPARE),
            Param("value", "money", title=_l("Value")),
            *WINDOW,
        ),
        _figure,
        order=31,
    ),
    ConditionType(
        "sales.overdue",
        _l("Overdue debt above"),
        (Param("above", "money", title=_l("Amount")),),
        _overdue,
        order=32,
        within=True,
    ),
    ConditionType(
        "sales.debt",
        _l("Debt above"),
        (Param("above", "money", title=_l("Amount")),),
        _debt,
        order=33,
    ),
    ConditionType(
        "sales.overdue_days",
        _l("Overdue for more than N days"),
        (Param("days", "int", minimum=0, maximum=3660, title=_l("Days past due")),),
        _overdue_days,
        order=34,
        within=True,
    ),
)


# --- conditions of segments of products (`of="products"`) -------------------------------------


def _product_group(values):
    return Product.group_id.in_(values["groups"])


def _product_sku(values):
    return Product.sku.in_(values["skus"])


def _sold(values):
    """Sold in the window: at least `times` sales (documents with the product, 1 by default)
    and, when given, revenue (Σ line amounts, returns negative) of at least `revenue`."""
    start, end = window(values)
    line = SalesLine
    sellers = (
        select(line.product_id)
        .where(line.date >= start, line.date <= end)
        .group_by(line.product_id)
        .having(func.count(line.document_id.distinct()) >= (values["times"] or 1))
    )
    if values["revenue"] is not None:
        sellers = sellers.having(func.sum(line.amount) >= values["revenue"])
    return Product.id.in_(sellers)


PRODUCT_CONDITIONS = (
    ConditionType(
        "product.group",
        _l("Product group"),
        (Param("groups", "ids", title=_l("Product groups"), options=_groups),),
        _product_group,
        of="products",
        order=10,
    ),
    ConditionType(
        "product.sku",
        _l("SKU"),
        (Param("skus", "texts", title=_l("SKUs")),),
        _product_sku,
        of="products",
        order=11,
    ),
    ConditionType(
        "sales.sold",
        _l("Sold"),
        (
            *WINDOW,
            TIMES,
            Param("revenue", "money", required=False, title=_l("Revenue at least")),
        ),
        _sold,
        of="products",
        order=30,
    ),
)
