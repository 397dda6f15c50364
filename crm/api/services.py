"""Writes of the JSON API. Owns who may write what through the API and turning a request's
object into import rows: every create and update is stored by the file import's own checks and
writes (exchange.importer.import_rows), so the API accepts exactly what a file would, with the
same messages. An update merges the given fields over the stored item before that."""

from __future__ import annotations

import re

from sqlalchemy import delete, select

from crm.api.fields import bad_input
from crm.api.queries import Resource, SalesDocuments, key_text, partner_for_code
from crm.exchange import values
from crm.exchange.importer import Report, import_rows
from crm.extensions import db
from crm.partners.queries import can_edit
from crm.sales.models import Payment, SalesDocument, SalesLine

WRITERS = ("admin", "manager")
ROW_ERROR = re.compile(r"^row (\d+), column (.+?): (.*)$", re.DOTALL)


class ApiError(Exception):
    """A refusal the client can act on: the status, a message and field errors."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[dict] | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.message = status, message
        self.errors, self.headers = errors, headers or {}


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
    if user.role not in WRITERS:
        raise ApiError(403, f"Your role ({user.role}) may read through the API but not write.")
    if not res.partner_data and user.role != "admin":
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
    if partner is not None and not can_edit(user, partner):
        raise _invalid(res, [_err("partner_code", f"unknown partner {code!r}")])


# --- import -------------------------------------------------------------------------------


def report_errors(res: Resource, report: Report) -> list[dict]:
    """The import's `row N, column C: message` lines as field errors of the object."""
    found: dict[tuple, dict] = {}

    def add(field, message):
        found.setdefault((field, message), _err(field, message))

    for text in report.file_errors:
        add(None, text)
    line_names = {c.name for c in getattr(res, "line_fields", ())}
    for text in report.errors:
        match = ROW_ERROR.match(text)
        if match is None:
            add(None, text)
            continue
        row, column, message = int(match[1]), match[2], match[3]
        if column in line_names:
            add(f"lines[{row - 1}].{column}", message)
        elif line_names and message.startswith("the same key"):
            add(f"lines[{row - 1}].line_no", "is on an earlier line of the document too")
        else:
            add(column, message)  # a document's field is on each of its rows: named once
    if report.error_count > len(report.errors):
        add(None, f"… and {report.error_count - len(report.errors)} more errors")
    return list(found.values())


def _store(res: Resource, user, rows: list[dict]) -> Report:
    report = import_rows(res.kind_name, rows, actor=user)
    if not report.ok:
        db.session.rollback()
        raise _invalid(res, report_errors(res, report))
    return report


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


# --- create and update --------------------------------------------------------------------


def create(res: Resource, user, body: dict) -> tuple[dict, dict]:
    """Store a new item; returns it and its key. 409 when the key is taken."""
    check_may_write(res, user)
    obj = _object(res, body, None, None)
    if res.name == "partners" and user.role == "manager" and _blank(obj.get("manager")):
        obj["manager"] = user.email  # as the partner form does: the creator is responsible
    _check_partner(res, user, obj)
    rows = _rows(res, obj)
    key = None if res.name == "payments" else _key(res, rows[0])
    if key is not None and res.exists(key):
        raise ApiError(
            409, f"A {res.title} with this key exists: {key_text(key)}. Change it with PATCH."
        )
    report = _store(res, user, rows)
    if res.name == "payments":
        key = {"id": _payment_id(res, rows[0])}
        if not report.new:
            db.session.rollback()
            raise ApiError(
                409,
                "This payment is recorded already (the same date, partner_code, "
                f"amount and doc_no): id {key['id']}.",
            )
    item = res.get(None, key)  # read back before the commit: an error here saves nothing
    db.session.commit()
    return item, key


def update(res: Resource, user, key: dict, body: dict) -> dict | None:
    """Merge the body's fields over the stored item and store it; None when there is none
    that `user` may see."""
    check_may_write(res, user)
    stored = res.get(user, key)
    if stored is None:
        return None
    if res.name == "partners" and not can_edit(user, partner_for_code(key["code"])):
        raise ApiError(403, "You may not change this partner.")
    obj = _object(res, body, stored, key)
    _check_partner(res, user, obj)
    _store(res, user, _rows(res, obj))
    if isinstance(res, SalesDocuments) and "lines" in body:
        _keep_only_lines(key["doc_no"], obj["lines"])
    item = res.get(None, key)  # read back before the commit: an error here saves nothing
    db.session.commit()
    return item
