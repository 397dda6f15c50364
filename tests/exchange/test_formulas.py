"""Exports never hand a spreadsheet a formula, and re-import to exactly what was stored.

Partners, contact persons, products and warehouses are stored with names a spreadsheet would
run (= + - @ tab CR first), straight in the database; each exchange export (web and CLI, CSV
and XLSX) must show them with one leading ', and importing the download must leave every row
of every table as it was."""

from __future__ import annotations

import pytest

from crm.exchange.importer import run_import
from crm.extensions import db
from crm.sales.models import StockBalance, Warehouse
from tests.exchange.helpers import TODAY, add_products, dump, read_csv, read_xlsx

# Stored text → the cell an export must hold, written out by hand.
NAMES = {
    '=HYPERLINK("http://x")': '\'=HYPERLINK("http://x")',
    "+1": "'+1",
    "-cmd": "'-cmd",
    "@SUM(1)": "'@SUM(1)",
    "\tTab": "'\tTab",
    "'=quoted": "''=quoted",
    "'plain": "'plain",
    "Plain": "Plain",
}
# XML (inside XLSX) reads a bare CR as a line feed, whatever the escape: CSV only.
CSV_ONLY = {"\rCR": "'\rCR"}


def _names(fmt: str) -> dict[str, str]:
    return {**NAMES, **CSV_ONLY} if fmt == "csv" else dict(NAMES)


def _seed(fmt: str, make_partner) -> dict[str, list[str]]:
    """Rows of each kind whose text is formula-like; returns kind → the stored names."""
    names = list(_names(fmt))
    for n, name in enumerate(names, start=1):
        make_partner(
            name=name,
            code=f"F-{n:02d}",
            city=name,
            phones=["+7 495 123-45-67"],
            persons=[{"name": name, "position": name}],
        )
    ids = add_products(*(f"S-{n:02d}" for n in range(1, len(names) + 1)))
    for n, name in enumerate(names, start=1):
        warehouse = Warehouse(name=name)
        db.session.add(warehouse)
        db.session.flush()
        db.session.add(
            StockBalance(
                product_id=ids[f"S-{n:02d}"], warehouse_id=warehouse.id, quantity=-n, value=-5
            )
        )
    db.session.commit()
    return {"partners": names, "contacts": names, "stock": names}


# kind → (the column holding a name, other columns holding the same text)
COLUMNS = {
    "partners": ("name", ["city"]),
    "contacts": ("name", ["position"]),
    "stock": ("warehouse", []),
}


def _read(fmt: str, data: bytes) -> list[list]:
    return read_xlsx(data) if fmt == "xlsx" else read_csv(data)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_web_exports_escape_formula_text_and_reimport_unchanged(
    app, client, login_as, make_partner, tmp_path, fmt
):
    expected = _names(fmt)
    _seed(fmt, make_partner)
    login_as("admin")
    before = dump()

    for kind, (column, same_text) in COLUMNS.items():
        response = client.get(f"/exchange/export/{kind}.{fmt}")
        assert response.status_code == 200, kind
        table = _read(fmt, response.data)
        header, rows = table[0], table[1:]
        by_name = sorted(rows, key=lambda r: r[header.index(column)])
        cells = sorted(r[header.index(column)] for r in rows)
        assert cells == sorted(expected.values()), kind
        for row in by_name:
            for other in same_text:
                assert row[header.index(other)] == row[header.index(column)], (kind, other)
        if kind == "partners":
            assert {r[header.index("phone")] for r in rows} == {"'+7 495 123-45-67"}
        if kind == "stock":
            # Numbers are numbers: XLSX number cells, plain -5 in CSV (no quote).
            values = {r[header.index("value")] for r in rows}
            assert values == ({-5} if fmt == "xlsx" else {"-5"})

        path = tmp_path / f"{kind}.{fmt}"
        path.write_bytes(response.data)
        report = run_import(path, kind, today=TODAY)
        assert report.done and not report.errors, (kind, report)
        assert (report.new, report.updated, report.unchanged) == (0, 0, len(rows)), kind
        assert dump() == before, kind


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cli_exports_escape_the_same_way(app, runner, make_partner, tmp_path, fmt):
    expected = _names(fmt)
    _seed(fmt, make_partner)
    before = dump()

    for kind, (column, _) in COLUMNS.items():
        out = tmp_path / f"{kind}.{fmt}"
        assert (
            runner.invoke(args=["crm", "export", kind, "--format", fmt, "-o", str(out)]).exit_code
            == 0
        )
        table = _read(fmt, out.read_bytes())
        assert sorted(r[table[0].index(column)] for r in table[1:]) == sorted(expected.values())
        result = runner.invoke(args=["crm", "import", kind, str(out)])
        assert result.exit_code == 0, result.output
        assert dump() == before, kind


def test_rejected_rows_file_is_escaped_and_means_what_the_upload_meant(app, tmp_path, make_partner):
    from crm.exchange.importer import validate
    from tests.exchange.helpers import write_file

    make_partner(code="P-1", name="Known")
    upload = write_file(
        tmp_path,
        [
            ["partner_code", "name", "position"],
            ["NOPE", "=raw", "'=escaped"],
            ["P-1", "@fine", "-ok"],
        ],
    )
    rejects = tmp_path / "rejects.csv"

    report = validate(upload, "contacts", rejects_path=rejects)

    assert report.rejected == 1
    assert read_csv(rejects.read_bytes()) == [
        ["row", "partner_code", "name", "position", "errors"],
        ["2", "NOPE", "'=raw", "'=escaped", "partner_code: unknown partner 'NOPE'"],
    ]
