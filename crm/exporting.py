"""CSV and XLSX downloads shared by every list and report."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Sequence

from flask import Response, send_file, stream_with_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

EXPORT_FORMATS = ("csv", "xlsx")


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> Response:
    """Stream a UTF-8 CSV (with a BOM so Excel reads Cyrillic) row by row."""

    def generate():
        buf = io.StringIO()
        writer = csv.writer(buf)
        buf.write("\ufeff")
        writer.writerow(header)
        yield buf.getvalue()
        for row in rows:
            buf.seek(0)
            buf.truncate()
            writer.writerow(["" if v is None else v for v in row])
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


def export_response(fmt: str, filename: str, header, rows) -> Response:
    if fmt == "xlsx":
        return xlsx_response(filename, header, rows)
    return csv_response(filename, header, rows)
