"""Migration 0006 on a database that has namesake contact persons (as concurrent imports left
them): they are merged into the oldest, nothing pointing at them is lost, and the unique key
holds afterwards. On SQLite and PostgreSQL, run as an operator would (`flask db upgrade`)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    create_engine,
    insert,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from tests.helpers import empty_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    with empty_database(request.param, tmp_path, "keys_migration") as url:
        yield url


def _flask_db_upgrade(url: str, revision: str) -> str:
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
    return result.stdout + result.stderr


def _add(conn, meta, table: str, **values) -> None:
    """A row with the given values; other required columns get a plain filler value."""
    t = meta.tables[table]
    for col in t.columns:
        if col.name in values or col.nullable or col.primary_key:
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


def test_upgrade_merges_namesake_contact_persons_and_adds_the_key(database_url):
    _flask_db_upgrade(database_url, "0003_interactions")
    engine = create_engine(database_url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        _add(conn, meta, "user", id=1, email="boss@example.test")
        _add(conn, meta, "partner", id=1, code="P1", name="Acme", kind="company")
        # 1 and 2 are one person by the app's folding (ё = е, case); the import stored 2.
        _add(
            conn,
            meta,
            "contact_person",
            id=1,
            partner_id=1,
            name="Семён Петров",
            name_norm="семён петров",
        )
        _add(
            conn,
            meta,
            "contact_person",
            id=2,
            partner_id=1,
            name="семен петров",
            name_norm="семен петров",
            position="Директор",
        )
        _add(conn, meta, "contact_person", id=3, partner_id=1, name="Анна", name_norm="анна")
        _add(
            conn,
            meta,
            "contact_detail",
            id=1,
            contact_person_id=1,
            kind="email",
            value="s@acme.test",
            value_norm="s@acme.test",
            is_main=True,
        )
        _add(
            conn,
            meta,
            "contact_detail",
            id=2,
            contact_person_id=2,
            kind="email",
            value="S@acme.test",
            value_norm="s@acme.test",
            is_main=True,
        )
        _add(
            conn,
            meta,
            "contact_detail",
            id=3,
            contact_person_id=2,
            kind="phone",
            value="+79120000001",
            value_norm="+79120000001",
            is_main=True,
        )
        _add(
            conn,
            meta,
            "interaction",
            id=1,
            kind="call",
            responsible_id=1,
            partner_id=1,
            contact_person_id=2,
        )
        _add(conn, meta, "interaction_participant", id=1, interaction_id=1, contact_person_id=2)

    output = _flask_db_upgrade(database_url, "head")

    assert "contact persons 2 of partner 1 (name 'семен петров') merged into contact person 1" in (
        output
    )
    meta = MetaData()
    meta.reflect(engine)
    person, detail = meta.tables["contact_person"], meta.tables["contact_detail"]
    with engine.connect() as conn:
        persons = conn.execute(
            select(person.c.id, person.c.name, person.c.name_norm, person.c.position).order_by(
                person.c.id
            )
        ).all()
        details = conn.execute(
            select(
                detail.c.contact_person_id, detail.c.kind, detail.c.value, detail.c.is_main
            ).order_by(detail.c.id)
        ).all()
        links = conn.execute(
            text(
                "SELECT (SELECT contact_person_id FROM interaction WHERE id = 1), "
                "(SELECT contact_person_id FROM interaction_participant WHERE id = 1)"
            )
        ).one()
    assert persons == [
        (1, "Семён Петров", "семен петров", "Директор"),
        (3, "Анна", "анна", ""),
    ]
    assert details == [(1, "email", "s@acme.test", True), (1, "phone", "+79120000001", True)]
    assert tuple(links) == (1, 1)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _add(conn, meta, "contact_person", partner_id=1, name="АННА", name_norm="анна")
    engine.dispose()
