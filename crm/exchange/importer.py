"""Importing a file: validate it completely, then write it in one transaction.

Validation streams the file once, checks every row, finds keys repeated inside the file, tells
new, changed and unchanged rows apart (a batched look-up per 2,000 rows), and writes the
rejected rows to a CSV for the user. Writing streams the file again and stores the valid rows
in batches inside a single transaction: a crash leaves the database as it was.
"""

from __future__ import annotations

import csv
import pickle
import tempfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import DBAPIError

from crm.core.cells import unescape_formula
from crm.core.db import analyze_after_bulk_write
from crm.core.errors import DomainError
from crm.core.keys import is_key_race
from crm.exchange.kind import (
    DUPLICATE_KEY,
    EXTRA_CELLS,
    Context,
    Kind,
    RowError,
    load_lookups,
)
from crm.exchange.readers import BadFile, Table, open_table
from crm.exchange.registry import kind_named
from crm.exporting import csv_cell
from crm.extensions import db

BATCH = 2000
MAX_ERRORS_SHOWN = 1000
# SQLite page cache of the importing connection while it writes (KiB; SQLite's default is 2 MB).
# A big import inserts into several indexes at scattered places: with a small cache the same
# pages are evicted and read back again and again. Restored when the import ends.
SQLITE_IMPORT_CACHE_KIB = 64 * 1024


@dataclass
class Report:
    kind: str
    filename: str
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_ERRORS_SHOWN
    file_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rejects_path: str | None = None
    encoding: str | None = None  # a CSV's, as recognised (for people: "Windows-1251")
    written: int = 0  # valid rows stored (unchanged ones included)
    done: bool = False  # the rows were stored

    @property
    def ok(self) -> bool:
        return not self.file_errors and not self.error_count

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        return cls(**{**data, "errors": [_row_error(e) for e in data.get("errors", ())]})

    @property
    def error_lines(self) -> list[str]:
        """The row errors as the CLI prints them: `row N, column C: message`."""
        return [str(e) for e in self.errors]


def _row_error(stored) -> RowError:
    if isinstance(stored, str):  # a report stored before errors were structured: as it reads
        row, _, rest = stored.removeprefix("row ").partition(", column ")
        column, _, message = rest.partition(": ")
        return RowError(int(row) if row.isdigit() else 0, column, "", message)
    return RowError(**stored)


Progress = Callable[[int], None]


def _key_digest(key: tuple) -> int:
    """A 64-bit stand-in for a row's key, to find keys repeated in a file.

    Memory and speed: a small int per key instead of the key itself (a million keys stay a
    few tens of MB), and Python's own (SipHash, randomly seeded) hash instead of a digest of
    the key's repr, ten times cheaper. The digests live in one process only, so the seed
    does not matter; two keys of a million-row file share one by chance about once in
    3·10⁷ files (then the later row is reported as repeating a key)."""
    return hash(key)


def _check_header(table: Table, kind: Kind, report: Report) -> None:
    # Column names are the exchange contract: listed as they are, never translated.
    missing = [c.name for c in kind.columns if c.required and c.name not in table.header]
    if missing:
        report.file_errors.append(
            ngettext(
                "Missing required column: %(missing)s. The first row must name the columns: "
                "%(columns)s.",
                "Missing required columns: %(missing)s. The first row must name the columns: "
                "%(columns)s.",
                len(missing),
                missing=", ".join(missing),
                columns=", ".join(kind.column_names),
            )
        )
    unknown = [h for h in table.header if h and h not in kind.column_names]
    if unknown:
        report.warnings.append(
            ngettext(
                "Unknown column ignored: %(columns)s.",
                "Unknown columns ignored: %(columns)s.",
                len(unknown),
                columns=", ".join(unknown),
            )
        )
    dupes = sorted({h for h in table.header if h and table.header.count(h) > 1})
    if dupes:
        report.file_errors.append(
            ngettext(
                "Column named twice: %(columns)s.",
                "Columns named twice: %(columns)s.",
                len(dupes),
                columns=", ".join(dupes),
            )
        )


