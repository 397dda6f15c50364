"""The analytics benchmark's data: 20,000 partners, 5,000 products in 50 groups, 20 managers,
2 organizations, 4 departments, 3 warehouses, and 3,000,000 sales lines on about 600,000
documents over the 36 months ending with the last complete month, plus stock balances.

Shaped so that every report has something to say: partners buy with a skewed activity (a few
big accounts, a long tail), each in its own active span (some start late, some stop buying —
lost clients — some never buy — potential ones), with a steady or a bursty rhythm; products sell
with a Zipf-like popularity; about 2 % of lines are returns and 10 % have no cost.

Rows are drawn with numpy and written with `crm.core.db.insert_rows` (COPY on PostgreSQL,
executemany on SQLite), then the sales summaries are built as the services would keep them
(`crm.sales.summaries.rebuild`).

With `payments=True` (the segments benchmark, bench/segments_bench.py) the documents are also
paid, so that receivables and overdue debt exist: most partners pay each document by its number
before it is due, some pay late, some leave documents unpaid, a few pay round sums without a
document number (see `_payments`). Off by default: the analytics benchmark's data are as
before."""

from __future__ import annotations

import hashlib
import time
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

GENERATOR_VERSION = "1"
PAYMENTS_VERSION = "1"  # of `_payments`: data with payments are rebuilt when it changes
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
PAID = ("payment",)  # filled too with payments=True


def last_complete_month_end(today: date) -> date:
    return today.replace(day=1) - timedelta(days=1)


def _month_starts(end: date, months: int) -> list[date]:
    out = []
    y, m = end.year, end.month
    for _ in range(months):
        out.append(date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def generate(
    app, *, partners: int, products: int, lines: int, end: date, seed: int, payments: bool = False
) -> dict:
    """Drop and refill the database; returns the row counts."""
    from crm.auth.models import User
    from crm.core.db import insert_rows
    from crm.extensions import db
    from crm.partners.models import Partner
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
    n_payments = 0
    if payments:
        doc_cents = np.rint(np.bincount(line_doc, weights=cents, minlength=n_docs)).astype(np.int64)
        rows = _payments(seed, doc_partner, doc_dates, doc_cents, partners)
        n_payments = len(rows)
        for lo in range(0, n_payments, BATCH):
            insert_rows(Payment.__table__, rows[lo : lo + BATCH])
            db.session.commit()
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
        **({"payments": n_payments} if payments else {}),
        "seconds": round(time.perf_counter() - t0),
    }


# Payment habits of a partner (shares of partners) and what each does with a document (its
# due date is 14 days after it):
#   punctual   pays each document in full 0–10 days before it is due;
#   late       pays each document in full 1–75 days after it is due (a tenth in two halves,
#              the second a month later);
#   bad        leaves a quarter of its documents unpaid, pays the others 10–120 days late;
#   lump       pays round sums without a document number every 45–75 days, covering what it
#              bought before (a FIFO over its pool).
# Returns (negative totals) are never paid. Payments dated after the data's end are kept
# (the receivables of a later date see them). At the data's end this leaves about 10 % of the
# partners with overdue debt.
HABITS = {"punctual": 0.70, "late": 0.16, "bad": 0.07, "lump": 0.07}


def _payments(seed, doc_partner, doc_dates, doc_cents, partners: int) -> list[dict]:
    """The payments of the documents (numpy arrays by document: partner id, total in cents;
    dates as a list), by the partners' habits above; their own random stream, so the rest of
    the data is the same with or without them."""
    rng = np.random.default_rng([seed, 1])
    habit = rng.choice(len(HABITS), partners, p=list(HABITS.values()))
    punctual, late, bad, lump = range(len(HABITS))
    n_docs = len(doc_partner)
    kind = habit[doc_partner - 1]
    r = rng.random(n_docs)
    early = rng.integers(0, 11, n_docs)
    delay = rng.integers(1, 76, n_docs)
    bad_delay = rng.integers(10, 121, n_docs)
    rows: list[dict] = []

    def pay(k: int, day: date, cents: int, doc_no: str) -> None:
        rows.append(
            {
                "date": day,
                "partner_id": int(doc_partner[k]),
                "amount": Decimal(cents).scaleb(-2),
                "doc_no": doc_no,
                "occurrence": 1,
            }
        )

    lump_owed: dict[int, list[tuple[date, int]]] = {}
    for k in range(n_docs):
        total = int(doc_cents[k])
        if total <= 0:
            continue
        due = doc_dates[k] + timedelta(days=14)
        doc_no = f"Д{k + 1:08d}"
        h = kind[k]
        if h == punctual:
            pay(k, due - timedelta(days=int(early[k])), total, doc_no)
        elif h == late:
            day = due + timedelta(days=int(delay[k]))
            if r[k] < 0.1 and total > 1:
                half = total // 2
                pay(k, day, half, doc_no)
                pay(k, day + timedelta(days=30), total - half, doc_no)
            else:
                pay(k, day, total, doc_no)
        elif h == bad:
            if r[k] >= 0.25:
                pay(k, due + timedelta(days=int(bad_delay[k])), total, doc_no)
        else:
            lump_owed.setdefault(int(doc_partner[k]), []).append((due, total))
    for pid, owed in lump_owed.items():
        # Every 45–75 days from the first due date: a round sum (to 1,000 ₽) of what has come
        # due since the last one, at most twice a steady share of the total.
        day, i, carried = owed[0][0], 0, 0
        step = max(100_000, sum(t for _, t in owed) // max(len(owed), 1) // 100_000 * 100_000)
        while i < len(owed) or carried > 0:
            day += timedelta(days=int(rng.integers(45, 76)))
            while i < len(owed) and owed[i][0] <= day:
                carried += owed[i][1]
                i += 1
            amount = min(carried, 2 * step) // 100_000 * 100_000
            if amount <= 0:
                if i >= len(owed):
                    break
                continue
            rows.append(
                {
                    "date": day,
                    "partner_id": pid,
                    "amount": Decimal(amount).scaleb(-2),
                    "doc_no": "",
                    "occurrence": 1,
                }
            )
            carried -= amount
    return rows


def fingerprint(app, args) -> str:
    """Scale, seed, generator version and the layout of the filled tables (and, for data with
    payments — `args.payments` — of the payments' table)."""
    from crm.extensions import db

    paid = getattr(args, "payments", False)
    tables = (*FILLED, *PAID) if paid else FILLED
    layout = "".join(str(CreateTable(db.metadata.tables[t]).compile(db.engine)) for t in tables)
    key = f"{GENERATOR_VERSION}|{args.partners}|{args.products}|{args.lines}|{args.seed}|{args.end}"
    if paid:
        key += f"|payments {PAYMENTS_VERSION}"
    return hashlib.sha256((key + layout).encode()).hexdigest()[:16]


SUMMARIES = ("sales_product_month", "sales_partner_month", "sales_dirty_month")


def summaries_fingerprint() -> str:
    """The layout of the summary tables (crm.sales.summaries): when it changes, a built data
    set is summed again instead of built again."""
    from crm.extensions import db

    layout = "".join(str(CreateTable(db.metadata.tables[t]).compile(db.engine)) for t in SUMMARIES)
    return hashlib.sha256(layout.encode()).hexdigest()[:16]


def sync_indexes(tables: tuple[str, ...] = (*FILLED, *SUMMARIES)) -> list[str]:
    """Bring the tables' indexes in line with the models (a reused data set measures an index
    added or changed since it was built); returns the names (re)made."""
    from crm.core.db import is_trigram_index
    from crm.extensions import db

    inspector = sa.inspect(db.engine)
    made = []
    for name in tables:
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
