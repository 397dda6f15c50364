"""CSV and XLSX downloads shared by every list and report."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Sequence

from flask import Response, send_file, stream_with_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

EXPORT_FORMATS = ("csv", "xlsx")
# Excel runs a cell that starts with = as a formula, and one starting with + - @ when the rest
# parses as one (CSV injection: =HYPERLINK(…), +cmd|' /C calc'!A0). Such cells get a leading '.
# Phone numbers, negative amounts and messenger handles (@name) cannot call anything: kept.
_ACTIVE = re.compile(r"[(|!=\"]")
_PHONE_OR_NUMBER = re.compile(r"^[+-]?[\d\s().,-]*$")


def guard_formula(value):
    """The value made safe to open in a spreadsheet (for reports, not for data exchange)."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in "=\t\r" or (
        value[0] in "+-@" and _ACTIVE.search(value) and not _PHONE_OR_NUMBER.match(value)
    ):
        return "'" + value
    return value


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence], *, guard: bool = True
) -> Response:
    """Stream a UTF-8 CSV (with a BOM so Excel reads Cyrillic) row by row. `guard` defuses
    formula-like cells; exchange files that must re-import unchanged turn it off."""

    def generate():
        buf = io.StringIO()
        writer = csv.writer(buf)
        buf.write("\ufeff")
        writer.writerow(header)
        yield buf.getvalue()
        for row in rows:
            buf.seek(0)
            buf.truncate()
            cells = ["" if v is None else v for v in row]
            writer.writerow([guard_formula(v) for v in cells] if guard else cells)
            yield buf.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def xlsx_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> Response:
    """An XLSX built in write-only mode (constant memory) into a temporary file."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(filename[:31])
    ws.append(list(header))
    for row in rows:
        ws.append([_cell(ws, v) for v in row])
    # send_file closes it once the response is sent.
    tmp = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
    wb.save(tmp)
    tmp.seek(0)
    return send_file(
        tmp,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"{filename}.xlsx",
    )


def _cell(ws, value):
    # openpyxl stores a string starting with "=" as a formula: keep user text as text.
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value


def export_response(fmt: str, filename: str, header, rows, *, guard: bool = True) -> Response:
    if fmt == "xlsx":
        return xlsx_response(filename, header, rows)  # XLSX cells are typed: text stays text
    return csv_response(filename, header, rows, guard=guard)
