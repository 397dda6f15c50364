"""Bad files and bad rows: each gives a clear message and writes nothing (or, when asked, only
the valid rows). Error lines read `row N, column C: …` with N as a spreadsheet shows it."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from sqlalchemy import select

import crm.exchange.importer as importer
from crm.exchange.importer import run_import
from crm.exchange.registry import kind_named
from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import Organization, Product, ProductGroup, SalesDocument, SalesLine
from tests.exchange.helpers import (
    TODAY,
    count,
    csv_bytes,
    d,
    documents,
    dump,
    lines,
    read_csv,
    write_file,
    xlsx_bytes,
)
from tests.exchange.samples import BAD_SALES, BAD_SALES_ERRORS, SALES_LINE_HEADER

ERROR_LINE = re.compile(r"^row \d+, column [\w-]+: .+")


def _refused(path, kind, **kw):
    """Import a bad file; assert nothing at all was written; return the report."""
    before = dump()
    report = run_import(path, kind, today=TODAY, **kw)
    assert not report.done and report.written == 0
    assert dump() == before
    return report


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_bad_row_is_reported_and_nothing_is_written(app, ledger, tmp_path, fmt):
    report = _refused(write_file(tmp_path, BAD_SALES, fmt=fmt), "sales")

    assert report.file_errors == []
    assert report.error_lines == BAD_SALES_ERRORS
    assert (report.rows, report.rejected, report.error_count, report.new) == (9, 8, 9, 1)
    assert all(ERROR_LINE.match(e) for e in report.error_lines)
    assert [doc[0] for doc in documents()] == ["OLD-1"]


def test_valid_rows_only_writes_exactly_the_valid_rows(app, ledger, tmp_path):
    report = run_import(write_file(tmp_path, BAD_SALES), "sales", today=TODAY, valid_only=True)

    assert report.done and report.written == 1
    assert report.error_lines == BAD_SALES_ERRORS
    assert [doc[0] for doc in documents()] == ["D-1", "OLD-1"]
    assert [ln[:2] + ln[4:5] for ln in lines()] == [("D-1", 1, "SKU-1"), ("OLD-1", 1, "SKU-1")]
    assert documents()[0][-1] == d("10")


def test_rejected_rows_file_holds_exactly_the_bad_rows_with_their_errors(app, ledger, tmp_path):
    rejects = tmp_path / "rejected.csv"

    report = run_import(write_file(tmp_path, BAD_SALES), "sales", today=TODAY, rejects_path=rejects)

    assert report.rejects_path == str(rejects)
    assert read_csv(rejects.read_bytes()) == [
        ["row", *SALES_LINE_HEADER, "errors"],
        ["3", *BAD_SALES[2], "partner_code: unknown partner 'NOPE'"],
        ["4", *BAD_SALES[3], "sku: unknown product 'NOSKU'"],
        ["5", *BAD_SALES[4], "date: '31.02.2024' is not a real date"],
        ["6", *BAD_SALES[5], "date: 'yesterday' is not a date (use YYYY-MM-DD or DD.MM.YYYY)"],
        ["7", *BAD_SALES[6], "amount: '12abc' is not a number"],
        [
            "8",
            *BAD_SALES[7],
            "doc_no: the same key (doc_no, line_no) is on an earlier row of the file",
        ],
        [
            "9",
            *BAD_SALES[8],
            "date: differs from row 2 of document D-1; "
            "partner_code: differs from row 2 of document D-1",
        ],
        ["10", *BAD_SALES[9], "quantity: is required"],
    ]


@pytest.mark.parametrize(
    ("kind", "rows", "errors"),
    [
        (
            "partners",
            [["code", "name"], ["P-9", "A"], ["P-9", "B"]],
            ["row 3, column code: the same key (code) is on an earlier row of the file"],
        ),
        (
            "contacts",
            [["partner_code", "name"], ["P-001", "Анна"], ["P-001", " Анна "], ["GHOST", "Анна"]],
            [
                "row 3, column partner_code: the same key (partner_code, name) is on an earlier row "
                "of the file",
                "row 4, column partner_code: unknown partner 'GHOST'",
            ],
        ),
        (
            "products",
            [
                ["sku", "name", "base_price"],
                ["S-9", "A", "1"],
                ["S-9", "A", "12abc"],
                ["S-9", "B", "2"],
            ],
            [
                "row 3, column base_price: '12abc' is not a number",
                "row 4, column sku: the same key (sku) is on an earlier row of the file",
            ],
        ),
        (
            "payments",
            [
                ["date", "partner_code", "amount"],
                ["2024-02-30", "P-001", "1"],
                ["2024-02-01", "NOPE", "1"],
                ["2024-02-01", "P-001", "1,2,3"],
            ],
            [
                "row 2, column date: '2024-02-30' is not a real date",
                "row 3, column partner_code: unknown partner 'NOPE'",
                "row 4, column amount: '1,2,3' is not a number",
            ],
        ),
        (
            "stock",
            [
                ["sku", "warehouse", "quantity", "value"],
                ["SKU-1", "W", "1", "1"],
                ["SKU-1", "W", "2", "2"],
                ["GHOST", "W", "1", "1"],
            ],
            [
                "row 3, column sku: the same key (sku, warehouse) is on an earlier row of the file",
                "row 4, column sku: unknown product 'GHOST'",
            ],
        ),
    ],
)
def test_bad_rows_of_every_kind(app, ledger, tmp_path, kind, rows, errors):
    report = _refused(write_file(tmp_path, rows), kind)

    assert report.error_lines == errors


@pytest.mark.parametrize(
    ("kind", "header", "missing"),
    [
        ("partners", ["code", "city"], "name"),
        ("contacts", ["name", "email"], "partner_code"),
        ("products", ["name"], "sku"),
        ("sales", ["doc_no", "date", "partner_code", "quantity"], "sku, amount"),
        ("payments", ["date", "amount", "doc_no"], "partner_code"),
        ("stock", ["sku", "warehouse", "quantity"], "value"),
    ],
)
def test_a_missing_required_column_rejects_the_file(app, ledger, tmp_path, kind, header, missing):
    rows = [header, ["x"] * len(header)]

    report = _refused(write_file(tmp_path, rows), kind)

    columns = ", ".join(kind_named(kind).column_names)
    noun = "columns" if "," in missing else "column"
    assert report.file_errors == [
        f"Missing required {noun}: {missing}. The first row must name the columns: {columns}."
    ]
    assert report.errors == [] and report.rows == 0


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    return buf.getvalue()


NOT_UTF8_LINE = "Save the file as 'CSV UTF-8' (or as XLSX) and try again."
BAD_FILES = {
    "empty": ("data.csv", b"", "The file is empty."),
    "blank lines only": ("data.csv", b"\r\n \r\n", "The file is empty."),
    "header only": ("data.csv", b"code,name\r\n", "The file has a header but no rows."),
    "header only xlsx": (
        "data.xlsx",
        xlsx_bytes([["code", "name"]]),
        "The file has a header but no rows.",
    ),
    "empty xlsx": ("data.xlsx", xlsx_bytes([]), "The first sheet of the workbook is empty."),
    "binary named .csv": (
        "data.csv",
        bytes(range(256)) * 8,
        "This is not a text CSV file (it contains binary data).",
    ),
    "zip named .csv": (
        "data.csv",
        _zip_bytes(),
        "This is an Excel workbook or a ZIP archive, not a CSV file. Name it "
        ".xlsx, or save it as 'CSV UTF-8'.",
    ),
    "xlsx named .csv": (
        "data.csv",
        xlsx_bytes([["code", "name"], ["P-1", "A"]]),
        "This is an Excel workbook or a ZIP archive, not a CSV file. Name it "
        ".xlsx, or save it as 'CSV UTF-8'.",
    ),
    "text named .xlsx": (
        "data.xlsx",
        b"code,name\r\nP-1,A\r\n",
        "The file is named .xlsx but is not an Excel workbook.",
    ),
    "utf-8 broken after cyrillic": (
        "data.csv",
        "code,name\r\nP-1,ООО Ромашка\r\n".encode() + b"P-2,\xd0\xee\xec\r\n",
        f"Line 3 is not UTF-8 text, though the lines before it are. {NOT_UTF8_LINE}",
    ),
    "utf-16 without a bom": (
        "data.csv",
        "code,name\r\nP-1,Ромашка\r\n".encode("utf-16-le"),
        "This is not a text CSV file (it contains binary data).",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_refused_with_a_clear_message(app, ledger, tmp_path, case):
    name, data, message = BAD_FILES[case]
    path = tmp_path / name
    path.write_bytes(data)

    report = _refused(path, "partners")

    assert report.file_errors == [message]


def test_a_broken_xlsx_is_refused(app, ledger, tmp_path):
    cases = {
        "not-a-workbook.xlsx": _zip_bytes(),
        "truncated.xlsx": xlsx_bytes([["code", "name"], ["P-1", "A"]])[:400],
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)

        report = _refused(path, "partners")

        assert len(report.file_errors) == 1
        assert report.file_errors[0].startswith("The Excel file cannot be read: "), name


def test_a_broken_utf8_byte_after_the_first_block_is_refused(app, ledger, tmp_path):
    """The whole file is checked up front: a byte that is not UTF-8 far down in a UTF-8 file
    (Cyrillic before it) is reported by its line and nothing is written."""
    rows = [["code", "name"]] + [[f"P-{i:05d}", "Ромашка"] for i in range(4000)]
    data = csv_bytes(rows) + b"P-X,\xd0\r\n"
    assert len(data) > 64 * 1024
    path = tmp_path / "late.csv"
    path.write_bytes(data)

    report = _refused(path, "partners")

    assert report.file_errors == [
        f"Line 4002 is not UTF-8 text, though the lines before it are. {NOT_UTF8_LINE}"
    ]


def test_a_cp1251_line_after_the_first_block_is_read_as_cp1251(app, ledger, tmp_path):
    """ASCII up to a Cyrillic line in CP1251 far down: the file is CP1251, the name intact."""
    rows = [["code", "name"]] + [[f"P-{i:05d}", "Plain ASCII name"] for i in range(4000)]
    data = csv_bytes(rows) + "P-X,Ромашка\r\n".encode("cp1251")
    assert len(data) > 64 * 1024
    path = tmp_path / "late.csv"
    path.write_bytes(data)

    report = run_import(path, "partners", today=TODAY)

    assert report.file_errors == [] and report.done
    assert report.encoding == "Windows-1251"
    assert (
        db.session.execute(select(Partner.name).where(Partner.code == "P-X")).scalar_one()
        == "Ромашка"
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_row_numbers_count_spreadsheet_rows(app, ledger, tmp_path, fmt):
    """A quoted cell with line breaks is one row; an empty row still counts."""
    rows = [
        ["code", "name"],
        ["P-1", "Первая\nвторая строка\nтретья"],
        ["P-2", ""],
        [None, None],
        ["P-3", 'ok, "quoted"\nagain'],
        ["", "No code"],
    ]

    report = _refused(write_file(tmp_path, rows, fmt=fmt), "partners")

    assert report.error_lines == [
        "row 3, column name: is required",
        "row 6, column code: is required",
    ]


def test_extra_cells_beyond_the_header_are_an_error(app, ledger, tmp_path):
    path = tmp_path / "extra.csv"
    path.write_bytes(b"code,name\r\nP-1,A\r\nP-2,B,surplus\r\n")

    report = _refused(path, "partners")

    assert report.error_lines == ["row 3, column -: 1 value beyond the named columns"]


# --- a crash half-way ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "rows", "model"),
    [
        (
            "products",
            [["sku", "name", "group"]] + [[f"N-{i}", f"New {i}", f"Group {i}"] for i in range(7)],
            Product,
        ),
        (
            "partners",
            [["code", "name", "manager"]]
            + [[f"N-{i}", f"New {i}", f"m{i}@example.test"] for i in range(7)],
            Partner,
        ),
        (
            "sales",
            [SALES_LINE_HEADER]
            + [[f"N-{i}", "1", "2024-03-05", "P-001", "SKU-1", "1", "10"] for i in range(7)],
            SalesLine,
        ),
    ],
)
def test_a_crash_half_way_leaves_the_database_as_it_was(
    app, ledger, tmp_path, monkeypatch, kind, rows, model
):
    monkeypatch.setattr(importer, "BATCH", 3)
    kind_obj = kind_named(kind)
    calls = []
    real_write = kind_obj.write

    def write_then_crash(recs, ctx, actor):
        calls.append(len(recs))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        real_write(recs, ctx, actor)

    monkeypatch.setattr(kind_obj, "write", write_then_crash)
    before = dump()
    stored = count(model)

    with pytest.raises(RuntimeError, match="disk full"):
        run_import(write_file(tmp_path, rows), kind, today=TODAY)

    assert calls == [3, 3]  # the first batch was written, then the second one broke
    db.session.rollback()
    assert count(model) == stored
    assert dump() == before
    assert count(ProductGroup) == 0 and count(Organization) == 0
    assert [doc[0] for doc in documents()] == ["OLD-1"]
    assert count(SalesDocument) == 1


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_values_beyond_their_columns_are_row_errors_and_nothing_is_written(
    app, ledger, tmp_path, fmt
):
    """A line number above the database integer, money and quantities beyond Numeric(14, 2)
    and (14, 3), dates outside 1900–2999: each is a row error, never a crash at write time."""
    rows = [
        SALES_LINE_HEADER,
        ["D-1", "99999999999999999999", "2024-03-01", "P-001", "SKU-1", "1", "10"],
        ["D-2", "1", "2024-03-01", "P-001", "SKU-1", "1", "1000000000000000.01"],
        ["D-3", "1", "2024-03-01", "P-001", "SKU-1", "100000000000", "10"],
        ["D-4", "1", "9999-12-31", "P-001", "SKU-1", "1", "10"],
        ["D-5", "1", "01.01.0001", "P-001", "SKU-1", "1", "10"],
        ["D-6", "1", "2024-03-01", "P-001", "SKU-1", "1", "600000000000"],
        ["D-6", "2", "2024-03-01", "P-001", "SKU-1", "1", "600000000000"],
    ]
    report = _refused(write_file(tmp_path, rows, fmt=fmt), "sales")
    assert report.error_lines == [
        "row 2, column line_no: '99999999999999999999' must be between -2147483647 and 2147483647",
        "row 3, column amount: '1000000000000000.01' is too large: the limit is ±999999999999.99",
        "row 4, column quantity: '100000000000' is too large: the limit is ±99999999999.999",
        "row 5, column date: '9999-12-31' must be between 1900-01-01 and 2999-12-31",
        "row 6, column date: '0001-01-01' must be between 1900-01-01 and 2999-12-31",
        "row 8, column amount: makes the document's total larger than the limit ±999999999999.99",
    ]
