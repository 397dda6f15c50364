"""PostgreSQL's trigram index for the partner search: made where pg_trgm can be had, and a
clear message (and a working, scanning search) where it cannot."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from crm.extensions import db
from tests.helpers import empty_database

ROOT = Path(__file__).resolve().parents[2]


def test_partner_search_text_has_a_trigram_index_on_postgresql_only(app):
    with db.engine.connect() as conn:
        indexes = {ix["name"]: ix for ix in inspect(conn).get_indexes("partner")}
    if app.config["CRM_BACKEND"] == "postgresql":
        assert indexes["ix_partner_search_trgm"]["column_names"] == ["search_text"]
    else:
        assert "ix_partner_search_trgm" not in indexes


def test_a_search_word_is_found_through_the_trigram_index(app, login_as, make_partner):
    if app.config["CRM_BACKEND"] != "postgresql":
        pytest.skip("PostgreSQL's index")
    from crm.partners.filters import PartnerFilter
    from crm.partners.models import Partner
    from crm.partners.queries import partner_list_stmt

    admin = login_as("admin")
    make_partner(name="ООО Ромашка")
    db.session.execute(
        Partner.__table__.insert(),
        [
            {"code": f"F{i}", "name": f"Filler {i}", "search_text": f"filler {i}"}
            for i in range(2000)
        ],
    )
    db.session.commit()
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE partner"))  # statistics, and GIN's pending list
    stmt = partner_list_stmt(admin, PartnerFilter(q="ромаш")).with_only_columns(Partner.id)
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    sql = sql.replace("%%", "%")  # psycopg's escaping of the literal
    with db.engine.begin() as conn:
        # Still small enough to read whole: ask which index the search could be served by.
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        conn.execute(text("SET LOCAL enable_indexscan = off"))
        plan = "\n".join(conn.execute(text("EXPLAIN " + sql)).scalars())
    assert "ix_partner_search_trgm" in plan, plan


@pytest.fixture
def database_without_extension_rights(tmp_path):
    """An empty PostgreSQL database and a role that may create tables in it but not
    extensions (as on many hosted databases); the role is dropped afterwards."""
    with empty_database("postgresql", tmp_path, "notrgm") as url:
        role = f"crm_notrgm_{uuid.uuid4().hex[:8]}"
        admin = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD 'x' NOSUPERUSER"))
            conn.execute(text(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}"))
        try:
            yield (
                make_url(url).set(username=role, password="x").render_as_string(hide_password=False)
            )
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"DROP OWNED BY {role}"))
            admin.dispose()
            # DROP OWNED is per database; the role itself goes once its database is gone.
    cleanup = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with cleanup.connect() as conn:
        conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
    cleanup.dispose()


def test_migrations_without_pg_trgm_say_so_and_finish(database_without_extension_rights):
    env = dict(os.environ, DATABASE_URL=database_without_extension_rights, SECRET_KEY="t")
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "crm", "init-db"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "pg_trgm not available: substring search will scan" in result.stdout + result.stderr
    engine = create_engine(make_url(database_without_extension_rights))
    with engine.connect() as conn:
        names = {ix["name"] for ix in inspect(conn).get_indexes("partner")}
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    assert "ix_partner_search_trgm" not in names
    assert version >= "0008_pg_trgm"
