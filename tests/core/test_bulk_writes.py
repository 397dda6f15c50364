"""The bulk-write helpers of crm.core.db: insert_rows (COPY on PostgreSQL, executemany
elsewhere) stores what an ORM insert would — the model's defaults, JSON, the ids it reports —
and a key taken by another row fails as a key race; analyze_as_it_grows refreshes
PostgreSQL's statistics inside the writing transaction at the doubling points only."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from crm.core.db import analyze_as_it_grows, insert_rows
from crm.core.keys import is_key_race
from crm.core.models import AuditEntry
from crm.extensions import db
from crm.partners.models import Partner


def _partner(code: str) -> dict:
    return {"code": code, "name": f"Партнёр {code}"}


def test_insert_rows_fills_the_defaults_and_reports_the_ids(app):
    ids = insert_rows(Partner.__table__, [_partner("K-1"), _partner("K-2")], key=("code",))
    db.session.commit()

    stored = {p.code: p for p in db.session.execute(select(Partner)).scalars()}
    assert set(ids) == {("K-1",), ("K-2",)}
    assert {code: stored[code].id for (code,) in ids} == {k[0]: v for k, v in ids.items()}
    p = stored["K-1"]
    assert (p.name, p.kind, p.is_client, p.is_supplier, p.notes, p.version) == (
        "Партнёр K-1", "company", True, False, "", 1
    )  # fmt: skip
    assert (p.do_not_email, p.merged_into_id, p.search_text) == (False, None, "")
    assert p.created_at is not None and p.updated_at is not None


def test_insert_rows_stores_json_and_needs_no_key(app):
    (pid,) = insert_rows(Partner.__table__, [_partner("K-1")], key=("code",)).values()
    changes = {"name": [None, "Партнёр K-1"], "created_on": [None, "2024-06-01"]}
    row = {
        "user_id": None,
        "action": "create",
        "object_type": "partner",
        "object_id": pid,
        "root_type": "partner",
        "root_id": pid,
        "changes": changes,
    }
    assert insert_rows(AuditEntry.__table__, [row]) == {}
    db.session.commit()

    entry = db.session.execute(select(AuditEntry)).scalar_one()
    assert (entry.object_id, entry.summary, entry.changes, entry.object_version) == (
        pid, "", changes, None
    )  # fmt: skip
    assert entry.at is not None


def test_a_taken_key_is_a_key_race(app):
    insert_rows(Partner.__table__, [_partner("K-1")], key=("code",))
    db.session.commit()
    with pytest.raises(IntegrityError) as caught:
        insert_rows(Partner.__table__, [_partner("K-2"), _partner("K-1")], key=("code",))
    assert is_key_race(caught.value)
    db.session.rollback()
    assert db.session.execute(select(Partner.code)).scalars().all() == ["K-1"]


def _reltuples() -> float:
    return db.session.execute(
        text("SELECT reltuples FROM pg_class WHERE relname = 'partner'")
    ).scalar_one()


def test_statistics_are_refreshed_as_the_write_doubles(app):
    conn = db.session.connection()
    state: dict = {}
    if conn.dialect.name != "postgresql":
        analyze_as_it_grows(conn, Partner.__table__, 6000, state)
        assert state == {}  # SQLite plans without statistics: nothing to do
        return
    before = _reltuples()
    written = 0
    seen = []
    for _ in range(7):  # 2,000 rows a batch, as an import writes them
        batch = [_partner(f"G-{written + i}") for i in range(2000)]
        insert_rows(Partner.__table__, batch)
        written += len(batch)
        analyze_as_it_grows(conn, Partner.__table__, len(batch), state)
        seen.append(_reltuples())
    # Refreshed at 6,000 rows (the first 5,000 or more) and at 12,000 (doubled), not between;
    # ANALYZE counts the transaction's own rows.
    assert seen == [before, before, 6000, 6000, 6000, 12000, 12000]
    assert state == {"added": 14000, "at": 12000}
    db.session.rollback()
