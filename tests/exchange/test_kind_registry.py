"""A domain adds an import kind in one file plus its registration, and the engine (reading,
checks, reports, rejected rows, the web pages, the CLI) serves it without knowing it. Here a
throw-away kind, notes by code with a topic, written into a table of its own."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import Column, Date, MetaData, String, Table, select

from crm.exchange import values
from crm.exchange.importer import Report, run_import
from crm.exchange.kind import (
    BAD_VALUE,
    DUPLICATE_KEY,
    REQUIRED,
    UNKNOWN,
    Col,
    Kind,
    Lookup,
    RowError,
    unknown,
)
from crm.exchange.registry import KINDS, kind_named, kinds_copy, register_kind
from crm.extensions import db
from tests.exchange.helpers import csv_bytes, read_csv, write_file

# --- the domain's one file: its table, its lookup, its kind ---------------------------------

meta = MetaData()
notes = Table(
    "test_kind_note",
    meta,
    Column("code", String(16), primary_key=True),
    Column("topic_id", String(16)),
    Column("text", String(200)),
    Column("written_on", Date),
)
TOPICS = Lookup("topics", lambda wanted: {"sales": "T1", "support": "T2"}, field="topic")


class NotesKind(Kind):
    name = "notes"
    order = 999
    columns = (
        Col("code", True, max_len=16),
        Col("topic", True),
        Col("text", True, max_len=200),
        Col("when", parse=values.day),
    )
    key = ("code",)
    lookups = (TOPICS,)

    def check(self, row_no, rec, ctx):
        return unknown(row_no, rec, ctx, "topic", "topics", "topic")

    def comparable(self, rec, ctx):
        return (ctx["topics"][rec["topic"]], rec["text"], rec["when"])

    def existing(self, recs, ctx):
        rows = db.session.execute(
            select(notes.c.code, notes.c.topic_id, notes.c.text, notes.c.written_on).where(
                notes.c.code.in_([r["code"] for r in recs])
            )
        ).all()
        return {(code,): tuple(rest) for code, *rest in rows}

    def write(self, recs, ctx, actor):
        for r in recs:
            row = {
                "topic_id": ctx["topics"][r["topic"]],
                "text": r["text"],
                "written_on": r["when"],
            }
            done = db.session.execute(notes.update().where(notes.c.code == r["code"]), row)
            if done.rowcount == 0:
                db.session.execute(notes.insert(), {"code": r["code"], **row})


# --- the tests ------------------------------------------------------------------------------

HEADER = ["code", "topic", "text", "when"]
ROWS = [
    HEADER,
    ["N-1", "sales", "first", "2024-05-01"],  # row 2: fine
    ["N-2", "support", "", ""],  # row 3: no text
    ["N-3", "gossip", "x", ""],  # row 4: no such topic
    ["N-1", "sales", "again", ""],  # row 5: N-1 again
    ["N-4", "sales", "fourth", "2024-13-01"],  # row 6: no 13th month
]
# Where each problem is and what kind of problem it is.
EXPECTED = [
    (3, "text", REQUIRED),
    (4, "topic", UNKNOWN),
    (5, "code", DUPLICATE_KEY),
    (6, "when", BAD_VALUE),
]


@pytest.fixture
def notes_kind(app, monkeypatch):
    """The kind registered in the app (for this test only) and its table created."""
    monkeypatch.setitem(app.extensions, KINDS.name, kinds_copy(app))
    register_kind(app, NotesKind())
    meta.create_all(db.engine)
    yield kind_named("notes")
    db.session.rollback()
    meta.drop_all(db.engine)


def _stored() -> list[tuple]:
    db.session.expire_all()
    return [tuple(r) for r in db.session.execute(select(notes).order_by(notes.c.code)).all()]


def test_a_registered_kind_is_checked_with_structured_errors_and_refused_whole(
    app, notes_kind, tmp_path
):
    report = run_import(write_file(tmp_path, ROWS), "notes")

    assert not report.done and report.file_errors == []
    assert (report.rows, report.new, report.rejected) == (5, 1, 4)
    assert [(e.row, e.column, e.code) for e in report.errors] == EXPECTED
    assert [e.message for e in report.errors[:3]] == [
        "is required",
        "unknown topic 'gossip'",
        "the same key (code) is on an earlier row of the file",
    ]
    assert "2024-13-01" in report.errors[3].message
    assert _stored() == []


def test_the_cli_imports_the_valid_rows_of_a_registered_kind(app, notes_kind, runner, tmp_path):
    path = write_file(tmp_path, ROWS)

    result = runner.invoke(args=["crm", "import", "notes", str(path), "--valid-only"])

    assert result.exit_code == 0, result.output
    assert result.stdout == "Imported notes: 5 rows: 1 new, 0 updated, 0 unchanged, 4 rejected.\n"
    assert "row 3, column text: is required\n" in result.stderr
    assert "row 4, column topic: unknown topic 'gossip'\n" in result.stderr
    assert _stored() == [("N-1", "T1", "first", values.day("2024-05-01"))]

    again = runner.invoke(args=["crm", "import", "notes", str(path), "--valid-only"])
    assert again.stdout == "Imported notes: 5 rows: 0 new, 0 updated, 1 unchanged, 4 rejected.\n"


def test_the_pages_preview_reject_and_import_a_registered_kind(app, notes_kind, client, login_as):
    login_as("admin")
    index = client.get("/exchange/").get_data(as_text=True)
    assert '<option value="notes"' in index
    assert "/exchange/export/notes." not in index  # the kind exports nothing
    assert client.get("/exchange/export/notes.csv").status_code == 404

    data = csv_bytes(ROWS)
    answer = client.post(
        "/exchange/upload",
        data={"kind": "notes", "file": (io.BytesIO(data), "notes.csv")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Row 3, column text: is required" in page
    assert "Row 4, column topic: unknown topic &#39;gossip&#39;" in page

    rejected = read_csv(client.get(answer.headers["Location"] + "/rejected.csv").data)
    assert rejected[0] == ["row", *HEADER, "errors"]
    assert rejected[1] == ["3", "N-2", "support", "", "", "text: is required"]
    assert [r[0] for r in rejected[1:]] == ["3", "4", "5", "6"]

    client.post(answer.headers["Location"] + "/confirm", data={"valid_only": "1"})
    assert _stored() == [("N-1", "T1", "first", values.day("2024-05-01"))]


def test_a_kind_name_is_registered_once(app, notes_kind):
    with pytest.raises(ValueError, match="notes"):
        register_kind(app, NotesKind())


def test_a_report_stored_before_errors_had_codes_still_reads(app):
    stored = {"kind": "sales", "filename": "s.csv", "errors": ["row 7, column sku: unknown x"]}

    report = Report.from_dict(stored)

    assert report.errors == [RowError(7, "sku", "", "unknown x")]
    assert report.error_lines == ["row 7, column sku: unknown x"]
