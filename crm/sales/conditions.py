"""Segment conditions over purchases (crm.core.conditions), registered by sales, which owns
the data: "bought" (at least N sales with a purchase, of a product group or product, within
the last N days or a period), "revenue or number of sales above or below a value" and
"overdue debt above a value" (the receivables rule as of the rule's date). A window
of days ends on the rule's as-of date (today unless asked otherwise)."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from crm.core.conditions import ConditionError, ConditionType, Param
from crm.partners.models import Partner
from crm.sales.models import Product, SalesDocument, SalesLine

WINDOW = (
    Param("days", "int", required=False, minimum=1, maximum=3660),
    Param("from", "date", required=False),
    Param("to", "date", required=False),
)


def _window(values):
    """(first day, last day) of the condition's window."""
    if values["days"] is not None:
        if values["from"] is not None or values["to"] is not None:
            raise ConditionError(_("Give either a number of days or a period, not both."))
        end = values["as_of"]
        return end - timedelta(days=values["days"] - 1), end
    if values["from"] is None and values["to"] is None:
        raise ConditionError(_("Give a number of days or a period."))
    start = values["from"] or values["to"] - timedelta(days=36600)
    end = values["to"] or values["as_of"]
    if start > end:
        raise ConditionError(_("The period starts after it ends."))
    return start, end


def _bought(values):
    start, end = _window(values)
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
    start, end = _window(values)
    doc = SalesDocument
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


def _overdue(values):
    from crm.sales.receivables import partners_overdue_above

    # `within` (crm.core.conditions): only those partners' documents and payments are read.
    return Partner.id.in_(
        partners_overdue_above(values["as_of"], values["above"], values["within"])
    )


CONDITIONS = (
    ConditionType(
        "sales.bought",
        _l("Bought"),
        (
            *WINDOW,
            Param("groups", "ids", required=False),
            Param("products", "ids", required=False),
            Param("times", "int", required=False, minimum=1, maximum=100_000),
        ),
        _bought,
        order=30,
    ),
    ConditionType(
        "sales.figure",
        _l("Revenue or number of sales"),
        (
            Param("metric", "choice", choices=("revenue", "sales")),
            Param("compare", "choice", choices=("at_least", "below")),
            Param("value", "money"),
            *WINDOW,
        ),
        _figure,
        order=31,
    ),
    ConditionType(
        "sales.overdue",
        _l("Overdue debt above"),
        (Param("above", "money"),),
        _overdue,
        order=32,
        within=True,
    ),
)
