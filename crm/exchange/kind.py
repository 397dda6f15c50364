"""What every import kind shares: typed columns, row cleaning, structured row errors, lookups,
and the contract a kind implements (clean a row, say whether its key exists and with which
values, write a batch, export its rows). The kinds themselves live in their domains."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import or_

from crm.core.cells import unescape_formula
from crm.core.keys import dialect_insert
from crm.core.timeutil import utcnow
from crm.exchange import values
from crm.extensions import db


@dataclass(frozen=True)
class Col:
    """A column of a kind's file. `name` is the data-exchange contract and is never
    translated; `description` (a lazy gettext string of the owning domain) and `example` (a
    value as the file writes it) describe the column on the import page and in the templates,
    whose example row must import cleanly."""

    name: str
    required: bool = False
    parse: Callable = values.text
    max_len: int | None = None
    default: object = None
    description: str = ""
    example: str = ""


def money(v) -> Decimal:
    return values.number(v, places=2)


def quantity(v) -> Decimal:
    return values.number(v, places=3)


# What a row error is about, for programs (the API, tests); the message says it to people.
REQUIRED = "required"  # a required cell is empty
BAD_VALUE = "bad_value"  # a cell that is not of its column's type or out of its range
TOO_LONG = "too_long"
NUL = "nul"  # a NUL character, which no text column stores
UNKNOWN = "unknown"  # names a record that does not exist (a partner code, a SKU)
DUPLICATE_KEY = "duplicate_key"  # the key of an earlier row of the file
EXTRA_CELLS = "extra_cells"  # more cells than named columns
INVALID = "invalid"  # breaks a rule of the kind (an INN's checksum, a document's header, …)


@dataclass
class RowError:
    """One problem of one row: where (the row as a spreadsheet numbers it, the column), what
    (a code from above or a kind's own) and the message for people."""

    row: int
    column: str
    code: str
    message: str

    def __str__(self) -> str:
        # The spec's `row N, column C: what is wrong` (the CLI prints it; pages translate it).
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass(frozen=True)
class Lookup:
    """Values of a column mapped to ids (partner codes, SKUs, e-mails), loaded once per import
    by a function of the domain that owns the records."""

    name: str
    load: Callable[[set[str] | None], dict]  # the values wanted (None: all) → {value: id}
    field: str | None = None  # the column naming them: an API call loads only its rows' values
    create: Callable[[str], int] | None = None  # the id of a new entry for a value first used


@dataclass
class Context:
    """What one import knows besides the row: the lookups' values → ids, and what the file
    itself declares (per-kind bookkeeping across rows)."""

    today: date
    found: dict[str, dict] = field(default_factory=dict)  # lookup name → value → id
    lookups: dict[str, Lookup] = field(default_factory=dict)
    seen: dict = field(default_factory=dict)
    # The rows must be new (an API create): a stored key raises KeyTaken instead of an update.
    create_only: bool = False

    def __getitem__(self, lookup: str) -> dict:
        return self.found[lookup]

    def id_for(self, lookup: str, value: str | None) -> int | None:
        """The id of a value, created by its lookup on first use (an unknown manager's
        e-mail, a new warehouse's name)."""
        if not value:
            return None
        table = self.found.setdefault(lookup, {})
        if value not in table:
            table[value] = self.lookups[lookup].create(value)
        return table[value]


class Kind(ABC):
    """One importable kind, registered by the domain that owns its records
    (crm.exchange.registry). Subclasses set `name`, `columns`, `key` and implement the hooks."""

    name: str = ""  # the file's kind in the data-exchange contract (partners, sales, …)
    title: str = ""  # for people (a lazy gettext string); the name when not given
    columns: tuple[Col, ...] = ()
    key: tuple[str, ...] = ()
    lookups: tuple[Lookup, ...] = ()  # loaded before the first row, read as ctx[name]
    order: int = 100  # place in the lists of kinds
    # The write may take the records validation checked, new and changed ones only, instead of
    # reading the file again (crm.exchange.importer.CheckedRecords): for kinds whose `write`
    # needs nothing that `check` keeps in ctx.seen and for which an unchanged row needs no write.
    writes_checked_records: bool = False

    @property
    def label(self) -> str:
        return str(self.title) if self.title else self.name

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def parse(
        self, row_no: int, raw: dict, *, from_file: bool = False
    ) -> tuple[dict, list[RowError]]:
        """Typed values of the known columns, and an error per bad or missing cell.
        `from_file`: the cells come from a CSV/XLSX file, whose text cells may carry the
        export's formula escape (crm.core.cells); it is taken off after trimming, so even
        a value starting with a tab comes back as it was exported."""
        out, errors = {}, []
        for col in self.columns:
            cell = raw.get(col.name)
            blank = cell is None
            if not blank and isinstance(cell, str):
                stripped = cell.strip()
                if from_file and stripped[:1] == "'":
                    stripped = cell = unescape_formula(stripped)
                blank = not stripped
            if blank:
                if col.required:
                    errors.append(RowError(row_no, col.name, REQUIRED, _("is required")))
                out[col.name] = col.default
                continue
            if col.parse is values.text and type(cell) is str:
                value = stripped  # what values.text gives a string, minus a call per cell
            else:
                try:
                    value = col.parse(cell)
                except values.BadValue as exc:
                    errors.append(RowError(row_no, col.name, BAD_VALUE, str(exc)))
                    continue
            if isinstance(value, str) and "\x00" in value:
                errors.append(RowError(row_no, col.name, NUL, _("contains a NUL character")))
                continue
            if col.max_len and isinstance(value, str) and len(value) > col.max_len:
                errors.append(
                    RowError(
                        row_no,
                        col.name,
                        TOO_LONG,
                        ngettext(
                            "is longer than %(num)s character",
                            "is longer than %(num)s characters",
                            col.max_len,
                        ),
                    )
                )
                continue
            out[col.name] = value
        return out, errors

    # --- hooks -----------------------------------------------------------------------------

    def check(self, row_no: int, rec: dict, ctx: Context) -> list[RowError]:
        """Rules across columns and against the database (unknown codes, …)."""
        return []

    def key_of(self, rec: dict) -> tuple:
        return tuple(rec[k] for k in self.key)

    @abstractmethod
    def existing(self, recs: list[dict], ctx: Context) -> dict[tuple, tuple]:
        """For the records of a batch: key → comparable stored values, for the keys stored."""

    @abstractmethod
    def comparable(self, rec: dict, ctx: Context) -> tuple:
        """The record's values in the form `existing` returns them (to tell unchanged rows)."""

    def same(self, rec: dict, stored: tuple, ctx: Context) -> bool:
        return self.comparable(rec, ctx) == stored

    @abstractmethod
    def write(self, recs: list[dict], ctx: Context, actor) -> None:
        """Store a batch of valid records (inside the import's one transaction) through the
        owning domain's services."""

    def finish(self, ctx: Context) -> None:  # noqa: B027  (optional hook)
        """Work after the last batch (recomputing document totals, …); none by default."""

    def export(self) -> Iterator[tuple]:
        """Every stored row with the columns in order, so that the file re-imports unchanged
        (crm.exchange.exporter.cell gives each value its file form)."""
        raise NotImplementedError

    @property
    def exportable(self) -> bool:
        return type(self).export is not Kind.export


def load_lookups(kind: Kind, ctx: Context, rows: list[dict] | None = None) -> None:
    """Each lookup of the kind for the whole database (a file), or only for the values in
    `rows` (a few objects pushed through the API: loading 100,000 codes per call would
    dominate it)."""
    for lookup in kind.lookups:
        wanted = None
        if rows is not None and lookup.field is not None:
            named = (values.text(r.get(lookup.field)) for r in rows)
            wanted = {v for v in named if v and "\x00" not in v}  # NUL: refused by parse
        ctx.found[lookup.name] = lookup.load(wanted)
        ctx.lookups[lookup.name] = lookup


def unknown(row_no: int, rec: dict, ctx: Context, column: str, lookup: str, what: str):
    """An error when the row names a `what` (a partner, a product) its lookup does not know."""
    value = rec.get(column)
    if value and value not in ctx[lookup]:
        return [RowError(row_no, column, UNKNOWN, _unknown_message(what, repr(value)))]
    return []


def _unknown_message(what: str, value: str) -> str:
    # Whole sentences per thing named (a translated "unknown" + a translated noun would not
    # agree in Russian); a kind naming something else gets the general one.
    if what == "partner":
        return _("unknown partner %(value)s", value=value)
    if what == "product":
        return _("unknown product %(value)s", value=value)
    return _("unknown %(column)s %(value)s", column=what, value=value)


def check_email(row_no: int, column: str, value: str | None) -> list[RowError]:
    if not value:
        return []
    problem = _email_problem(value)
    return [] if problem is None else [RowError(row_no, column, INVALID, problem)]


@lru_cache(maxsize=4096)
def _email_problem(value: str) -> str | None:
    """email_problem, cached: a sales file names the same few managers on every row, and
    validating an address costs more than parsing the whole row."""
    return email_problem(value)


def email_problem(value: str) -> str | None:
    """Why the address is not one (None when it is)."""
    from crm.core.text import checked_email

    try:
        checked_email(value)
    except ValueError as exc:
        return str(exc)
    return None


def plain(value):
    """A stored value in the form a parsed cell has (for unchanged-row comparison)."""
    if isinstance(value, Decimal):
        return value.normalize()
    return value


def upsert(
    model,
    rows: list[dict],
    keys: list[str],
    update: list[str] | None = None,
    *,
    only_new: bool = False,
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE (or DO NOTHING) on SQLite and PostgreSQL alike.
    `only_new`: a plain INSERT, so that a stored key fails (IntegrityError) rather than being
    updated — an API create that a concurrent create beat must not answer "created" too."""
    if not rows:
        return
    stmt = dialect_insert(model.__table__)
    if only_new:
        db.session.execute(stmt, rows)
        return
    if update:
        table = model.__table__
        set_ = {c: getattr(stmt.excluded, c) for c in update}
        # ON CONFLICT skips a column's onupdate: stamp updated_at here, and only on rows whose
        # values change, so a repeated import leaves every row as it was.
        if "updated_at" in table.c:
            set_["updated_at"] = utcnow()
        changed = or_(*(table.c[c].is_distinct_from(getattr(stmt.excluded, c)) for c in update))
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_=set_, where=changed)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    db.session.execute(stmt, rows)


def chunks(items: list, size: int = 900):
    """Slices small enough for an IN (…) list on every database."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
