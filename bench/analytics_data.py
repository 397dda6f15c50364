"""The analytics benchmark's data: 20,000 partners, 5,000 products in 50 groups, 20 managers,
2 organizations, 4 departments, 3 warehouses, and 3,000,000 sales lines on about 600,000
documents over the 36 months ending with the last complete month, plus stock balances.

Shaped so that every report has something to say: partners buy with a skewed activity (a few
big accounts, a long tail), each in its own active span (some start late, some stop buying —
lost clients — some never buy — potential ones), with a steady or a bursty rhythm; products sell
with a Zipf-like popularity; about 2 % of lines are returns and 10 % have no cost.

Rows are drawn with numpy and written with `crm.core.db.insert_rows` (COPY on PostgreSQL,
executemany on SQLite), then the sales summaries are built as the services would keep them
(`crm.sales.summaries.rebuild`)."""

from __future__ import annotations

import hashlib
import time
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

GENERATOR_VERSION = "1"
BATCH = 50_000
PASSWORD = "bench-password-1"
FILLED = (
    "user",
    "partner",
    "organization",
    "department",
    "warehouse",
    "product_group",
    "product",
    "sales_document",
    "sales_line",
    "stock_balance",
)


def last_complete_month_end(today: date) -> date:
    return today.replace(day=1) - timedelta(days=1)


def _month_starts(end: date, months: int) -> list[date]:
    out = []
    y, m = end.year, end.month
    for _ in range(months):
        out.append(date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def generate(app, *, partners: int, products: int, lines: int, end: date, seed: int) -> dict:
    """Drop and refill the database; returns the row counts."""
    from crm.auth.models import User
    from crm.core.db import insert_rows
    from crm.extensions import db
    from crm.partners.models import Partner
    from crm.sales.models import (
        Department,
        Organization,
        Product,
        ProductGroup,
        SalesDocument,
        SalesLine,
        StockBalance,
        Warehouse,
    )
    from crm.sales.summaries import rebuild

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    db.drop_all()
    db.create_all()
    users = [User(email="admin@bench.crm", role="admin", name="Admin")]
    users += [
        User(email=f"manager{i}@bench.crm", role="manager", name=f"Менеджер {i}")
        for i in range(1, 21)
    ]
    for u in users:
        u.set_password(PASSWORD)
        db.session.add(u)
    for model, names in (
        (Organization, ["ООО «Альфа»", "ООО «Бета»"]),
        (Department, ["Опт", "Розница", "Проекты", "Сервис"]),
        (Warehouse, ["Основной склад", "Склад Север", "Склад Юг"]),
        (ProductGroup, [f"Группа {i:02d}" for i in range(1, 51)]),
    ):
        for name in names:
            db.session.add(model(name=name))
    db.session.commit()
    managers = np.array([u.id for u in users if u.role == "manager"])

    months = _month_starts(end, 36)
    first_day = months[0]
    n_days = (end - first_day).days + 1

    # Partners: created over the four years before the end (some after the data starts).
    created = rng.integers(-365, n_days, partners)
    responsible = rng.choice(managers, partners)
    insert_rows(
        Partner.__table__,
        [
            {
                "code": f"K{i + 1:06d}",
                "name": f"Клиент {i + 1:06d}",
                "name_norm": f"клиент {i + 1:06d}",
                "is_client": True,
                "responsible_id": int(responsible[i]),
                "created_on": first_day + timedelta(days=int(created[i])),
            }
            for i in range(partners)
        ],
    )
    group_of = rng.integers(1, 51, products)
    price = np.round(np.exp(rng.normal(7.0, 1.0, products)), 2)  # ~1,100 ₽ median
    insert_rows(
        Product.__table__,
        [
            {
                "sku": f"P{j + 1:05d}",
                "name": f"Товар {j + 1:05d}",
                "group_id": int(group_of[j]),
                "unit": "шт",
                "base_price": Decimal(str(price[j])),
            }
            for j in range(products)
        ],
    )
    db.session.commit()
    partner_ids = np.arange(1, partners + 1)

    # Activity: lognormal weights; a span [start, stop] inside the data; 8 % never buy.
    weight = np.exp(rng.normal(0, 1.2, partners))
    weight[rng.random(partners) < 0.08] = 0
    start = np.maximum(created, 0) + rng.integers(0, 120, partners)
    stop = np.where(rng.random(partners) < 0.25, rng.integers(0, n_days, partners), n_days - 1)
    stop = np.maximum(stop, start)
    span = np.clip(stop - start + 1, 0, None)
    weight = np.where((span > 0) & (start < n_days), weight * span, 0)
    n_docs = lines // 5
    per_partner = rng.multinomial(n_docs, weight / weight.sum())
    doc_partner = np.repeat(partner_ids, per_partner)
    idx = doc_partner - 1
    offset = (rng.random(n_docs) * np.maximum(span[idx], 1)).astype(int)
    doc_day = np.minimum(start[idx] + offset, n_days - 1)
    order = np.argsort(doc_day, kind="stable")
    doc_partner, doc_day = doc_partner[order], doc_day[order]
    doc_lines = rng.integers(1, 10, n_docs)  # 1..9, mean 5
    n_lines = int(doc_lines.sum())

    day0 = first_day.toordinal()
    doc_dates = [date.fromordinal(day0 + int(d)) for d in doc_day]
    orgs = rng.integers(1, 3, n_docs)
    depts = rng.integers(1, 5, n_docs)
    whs = rng.integers(1, 4, n_docs)
    own = rng.random(n_docs) < 0.9
    doc_manager = np.where(own, responsible[doc_partner - 1], rng.choice(managers, n_docs))

    # Lines: Zipf-like product popularity, quantity 1..20, price ±10 %, 2 % returns.
    popularity = 1 / np.arange(1, products + 1) ** 0.9
    line_product = rng.choice(products, n_lines, p=popularity / popularity.sum()) + 1
    qty = rng.integers(1, 21, n_lines)
    sign = np.where(rng.random(n_lines) < 0.02, -1, 1)
    cents = np.round(price[line_product - 1] * rng.uniform(0.9, 1.1, n_lines) * 100) * qty * sign
    cost_cents = np.round(cents * rng.uniform(0.6, 0.85, n_lines))
    no_cost = rng.random(n_lines) < 0.10
    line_doc = np.repeat(np.arange(n_docs), doc_lines)
    first_line = np.concatenate(([0], np.cumsum(doc_lines)[:-1]))
    line_no = np.arange(n_lines) - first_line[line_doc] + 1

    sales_document = SalesDocument.__table__
    sales_line = SalesLine.__table__
    for lo in range(0, n_docs, BATCH):
        hi = min(lo + BATCH, n_docs)
        insert_rows(
            sales_document,
            [
                {
                    "id": k + 1,
                    "doc_no": f"Д{k + 1:08d}",
                    "date": doc_dates[k],
                    "partner_id": int(doc_partner[k]),
                    "organization_id": int(orgs[k]),
                    "department_id": int(depts[k]),
                    "warehouse_id": int(whs[k]),
                    "manager_id": int(doc_manager[k]),
                    "due_date": doc_dates[k] + timedelta(days=14),
                    "status": "shipped",
                }
                for k in range(lo, hi)
            ],
        )
        db.session.commit()
    for lo in range(0, n_lines, BATCH):
        hi = min(lo + BATCH, n_lines)
        insert_rows(
            sales_line,
            [
                {
                    "document_id": int(line_doc[i]) + 1,
                    "line_no": int(line_no[i]),
                    "date": doc_dates[line_doc[i]],
                    "partner_id": int(doc_partner[line_doc[i]]),
                    "product_id": int(line_product[i]),
                    "quantity": Decimal(int(qty[i] * sign[i])),
                    "amount": Decimal(int(cents[i])).scaleb(-2),
                    "cost": None if no_cost[i] else Decimal(int(cost_cents[i])).scaleb(-2),
                }
                for i in range(lo, hi)
            ],
        )
        db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            sa.text("SELECT setval('sales_document_id_seq', (SELECT max(id) FROM sales_document))")
        )
    stock = rng.integers(0, 500, (products, 3))
    insert_rows(
        StockBalance.__table__,
        [
            {
                "product_id": j + 1,
                "warehouse_id": w + 1,
                "quantity": Decimal(int(stock[j, w])),
                "value": Decimal(str(round(float(stock[j, w] * price[j] * 0.7), 2))),
            }
            for j in range(products)
            for w in range(3)
            if stock[j, w]
        ],
    )
    db.session.commit()
    rebuild()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    return {
        "partners": partners,
        "products": products,
        "documents": n_docs,
        "lines": n_lines,
        "seconds": round(time.perf_counter() - t0),
    }


