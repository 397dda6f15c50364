"""A partners import writes in bulk: the number of statements does not grow with the rows
(a first import INSERTs its partners, details and audit entries a batch at a time; a
re-import of an unchanged file writes nothing), and a bulk-created partner is the one the
partner card would have made: normalised columns, main details, its audit entry."""

from __future__ import annotations

from contextlib import contextmanager

import psycopg
from sqlalchemy import event, select

from crm.core.models import AuditEntry
from crm.exchange.importer import run_import
from crm.extensions import db
from crm.partners.models import ContactDetail, Partner
from tests.exchange.helpers import TODAY, write_file

HEADER = ["code", "name", "kind", "roles", "inn", "email", "phone", "city", "manager"]


def _rows(n: int) -> list[list[str]]:
    return [HEADER] + [
        [f"B-{i:04d}", f"ООО «Бета {i}»", "company", "client", "", f"b{i}@beta.ru",
         f"+7 495 123-{i // 100:02d}-{i % 100:02d}", "Тула", "boss@beta.ru"]
        for i in range(n)
    ]  # fmt: skip


def _names_user(statement: str) -> bool:
    return statement.split("(", 1)[0].split()[-1].strip('"') == "user"


@contextmanager
def _writes():
    """The INSERT/UPDATE/DELETE/COPY statements sent to the database inside the block (but
    the one that creates the file's manager, new in the first import only). COPY (the bulk
    insert on PostgreSQL) goes to psycopg's cursor directly, past SQLAlchemy's events: it is
    seen by wrapping psycopg's Cursor.copy, which still runs."""
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE") and not _names_user(statement):
            seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    original = psycopg.Cursor.copy

    def copy(self, statement, *args, **kwargs):
        seen.append(str(statement))
        return original(self, statement, *args, **kwargs)

    psycopg.Cursor.copy = copy
    try:
        yield seen
    finally:
        psycopg.Cursor.copy = original
        event.remove(engine, "before_cursor_execute", before)


def _import(path):
    report = run_import(path, "partners", today=TODAY)
    assert report.errors == [] and report.file_errors == [], report
    return report


def test_the_statements_of_a_first_import_do_not_grow_with_its_rows(app, tmp_path):
    with _writes() as small:
        _import(write_file(tmp_path, _rows(30), name="small.csv"))
    db.session.execute(db.delete(AuditEntry))
    db.session.execute(db.delete(ContactDetail))
    db.session.execute(db.delete(Partner))
    db.session.commit()
    with _writes() as big:
        report = _import(write_file(tmp_path, _rows(120), name="big.csv"))

    assert report.new == 120
    inserts = [s for s in big if s.lstrip().upper().startswith(("INSERT", "COPY"))]
    assert len(big) == len(small), (len(small), len(big))
    assert len(inserts) == 3, inserts  # partners, their details, their audit entries
    verb = "COPY" if db.engine.dialect.name == "postgresql" else "INSERT"
    assert all(s.lstrip().upper().startswith(verb) for s in inserts), inserts


def test_reimporting_an_unchanged_file_writes_nothing(app, tmp_path):
    path = write_file(tmp_path, _rows(40))
    _import(path)
    with _writes() as seen:
        report = _import(path)
    assert (report.new, report.updated, report.unchanged) == (0, 0, 40)
    assert [s for s in seen if "ANALYZE" not in s.upper()] == []


def test_a_bulk_created_partner_is_complete(app, tmp_path):
    _import(write_file(tmp_path, _rows(1)))

    p = db.session.execute(select(Partner).where(Partner.code == "B-0000")).scalar_one()
    assert (p.name, p.kind, p.roles, p.city, p.inn, p.version) == (
        "ООО «Бета 0»", "company", ["client"], "Тула", "", 1
    )  # fmt: skip
    assert (p.name_norm, p.name_key, p.city_norm) == ("ооо «бета 0»", "бета 0", "тула")
    assert p.search_text == "ооо «бета 0» | b-0000 | b0@beta.ru | 74951230000"
    details = [(d.kind, d.value, d.value_norm, d.is_main) for d in p.contact_details]
    assert details == [
        ("email", "b0@beta.ru", "b0@beta.ru", True),
        ("phone", "+7 495 123-00-00", "+74951230000", True),
    ]
    assert p.responsible is not None and p.responsible.email == "boss@beta.ru"
    (entry,) = db.session.execute(
        select(AuditEntry).where(AuditEntry.object_type == "partner", AuditEntry.object_id == p.id)
    ).scalars()
    assert (entry.action, entry.summary, entry.root_id, entry.object_version) == (
        "create", "created by import", p.id, 1
    )  # fmt: skip
    assert entry.changes == {
        "name": [None, "ООО «Бета 0»"],
        "kind": [None, "company"],
        "roles": [None, "client"],
        "inn": [None, ""],
        "city": [None, "Тула"],
        "email": [None, "b0@beta.ru"],
        "phone": [None, "+7 495 123-00-00"],
        "responsible_id": [None, p.responsible_id],
        "created_on": [None, TODAY.isoformat()],
    }
