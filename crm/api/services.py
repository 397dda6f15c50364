"""Writes of the JSON API. Owns who may write what through the API and turning a request's
object into import rows: every create and update is stored by the file import's own checks and
writes (exchange.importer.import_rows), so the API accepts exactly what a file would, with the
same messages. An update merges the given fields over the stored item before that. Deals are
the exception: they are checked as deals.csv reads them but written by the deals' own services
and stage rules (crm/api/deals.py), as their pages write them."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from crm.api import deals
from crm.api.fields import bad_input
from crm.api.queries import Resource, SalesDocuments, key_text, partner_for_code
from crm.core import versioning
from crm.core.errors import PermissionDenied
from crm.core.keys import KeyTaken, is_key_race
from crm.core.policy import may
from crm.exchange import values
from crm.exchange.importer import Report, import_rows
from crm.exchange.kind import DUPLICATE_KEY
from crm.extensions import db
from crm.sales.models import Payment, SalesDocument, SalesLine


class ApiError(Exception):
    """A refusal the client can act on: the status, a message and field errors."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[dict] | None = None,
        headers: dict | None = None,
        extra: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.message = status, message
        self.errors, self.headers = errors, headers or {}
        self.extra = extra or {}  # more members of the answer (a conflict's changes)


def _err(field: str | None, message: str) -> dict:
    return {"field": field, "message": message}


def _invalid(res: Resource, errors: list[dict]) -> ApiError:
    n = len(errors)
    return ApiError(
        422, f"The {res.title} is not saved: {n} problem{'s' if n != 1 else ''}.", errors
    )


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_may_write(res: Resource, user) -> None:
    """Admins write everything; managers their own partners' data; the others only read."""
    if not may(user, "api.write"):
        raise ApiError(403, f"Your role ({user.role}) may read through the API but not write.")
    if not res.partner_data and not may(user, "api.write_shared"):
        raise ApiError(403, f"Only admins may change {res.name} through the API.")


# --- the request's object -------------------------------------------------------------------


def _cells(data: dict, fields, skip: tuple, prefix: str, what: str, errors: list) -> dict:
    """The known fields of a JSON object; an error for each unknown field or unusable value."""
    names = {c.name for c in fields}
    cells = {}
    for name, value in data.items():
        if name in skip:
            continue
        if name not in names:
            errors.append(_err(f"{prefix}{name}", f"is not a field of {what}"))
        elif problem := bad_input(value):
            errors.append(_err(f"{prefix}{name}", problem))
        else:
            cells[name] = value
    return cells


def _lines(res: SalesDocuments, lines, errors: list) -> list[dict]:
    if not isinstance(lines, list) or not lines:
        errors.append(_err("lines", "must be a list of at least one line"))
        return []
    result = []
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            errors.append(_err(f"lines[{i}]", "must be an object"))
            continue
        result.append(_cells(line, res.line_fields, (), f"lines[{i}].", "a line", errors))
    return result


def _object(res: Resource, body: dict, stored: dict | None, key: dict | None) -> dict:
    """The body's fields over the stored item (update) or over nothing (create)."""
    errors: list[dict] = []
    sales = isinstance(res, SalesDocuments)
    skip = (*res.read_only, "lines") if sales else res.read_only
    cells = _cells(body, res.fields, skip, "", f"a {res.title}", errors)
    for name in res.key if key else ():
        if name in cells and values.text(cells[name]) != str(key[name]):
            errors.append(_err(name, "is the key (it is in the URL): it cannot be changed"))
    obj = {k: v for k, v in (stored or {}).items() if k not in res.read_only}
    obj.update(cells)
    if sales:
        if "lines" in body:
            obj["lines"] = _lines(res, body["lines"], errors)
        elif stored is None:
            errors.append(_err("lines", "is required"))
    if errors:
        raise _invalid(res, errors)
    return obj