def _rows(table: Table, kind: Kind, ctx: Context):
    """(row number, raw cells, record, errors) for every data row, checks included."""
    from_file = isinstance(table, Table)
    for row_no, raw in table.rows():
        rec, errors = kind.parse(row_no, raw, from_file=from_file)
        # Checks run on rows with bad cells too: they number lines and payments in file order.
        errors += kind.check(row_no, rec, ctx)
        if "__extra__" in raw:
            errors.append(
                RowError(
                    row_no,
                    "-",
                    EXTRA_CELLS,
                    ngettext(
                        "%(num)s value beyond the named columns",
                        "%(num)s values beyond the named columns",
                        raw["__extra__"],
                    ),
                )
            )
        yield row_no, raw, rec, errors


def validate(
    path: str | Path,
    kind_name: str,
    *,
    filename: str | None = None,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
    today: date | None = None,
    keep: Callable[[list[dict]], None] | None = None,
) -> Report:
    """Check the whole file without writing anything; the report says what an import would do."""
    report = Report(kind_name, filename or Path(path).name)
    try:
        table = open_table(path, filename)
    except BadFile as exc:
        report.file_errors.append(str(exc))
        return report
    if table.encoding is not None:
        report.encoding = table.encoding.label
    return validate_table(
        table,
        kind_name,
        report,
        rejects_path=rejects_path,
        progress=progress,
        today=today,
        keep=keep,
    )


def validate_table(
    table,
    kind_name: str,
    report: Report,
    *,
    rejects_path=None,
    progress=None,
    today=None,
    lookup_rows=None,
    keep: Callable[[list[dict]], None] | None = None,
) -> Report:
    """Validation of anything with `.header` and `.rows()` (a file, or the API's objects).
    `keep`: called with each batch's valid records that are new or changed (to write them)."""
    kind = kind_named(kind_name)
    _check_header(table, kind, report)
    if report.file_errors:
        return report
    ctx = Context(today=today or date.today())
    # Memory: the app maps SQLite files into memory for page reads (crm/__init__.py); the
    # look-ups of a big file read most of the ledger, and every mapped page it touches would
    # count in the process's memory (a re-import of a million sales lines: 529 MB → 406 MB).
    # Its page cache the default 2 MB too: the look-ups read each stored row once.
    conn = db.session.connection()
    mapped = _sqlite_pragmas(conn, {"mmap_size": 0, "cache_size": -2000})
    load_lookups(kind, ctx, lookup_rows)
    seen_keys: set[int] = set()
    rejects = _RejectWriter(rejects_path, table.header) if rejects_path else None
    batch: list[dict] = []
    try:
        for row_no, raw, rec, errors in _rows(table, kind, ctx):
            report.rows += 1
            if not errors:
                digest = _key_digest(kind.key_of(rec))
                if digest in seen_keys:
                    key = ", ".join(kind.key)
                    errors = [
                        RowError(
                            row_no,
                            kind.key[0],
                            DUPLICATE_KEY,
                            _("the same key (%(key)s) is on an earlier row of the file", key=key),
                        )
                    ]
                else:
                    seen_keys.add(digest)
            if errors:
                report.rejected += 1
                report.error_count += len(errors)
                room = MAX_ERRORS_SHOWN - len(report.errors)
                report.errors.extend(errors[: max(room, 0)])
                if rejects:
                    rejects.write(raw, errors)
            else:
                batch.append(rec)
                if len(batch) >= BATCH:
                    _classify(kind, batch, ctx, report, keep)
                    batch = []
            if progress and report.rows % BATCH == 0:
                progress(report.rows)
        _classify(kind, batch, ctx, report, keep)
    except BadFile as exc:
        report.file_errors.append(str(exc))
    finally:
        if rejects:
            rejects.close()
        with suppress(Exception):
            _sqlite_pragmas(conn, mapped)
    if report.rows == 0 and not report.file_errors:
        report.file_errors.append(_("The file has a header but no rows."))
    if rejects and report.rejected:
        report.rejects_path = str(rejects_path)
    return report


