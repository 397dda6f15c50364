"""Writes of the sales ledger that keep derived values right. Owns `SalesDocument.total`
(Σ of the document's line amounts), which receivables read instead of the lines."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update

from crm.extensions import db
from crm.sales.models import Payment, SalesDocument, SalesLine

# Ids per UPDATE: far under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters, and small
# enough that one statement's lock is short during a big import.
TOTALS_BATCH = 1000


def recompute_document_totals(document_ids: Iterable[int], batch_size: int = TOTALS_BATCH) -> int:
    """Set each document's total to the sum of its line amounts (0 without lines); returns how
    many documents changed. Documents already right are not touched (their updated_at stays),
    so a repeated import changes nothing."""
    ids = sorted({int(i) for i in document_ids})
    if not ids:
        return 0
    db.session.flush()
    line = SalesLine.__table__.c
    # ROUND: SQLite keeps NUMERIC as floating point, whose sums can carry 1e-13 noise.
    lines_sum = (
        select(func.round(func.coalesce(func.sum(line.amount), 0), 2))
        .where(line.document_id == SalesDocument.id)
        .scalar_subquery()
    )
    changed = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        result = db.session.execute(
            update(SalesDocument)
            .where(SalesDocument.id.in_(chunk), SalesDocument.total != lines_sum)
            .values(total=lines_sum)
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount
    # Documents loaded in this session would otherwise keep showing their old totals.
    wanted = set(ids)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, SalesDocument) and obj.id in wanted:
            db.session.expire(obj, ["total", "updated_at"])
    return changed


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