def _rows(res: Resource, obj: dict) -> list[dict]:
    """The import rows of an object: one, or one per line of a sales document."""
    if isinstance(res, SalesDocuments):
        head = {c.name: obj.get(c.name) for c in res.fields}
        return [
            {**head, **{c.name: line.get(c.name) for c in res.line_fields}} for line in obj["lines"]
        ]
    return [{c.name: obj.get(c.name) for c in res.fields}]


def _check_partner(res: Resource, user, obj: dict) -> None:
    """A manager writes only his partners' data: another's partner is as unknown to him as
    to the import (the same message, and no hint that it exists)."""
    if not res.partner_data or res.name == "partners" or _blank(obj.get("partner_code")):
        return
    code = values.text(obj["partner_code"])
    partner = partner_for_code(code)
    if partner is not None and not may(user, "partner.edit", partner):
        raise _invalid(res, [_err("partner_code", f"unknown partner {code!r}")])


def _email(value) -> str:
    return "" if _blank(value) else values.text(value).casefold()


def _check_responsible(res: Resource, user, body: dict, stored: dict | None) -> None:
    """Who is responsible follows the web forms' rule: only an admin names someone else. A
    manager may name himself on a new item (or no one) and keep what an item has; so his
    token can neither hand a partner or a document to a colleague nor, by naming an unknown
    e-mail, make the import create a user. (An admin's unknown e-mail still creates an
    inactive user, as the exchange format says for its admin-only file import.)"""
    if may(user, "records.assign") or "manager" not in body:
        return
    if not any(c.name == "manager" for c in res.fields):
        return
    allowed = {"", user.email.casefold()} if stored is None else {_email(stored.get("manager"))}
    if _email(body["manager"]) not in allowed:
        message = (
            "only an admin can make someone else responsible; leave it out or name yourself"
            if stored is None
            else "only an admin can change who is responsible; leave it out"
        )
        raise _invalid(res, [_err("manager", message)])


# --- import -------------------------------------------------------------------------------


def report_errors(res: Resource, report: Report) -> list[dict]:
    """The import's row errors as field errors of the object (a sales document's rows are its
    lines)."""
    found: dict[tuple, dict] = {}

    def add(field, message):
        found.setdefault((field, message), _err(field, message))

    for text in report.file_errors:
        add(None, text)
    line_names = {c.name for c in getattr(res, "line_fields", ())}
    for e in report.errors:
        if e.column in line_names:
            add(f"lines[{e.row - 1}].{e.column}", e.message)
        elif line_names and e.code == DUPLICATE_KEY:
            add(f"lines[{e.row - 1}].line_no", "is on an earlier line of the document too")
        else:
            add(
                e.column, e.message
            )  # a document's field is on each of its rows: named once  # a document's field is on each of its rows: named once
    if report.error_count > len(report.errors):
        add(None, f"… and {report.error_count - len(report.errors)} more errors")
    return list(found.values())


def _store(res: Resource, user, rows: list[dict], *, create: bool = False) -> Report:
    try:
        report = import_rows(res.kind_name, rows, actor=user, create_only=create)
    except (KeyTaken, DBAPIError) as exc:
        # The key is a unique constraint: a concurrent call that stored it first wins, and
        # this one is told so instead of storing the item twice or answering 500.
        if isinstance(exc, DBAPIError) and not is_key_race(exc):
            raise
        db.session.rollback()
        raise _conflict(res, rows[0], create) from exc
    if not report.ok:
        db.session.rollback()
        raise _invalid(res, report_errors(res, report))
    return report


def _conflict(res: Resource, row: dict, create: bool) -> ApiError:
    """The 409 of a key taken by another writer (for an update: a race it lost)."""
    if not create:
        return ApiError(
            409,
            f"The {res.title} was being changed by another request at the same moment; "
            "nothing is saved. Send the change again.",
        )
    if res.name == "payments":
        return _payment_recorded(_payment_id(res, row))
    key = _key(res, row)
    return ApiError(
        409, f"A {res.title} with this key exists: {key_text(key)}. Change it with PATCH."
    )


def _payment_recorded(payment_id: int | None) -> ApiError:
    return ApiError(
        409,
        "This payment is recorded already (the same date, partner_code, "
        f"amount and doc_no): id {payment_id}.",
    )


