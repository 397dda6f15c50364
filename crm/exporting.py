"""CSV and XLSX downloads shared by every list, report and data-exchange export.

Every text cell goes through `crm.core.cells.escape_formula`, so no cell of a file we write
starts a formula; the import undoes it (`unescape_formula`), so an exchange export re-imports
with exactly the stored values. Numbers stay numbers: a number cell in XLSX, plain digits in
CSV (a spreadsheet reads "-5.00" as minus five; it cannot run anything).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from flask import Response, send_file, stream_with_context
from openpyxl import Workbook

from crm.core.cells import escape_formula

EXPORT_FORMATS = ("csv", "xlsx")


def csv_cell(value):
    """A value as a CSV field: text escaped, decimals without exponent, None empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return escape_formula(value)


def xlsx_cell(value):
    """A value as an XLSX cell: text escaped (so openpyxl never takes it for a formula),
    numbers and dates typed."""
    return escape_formula(value)


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence], *, bom: bool = True
) -> Iterator[str]:
    """The CSV text row by row (with a BOM so Excel reads Cyrillic)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    if bom:
        buf.write("\ufeff")
    writer.writerow([csv_cell(v) for v in header])
    yield buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow([csv_cell(v) for v in row])
        yield buf.getvalue()


def xlsx_workbook(sheet: str, header: Sequence[str], rows: Iterable[Sequence]) -> Workbook:
    """A write-only workbook (constant memory) with one sheet of the rows."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    ws.append([xlsx_cell(v) for v in header])
    for row in rows:
        ws.append([xlsx_cell(v) for v in row])
    return wb


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> Response:
    """Stream a UTF-8 CSV row by row."""
    response = Response(
        stream_with_context(csv_chunks(header, rows)), mimetype="text/csv; charset=utf-8"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def xlsx_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> Response:
    """An XLSX built into a temporary file."""
    wb = xlsx_workbook(filename, header, rows)
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


def export_response(fmt: str, filename: str, header, rows) -> Response:
    if fmt == "xlsx":
        return xlsx_response(filename, header, rows)
    return csv_response(filename, header, rows)
