"""Writes of the sales ledger that keep derived values right: each document's summary
(`SalesDocument.total`, which receivables read instead of the lines, and the rest of it, kept
by crm.sales.summaries, which analytics read), the months the product × month summary must sum
again, and the lines' copy of their document's date and partner; stores imported documents in
bulk, and reports a stored document's status change to the client notifications
(crm.core.client_notifications, kind "order_status")."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, select, update

from crm.core.client_notifications import Occurrence, notify_clients
from crm.core.db import insert_rows
from crm.core.keys import dialect_insert
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.sales.models import Payment, SalesDocument, SalesLine
from crm.sales.summaries import BATCH as SUMMARY_BATCH
from crm.sales.summaries import (
    drop_partner_months,
    mark_document_months,
    mark_months,
    recompute_documents,
    summary_of_lines,
)

# Header columns of a document an import sets (besides doc_no).
DOCUMENT_FIELDS = (
    "date",
    "partner_id",
    "organization_id",
    "department_id",
    "warehouse_id",
    "manager_id",
    "due_date",
)
LINE_FIELDS = ("date", "partner_id", "product_id", "quantity", "amount", "cost")
# The client notification kind of a document's status change (registered by crm.messaging).
ORDER_STATUS_KIND = "order_status"
# doc_no values per IN (…) list: under every database's bound-parameter limit.
IN_BATCH = 900


def document_ids(doc_nos: Iterable[str]) -> dict[str, int]:
    """The ids of the stored documents among `doc_nos`."""
    doc_nos = list(doc_nos)
    found: dict[str, int] = {}
    for start in range(0, len(doc_nos), IN_BATCH):
        chunk = doc_nos[start : start + IN_BATCH]
        found.update(
            db.session.execute(
                select(SalesDocument.doc_no, SalesDocument.id).where(
                    SalesDocument.doc_no.in_(chunk)
                )
            ).all()
        )
    return found


def store_documents(
    headers: dict[str, dict], lines: list[dict], *, only_new: bool = False
) -> set[int]:
    """Store a batch of documents (`headers`: doc_no → DOCUMENT_FIELDS and maybe `status`,
    None keeping a stored document's) and lines (each with `doc_no`, `line_no` and
    LINE_FIELDS; date and partner as their document's). Returns the ids
    of documents that were stored before: their totals and other lines are brought up to date
    by `settle_documents` once every batch is in. `only_new`: a stored doc_no fails
    (IntegrityError) instead of being updated. The line dicts are used up: each becomes the
    row stored (its doc_no replaced by document_id)."""
    ids = document_ids(headers)
    fresh = [doc_no for doc_no in headers if doc_no not in ids]
    # The product × month summary: the months the lines leave (a stored document's lines, a
    # date may change) and the months they go to (the headers' dates, every line's).
    mark_document_months(ids.values())
    mark_months([h["date"] for h in headers.values()] + [line["date"] for line in lines])
    _insert_new_documents(headers, fresh, lines)
    ids.update(document_ids(fresh))
    new_docs = set(fresh)
    known = {doc_no: headers[doc_no] for doc_no in headers if doc_no not in new_docs}
    if known:
        stmt = dialect_insert(SalesDocument.__table__)
        rows = [
            {"doc_no": doc_no, **{f: header[f] for f in DOCUMENT_FIELDS}}
            for doc_no, header in known.items()
        ]
        if only_new:
            db.session.execute(stmt, rows)
        else:
            _upsert(SalesDocument.__table__, rows, ["doc_no"], DOCUMENT_FIELDS, stamp=True)
        set_statuses({ids[doc_no]: h["status"] for doc_no, h in known.items() if h.get("status")})
    new_lines, other_lines = [], []
    for line in lines:  # each dict becomes its row: doc_no gives way to document_id
        doc_no = line.pop("doc_no")
        line["document_id"] = ids[doc_no]
        (new_lines if doc_no in new_docs else other_lines).append(line)
    insert_rows(SalesLine.__table__, new_lines)
    _upsert(SalesLine.__table__, other_lines, ["document_id", "line_no"], LINE_FIELDS)
    return {ids[doc_no] for doc_no in known}


def _insert_new_documents(headers: dict[str, dict], fresh: list[str], lines: list[dict]) -> None:
    """Documents not stored yet, inserted with their total: the Σ of their lines in this batch
    (a later batch with more of their lines finds them stored and has them recomputed).

    Speed: on a first import nearly every document is new; a total known here spares the
    per-document recomputation (a correlated sum over the lines) and the update of the lines'
    copy of date and partner after the import — most of the write's database time on
    PostgreSQL."""
    if not fresh:
        return
    by_doc: dict[str, list[dict]] = {doc_no: [] for doc_no in fresh}
    for r in lines:
        if r["doc_no"] in by_doc:
            by_doc[r["doc_no"]].append(r)
    now = utcnow()
    insert_rows(
        SalesDocument.__table__,
        [
            {
                "doc_no": doc_no,
                **{f: headers[doc_no][f] for f in DOCUMENT_FIELDS},
                "status": headers[doc_no].get("status") or "shipped",
                **summary_of_lines(by_doc[doc_no]),
                "updated_at": now,
            }
            for doc_no in fresh
        ],
    )


def set_statuses(wanted: dict[int, str]) -> list[tuple[int, str, str]]:
    """Give documents (id → status) their new status; each change is reported to the client
    notifications (kind "order_status", event key "order_status:<id>:<status>"). Returns the
    changes as (id, previous, new); a document already in its status is not touched."""
    changes: list[tuple[int, str, str]] = []
    occurrences: list[Occurrence] = []
    ids = sorted(wanted)
    for start in range(0, len(ids), IN_BATCH):
        batch = ids[start : start + IN_BATCH]
        rows = db.session.execute(
            select(SalesDocument.id, SalesDocument.partner_id, SalesDocument.status).where(
                SalesDocument.id.in_(batch)
            )
        ).all()
        for doc_id, partner_id, old in rows:
            new = wanted[doc_id]
            if new == old:
                continue
            changes.append((doc_id, old, new))
            occurrences.append(
                Occurrence(
                    f"{ORDER_STATUS_KIND}:{doc_id}:{new}",
                    partner_id,
                    None,
                    {"document_id": doc_id, "status": new, "previous_status": old},
                )
            )
    if changes:
        doc = SalesDocument.__table__
        db.session.execute(
            update(doc)
            .where(doc.c.id == bindparam("doc_id"))
            .values(status=bindparam("new_status"), updated_at=utcnow()),
            [{"doc_id": doc_id, "new_status": new} for doc_id, _old, new in changes],
        )
        notify_clients(ORDER_STATUS_KIND, occurrences)
    return changes


def _upsert(table, rows: list[dict], keys: list[str], fields, *, stamp: bool = False) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE of the `fields` that differ (others untouched)."""
    if not rows:
        return
    from sqlalchemy import or_

    stmt = dialect_insert(table)
    set_ = {f: getattr(stmt.excluded, f) for f in fields}
    if stamp:  # ON CONFLICT skips onupdate: stamp updated_at on rows that change
        set_["updated_at"] = utcnow()
    changed = or_(*(table.c[f].is_distinct_from(getattr(stmt.excluded, f)) for f in fields))
    db.session.execute(
        stmt.on_conflict_do_update(index_elements=keys, set_=set_, where=changed), rows
    )


def settle_documents(document_ids: Iterable[int]) -> None:
    """After lines of stored documents were written: their other lines take the document's
    (maybe new) date and partner, and their totals are recomputed."""
    touched = sorted(set(document_ids))
    doc = SalesDocument.__table__
    line = SalesLine.__table__
    for start in range(0, len(touched), IN_BATCH):
        batch = touched[start : start + IN_BATCH]
        # Lines of a document whose date or partner changed, that were not in the file,
        # follow their document (analytics read date and partner from the lines). UPDATE …
        # FROM (both databases): one join, not two correlated subqueries per line.
        db.session.execute(
            update(line)
            .where(line.c.document_id == doc.c.id, doc.c.id.in_(batch))
            .where((line.c.date != doc.c.date) | (line.c.partner_id != doc.c.partner_id))
            .values(date=doc.c.date, partner_id=doc.c.partner_id)
        )
    recompute_document_totals(touched)


def recompute_document_totals(document_ids: Iterable[int], batch_size: int = SUMMARY_BATCH) -> int:
    """Set each document's total (and the rest of its summary, crm.sales.summaries) from its
    lines; returns how many documents changed; documents already right are not touched."""
    return recompute_documents(document_ids, batch_size)


def prepare_sales_for_merge(other_id: int, survivor_id: int) -> None:
    """Before partner `other_id` is merged into `survivor_id` (its rows re-pointed): payments
    renumbered, monthly summary rows dropped and their months marked."""
    renumber_payments_for_merge(other_id, survivor_id)
    drop_partner_months(other_id)


def renumber_payments_for_merge(other_id: int, survivor_id: int) -> None:
    """Before partner `other_id` is merged into `survivor_id`: where both have payments with the
    same date, amount and doc_no, the other's occurrences move up past the survivor's, so every
    payment stays and the payment key stays unique."""
    rows = db.session.execute(
        select(
            Payment.id,
            Payment.partner_id,
            Payment.date,
            Payment.amount,
            Payment.doc_no,
            Payment.occurrence,
        ).where(Payment.partner_id.in_((other_id, survivor_id)))
    ).all()
    highest: dict[tuple, int] = {}
    for _id, partner_id, day, amount, doc_no, occurrence in rows:
        if partner_id == survivor_id:
            key = (day, amount, doc_no)
            highest[key] = max(highest.get(key, 0), occurrence)
    moving = [r for r in rows if r[1] == other_id and (r[2], r[3], r[4]) in highest]
    # Highest first: a row never moves onto an occurrence another row still holds.
    for pid, _partner, day, amount, doc_no, occurrence in sorted(moving, key=lambda r: -r[5]):
        db.session.execute(
            update(Payment)
            .where(Payment.id == pid)
            .values(occurrence=occurrence + highest[(day, amount, doc_no)])
        )