def fingerprint(app, args) -> str:
    """Scale, seed, generator version and the layout of the filled tables."""
    from crm.extensions import db

    layout = "".join(str(CreateTable(db.metadata.tables[t]).compile(db.engine)) for t in FILLED)
    key = f"{GENERATOR_VERSION}|{args.partners}|{args.products}|{args.lines}|{args.seed}|{args.end}"
    return hashlib.sha256((key + layout).encode()).hexdigest()[:16]


SUMMARIES = ("sales_product_month", "sales_partner_month", "sales_dirty_month")


def summaries_fingerprint() -> str:
    """The layout of the summary tables (crm.sales.summaries): when it changes, a built data
    set is summed again instead of built again."""
    from crm.extensions import db

    layout = "".join(str(CreateTable(db.metadata.tables[t]).compile(db.engine)) for t in SUMMARIES)
    return hashlib.sha256(layout.encode()).hexdigest()[:16]


def sync_indexes() -> list[str]:
    """Bring the filled tables' indexes in line with the models (a reused data set measures an
    index added or changed since it was built); returns the names (re)made."""
    from crm.core.db import is_trigram_index
    from crm.extensions import db

    inspector = sa.inspect(db.engine)
    made = []
    for name in (*FILLED, *SUMMARIES):
        table = db.metadata.tables[name]
        found = {i["name"]: i["column_names"] for i in inspector.get_indexes(name)}
        for index in table.indexes:
            if is_trigram_index(index) and db.engine.dialect.name != "postgresql":
                continue  # PostgreSQL's only: never made on SQLite
            wanted = [c.name for c in index.columns]
            if found.get(index.name) == wanted:
                continue
            with db.engine.begin() as conn:
                if index.name in found:
                    conn.execute(sa.text(f'DROP INDEX "{index.name}"'))
                index.create(conn)
            made.append(index.name)
    if made and db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
    return made
