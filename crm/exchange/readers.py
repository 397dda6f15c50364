"""Reading an uploaded CSV or XLSX file as a stream of (row number, {column: value}).

Nothing is held in memory beyond one row: a 1,000,000-line file streams. A file that is not
what it says (binary data named .csv, a broken XLSX, an empty file) raises BadFile with a
message for the user (in the current language: the request's, or the job's user's).

A CSV's encoding is recognised (crm.exchange.encodings): UTF-8 with or without a BOM, UTF-16
with a BOM, and the single-byte encodings Excel saves in (CP1251 in a Russian Windows).
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _

from crm.exchange.encodings import Encoding, detect, first_bad_line

SNIFF_BYTES = 64 * 1024


class BadFile(ValueError):
    """The file as a whole cannot be read."""


@dataclass
class Table:
    """The header and a fresh row iterator of one readable file."""

    path: Path
    fmt: str  # "csv" or "xlsx"
    header: list[str]
    delimiter: str = ","
    encoding: Encoding | None = None  # a CSV's; None for XLSX

    def rows(self) -> Iterator[tuple[int, dict[str, object]]]:
        """(row number as a spreadsheet shows it, the row by column); header is row 1."""
        if self.fmt == "xlsx":
            yield from _xlsx_rows(self.path, self.header)
        else:
            yield from _csv_rows(self.path, self.header, self.delimiter, self.encoding)


def open_table(path: str | Path, filename: str | None = None) -> Table:
    """Detect the format (by content, not only by name) and read the header."""
    path = Path(path)
    name = (filename or path.name).lower()
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head.strip():
        raise BadFile(_("The file is empty."))
    if head.startswith(b"PK\x03\x04"):
        if not name.endswith((".xlsx", ".xlsm")):  # openpyxl refuses other names: say why
            raise BadFile(
                _(
                    "This is an Excel workbook or a ZIP archive, not a CSV file. "
                    "Name it .xlsx, or save it as 'CSV UTF-8'."
                )
            )
        return Table(path, "xlsx", _xlsx_header(path))
    if name.endswith((".xlsx", ".xlsm")):
        raise BadFile(_("The file is named .xlsx but is not an Excel workbook."))
    encoding = detect(path, head)
    if encoding is None and b"\x00" in head:
        raise BadFile(_("This is not a text CSV file (it contains binary data)."))
    if encoding is None:
        raise BadFile(
            _(
                "The file's encoding cannot be recognised. "
                "Save it as 'CSV UTF-8' (or as XLSX) and try again."
            )
        )
    if encoding.broken_line:
        raise BadFile(
            _(
                "Line %(line)s is not UTF-8 text, though the lines before it are. "
                "Save the file as 'CSV UTF-8' (or as XLSX) and try again.",
                line=encoding.broken_line,
            )
        )
    text = _decode_head(head, encoding)
    first_line = text.splitlines()[0] if text.splitlines() else ""
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    header = next(csv.reader([first_line], delimiter=delimiter), [])
    return Table(path, "csv", _clean_header(header), delimiter, encoding)


def _decode_head(head: bytes, encoding: Encoding) -> str:
    decoder = codecs.getincrementaldecoder(encoding.codec)()
    try:
        return decoder.decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise BadFile(_not_readable(1, encoding)) from exc


def _not_readable(line: int, encoding: Encoding) -> str:
    return _(
        "Line %(line)s cannot be read as %(encoding)s text. "
        "Save the file as 'CSV UTF-8' (or as XLSX) and try again.",
        line=line,
        encoding=encoding.label,
    )


def _clean_header(header) -> list[str]:
    cleaned = [("" if h is None else str(h)).strip().lstrip("\ufeff").lower() for h in header]
    if not any(cleaned):
        raise BadFile(_("The first row must name the columns; it is empty."))
    return cleaned


def _csv_rows(path: Path, header: list[str], delimiter: str, encoding: Encoding):
    with open(path, encoding=encoding.codec, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        # Every column named and the row as long as the header: a plain zip (the common case).
        width = len(header) if all(header) else -1
        try:
            next(reader, None)
            # Records, not lines: a quoted cell with a newline is one spreadsheet row.
            for number, values in enumerate(reader, start=2):
                if not "".join(values).strip():
                    continue  # blank lines are not rows
                if len(values) == width:
                    yield number, dict(zip(header, values, strict=True))
                else:
                    yield number, _row(header, values)
        except UnicodeDecodeError as exc:
            # The decoder reads ahead in blocks: find the line itself for the message.
            line = first_bad_line(path, encoding.codec) or reader.line_num
            raise BadFile(_not_readable(line, encoding)) from exc
        except csv.Error as exc:
            raise BadFile(
                _("Line %(line)s: %(problem)s", line=reader.line_num, problem=str(exc))
            ) from exc


def _row(header: list[str], values) -> dict[str, object]:
    row = {name: (values[i] if i < len(values) else None) for i, name in enumerate(header) if name}
    if len(values) > len(header) and any(str(v).strip() for v in values[len(header) :]):
        row["__extra__"] = len(values) - len(header)
    return row


def _xlsx_workbook(path: Path):
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise BadFile(_("The Excel file cannot be read: %(problem)s", problem=str(exc))) from exc


def _xlsx_header(path: Path) -> list[str]:
    wb = _xlsx_workbook(path)
    try:
        ws = wb.worksheets[0]
        first = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), None)
        if first is None:
            raise BadFile(_("The first sheet of the workbook is empty."))
        return _clean_header(first)
    finally:
        wb.close()


def _xlsx_rows(path: Path, header: list[str]):
    wb = _xlsx_workbook(path)
    try:
        ws = wb.worksheets[0]
        for number, values in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
            if not any(v is not None and str(v).strip() for v in values):
                continue
            yield number, _row(header, list(values))
    finally:
        wb.close()