def _key(res: Resource, row: dict) -> dict | None:
    """The stored key the row names (text trimmed; a merged partner's code is its survivor's)."""
    rec, _ = res.kind.parse(1, row)
    key = {name: rec.get(name) for name in res.key}
    if any(_blank(v) for v in key.values()):
        return None
    if "partner_code" in key:
        partner = partner_for_code(key["partner_code"])
        if partner is not None:
            key["partner_code"] = partner.code
    return key


def _payment_id(res: Resource, row: dict) -> int | None:
    """The id of the stored payment the row describes (its first occurrence)."""
    rec, _ = res.kind.parse(1, row)
    partner = partner_for_code(rec["partner_code"])
    found = db.session.execute(
        select(Payment.id, Payment.amount)
        .where(
            Payment.date == rec["date"],
            Payment.partner_id == partner.id,
            Payment.doc_no == (rec["doc_no"] or ""),
        )
        .order_by(Payment.occurrence)
    ).all()
    # Amounts compared in Python: SQLite keeps NUMERIC as a float.
    return next((pid for pid, amount in found if amount == rec["amount"]), None)


def _keep_only_lines(doc_no: str, lines: list[dict]) -> None:
    """An update's lines are the document's lines now: drop the others, then the total."""
    from crm.sales.services import recompute_document_totals

    keep = [
        i if _blank(line.get("line_no")) else values.whole(line["line_no"])
        for i, line in enumerate(lines, start=1)
    ]
    doc_id = db.session.execute(
        select(SalesDocument.id).where(SalesDocument.doc_no == doc_no)
    ).scalar_one()
    db.session.execute(
        delete(SalesLine).where(SalesLine.document_id == doc_id, SalesLine.line_no.not_in(keep))
    )
    recompute_document_totals([doc_id])


def _commit(res: Resource, row: dict, *, create: bool) -> None:
    """Commit; a key another writer committed first (SQLite checks some only now) is a 409."""
    try:
        db.session.commit()
    except DBAPIError as exc:
        if not is_key_race(exc):
            raise
        db.session.rollback()
        raise _conflict(res, row, create) from exc


# --- create and update --------------------------------------------------------------------


def _read_back(res: Resource, key: dict) -> dict:
    """The stored item as the answer will show it, read before the commit so that an error
    here saves nothing. The import's bulk statements bypass the ORM: objects loaded earlier
    in this request (the version check's record) are expired so they are read anew."""
    db.session.flush()
    db.session.expire_all()
    return res.get(None, key)


def create(res: Resource, user, body: dict) -> tuple[dict, dict]:
    """Store a new item; returns it and its key. 409 when the key is taken."""
    check_may_write(res, user)
    obj = _object(res, body, None, None)
    _check_responsible(res, user, body, None)
    if res.name == "deals":
        return _create_deal(res, user, obj)
    if res.name == "partners" and not may(user, "records.assign") and _blank(obj.get("manager")):
        obj["manager"] = user.email  # as the partner form does: the creator is responsible
    _check_partner(res, user, obj)
    rows = _rows(res, obj)
    key = None if res.name == "payments" else _key(res, rows[0])
    if key is not None and res.exists(key):
        raise _conflict(res, rows[0], create=True)
    # Stored only as new rows (a plain INSERT): of two calls creating one key at the same
    # moment, exactly one answers 201 and the other 409.
    _store(res, user, rows, create=True)
    if res.name == "payments":
        key = {"id": _payment_id(res, rows[0])}
    item = _read_back(res, key)
    _commit(res, rows[0], create=True)
    return item, key


def etag(record) -> str | None:
    """The ETag of a versioned item: its version."""
    version = getattr(record, "version", None)
    return None if version is None else str(version)


