"""Independent reads for the tests of crm.sales.summaries: the stored rows by plain SQL, and
what the documents' summaries and the product × month sums must be, by a few lines of pandas
over the raw sales_line rows. Each takes an optional connection (a database not the app's)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
from sqlalchemy import text

from crm.extensions import db
from crm.sales.summaries import product_months

CENT, MILLI = Decimal("0.01"), Decimal("0.001")


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _dec(value, unit: Decimal = CENT) -> Decimal | None:
    # SQLite hands NUMERIC back as a float: its text is the stored value.
    return None if value is None else Decimal(str(value)).quantize(unit)


def _dsum(series) -> Decimal:
    return sum(series, Decimal(0))


def raw_lines(conn=None) -> list[dict]:
    """Every sales line with its document's header and its product's group, by plain SQL."""
    rows = (conn or db.session).execute(
        text(
            "SELECT d.doc_no, d.date AS doc_date, d.partner_id AS doc_partner, l.line_no, l.date,"
            " l.partner_id, l.product_id, p.group_id, l.quantity, l.amount, l.cost"
            " FROM sales_line l JOIN sales_document d ON d.id = l.document_id"
            " JOIN product p ON p.id = l.product_id"
        )
    )
    out = []
    for r in rows.mappings():
        amount, cost = _dec(r["amount"]), _dec(r["cost"])
        out.append(
            {
                **r,
                "doc_date": _day(r["doc_date"]),
                "date": _day(r["date"]),
                "month": _day(r["date"]).replace(day=1),
                "quantity": _dec(r["quantity"], MILLI),
                "amount": amount,
                "cost": cost,
                # Gross profit counts only the lines whose cost is known.
                "margin": Decimal(0) if cost is None else amount - cost,
                "purchase": int(amount > 0),
            }
        )
    return out


def expected_documents(conn=None) -> dict[str, tuple]:
    docs = {
        doc_no: (Decimal("0.00"), Decimal("0.00"), Decimal("0.000"), 0, 0)
        for (doc_no,) in (conn or db.session).execute(text("SELECT doc_no FROM sales_document"))
    }
    lines = pd.DataFrame(raw_lines(conn))
    if len(lines):
        g = lines.groupby("doc_no").agg(
            total=("amount", _dsum),
            profit=("margin", _dsum),
            quantity=("quantity", _dsum),
            count=("line_no", "count"),
            purchases=("purchase", "sum"),
        )
        for doc_no, r in g.iterrows():
            docs[doc_no] = (r.total, r.profit, r.quantity, int(r["count"]), int(r.purchases))
    return docs


def stored_documents(conn=None) -> dict[str, tuple]:
    rows = (conn or db.session).execute(
        text(
            "SELECT doc_no, total, profit_total, quantity_total, line_count, purchase_lines"
            " FROM sales_document"
        )
    )
    return {r[0]: (_dec(r[1]), _dec(r[2]), _dec(r[3], MILLI), int(r[4]), int(r[5])) for r in rows}


def by_hand(docs: dict[str, tuple]) -> dict[str, tuple]:
    return {k: (_dec(t), _dec(p), _dec(q, MILLI), n, b) for k, (t, p, q, n, b) in docs.items()}


def expected_months(date_from, date_to, group=None, *, count=False, conn=None) -> dict:
    """(product, month) → (revenue, gross profit, quantity[, lines]) of the lines dated in
    [date_from, date_to] (of one product group)."""
    lines = [
        r
        for r in raw_lines(conn)
        if date_from <= r["date"] <= date_to and (group is None or r["group_id"] == group)
    ]
    if not lines:
        return {}
    g = (
        pd.DataFrame(lines)
        .groupby(["product_id", "month"])
        .agg(
            revenue=("amount", _dsum),
            profit=("margin", _dsum),
            quantity=("quantity", _dsum),
            lines=("line_no", "count"),
        )
    )
    return {
        key: (r.revenue, r.profit, r.quantity, *((int(r.lines),) if count else ()))
        for key, r in g.iterrows()
    }


def read_months(date_from, date_to, group=None) -> dict:
    rows = product_months(date_from, date_to, product_group_id=group)
    # Integers: cents and thousandths (exact, so compared as they are, only moved to units).
    assert all(isinstance(v, int) for r in rows for v in r[2:]), "the summaries hand out integers"
    out = {
        (pid, m): (Decimal(rev).scaleb(-2), Decimal(pr).scaleb(-2), Decimal(q).scaleb(-3))
        for pid, m, rev, pr, q in rows
    }
    assert len(out) == len(rows), "a product × month twice"
    assert all(isinstance(m, date) and m.day == 1 for _, m in out)
    return out


def summary_table(conn=None) -> dict:
    rows = (conn or db.session).execute(
        text("SELECT product_id, month, revenue, profit, quantity, lines FROM sales_product_month")
    )
    return {
        (r[0], _day(r[1])): (_dec(r[2]), _dec(r[3]), _dec(r[4], MILLI), int(r[5])) for r in rows
    }


def marked(conn=None) -> set[date]:
    rows = (conn or db.session).execute(text("SELECT month FROM sales_dirty_month"))
    return {_day(m) for (m,) in rows}
