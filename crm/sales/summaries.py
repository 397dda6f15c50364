"""Summaries of the sales lines that analytics read instead of the lines (3,000,000 lines are
too many to group on every report): owns the documents' summary columns beside `total`
(gross profit, Σ quantity, the number of lines and of purchase lines), the product × month and
partner × month tables and their list of months to sum again (`sales_dirty_month`).

The document columns are exact at every commit: the services that write lines recompute them
with the total. The product × month rows are summed per month: a write marks the months of the
lines it changed (in its own transaction, so a mark is never lost), and `product_months` reads
a marked month from the lines until `refresh_months` (after an import, and from a periodic job)
sums it again. The partner × month table `sales_partner_month` is kept the same way from the
documents' summaries. So every reader sees the lines as they are."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from crm.core.db import driver_rows
from crm.core.keys import dialect_insert
from crm.core.periods_sql import as_date, bucket_sql
from crm.extensions import db
from crm.sales.models import (
    Product,
    SalesDirtyMonth,
    SalesDocument,
    SalesLine,
    SalesPartnerMonth,
    SalesProductMonth,
)

ZERO = Decimal(0)
# Documents per UPDATE of their summaries: under every database's bound-parameter limit.
BATCH = 1000


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


# --- the documents' summary columns ---------------------------------------------------------


def summary_of_lines(lines: Iterable[dict]) -> dict:
    """The summary columns of a new document from its line dicts (amount, quantity, cost)."""
    out = {
        "total": ZERO,
        "profit_total": ZERO,
        "quantity_total": ZERO,
        "line_count": 0,
        "purchase_lines": 0,
    }
    for line in lines:
        out["total"] += line["amount"]
        if line.get("cost") is not None:
            out["profit_total"] += line["amount"] - line["cost"]
        out["quantity_total"] += line["quantity"]
        out["line_count"] += 1
        out["purchase_lines"] += 1 if line["amount"] > 0 else 0
    return out


def _summary_subqueries() -> dict:
    """Correlated sums over a document's lines, for UPDATE sales_document. ROUND: SQLite keeps
    NUMERIC as floating point, whose sums can carry 1e-13 noise."""
    line = SalesLine.__table__.c

    def over_lines(expr):
        return select(expr).where(line.document_id == SalesDocument.id).scalar_subquery()

    return {
        "total": over_lines(func.round(func.coalesce(func.sum(line.amount), 0), 2)),
        "profit_total": over_lines(
            func.round(func.coalesce(func.sum(line.amount - line.cost), 0), 2)
        ),
        "quantity_total": over_lines(func.round(func.coalesce(func.sum(line.quantity), 0), 3)),
        "line_count": over_lines(func.count()),
        "purchase_lines": over_lines(func.count(case((line.amount > 0, 1)))),
    }


def recompute_documents(document_ids: Iterable[int], batch_size: int = BATCH) -> int:
    """Set each document's summary (total and the rest) from its lines; returns how many
    documents changed. Documents already right are not touched (their updated_at stays), so
    a repeated import changes nothing."""
    ids = sorted({int(i) for i in document_ids})
    if not ids:
        return 0
    db.session.flush()
    values = _summary_subqueries()
    differs = or_(*(getattr(SalesDocument, name) != expr for name, expr in values.items()))
    changed = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        result = db.session.execute(
            update(SalesDocument)
            .where(SalesDocument.id.in_(chunk), differs)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount
    # Documents loaded in this session would otherwise keep showing their old summaries.
    wanted = set(ids)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, SalesDocument) and obj.id in wanted:
            db.session.expire(obj, [*values, "updated_at"])
    return changed


# --- the monthly summaries (product × month, partner × month) ----------------------------------


def mark_months(days: Iterable[date]) -> None:
    """Mark the months of `days` for summing again, in the caller's transaction. The upsert
    updates (a no-op) rather than doing nothing so that on PostgreSQL it holds the month's row
    until the writer commits: a refresh skips a month whose writer has not committed yet (it
    would not see the new lines) instead of clearing its mark."""
    months = sorted({month_start(d) for d in days if d is not None})
    if not months:
        return
    stmt = dialect_insert(SalesDirtyMonth.__table__)
    stmt = stmt.on_conflict_do_update(index_elements=["month"], set_={"month": stmt.excluded.month})
    db.session.execute(stmt, [{"month": m} for m in months])


def mark_document_months(document_ids: Iterable[int]) -> None:
    """Mark the months the documents' lines are in now (before a change moves or drops them)."""
    ids = sorted({int(i) for i in document_ids})
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        days = db.session.execute(
            select(SalesLine.date).where(SalesLine.document_id.in_(chunk)).distinct()
        ).scalars()
        mark_months(list(days))


