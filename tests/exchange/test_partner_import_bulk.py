"""A partners import writes in bulk: the number of statements does not grow with the rows
(a first import INSERTs its partners, details and audit entries a batch at a time; a
re-import of an unchanged file writes nothing), and a bulk-created partner is the one the
partner card would have made: normalised columns, main details, its audit entry."""

from __future__ import annotations

from sqlalchemy import select

from crm.core.models import AuditEntry
from crm.exchange.importer import run_import
from crm.extensions import db
from crm.partners.models import ContactDetail, Partner
from tests.exchange.helpers import TODAY, write_file, writes

HEADER = ["code", "name", "kind", "roles", "inn", "email", "phone", "city", "manager"]


def _rows(n: int) -> list[list[str]]:
    return [HEADER] + [
        [f"B-{i:04d}", f"ООО «Бета {i}»", "company", "client", "", f"b{i}@beta.ru",
         f"+7 495 123-{i // 100:02d}-{i % 100:02d}", "Тула", "boss@beta.ru"]
        for i in range(n)
    ]  # fmt: skip


def _import(path):
    report = run_import(path, "partners", today=TODAY)
    assert report.errors == [] and report.file_errors == [], report
    return report


def test_the_statements_of_a_first_import_do_not_grow_with_its_rows(app, tmp_path):
    with writes() as small:
        _import(write_file(tmp_path, _rows(30), name="small.csv"))
    db.session.execute(db.delete(AuditEntry))
    db.session.execute(db.delete(ContactDetail))
    db.session.execute(db.delete(Partner))
    db.session.commit()
    with writes() as big:
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
    with writes() as seen:
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


def _entries(code: str) -> list[tuple]:
    pid = db.session.execute(select(Partner.id).where(Partner.code == code)).scalar_one()
    return [
        (e.action, e.summary, e.object_version, e.changes)
        for e in db.session.execute(
            select(AuditEntry)
            .where(AuditEntry.object_type == "partner", AuditEntry.object_id == pid)
            .order_by(AuditEntry.id)
        ).scalars()
    ]


def _details(code: str) -> list[tuple]:
    p = db.session.execute(select(Partner).where(Partner.code == code)).scalar_one()
    return [(d.kind, d.value, d.is_main) for d in p.contact_details]


def test_a_second_import_with_changed_new_and_rejected_rows(app, tmp_path):
    """New partners go the bulk way, changed ones the per-row way, in one file with rejected
    rows: each stored as the partner card would store it, each row's error by row/column/code."""
    _import(write_file(tmp_path, _rows(3), name="first.csv"))
    second = [
        HEADER + ["created_on"],
        ["B-0000", "ООО «Бета Плюс»", "company", "client", "", "new@beta.ru",
         "+7 495 123-00-00", "Тула", "boss@beta.ru", ""],
        ["B-0001", "ООО «Бета 1»", "company", "client", "", "b1@beta.ru",
         "+7 495 123-00-01", "Тула", "boss@beta.ru", ""],
        ["B-0100", "ИП Новиков", "person", "client;supplier", "", "", "", "", "", "2023-02-01"],
        ["B-0002", "ООО «Бета 2»", "company", "client", "", "bad@", "", "Тула", "", ""],
        ["B-0001", "ООО «Бета 1»", "company", "client", "", "", "", "", "", ""],
    ]  # fmt: skip
    report = run_import(
        write_file(tmp_path, second, name="second.csv"), "partners", today=TODAY, valid_only=True
    )

    assert (report.new, report.updated, report.unchanged, report.rejected) == (1, 1, 1, 2)
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (5, "email", "invalid"),
        (6, "code", "duplicate_key"),
    ]
    # changed: the new e-mail is main, the old one stays; one update entry with the diff
    assert _details("B-0000") == [
        ("email", "new@beta.ru", True),
        ("email", "b0@beta.ru", False),
        ("phone", "+7 495 123-00-00", True),
    ]
    assert _entries("B-0000")[1:] == [
        ("update", "updated by import", 2,
         {"name": ["ООО «Бета 0»", "ООО «Бета Плюс»"], "email": ["b0@beta.ru", "new@beta.ru"]}),
    ]  # fmt: skip
    new = db.session.execute(select(Partner).where(Partner.code == "B-0100")).scalar_one()
    assert (new.name, new.kind, new.roles, new.city, new.responsible_id, new.version) == (
        "ИП Новиков", "person", ["client", "supplier"], "", None, 1
    )  # fmt: skip
    assert (new.name_norm, new.search_text, new.created_on.isoformat()) == (
        "ип новиков", "ип новиков | b-0100", "2023-02-01"
    )  # fmt: skip
    assert _details("B-0100") == []
    assert _entries("B-0100") == [
        ("create", "created by import", 1,
         {"name": [None, "ИП Новиков"], "kind": [None, "person"],
          "roles": [None, "client, supplier"], "inn": [None, ""], "city": [None, ""],
          "created_on": [None, "2023-02-01"]}),
    ]  # fmt: skip
    # untouched: the unchanged row and the rejected one
    assert len(_entries("B-0001")) == len(_entries("B-0002")) == 1
    assert _details("B-0002")[0] == ("email", "b2@beta.ru", True)
