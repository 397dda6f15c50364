"""What every import kind shares: typed columns, row cleaning, lookups, and the contract a
kind implements (clean a row, say whether its key exists and with which values, write a batch)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import or_, select

from crm.core.cells import unescape_formula
from crm.core.keys import dialect_insert, id_for_key
from crm.core.timeutil import utcnow
from crm.exchange import values
from crm.extensions import db


@dataclass(frozen=True)
class Col:
    name: str
    required: bool = False
    parse: Callable = values.text
    max_len: int | None = None
    default: object = None


def money(v) -> Decimal:
    return values.number(v, places=2)


def quantity(v) -> Decimal:
    return values.number(v, places=3)


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass
class Context:
    """Lookups loaded once per import (codes → ids) and what the file itself declares."""

    today: date
    partners: dict[str, int] = field(default_factory=dict)  # code → live partner id
    products: dict[str, int] = field(default_factory=dict)  # sku → id
    users: dict[str, int] = field(default_factory=dict)  # e-mail → id
    names: dict[str, dict[str, int]] = field(default_factory=dict)  # table → name → id
    seen: dict = field(default_factory=dict)  # per-kind bookkeeping across rows
    # The rows must be new (an API create): a stored key raises KeyTaken instead of an update.
    create_only: bool = False


class Kind(ABC):
    """One importable kind. Subclasses set `name`, `columns`, `key` and implement the hooks."""

    name: str = ""
    columns: tuple[Col, ...] = ()
    key: tuple[str, ...] = ()
    lookups: tuple[str, ...] = ()  # which of partners/products/users/names the kind needs

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
                    errors.append(RowError(row_no, col.name, "is required"))
                out[col.name] = col.default
                continue
            if col.parse is values.text and type(cell) is str:
                value = stripped  # what values.text gives a string, minus a call per cell
            else:
                try:
                    value = col.parse(cell)
                except values.BadValue as exc:
                    errors.append(RowError(row_no, col.name, str(exc)))
                    continue
            if isinstance(value, str) and "\x00" in value:
                errors.append(RowError(row_no, col.name, "contains a NUL character"))
                continue
            if col.max_len and isinstance(value, str) and len(value) > col.max_len:
                errors.append(
                    RowError(row_no, col.name, f"is longer than {col.max_len} characters")
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
        """Store a batch of valid records (inside the import's one transaction)."""

    def finish(self, ctx: Context) -> None:  # noqa: B027  (optional hook)
        """Work after the last batch (recomputing document totals, …); none by default."""


def load_lookups(kind: Kind, ctx: Context, rows: list[dict] | None = None) -> None:
    """Codes → ids for the whole database (a file), or only for the codes in `rows` (a few
    objects pushed through the API: loading 100,000 codes per call would dominate it)."""
    from crm.auth.models import User
    from crm.partners.models import Partner
    from crm.sales.models import Department, Organization, Product, ProductGroup, Warehouse

    def only(column, field):
        if rows is None:
            return True
        wanted = {values.text(r.get(field)) for r in rows if r.get(field) not in (None, "")}
        return column.in_({w for w in wanted if "\x00" not in w})  # refused by parse

    if "partners" in kind.lookups:
        field = "partner_code" if kind.name != "partners" else "code"
        found = db.session.execute(
            select(Partner.code, Partner.id, Partner.merged_into_id).where(
                only(Partner.code, field)
            )
        ).all()
        # A merged partner's code still names the partner it went into.
        ctx.partners = {code: (into or pid) for code, pid, into in found}
    if "products" in kind.lookups:
        ctx.products = dict(
            db.session.execute(
                select(Product.sku, Product.id).where(only(Product.sku, "sku"))
            ).all()
        )
    if "users" in kind.lookups:
        ctx.users = dict(db.session.execute(select(User.email, User.id)).all())
    if "names" in kind.lookups:
        for model in (Organization, Department, Warehouse, ProductGroup):
            ctx.names[model.__tablename__] = dict(
                db.session.execute(select(model.name, model.id)).all()
            )


def name_id(ctx: Context, model, name: str | None) -> int | None:
    """The id of a reference entry (organization, warehouse, …) by name, created on first use
    (by one of two imports that use a new name at the same moment, not by both)."""
    if not name:
        return None
    table = ctx.names.setdefault(model.__tablename__, {})
    if name not in table:
        table[name] = id_for_key(model, {"name": name})
    return table[name]


def user_id(ctx: Context, email: str | None) -> int | None:
    """The user with this e-mail; an unknown one is created inactive (data-exchange.md)."""
    from crm.auth.models import User

    if not email:
        return None
    email = email.casefold()
    if email not in ctx.users:
        ctx.users[email] = id_for_key(User, {"email": email}, role="manager", active=False, name="")
    return ctx.users[email]


def check_email(row_no: int, column: str, value: str | None) -> list[RowError]:
    if not value:
        return []
    problem = _email_problem(value)
    return [] if problem is None else [RowError(row_no, column, problem)]


@lru_cache(maxsize=4096)
def _email_problem(value: str) -> str | None:
    """Why the address is not one (None when it is). Cached: a sales file names the same few
    managers on every row, and validating an address costs more than parsing the whole row."""
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
