"""Templates of the import files: for each kind, a CSV and an XLSX with the columns, one example
row that imports as it is, and (XLSX) a second sheet describing each column, plus a comment on
each header cell. Column names stay the data-exchange contract; only the explanations are in
the reader's language."""

from __future__ import annotations

import io

from flask import Response, send_file
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment

from crm.exchange.kind import Col, Kind
from crm.exporting import csv_chunks, xlsx_cell

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def example_row(kind: Kind) -> list[str]:
    return [col.example for col in kind.columns]


def describe(col: Col) -> str:
    """What the column holds, for people; whether it must be filled is said separately."""
    return str(col.description) if col.description else ""


def template_csv(kind: Kind) -> str:
    return "".join(csv_chunks(kind.column_names, [example_row(kind)]))


def template_xlsx(kind: Kind) -> bytes:
    wb = Workbook(write_only=True)
    data = wb.create_sheet(kind.name[:31])  # the first sheet is the one imported
    header = []
    for col in kind.columns:
        cell = WriteOnlyCell(data, value=xlsx_cell(col.name))
        if col.description:
            cell.comment = Comment(_comment(col), "CRM", width=300, height=120)
        header.append(cell)
    data.append(header)
    data.append([xlsx_cell(v) for v in example_row(kind)])
    about = wb.create_sheet(_("Columns")[:31])
    about.append([_("Column"), _("Required"), _("Description"), _("Example")])
    for col in kind.columns:
        about.append(
            [
                xlsx_cell(col.name),
                _("yes") if col.required else _("no"),
                xlsx_cell(describe(col)),
                xlsx_cell(col.example),
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _comment(col: Col) -> str:
    required = _("Required.") if col.required else _("Optional.")
    return f"{describe(col)} {required}"


def template_response(kind: Kind, fmt: str) -> Response:
    name = f"{kind.name}-template.{fmt}"
    if fmt == "xlsx":
        return send_file(
            io.BytesIO(template_xlsx(kind)),
            mimetype=XLSX_MIME,
            as_attachment=True,
            download_name=name,
        )
    response = Response(template_csv(kind), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