def wanted_version(body: dict, if_match) -> tuple[int | None, int]:
    """The version the client read (body `version`, else `If-Match`), and the status a stale
    one gets: 409 for the body's, 412 for the header's (HTTP's failed precondition)."""
    raw = body.pop("version", None)
    if raw is not None:
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**31:
            raise ApiError(
                422,
                "The version must be the whole number the item was read with.",
                [_err("version", "must be a whole number of 1 or more")],
            )
        return raw, 409
    tags = [t for t in (if_match.as_set() if if_match else ()) if t]
    if if_match and if_match.star_tag:
        return None, 412
    if tags:
        if len(tags) != 1 or not tags[0].isascii() or not tags[0].isdigit() or len(tags[0]) > 9:
            raise ApiError(400, 'If-Match takes one ETag as GET answered it, such as "3".')
        return int(tags[0]), 412
    return None, 409


def stale_answer(res: Resource, exc: versioning.StaleRecord, status: int) -> ApiError:
    return ApiError(
        status,
        f"The {res.title} changed since version {exc.submitted_version} that you sent; "
        "nothing is stored. Read it again (the changes are listed) and send your update "
        "with the new version.",
        headers={"ETag": f'"{exc.current_version}"'},
        extra={"conflict": exc.as_json()},
    )


def update(res: Resource, user, key: dict, body: dict, if_match=None) -> dict | None:
    """Merge the body's fields over the stored item and store it; None when there is none
    that `user` may see. With the version the client read (body `version` or `If-Match`), a
    change since refuses the update; without one it applies to the item as it is now."""
    check_may_write(res, user)
    version, stale_status = wanted_version(body, if_match) if res.versioned else (None, 409)
    stored = res.get(user, key)
    if stored is None:
        return None
    if res.name == "partners" and not may(user, "partner.edit", partner_for_code(key["code"])):
        raise ApiError(403, "You may not change this partner.")
    record = res.record(key)
    base = getattr(record, "version", None)
    if record is not None and version is not None:
        try:
            versioning.check(record, version)
        except versioning.StaleRecord as exc:
            raise stale_answer(res, exc, stale_status) from None
    obj = _object(res, body, stored, key)
    _check_responsible(res, user, body, stored)
    if res.name == "deals":
        _deal_write(res, obj, True, lambda: deals.update(res, user, record, obj, set(body)))
        item = _read_back(res, key)
        _commit(res, obj, create=False)
        return item
    _check_partner(res, user, obj)
    rows = _rows(res, obj)
    try:
        _store(res, user, rows)
    except StaleDataError:
        # Another save won the race after our check: refused as a stale version would be.
        db.session.rollback()
        current = res.record(key)
        if current is None:
            raise ApiError(
                409, f"The {res.title} was removed meanwhile; nothing is stored."
            ) from None
        raise stale_answer(res, versioning.stale(current, version or base), 409) from None
    if isinstance(res, SalesDocuments) and "lines" in body:
        _keep_only_lines(key["doc_no"], obj["lines"])
    item = _read_back(res, key)
    _commit(res, rows[0], create=False)
    return item


# --- deals: written by their own services -------------------------------------------------


def _deal_write(res: Resource, obj: dict, update: bool, action):
    """Run a write of crm/api/deals.py; its refusals as the API answers them."""
    try:
        return action()
    except deals.Refused as exc:
        raise _invalid(res, [_err(field, message) for field, message in exc.errors]) from exc
    except versioning.StaleRecord as exc:
        raise stale_answer(res, exc, 409) from None
    except PermissionDenied as exc:
        raise ApiError(403, exc.message) from exc
    except DBAPIError as exc:
        # A deal number a concurrent call stored first, or a save that lost a race.
        if not is_key_race(exc):
            raise
        db.session.rollback()
        raise _conflict(res, obj, not update) from exc


def _create_deal(res: Resource, user, obj: dict) -> tuple[dict, dict]:
    """Open a deal through the deals' services (deal_no may be left out: the CRM numbers it)."""
    if not _blank(obj.get("deal_no")):
        key = {"deal_no": values.text(obj["deal_no"])}
        if res.exists(key):
            raise _conflict(res, obj, create=True)
    key = _deal_write(res, obj, False, lambda: deals.create(res, user, obj))
    item = _read_back(res, key)
    _commit(res, obj, create=True)
    return item, key
