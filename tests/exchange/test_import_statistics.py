"""A big import refreshes PostgreSQL's planner statistics before it commits, so the next
searches are planned for the new size, not for the empty table autovacuum last saw."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from crm.core.db import ANALYZE_AFTER_ROWS
from crm.exchange.importer import run_import
from crm.extensions import db
from tests.exchange.helpers import write_file


def _analyses() -> int:
    return db.session.execute(
        text("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'partner'")
    ).scalar_one()


def _import(tmp_path, n: int, first: int = 0):
    rows = [["code", "name"]] + [[f"S{first + i}", f"Stat {i}"] for i in range(n)]
    report = run_import(write_file(tmp_path, rows), "partners")
    assert report.done and report.written == n


@pytest.fixture
def postgresql(app):
    if app.config["CRM_BACKEND"] != "postgresql":
        pytest.skip("PostgreSQL's statistics")


def test_a_big_import_analyzes_the_tables(postgresql, tmp_path):
    before = _analyses()
    _import(tmp_path, ANALYZE_AFTER_ROWS)
    db.session.commit()
    assert _analyses() > before


def test_a_small_import_leaves_it_to_autovacuum(postgresql, tmp_path):
    before = _analyses()
    _import(tmp_path, 10)
    assert _analyses() == before
