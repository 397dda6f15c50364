"""Sales histories of the BCG tests (tests/analytics/test_bcg*.py): a generated one compared
with pandas and a small hand-built market whose numbers the tests work out by hand."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
from sqlalchemy import insert, text

from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import Organization, Product, ProductGroup, SalesDocument, SalesLine
from crm.sales.summaries import rebuild

P = (date(2026, 1, 1), date(2026, 6, 30))
P0 = (date(2025, 7, 4), date(2025, 12, 31))  # 181 days before P
Q2 = (date(2026, 4, 1), date(2026, 6, 30))  # the hand-built market's period

_doc = itertools.count(1)


def generate_history(seed: int = 7) -> None:
    """40 partners, 4 product groups (group 4 holds one product: alone in its market), 50
    products (46-50 without a group); ~900 documents from 2025-03 to 2026-09, some lines
    returns; product 41 sells only before P (not an object, but in its group's R0), product 42
    only in P (new), product 43 only returns in P (R < 0)."""
    rng = random.Random(seed)
    db.session.execute(insert(Organization), [{"name": "Org 1"}, {"name": "Org 2"}])
    db.session.execute(insert(ProductGroup), [{"name": f"G{g}"} for g in (1, 2, 3, 4)])
    db.session.execute(
        insert(Partner), [{"code": f"P{n:03d}", "name": f"Partner {n}"} for n in range(1, 41)]
    )
    skus = [f"S{n:03d}" for n in range(1, 51)]
    rng.shuffle(skus)  # codes in an order unlike the ids
    groups = [1 + i % 3 for i in range(39)] + [4] + [1, 2, 3] + [None] * 7
    db.session.execute(
        insert(Product),
        [
            {"sku": s, "name": f"Product {s}", "group_id": g}
            for s, g in zip(skus, groups, strict=True)
        ],
    )
    trend = {p: rng.uniform(-0.5, 0.8) for p in range(1, 51)}
    start, end = date(2025, 3, 1), date(2026, 9, 30)
    days = (end - start).days
    docs, lines = [], []
    for doc_id in range(1, 901):
        day = start + timedelta(days=rng.randrange(days + 1))
        partner = rng.randint(1, 40)
        docs.append(
            {
                "id": doc_id,
                "doc_no": f"N{doc_id:05d}",
                "date": day,
                "due_date": day,
                "partner_id": partner,
                "organization_id": rng.choice((1, 2, None)),
            }
        )
        later = day >= P[0]
        for line_no in range(1, rng.randint(1, 4) + 1):
            product = rng.randint(1, 40)
            if rng.random() < 0.03:
                product = 41 if not later else 42
            if rng.random() < (0.3 + trend[product] if later else 0.3):
                product = rng.randint(46, 50) if rng.random() < 0.2 else product
            qty = Decimal(rng.randint(1, 20))
            if rng.random() < 0.06:
                qty = -qty
            amount = (qty * Decimal(rng.randint(100, 90000)) / 100).quantize(Decimal("0.01"))
            lines.append(
                {
                    "document_id": doc_id,
                    "line_no": line_no,
                    "date": day,
                    "partner_id": partner,
                    "product_id": product,
                    "quantity": qty,
                    "amount": amount,
                }
            )
    return_day = date(2026, 3, 3)
    docs.append(
        {"id": 901, "doc_no": "N00901", "date": return_day, "due_date": return_day,
         "partner_id": 1, "organization_id": 1}
    )  # fmt: skip
    lines.append(
        {"document_id": 901, "line_no": 1, "date": return_day, "partner_id": 1,
         "product_id": 43, "quantity": Decimal(-1), "amount": Decimal("-50.00")}
    )  # fmt: skip
    db.session.execute(insert(SalesDocument), docs)
    db.session.execute(insert(SalesLine), lines)
    db.session.commit()
    rebuild()  # the rows went around the sales services: their summaries, as those keep them


def raw_lines() -> pd.DataFrame:
    sql = text(
        "SELECT l.product_id, l.date, l.amount, d.organization_id, pr.group_id, pr.sku,"
        " pr.name FROM sales_line l JOIN sales_document d ON d.id = l.document_id"
        " JOIN product pr ON pr.id = l.product_id"
    )
    df = pd.read_sql(sql, db.session.connection())
    df["date"] = pd.to_datetime(df["date"])
    df["cents"] = (df["amount"].astype(float) * 100).round().astype("int64")
    df["group_id"] = df["group_id"].fillna(0).astype("int64")
    return df


# --- hand-built edge cases -----------------------------------------------------------------


def sale(partner, product, day, amount):
    n = next(_doc)
    line = SalesLine(
        line_no=1,
        date=day,
        partner_id=partner.id,
        product_id=product.id,
        quantity=Decimal(1),
        amount=Decimal(str(amount)),
    )
    doc = SalesDocument(
        doc_no=f"B{n:05d}", date=day, due_date=day, partner_id=partner.id, lines=[line]
    )
    doc.total = line.amount
    db.session.add(doc)


def build_market(make_partner):
    """Group "Tea" (period Q2 2026, 91 days, against P0 = 2025-12-31..2026-03-31):
    T1 Leader 1100 (before 1000: growth exactly 10 % → high), T2 Twin 1100 (before 1001: growth
    9.89 % → low; ties the leader: share exactly 1 → high), T3 Small 550 (before 0 → new; share
    0.5), T4 Gone: sold only before. Group "Coffee": C1 Solo 300 (before 600: −50 %), alone.
    No group: N1 Odd, a return of 20 in P (before 100)."""
    from tests.factories import create_product

    client = make_partner(code="K1", name="Client")
    tea = ProductGroup(name="Tea")
    coffee = ProductGroup(name="Coffee")
    db.session.add_all([tea, coffee])
    db.session.flush()
    items = {}
    for sku, name, group in [
        ("T1", "Leader", tea),
        ("T2", "Twin", tea),
        ("T3", "Small", tea),
        ("T4", "Gone", tea),
        ("C1", "Solo", coffee),
        ("N1", "=Odd", None),
    ]:
        items[sku] = create_product(sku=sku, name=name, group_id=group.id if group else None)
    before, now = date(2026, 2, 10), date(2026, 5, 10)
    for sku, r0, r in [
        ("T1", "1000", "1100"),
        ("T2", "1001", "1100"),
        ("T3", None, "550"),
        ("T4", "700", None),
        ("C1", "600", "300"),
        ("N1", "100", "-20"),
    ]:
        if r0:
            sale(client, items[sku], before, r0)
        if r:
            sale(client, items[sku], now, r)
    sale(client, items["T1"], date(2026, 7, 1), "5000")  # after P: left out
    db.session.commit()
    rebuild()  # the rows went around the sales services: their summaries, as those keep them
    return items
