"""The exchange tests use the suite's `app` with a cheaper clean-up: DELETE in dependency order
plus a sequence reset leaves the tables exactly as TRUNCATE … RESTART IDENTITY does, in a tenth
of its time on PostgreSQL (TRUNCATE rewrites every table file; these tests run ~100 times)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from crm.exchange.importer import run_import
from crm.extensions import db
from tests.core.test_jobs import rq_app, run_worker  # noqa: F401  (rq_app is a fixture)
from tests.exchange import samples
from tests.exchange.helpers import TODAY, write_file


def _empty_tables(app) -> None:
    with app.app_context():
        db.session.remove()
        tables = db.metadata.sorted_tables
        with db.engine.begin() as conn:
            for table in reversed(tables):
                conn.execute(table.delete())
            if db.engine.dialect.name == "postgresql":
                names = [t.name for t in tables if "id" in t.columns]
                conn.execute(
                    text(
                        "SELECT setval(s, 1, false) FROM (SELECT pg_get_serial_sequence("
                        "quote_ident(t), 'id') AS s FROM unnest(CAST(:names AS text[])) AS t) "
                        "AS q WHERE s IS NOT NULL"
                    ),
                    {"names": names},
                )
            elif conn.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")
            ).scalar():
                conn.execute(text("DELETE FROM sqlite_sequence"))


@pytest.fixture
def app(_session_app):
    """The suite's `app` (context pushed, config and rows undone afterwards), cleaned faster."""
    saved = dict(_session_app.config)
    ctx = _session_app.app_context()
    ctx.push()
    try:
        yield _session_app
    finally:
        db.session.rollback()
        ctx.pop()
        _session_app.config.clear()
        _session_app.config.update(saved)
        _empty_tables(_session_app)


@pytest.fixture
def ledger(app, make_partner, tmp_path_factory):
    """Partners P-001, P-002 and products SKU-1, SKU-2, plus one stored sale to keep."""
    samples.prepare("sales", make_partner)
    old_sale = ["OLD-1", "1", "2024-01-01", "P-001", "SKU-1", "1", "5"]
    path = write_file(tmp_path_factory.mktemp("ledger"), [samples.SALES_LINE_HEADER, old_sale])
    assert run_import(path, "sales", today=TODAY).done
