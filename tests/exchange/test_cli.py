"""`crm export KIND --format csv|xlsx -o FILE` and `crm import KIND FILE [--dry-run]
[--valid-only]`: an export re-imports with every row unchanged; exit 0 on success, 1 on a
rejected file, with the `row N, column C: …` lines on stderr."""

from __future__ import annotations

import pytest

from crm.exchange.registry import kind_named
from tests.exchange import samples
from tests.exchange.helpers import (
    TODAY,
    dump,
    read_csv,
    read_xlsx,
    write_file,
)
from tests.exchange.samples import BAD_SALES, BAD_SALES_ERRORS

# Rows a spreadsheet could take for formulas (= + - @ first), added to the samples: they must
# come back as text.
FORMULA_LIKE = {
    "partners": [["=2+2 Trading", "P-004", "", "", "person", "other", "", "", "", "", ""]],
    "contacts": [["", "=Boss", "P-002", "", "boss@acme.example", ""]],
    "products": [["=SUM(A1:A2)", "SKU-5", "", "=group", "0,5", ""]],
    "sales": [
        ["2024-03-10", "D-2", "P-002", "SKU-2", "0,001", "0", "", "", "", "", "", "", ""],
        ["2024-03-11", "D-3", "P-002", "SKU-2", "1", "-5", "", "@Org", "-Dept", "+W", "", "", ""],
    ],
    "payments": [["0,01", "P-001", "2024-01-01", "=D-1", ""]],
    "stock": [["0", "=Склад", "SKU-2", "0", ""]],
}


def _seed(kind, make_partner, tmp_path) -> int:
    """The kind's sample rows plus formula-like ones, imported; returns how many rows."""
    from crm.exchange.importer import run_import

    samples.prepare(kind, make_partner)
    rows = samples.ROWS[kind] + FORMULA_LIKE[kind]
    report = run_import(write_file(tmp_path, rows, name="seed.csv"), kind, today=TODAY)
    assert report.done and not report.errors, report
    return len(rows) - 1


def _invoke(runner, *args):
    return runner.invoke(args=["crm", *args])


def _read(path):
    data = path.read_bytes()
    return read_xlsx(data) if path.suffix == ".xlsx" else read_csv(data)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", samples.KINDS)
def test_an_export_reimports_with_every_row_unchanged(
    app, runner, tmp_path, make_partner, kind, fmt
):
    n = _seed(kind, make_partner, tmp_path)
    before = dump()
    out = tmp_path / f"{kind}-export.{fmt}"

    exported = _invoke(runner, "export", kind, "--format", fmt, "-o", str(out))
    imported = _invoke(runner, "import", kind, str(out))

    assert exported.exit_code == 0, exported.output
    assert exported.stdout == f"Exported {n} {kind} rows to {out}.\n"
    table = _read(out)
    assert table[0] == kind_named(kind).column_names and len(table) == n + 1
    assert imported.exit_code == 0, imported.output
    assert imported.stderr == ""
    assert imported.stdout == (
        f"Imported {kind}: {n} rows: 0 new, 0 updated, {n} unchanged, 0 rejected.\n"
    )
    assert dump() == before


def test_export_writes_the_import_columns_with_plain_values(app, runner, tmp_path, make_partner):
    _seed("products", make_partner, tmp_path)
    out = tmp_path / "products.csv"

    assert _invoke(runner, "export", "products", "--format", "csv", "-o", str(out)).exit_code == 0

    assert read_csv(out.read_bytes()) == [
        ["sku", "name", "group", "unit", "base_price"],
        ["SKU-1", samples.PRODUCT, "Молочка", "шт", "1234.5"],
        ["SKU-2", "Хлеб", "", "", "1234.5"],
        ["SKU-3", "Тара", "Молочка", "кг", "-12.5"],
        ["SKU-4", "Без цены", "", "", ""],
        # Text a spreadsheet would run gets a ' (the import takes it off again).
        ["SKU-5", "'=SUM(A1:A2)", "'=group", "", "0.5"],
    ]


def test_import_prints_a_summary_and_exits_0(app, runner, tmp_path):
    path = write_file(tmp_path, samples.PARTNERS, sep=",", bom=True)

    result = _invoke(runner, "import", "partners", str(path))

    assert result.exit_code == 0, result.output
    assert (
        result.stdout == "Imported partners: 3 rows: 3 new, 0 updated, 0 unchanged, 0 rejected.\n"
    )
    assert result.stderr == "warning: Unknown column ignored: note.\n"
    assert len(dump()["partner"]) == 3


def test_a_rejected_file_exits_1_with_the_error_lines_on_stderr(app, ledger, runner, tmp_path):
    before = dump()
    path = write_file(tmp_path, BAD_SALES, name="bad.csv")

    result = _invoke(runner, "import", "sales", str(path))

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        *BAD_SALES_ERRORS,
        "Nothing imported. 9 rows: 1 new, 0 updated, 0 unchanged, 8 rejected.",
    ]
    assert dump() == before


def test_a_file_level_error_exits_1(app, ledger, runner, tmp_path):
    before = dump()
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    result = _invoke(runner, "import", "partners", str(path))

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "The file is empty.",
        "Nothing imported. 0 rows: 0 new, 0 updated, 0 unchanged, 0 rejected.",
    ]
    assert dump() == before


def test_dry_run_says_what_would_change_and_writes_nothing(app, ledger, runner, tmp_path):
    before = dump()
    rows = [
        samples.SALES_LINE_HEADER,
        ["OLD-1", "1", "2024-01-01", "P-001", "SKU-1", "1", "6"],
        ["NEW-1", "1", "2024-01-02", "P-002", "SKU-2", "1", "7"],
    ]

    result = _invoke(runner, "import", "sales", str(write_file(tmp_path, rows)), "--dry-run")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Dry run, nothing written. 2 rows: 1 new, 1 updated, 0 unchanged, 0 rejected.\n"
    )
    assert dump() == before


def test_dry_run_of_a_bad_file_exits_1_and_writes_nothing(app, ledger, runner, tmp_path):
    before = dump()

    result = _invoke(runner, "import", "sales", str(write_file(tmp_path, BAD_SALES)), "--dry-run")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == BAD_SALES_ERRORS
    assert result.stdout == (
        "Dry run, nothing written. 9 rows: 1 new, 0 updated, 0 unchanged, 8 rejected.\n"
    )
    assert dump() == before


def test_valid_only_imports_the_valid_rows_and_exits_0(app, ledger, runner, tmp_path):
    from tests.exchange.helpers import documents

    result = _invoke(
        runner, "import", "sales", str(write_file(tmp_path, BAD_SALES)), "--valid-only"
    )

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == BAD_SALES_ERRORS
    assert result.stdout == "Imported sales: 9 rows: 1 new, 0 updated, 0 unchanged, 8 rejected.\n"
    assert [doc[0] for doc in documents()] == ["D-1", "OLD-1"]
