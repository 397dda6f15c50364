"""Speed of the product pages and of the analytics list filters at the issue's scale.

Builds a throw-away database with 20,000 partners, 5,000 products in 50 groups with stock in
3 warehouses, 12 monthly class snapshots (partners and products) and 12 monthly stage
snapshots, then times through the Flask test client (signed in as an admin and as a manager):
the product list (plain, search, group, class filter), the product card, and the partner list
with the "ABC/XYZ class" and "Stage" filters. Prints the median and max per case.

    .venv/bin/python bench/cards_bench.py                                   # SQLite temp file
    .venv/bin/python bench/cards_bench.py --database-url postgresql://…/scratch  # wiped!
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from crm import create_app  # noqa: E402
from crm.analytics.models import ClassSnapshot, StageSnapshot  # noqa: E402
from crm.auth.models import User  # noqa: E402
from crm.core.db import analyze  # noqa: E402
from crm.extensions import db  # noqa: E402
from crm.partners.models import Partner  # noqa: E402
from crm.partners.services import search_columns  # noqa: E402
from crm.sales.models import Product, ProductGroup, StockBalance, Warehouse  # noqa: E402

PASSWORD = "bench-password-1"
STAGES = ["potential", "one-time", "regular-x", "regular-y", "regular-z", "lost"]
WORDS = ["Молоко", "Кефир", "Хлеб", "Гвозди", "Шуруп", "Краска", "Кабель", "Труба", "Лампа"]


def months(n: int) -> list[date]:
    return [date(2025 + (i // 12), i % 12 + 1, 1) for i in range(n)]


def month_end(d: date) -> date:
    nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def build(n_partners: int, n_products: int, rng: random.Random) -> None:
    db.drop_all()
    db.create_all()
    users = [User(email=f"m{i}@bench.test", name=f"Manager {i}", role="manager") for i in range(5)]
    admin = User(email="admin@bench.test", name="Admin", role="admin")
    for u in [*users, admin]:
        u.set_password(PASSWORD)
    db.session.add_all([*users, admin])
    db.session.flush()
    rows = []
    for i in range(1, n_partners + 1):
        name = f"ООО {rng.choice(WORDS)}торг {i}"
        cols = search_columns(name, f"P{i:06d}", "", "Москва", [], [])
        rows.append({"code": f"P{i:06d}", "name": name, "responsible_id": users[i % 5].id, **cols})
    db.session.execute(insert(Partner), rows)
    groups = [ProductGroup(name=f"Группа {g}") for g in range(50)]
    whs = [Warehouse(name=f"Склад {w}") for w in range(3)]
    db.session.add_all([*groups, *whs])
    db.session.flush()
    db.session.execute(
        insert(Product),
        [
            {
                "sku": f"SKU-{i:05d}",
                "name": f"{rng.choice(WORDS)} {i} {rng.choice(['мм', 'л', 'шт'])}",
                "group_id": groups[i % 50].id,
                "unit": "шт",
                "base_price": Decimal(rng.randint(10, 9999)),
            }
            for i in range(1, n_products + 1)
        ],
    )
    db.session.execute(
        insert(StockBalance),
        [
            {"product_id": p, "warehouse_id": w.id, "quantity": Decimal(rng.randint(0, 500)),
             "value": Decimal(rng.randint(0, 50000))}
            for p in range(1, n_products + 1)
            for w in whs
        ],
    )  # fmt: skip
    for m in months(12):
        for of, n in (("partners", n_partners), ("products", n_products)):
            db.session.execute(
                insert(ClassSnapshot),
                [
                    {"of": of, "month": m, "object_id": i, "abc": rng.choice("AABBCCC"),
                     "xyz": rng.choice("XYZZ"), "abc_metric": Decimal(rng.randint(1, 10**6))}
                    for i in range(1, n + 1)
                    if rng.random() < 0.75
                ],
            )  # fmt: skip
        db.session.execute(
            insert(StageSnapshot),
            [
                {"at": month_end(m), "partner_id": i, "stage": rng.choice(STAGES),
                 "revenue_window": Decimal(rng.randint(0, 10**6))}
                for i in range(1, n_partners + 1)
            ],
        )  # fmt: skip
    db.session.commit()
    analyze(db.session.connection())
    db.session.commit()


def timed(client, url: str, n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--partners", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=15)
    args = parser.parse_args()
    url = args.database_url or "sqlite:///" + tempfile.mkdtemp() + "/cards.sqlite3"
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
         "REDIS_URL": None, "DEFAULT_LOCALE": "ru"}
    )  # fmt: skip
    with app.app_context():
        build(args.partners, args.products, random.Random(12))
        print(db.session.execute(text("SELECT count(*) FROM analytics_stage_snapshot")).scalar())
    cases = [
        ("product list", "/sales/products/"),
        ("product list, page 40, by SKU", "/sales/products/?sort=sku&page=40"),
        ("product search 'молоко'", "/sales/products/?q=молоко"),
        ("product search 'sku-0123'", "/sales/products/?q=sku-0123"),
        ("product group", "/sales/products/?group=7"),
        ("product class AX", "/sales/products/?abc_xyz=AX"),
        ("product class CZ, by name desc", "/sales/products/?abc_xyz=CZ&sort=-name"),
        ("product card", "/sales/products/1234"),
        ("partner list", "/partners/"),
        ("partner class AX", "/partners/?abc_xyz=AX"),
        ("partner stage lost", "/partners/?stage=lost"),
        ("partner class AX + stage regular-x", "/partners/?abc_xyz=AX&stage=regular-x"),
        ("partner search + class", "/partners/?q=молоко&abc_xyz=CZ"),
    ]
    print(f"{url.split(':')[0]}: "
          f"{args.partners} partners, {args.products} products")  # fmt: skip
    for who in ("admin@bench.test", "m1@bench.test"):
        client = app.test_client()
        client.post("/auth/login", data={"email": who, "password": PASSWORD})
        for title, path in cases:
            median, worst = timed(client, path, args.requests)
            print(f"{who:18} {title:40} median {median:7.1f} ms  max {worst:7.1f} ms")


if __name__ == "__main__":
    main()