def dirty_months() -> list[date]:
    return list(
        db.session.execute(select(SalesDirtyMonth.month).order_by(SalesDirtyMonth.month)).scalars()
    )


def _partner_sums(doc):
    """The partner × month sums over documents (`doc`: the table's columns)."""
    return (
        func.round(func.sum(doc.total), 2),
        func.round(func.sum(doc.profit_total), 2),
        func.round(func.sum(doc.quantity_total), 3),
        func.count(),
        cast(func.sum(doc.purchase_lines), BigInteger),
    )


def _sum_month(month: date) -> None:
    """Replace the month's product rows by the sums of its lines, and its partner rows by the
    sums of its documents' summaries (documents with lines)."""
    doc = SalesDocument.__table__.c
    db.session.execute(delete(SalesPartnerMonth).where(SalesPartnerMonth.month == month))
    db.session.execute(
        insert(SalesPartnerMonth).from_select(
            ["partner_id", "month", "revenue", "profit", "quantity", "documents", "purchase_lines"],
            select(doc.partner_id, literal(month, Date), *_partner_sums(doc))
            .where(doc.date >= month, doc.date <= month_end(month), doc.line_count > 0)
            .group_by(doc.partner_id),
        )
    )
    line = SalesLine.__table__.c
    db.session.execute(delete(SalesProductMonth).where(SalesProductMonth.month == month))
    grouped = (
        select(
            line.product_id,
            literal(month, Date),
            func.round(func.sum(line.amount), 2),
            func.round(func.coalesce(func.sum(line.amount - line.cost), 0), 2),
            func.round(func.sum(line.quantity), 3),
            func.count(),
        )
        .where(line.date >= month, line.date <= month_end(month))
        .group_by(line.product_id)
    )
    db.session.execute(
        insert(SalesProductMonth).from_select(
            ["product_id", "month", "revenue", "profit", "quantity", "lines"], grouped
        )
    )


def refresh_months() -> int:
    """Sum every marked month again and clear its mark; returns how many months were summed.
    Each month is its own transaction (the caller's session commits per month): a long refresh
    never holds the whole table. On PostgreSQL a month marked by a writer that has not
    committed is skipped (SKIP LOCKED) and stays marked for the next run."""
    done = 0
    postgres = db.session.get_bind().dialect.name == "postgresql"
    for month in dirty_months():
        claim = select(SalesDirtyMonth.month).where(SalesDirtyMonth.month == month)
        if postgres:
            claim = claim.with_for_update(skip_locked=True)
        if db.session.execute(claim).scalar_one_or_none() is None:
            db.session.rollback()
            continue
        _sum_month(month)
        db.session.execute(delete(SalesDirtyMonth).where(SalesDirtyMonth.month == month))
        db.session.commit()
        done += 1
    return done


def rebuild() -> None:
    """Every document's summary and every month's product and partner rows from the lines
    (after rows were written around the services: a benchmark's generator, tests). Commits."""
    ids = db.session.execute(select(SalesDocument.id)).scalars().all()
    recompute_documents(ids)
    days = db.session.execute(select(SalesLine.date).distinct()).scalars().all()
    db.session.execute(delete(SalesProductMonth))
    db.session.execute(delete(SalesPartnerMonth))
    mark_months(days)
    db.session.commit()
    refresh_months()


def _months(date_from: date, date_to: date) -> list[date]:
    out, m = [], month_start(date_from)
    while m <= date_to:
        out.append(m)
        m = month_end(m) + timedelta(days=1)
    return out


def cents(expr):
    """Money as exact integer cents (SQLite keeps NUMERIC as floating point: ROUND, then cast).
    The summaries hand out integers: exact, and far cheaper to fetch than Decimals."""
    return cast(func.round(expr * 100), BigInteger)


def milli(expr):
    """A quantity as exact integer thousandths."""
    return cast(func.round(expr * 1000), BigInteger)


