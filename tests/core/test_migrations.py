"""The migrations build the whole schema on an empty database, and that schema is exactly the
models' one: a model change shipped without its migration fails here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, inspect, text

from crm import create_app
from crm.extensions import db
from tests.conftest import base_config
from tests.helpers import empty_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path_factory):
    """The URL of a database with nothing in it: a new SQLite file, or a PostgreSQL database
    created for these tests and dropped after them."""
    with empty_database(request.param, tmp_path_factory.mktemp("migrations"), "migrations") as url:
        yield url


@pytest.fixture(scope="module")
def migrated_app(empty_database_url, tmp_path_factory):
    """`flask --app app crm init-db` run as an operator would, then an app on that database
    (the tests only read it)."""
    env = dict(os.environ, DATABASE_URL=empty_database_url, SECRET_KEY="migration-test")
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "crm", "init-db"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # An operator with no settings reads the default language, Russian.
    assert "База данных в актуальном состоянии" in result.stdout
    app = create_app(
        base_config(empty_database_url), instance_path=str(tmp_path_factory.mktemp("instance"))
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _schema_differences(app, metadata) -> list:
    """What `flask db migrate` would put into a new migration, compared as env.py compares."""
    opts = dict(app.extensions["migrate"].configure_args)
    opts.pop("process_revision_directives", None)
    with db.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)


def test_migrations_create_every_table_of_the_models(migrated_app):
    with db.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert tables == set(db.metadata.tables) | {"alembic_version"}
    assert {
        "user",
        "partner",
        "contact_person",
        "contact_detail",
        "audit_entry",
        "job_run",
    } <= tables
    heads = ScriptDirectory(str(ROOT / "migrations")).get_heads()
    assert [version] == heads


def test_migrated_schema_matches_the_models(migrated_app):
    assert _schema_differences(migrated_app, db.metadata) == []


def test_schema_check_notices_a_model_change_without_migration(migrated_app):
    changed = MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["partner"].append_column(Column("loyalty_tier", String(16)))

    diffs = _schema_differences(migrated_app, changed)

    assert [(d[0], d[2], d[3].name) for d in diffs] == [("add_column", "partner", "loyalty_tier")]


def test_migrations_have_a_single_head():
    """Two branches that each added a migration need a merge revision before release."""
    heads = ScriptDirectory(str(ROOT / "migrations")).get_heads()
    assert len(heads) == 1, heads
