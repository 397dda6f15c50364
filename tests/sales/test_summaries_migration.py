"""Migration 0014 on a database with sales made at revision 0013, run as an operator would
(`flask db upgrade`): every document's new summary columns are its lines' sums (zeros for a
document without lines), every month with lines is marked and the product × month table is
empty, so `product_months` reads the lines until the months are summed; then summed, the table
is the lines' sums. Expected values by hand and by pandas over the raw lines (plain SQL).
On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal as d
from pathlib import Path

import pytest
from sqlalchemy import Boolean, Date, DateTime, Integer, MetaData, Numeric, create_engine, insert

from crm import create_app
from crm.extensions import db
from crm.sales.summaries import dirty_months, refresh_months
from tests.conftest import base_config
from tests.helpers import empty_database
from tests.sales.summary_checks import (
    by_hand,
    expected_documents,
    expected_months,
    marked,
    raw_lines,
    read_months,
    stored_documents,
    summary_table,
)

ROOT = Path(__file__).resolve().parents[2]

# document id → (doc_no, date, partner id, total as 0013 kept it);
# its lines: (line_no, product id, quantity, amount, cost).
DOCUMENTS = {
    1: ("N-1", date(2023, 12, 31), 1, "87.26"),
    2: ("N-2", date(2024, 1, 1), 2, "-5.50"),  # a return
    3: ("N-3", date(2024, 2, 29), 1, "1244.56"),
    4: ("N-4", date(2024, 1, 31), 2, "0"),  # no lines
}
LINES = {
    1: [
        (1, 1, "2", "100.50", "60.25"),
        (2, 2, "-1", "-20.25", "-12.10"),
        (3, 3, "1", "7.01", None),
    ],
    2: [(1, 3, "-2.5", "-5.50", None)],
    3: [(1, 1, "1.5", "1234.56", "1000"), (2, 1, "4", "10", "7.5")],
}
# total, gross profit (lines with a known cost), Σ quantity, lines, lines with amount > 0.
SUMMARIES = {
    "N-1": (d("87.26"), d("32.10"), d("2"), 3, 2),
    "N-2": (d("-5.50"), d("0"), d("-2.5"), 1, 0),
    "N-3": (d("1244.56"), d("237.06"), d("5.5"), 2, 2),
    "N-4": (d("0"), d("0"), d("0"), 0, 0),
}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    with empty_database(request.param, tmp_path, "summaries_migration") as url:
        yield url


def _flask_db_upgrade(url: str, revision: str) -> None:
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="migration-test")
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade", revision],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _add(conn, meta, table: str, **values) -> None:
    """A row with the given values; other required columns get a plain filler value."""
    t = meta.tables[table]
    for col in t.columns:
        if col.name in values or col.nullable or col.primary_key or col.server_default:
            continue
        if isinstance(col.type, Boolean):
            values[col.name] = False
        elif isinstance(col.type, Integer | Numeric):
            values[col.name] = 0
        elif isinstance(col.type, DateTime):
            values[col.name] = datetime(2026, 1, 1)
        elif isinstance(col.type, Date):
            values[col.name] = date(2026, 1, 1)
        else:
            values[col.name] = ""
    conn.execute(insert(t).values(**values))


def _sales_at_0013(url: str) -> None:
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    assert "profit_total" not in meta.tables["sales_document"].columns
    with engine.begin() as conn:
        for pid in (1, 2):
            _add(
                conn, meta, "partner", id=pid, code=f"P{pid}", name=f"Partner {pid}", kind="company"
            )
        _add(conn, meta, "product_group", id=1, name="Молочка")
        for pid, group in ((1, 1), (2, 1), (3, None)):
            _add(conn, meta, "product", id=pid, sku=f"S{pid}", name=f"P {pid}", group_id=group)
        for doc_id, (doc_no, day, partner, total) in DOCUMENTS.items():
            _add(
                conn,
                meta,
                "sales_document",
                id=doc_id,
                doc_no=doc_no,
                date=day,
                due_date=day,
                partner_id=partner,
                status="shipped",
                total=d(total),
            )
            for line_no, product, qty, amount, cost in LINES.get(doc_id, ()):
                _add(
                    conn,
                    meta,
                    "sales_line",
                    document_id=doc_id,
                    line_no=line_no,
                    date=day,
                    partner_id=partner,
                    product_id=product,
                    quantity=d(qty),
                    amount=d(amount),
                    cost=None if cost is None else d(cost),
                )
    engine.dispose()


def test_upgrade_fills_the_summaries_and_marks_every_month_with_lines(database_url, tmp_path):
    _flask_db_upgrade(database_url, "0014_analytics_planned_calls")
    _sales_at_0013(database_url)

    _flask_db_upgrade(database_url, "head")

    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert stored_documents(conn) == by_hand(SUMMARIES) == expected_documents(conn)
        months = {r["month"] for r in raw_lines(conn)}
        assert marked(conn) == months == {date(2023, 12, 1), date(2024, 1, 1), date(2024, 2, 1)}
        assert summary_table(conn) == {}
    engine.dispose()

    # The app on the migrated database: readers see the lines, before and after the summing.
    app = create_app(base_config(database_url), instance_path=str(tmp_path / "instance"))
    windows = [
        (date(2023, 12, 1), date(2024, 2, 29)),
        (date(2023, 12, 31), date(2024, 1, 1)),
        (date(2024, 2, 1), date(2024, 2, 29)),
    ]
    with app.app_context():
        try:
            for group in (None, 1):
                for window in windows:
                    assert read_months(*window, group) == expected_months(*window, group)
            assert refresh_months() == 3
            assert dirty_months() == []
            assert summary_table() == expected_months(date.min, date.max, count=True)
            for group in (None, 1):
                for window in windows:
                    assert read_months(*window, group) == expected_months(*window, group)
        finally:
            db.session.remove()
            db.engine.dispose()