def _classify(kind: Kind, batch: list[dict], ctx: Context, report: Report, keep=None) -> None:
    if not batch:
        return
    stored = kind.existing(batch, ctx)
    to_write = []
    for rec in batch:
        old = stored.get(kind.key_of(rec))
        if old is None:
            report.new += 1
        elif kind.same(rec, old, ctx):
            report.unchanged += 1
            continue
        else:
            report.updated += 1
        to_write.append(rec)
    if keep is not None and to_write:
        keep(to_write)


def run_import(
    path: str | Path,
    kind_name: str,
    *,
    actor=None,
    valid_only: bool = False,
    dry_run: bool = False,
    filename: str | None = None,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
    today: date | None = None,
) -> Report:
    """Validate, then (unless refused or a dry run) write and commit in one transaction.
    A file with errors writes nothing unless `valid_only`; then only its valid rows."""
    kind = kind_named(kind_name)
    with CheckedRecords() as checked:
        keep = checked.add if kind.writes_checked_records and not dry_run else None
        report = validate(
            path,
            kind_name,
            filename=filename,
            rejects_path=rejects_path,
            progress=progress,
            today=today,
            keep=keep,
        )
        if report.file_errors or dry_run or (report.error_count and not valid_only):
            return report
        rows = checked if keep else open_table(path, filename)
        write_table(rows, kind_name, report, actor=actor, progress=progress, today=today)
    return report


class CheckedRecords:
    """The records validation found valid and new or changed, kept on disk for the write.

    Speed: writing them needs neither a second read and parse of the file (half the CPU time
    of importing a sales file) nor a write of the rows that are stored already (a re-import of
    an unchanged file writes nothing). Memory stays bounded: batches are pickled to a temporary
    file and read back one at a time. Iterating (again, on a retry) yields every record."""

    def __init__(self):
        self.fh = tempfile.TemporaryFile()  # noqa: SIM115  (closed by __exit__)

    def __enter__(self) -> CheckedRecords:
        return self

    def __exit__(self, *exc) -> None:
        self.fh.close()

    def add(self, recs: list[dict]) -> None:
        pickle.dump(recs, self.fh, protocol=pickle.HIGHEST_PROTOCOL)

    def __iter__(self):
        self.fh.flush()
        self.fh.seek(0)
        while True:
            try:
                batch = pickle.load(self.fh)  # noqa: S301  (written by this process)
            except EOFError:
                return
            yield from batch


def write(
    path,
    kind_name: str,
    report: Report,
    *,
    actor=None,
    filename=None,
    progress=None,
    today=None,
    commit: bool = True,
) -> None:
    """Store the valid rows of an already validated file; all or nothing."""
    write_table(
        open_table(path, filename),
        kind_name,
        report,
        actor=actor,
        progress=progress,
        today=today,
        commit=commit,
    )


class WriteConflict(DomainError):
    """The import lost a race for the same keys twice in a row; nothing was stored."""


def write_table(
    table,
    kind_name: str,
    report: Report,
    *,
    actor=None,
    progress=None,
    today=None,
    commit: bool = True,
    lookup_rows=None,
    create_only: bool = False,
) -> None:
    """Store the valid rows of a validated table in one transaction (committed unless told).

    The keys are unique constraints: when a concurrent writer (another import, an API call)
    inserts a key this import is inserting too, the database fails this transaction instead of
    storing the row twice. A committing import then starts over once — reading what the other
    writer stored, so its rows become updates — and refuses with a plain message if it loses
    again. Without `commit` (the API) the error goes to the caller, which answers a conflict."""
    attempts = 2 if commit else 1
    for attempt in range(1, attempts + 1):
        try:
            done = _write_rows(
                table,
                kind_named(kind_name),
                report,
                actor=actor,
                progress=progress,
                today=today,
                commit=commit,
                lookup_rows=lookup_rows,
                create_only=create_only,
            )
        except DBAPIError as exc:
            if not (commit and is_key_race(exc)):
                raise
            if attempt == attempts:
                raise WriteConflict(
                    _(
                        "Nothing was imported: other changes to the same records were being "
                        "saved at the same moment. Run the import again."
                    )
                ) from exc
        else:
            report.written, report.done = done, True
            return


