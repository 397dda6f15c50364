"""The import pages (admins only): upload → validation preview with counts and errors →
confirm → done; the valid-rows-only path; the rejected rows as CSV; export downloads. Jobs run
inline here, and on a real RQ worker process at the end."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.core.models import JobRun
from crm.exchange.importer import run_import
from crm.exchange.models import ImportFile
from crm.extensions import db
from crm.partners.models import Partner
from tests.core.helpers import run_worker
from tests.exchange import samples
from tests.exchange.helpers import (
    HX,
    TODAY,
    add_products,
    count,
    csv_bytes,
    documents,
    dump,
    read_csv,
    read_xlsx,
    write_file,
)
from tests.exchange.samples import BAD_SALES, BAD_SALES_ERRORS

_SUMMARY = re.compile(r'<dt class="[^"]*">(\w+)</dt><dd class="[^"]*">([\d,]+)</dd>')


def _text(response) -> str:
    return response.get_data(as_text=True)


def _words(page: str) -> str:
    """The page's text with HTML entities read and runs of white space made one space."""
    return re.sub(r"\s+", " ", html.unescape(page))


def _upload(client, kind, data: bytes, filename: str):
    return client.post(
        "/exchange/upload",
        data={"kind": kind, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def _last_import() -> ImportFile:
    db.session.expire_all()
    return db.session.execute(select(ImportFile).order_by(ImportFile.id.desc())).scalars().first()


def _summary(page: str) -> dict[str, int]:
    return {k: int(v.replace(",", "")) for k, v in _SUMMARY.findall(page)}


def _errors(page: str) -> list[str]:
    block = re.search(r'<ul class="small" id="import-errors">(.*?)</ul>', page, re.S)
    return (
        [html.unescape(e) for e in re.findall(r"<li>(.*?)</li>", block.group(1))] if block else []
    )


def _flash(page: str) -> str:
    return html.unescape(re.search(r'<div id="flash-area".*?</div>\s*</div>', page, re.S).group(0))


# --- access ----------------------------------------------------------------------------

PAGES = [
    ("get", "/exchange/"),
    ("post", "/exchange/upload"),
    ("get", "/exchange/1"),
    ("post", "/exchange/1/confirm"),
    ("get", "/exchange/1/rejected.csv"),
    ("get", "/exchange/export/partners.csv"),
    ("get", "/exchange/export/sales.xlsx"),
]


@pytest.mark.parametrize("role", ["manager", "marketer", "viewer"])
def test_only_admins_reach_the_exchange_pages(app, client, login_as, role):
    login_as(role)

    statuses = {url: getattr(client, method)(url).status_code for method, url in PAGES}

    assert statuses == {url: 403 for _, url in PAGES}
    assert count(ImportFile) == 0


def test_signed_out_visitors_are_sent_to_sign_in(app, client):
    for method, url in PAGES:
        response = getattr(client, method)(url)
        if method == "get":
            assert response.status_code == 302 and "/auth/login" in response.location, url
        else:
            assert response.status_code == 401, url


# --- upload → preview → confirm --------------------------------------------------------


def test_upload_preview_confirm_done(app, client, login_as):
    login_as("admin")
    data = csv_bytes(samples.PARTNERS, sep=";", bom=True)

    response = _upload(client, "partners", data, "partners.csv")

    imp = _last_import()
    assert response.status_code == 302
    assert response.location.endswith(f"/exchange/{imp.id}")
    assert (imp.kind, imp.filename, imp.status, imp.size) == (
        "partners",
        "partners.csv",
        "validated",
        len(data),
    )
    assert count(Partner) == 0  # validated only
    page = _text(client.get(f"/exchange/{imp.id}"))
    assert _summary(page) == {"Rows": 3, "New": 3, "Changed": 0, "Unchanged": 0, "Rejected": 0}
    assert _errors(page) == []
    assert "Unknown column ignored: note." in page
    assert "Import 3 rows</button>" in page and "valid rows only" not in page

    response = client.post(f"/exchange/{imp.id}/confirm")

    assert response.status_code == 302 and response.location.endswith(f"/exchange/{imp.id}")
    assert _last_import().status == "done"
    page = _text(client.get(f"/exchange/{imp.id}"))
    assert "Imported 3 rows. New: 3, changed: 0, unchanged: 0." in _words(page)
    assert "Import 3 rows</button>" not in page
    names = db.session.execute(select(Partner.code, Partner.name).order_by(Partner.code)).all()
    assert [tuple(n) for n in names] == [
        ("P-001", samples.TRICKY),
        ("P-002", "Иван Петров 😀"),
        ("P-003", "Acme"),
    ]
    # The same file again: the preview says nothing would change.
    _upload(client, "partners", data, "partners.csv")
    again = _text(client.get(f"/exchange/{_last_import().id}"))
    assert _summary(again) == {"Rows": 3, "New": 0, "Changed": 0, "Unchanged": 3, "Rejected": 0}


def test_the_status_fragment_is_not_a_whole_page(app, client, login_as):
    login_as("admin")
    _upload(client, "products", csv_bytes(samples.PRODUCTS), "products.csv")
    imp = _last_import()

    response = client.get(f"/exchange/{imp.id}", headers=HX)

    body = _text(response)
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="import-status"')
    assert _summary(body) == {"Rows": 4, "New": 4, "Changed": 0, "Unchanged": 0, "Rejected": 0}
    assert "HX-Request" in response.headers.get("Vary", "")


def test_an_xlsx_upload_is_read_from_its_first_sheet(app, client, login_as, tmp_path):
    login_as("admin")
    data = write_file(tmp_path, samples.STOCK, fmt="xlsx").read_bytes()
    add_products("SKU-1", "SKU-2")

    _upload(client, "stock", data, "Остатки.xlsx")
    imp = _last_import()
    client.post(f"/exchange/{imp.id}/confirm")

    assert _last_import().status == "done"
    assert _last_import().report["written"] == 3


def test_a_file_with_errors_imports_only_when_asked_for_the_valid_rows(
    app, client, login_as, ledger
):
    login_as("admin")
    before = dump()
    _upload(client, "sales", csv_bytes(BAD_SALES), "bad-sales.csv")
    imp = _last_import()

    page = _text(client.get(f"/exchange/{imp.id}"))

    assert imp.status == "validated"
    assert _summary(page) == {"Rows": 9, "New": 1, "Changed": 0, "Unchanged": 0, "Rejected": 8}
    # The page writes the spec's "row N, column C: …" as a sentence: "Row N, column C: …".
    assert _errors(page) == ["R" + e[1:] for e in BAD_SALES_ERRORS]
    assert "Import the 1 valid row only</button>" in page
    assert 'name="valid_only" value="1"' in page and "Import 9 rows" not in page

    # Confirming without asking for the valid rows only is refused.
    refused = client.post(f"/exchange/{imp.id}/confirm", follow_redirects=True)

    assert "The file has errors: fix them, or import the valid rows only." in _flash(_text(refused))
    assert _last_import().status == "validated"
    assert dump() == before

    client.post(f"/exchange/{imp.id}/confirm", data={"valid_only": "1"})

    assert (_last_import().status, _last_import().valid_only) == ("done", True)
    assert [doc[0] for doc in documents()] == ["D-1", "OLD-1"]
    done = _text(client.get(f"/exchange/{imp.id}"))
    assert (
        "Imported 1 row. New: 1, changed: 0, unchanged: 0. 8 rows with errors were skipped."
        in _words(done)
    )


def test_the_rejected_rows_download_holds_the_bad_rows_and_their_errors(
    app, client, login_as, ledger
):
    login_as("admin")
    _upload(client, "sales", csv_bytes(BAD_SALES, sep=";"), "bad-sales.csv")
    imp = _last_import()
    assert f"/exchange/{imp.id}/rejected.csv" in _text(client.get(f"/exchange/{imp.id}"))

    response = client.get(f"/exchange/{imp.id}/rejected.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=bad-sales-rejected.csv"
    rows = read_csv(response.data)
    assert rows[0] == ["row", *samples.SALES_LINE_HEADER, "errors"]
    assert [r[:-1] for r in rows[1:]] == [[str(n), *BAD_SALES[n - 1]] for n in range(3, 11)]
    assert [r[-1] for r in rows[1:]] == [
        "partner_code: unknown partner 'NOPE'",
        "sku: unknown product 'NOSKU'",
        "date: '31.02.2024' is not a real date",
        "date: 'yesterday' is not a date (use YYYY-MM-DD or DD.MM.YYYY)",
        "amount: '12abc' is not a number",
        "doc_no: the same key (doc_no, line_no) is on an earlier row of the file",
        "date: differs from row 2 of document D-1; partner_code: differs from row 2 of document D-1",
        "quantity: is required",
    ]


def test_a_file_level_error_is_shown_and_cannot_be_confirmed(app, client, login_as, ledger):
    login_as("admin")
    before = dump()
    _upload(client, "partners", b"code;city\r\nP-1;Tver\r\n", "partners.csv")
    imp = _last_import()

    page = _text(client.get(f"/exchange/{imp.id}"))
    refused = _text(client.post(f"/exchange/{imp.id}/confirm", follow_redirects=True))

    assert imp.status == "rejected"
    assert "Missing required column: name." in page
    assert "/confirm" not in page
    assert "This file cannot be imported now." in _flash(refused)
    assert dump() == before


def test_an_import_that_crashes_half_way_is_shown_as_failed_and_writes_nothing(
    app, client, login_as, ledger, monkeypatch, caplog
):
    import crm.exchange.importer as importer
    from crm.exchange.registry import kind_named

    login_as("admin")
    monkeypatch.setattr(importer, "BATCH", 2)
    real_write, calls = kind_named("partners").write, []

    def write_then_crash(recs, ctx, actor):
        calls.append(len(recs))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        real_write(recs, ctx, actor)

    monkeypatch.setattr(kind_named("partners"), "write", write_then_crash)
    _upload(client, "partners", csv_bytes(samples.PARTNERS), "partners.csv")
    imp = _last_import()
    before = dump()

    response = client.post(f"/exchange/{imp.id}/confirm")

    assert response.status_code == 302
    assert calls == [2, 1]
    assert _last_import().status == "failed"
    run_id = _last_import().job_run_id
    page = _words(_text(client.get(f"/exchange/{imp.id}")))
    # A plain message for the admin; the exception only in the log, under the same reference.
    assert (
        f"The job failed because of an internal error; nothing was written. "
        f"The error is logged (reference #{run_id})."
    ) in page
    assert "disk full" not in page and "RuntimeError" not in page
    assert f"job run {run_id} " in caplog.text and "RuntimeError: disk full" in caplog.text
    assert dump() == before
    assert count(Partner) == 2  # the ledger's two, none of the file's

    # The admin can confirm it again; this time it goes through.
    assert "Import 3 rows" in page
    monkeypatch.setattr(kind_named("partners"), "write", real_write)
    client.post(f"/exchange/{imp.id}/confirm")
    assert _last_import().status == "done"
    assert count(Partner) == 3  # P-001 and P-002 of the ledger updated, P-003 new


@pytest.mark.parametrize(
    ("kind", "data", "filename", "message"),
    [
        (
            "partners",
            bytes(range(256)) * 4,
            "partners.csv",
            "This is not a text CSV file (it contains binary data).",
        ),
        (
            "partners",
            b"code,name\r\nP-1,A\r\n",
            "partners.xlsx",
            "The file is named .xlsx but is not an Excel workbook.",
        ),
        ("partners", b"", "partners.csv", "The file is empty."),
        (
            "partners",
            "code;name\r\nP-1;Ромашка\r\n".encode() + b"P-2;\xd0\xee\r\n",
            "partners.csv",
            "Line 3 is not UTF-8 text, though the lines before it are. "
            "Save the file as 'CSV UTF-8' (or as XLSX) and try again.",
        ),
        ("partners", b"%PDF-1.4", "partners.pdf", "Upload a .csv or .xlsx file."),
        (
            "",
            b"code,name\r\nP-1,A\r\n",
            "partners.csv",
            "Choose what the file holds (partners, sales, …).",
        ),
    ],
)
def test_a_bad_upload_is_refused_on_the_form(app, client, login_as, kind, data, filename, message):
    login_as("admin")
    uploads = Path(app.config["UPLOAD_FOLDER"])
    stored = set(uploads.iterdir()) if uploads.exists() else set()

    response = _upload(client, kind, data, filename)

    assert response.status_code == 422
    error = re.search(r'id="upload-error">(.*?)</div>', _text(response), re.S)
    assert html.unescape(error.group(1)) == message
    assert count(ImportFile) == 0 and count(JobRun) == 0
    assert (set(uploads.iterdir()) if uploads.exists() else set()) == stored  # nothing kept


def test_an_upload_over_the_size_limit_gets_a_413_page_with_the_limit(app, client, login_as):
    login_as("admin")
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    data = csv_bytes([["code", "name"]] + [[f"P-{i:06d}", "x" * 40] for i in range(25_000)])
    assert len(data) > 1024 * 1024

    response = _upload(client, "partners", data, "partners.csv")

    assert response.status_code == 413
    page = _text(response)
    assert "<html" in page and "The upload is larger than 1 MB." in page
    assert count(ImportFile) == 0 and count(Partner) == 0


# --- export ----------------------------------------------------------------------------


def test_export_buttons_give_the_same_rows_as_the_cli(app, client, login_as, runner, tmp_path):
    for kind in samples.KINDS:
        path = write_file(tmp_path, samples.ROWS[kind], name=f"{kind}.csv")
        assert run_import(path, kind, today=TODAY).done, kind
    login_as("admin")
    index = _text(client.get("/exchange/"))

    for kind in samples.KINDS:
        for fmt in ("csv", "xlsx"):
            url = f"/exchange/export/{kind}.{fmt}"
            assert f'href="{url}"' in index
            response = client.get(url)
            out = tmp_path / f"cli-{kind}.{fmt}"
            result = runner.invoke(args=["crm", "export", kind, "--format", fmt, "-o", str(out)])
            assert response.status_code == 200 and result.exit_code == 0, (kind, fmt)
            read = read_xlsx if fmt == "xlsx" else read_csv
            web_rows, cli_rows = read(response.data), read(out.read_bytes())
            assert web_rows == cli_rows, (kind, fmt)
            assert len(web_rows) == len(samples.ROWS[kind]), (kind, fmt)


# --- a real RQ worker --------------------------------------------------------------------


def _status(client, import_id) -> str:
    return _text(client.get(f"/exchange/{import_id}", headers=HX))


def test_upload_and_confirm_with_jobs_on_a_real_rq_worker(
    rq_app, client, login_as, monkeypatch, tmp_path
):
    # Web app and worker share the upload folder through UPLOAD_FOLDER (run_worker passes it).
    monkeypatch.setitem(rq_app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    login_as("admin")
    _upload(client, "partners", csv_bytes(samples.PARTNERS), "partners.csv")
    imp = _last_import()
    stored = tmp_path / "uploads" / imp.stored_name
    try:
        assert imp.status == "validating"
        first = _status(client, imp.id)
        assert "Checking the file" in first and 'hx-trigger="every 1s"' in first
        assert "<html" not in first

        result = run_worker(rq_app)

        assert result.returncode == 0, result.stdout + result.stderr
        assert _last_import().status == "validated"
        preview = _status(client, imp.id)
        assert _summary(preview) == {
            "Rows": 3,
            "New": 3,
            "Changed": 0,
            "Unchanged": 0,
            "Rejected": 0,
        }
        assert "every 1s" not in preview
        assert count(Partner) == 0

        client.post(f"/exchange/{imp.id}/confirm")

        assert _last_import().status == "importing"
        assert "Importing…" in _status(client, imp.id)
        assert count(Partner) == 0

        result = run_worker(rq_app)

        assert result.returncode == 0, result.stdout + result.stderr
        assert _last_import().status == "done"
        done = _words(_status(client, imp.id))
        assert "Imported 3 rows. New: 3, changed: 0, unchanged: 0." in done
        runs = db.session.execute(select(JobRun.name, JobRun.status).order_by(JobRun.id)).all()
        assert [tuple(r) for r in runs] == [
            ("crm.exchange.jobs.validate_import", "done"),
            ("crm.exchange.jobs.apply_import", "done"),
        ]
        codes = db.session.execute(select(Partner.code).order_by(Partner.code)).scalars().all()
        assert codes == ["P-001", "P-002", "P-003"]
    finally:
        stored.unlink(missing_ok=True)
        Path(f"{stored}.rejected.csv").unlink(missing_ok=True)