def product_months(
    date_from: date, date_to: date, *, product_group_id: int | None = None
) -> list[tuple]:
    """(product_id, month's first day, revenue ¢, gross profit ¢, quantity ‰) per product ×
    month with lines dated in [date_from, date_to] — money in integer cents, quantity in
    integer thousandths: whole unmarked months from the summary; the window's partial edge
    months and the marked months from the lines (grouped in SQL either way)."""
    if date_from > date_to:
        return []
    months = _months(date_from, date_to)
    marked = set(dirty_months())
    whole = [m for m in months if m >= date_from and month_end(m) <= date_to and m not in marked]
    in_group = (
        select(Product.id).where(Product.group_id == product_group_id)
        if product_group_id is not None
        else None
    )
    rows: list[tuple] = []
    if whole:
        s = SalesProductMonth
        q = select(
            s.product_id, s.month, cents(s.revenue), cents(s.profit), milli(s.quantity)
        ).where(s.month.in_(whole))
        if in_group is not None:
            q = q.where(s.product_id.in_(in_group))
        rows.extend(_with_dates(driver_rows(q)))
    ranges = _merge(
        [(max(m, date_from), min(month_end(m), date_to)) for m in months if m not in whole]
    )
    if ranges:
        rows.extend(_lines_by_month(ranges, in_group))
    return rows


def partner_months(date_from: date, date_to: date, partners=None) -> list[tuple]:
    """(partner_id, month's first day, revenue ¢, gross profit ¢, quantity ‰, documents,
    purchase lines) per partner × month with documents (with lines) dated in [date_from,
    date_to], in integers as `product_months`: whole unmarked months from the summary, the
    rest from the documents' summaries. `partners`: a SELECT of the partner ids to keep (a
    report's partner scope), None for all."""
    if date_from > date_to:
        return []
    months = _months(date_from, date_to)
    marked = set(dirty_months())
    whole = [m for m in months if m >= date_from and month_end(m) <= date_to and m not in marked]
    rows: list[tuple] = []
    if whole:
        s = SalesPartnerMonth
        q = select(
            s.partner_id,
            s.month,
            cents(s.revenue),
            cents(s.profit),
            milli(s.quantity),
            s.documents,
            s.purchase_lines,
        ).where(s.month.in_(whole))
        if partners is not None:
            q = q.where(s.partner_id.in_(partners))
        rows.extend(_with_dates(driver_rows(q)))
    ranges = _merge(
        [(max(m, date_from), min(month_end(m), date_to)) for m in months if m not in whole]
    )
    if ranges:
        doc = SalesDocument.__table__.c
        month = bucket_sql(doc.date, "month", db.session.get_bind().dialect.name).label("month")
        q = (
            select(
                doc.partner_id,
                month,
                cast(func.sum(cents(doc.total)), BigInteger),
                cast(func.sum(cents(doc.profit_total)), BigInteger),
                cast(func.sum(milli(doc.quantity_total)), BigInteger),
                func.count(),
                cast(func.sum(doc.purchase_lines), BigInteger),
            )
            .where(or_(*(and_(doc.date >= a, doc.date <= b) for a, b in ranges)))
            .where(doc.line_count > 0)
            .group_by(doc.partner_id, month)
        )
        if partners is not None:
            q = q.where(doc.partner_id.in_(partners))
        rows.extend(_with_dates(driver_rows(q)))
    return rows


def drop_partner_months(partner_id: int) -> None:
    """Before a merge re-points the partner's documents to another: its monthly rows go (they
    would collide with the survivor's) and their months are marked, so the survivor's months
    are read from the documents until they are summed again."""
    months = db.session.execute(
        select(SalesPartnerMonth.month).where(SalesPartnerMonth.partner_id == partner_id)
    ).scalars()
    mark_months(list(months))
    db.session.execute(delete(SalesPartnerMonth).where(SalesPartnerMonth.partner_id == partner_id))


def _with_dates(rows):
    """Driver rows (crm.core.db.driver_rows: no per-value processing) with their month, the
    second column, as a date — each distinct month converted once."""
    months: dict = {}
    for row in rows:
        month = months.get(row[1])
        if month is None:
            month = months[row[1]] = as_date(row[1])
        yield (row[0], month, *row[2:])


def _merge(ranges: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """Adjacent date ranges joined (fewer OR terms in the query)."""
    out: list[tuple[date, date]] = []
    for start, end in sorted(ranges):
        if out and out[-1][1] + timedelta(days=1) >= start:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _lines_by_month(ranges: list[tuple[date, date]], in_group) -> list[tuple]:
    line = SalesLine.__table__.c
    month = bucket_sql(line.date, "month", db.session.get_bind().dialect.name).label("month")
    q = (
        select(
            line.product_id,
            month,
            cast(func.sum(cents(line.amount)), BigInteger),
            cast(func.coalesce(func.sum(cents(line.amount - line.cost)), 0), BigInteger),
            cast(func.sum(milli(line.quantity)), BigInteger),
        )
        .where(or_(*(and_(line.date >= a, line.date <= b) for a, b in ranges)))
        .group_by(line.product_id, month)
    )
    if in_group is not None:
        q = q.where(line.product_id.in_(in_group))
    return list(_with_dates(driver_rows(q)))