def _write_rows(
    table, kind: Kind, report: Report, *, actor, progress, today, commit, lookup_rows, create_only
) -> int:
    ctx = Context(today=today or date.today(), create_only=create_only)
    load_lookups(kind, ctx, lookup_rows)
    batch: list[dict] = []
    done = 0
    conn = db.session.connection()
    cache = _sqlite_pragmas(conn, {"cache_size": -SQLITE_IMPORT_CACHE_KIB, "mmap_size": 0})
    # Checked records are valid, unique and new or changed already; a file is read again.
    checked = isinstance(table, CheckedRecords)
    records = iter(table) if checked else _valid_records(table, kind, ctx)
    try:
        for rec in records:
            batch.append(rec)
            if len(batch) >= BATCH:
                kind.write(batch, ctx, actor)
                done += len(batch)
                batch = []
                if progress:
                    progress(report.rows + done)
        if batch:
            kind.write(batch, ctx, actor)
            done += len(batch)
        kind.finish(ctx)
        analyze_after_bulk_write(conn, done)
        _sqlite_pragmas(conn, cache)
        if commit:
            db.session.commit()
    except Exception:
        with suppress(Exception):
            _sqlite_pragmas(conn, cache)
        db.session.rollback()
        raise
    if checked:
        done += report.unchanged  # valid rows stored already: as good as written
    return done


def _valid_records(table, kind: Kind, ctx: Context):
    """The file's valid records, each key once (a repeated one was reported by validation)."""
    seen_keys: set[int] = set()
    for _row_no, _raw, rec, errors in _rows(table, kind, ctx):
        if errors:
            continue
        digest = _key_digest(kind.key_of(rec))
        if digest in seen_keys:
            continue
        seen_keys.add(digest)
        yield rec


def _sqlite_pragmas(conn, settings: dict | None) -> dict | None:
    """Set PRAGMAs of the connection (SQLite only; None: leave them); returns the old
    settings, or None on other databases."""
    if not settings or conn.dialect.name != "sqlite":
        return None
    before = {}
    for name, value in settings.items():
        before[name] = conn.exec_driver_sql(f"PRAGMA {name}").scalar()
        conn.exec_driver_sql(f"PRAGMA {name}={int(value)}")
    return before


class _RejectWriter:
    """The rejected rows as they were, with the reasons in an `errors` column."""

    def __init__(self, path, header: list[str]):
        self.fh = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        self.header = [h for h in header if h]
        self.writer = csv.writer(self.fh)
        self.writer.writerow(["row", *self.header, "errors"])

    def write(self, raw: dict, errors: list[RowError]) -> None:
        row_no = errors[0].row if errors else ""
        # Each cell as safe to open as the export's, meaning what the uploaded one meant.
        cells = [csv_cell(unescape_formula(raw.get(h))) for h in self.header]
        message = "; ".join(f"{e.column}: {e.message}" for e in errors)
        self.writer.writerow([row_no, *cells, csv_cell(message)])

    def close(self) -> None:
        self.fh.close()


@dataclass
class RowsTable:
    """In-memory rows (the JSON API's objects) read like a file: row numbers start at 1."""

    rows_data: list[dict]

    @property
    def header(self) -> list[str]:
        names: dict[str, None] = {}
        for row in self.rows_data:
            names.update(dict.fromkeys(k.lower() for k in row))
        return list(names)

    def rows(self):
        for number, row in enumerate(self.rows_data, start=1):
            yield number, {k.lower(): v for k, v in row.items()}


def import_rows(
    kind_name: str, rows: list[dict], *, actor=None, today=None, create_only: bool = False
) -> Report:
    """The file import's checks and writes for objects (the JSON API): all or nothing.
    The caller commits; on errors nothing is written and the report lists them.
    `create_only`: a stored key raises KeyTaken (or, stored a moment ago by a concurrent
    writer, an IntegrityError) instead of being updated."""
    table = RowsTable(rows)
    lowered = [dict(r) for _n, r in table.rows()]
    report = validate_table(
        table, kind_name, Report(kind_name, "api"), today=today, lookup_rows=lowered
    )
    if report.ok:
        write_table(
            table,
            kind_name,
            report,
            actor=actor,
            today=today,
            commit=False,
            lookup_rows=lowered,
            create_only=create_only,
        )
    return report
