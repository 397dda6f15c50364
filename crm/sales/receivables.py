"""Receivables: what each partner owes as of a date D and which of its documents are unpaid.

Reads only. The rule is analytics.md (KPIs → Receivables):

- Documents and payments dated on or before D count; later ones do not exist yet.
- A payment with a `doc_no` first settles that document. Its excess, payments without `doc_no`,
  payments naming an unknown document and documents with a negative total (returns) form the
  partner's pool, which settles the partner's open documents in order of due_date, date,
  doc_no (FIFO).
- Debt = Σ unsettled document amounts − what is left of the pool (credit is negative debt).
  Overdue = the unsettled amounts of documents with due_date < D.

Where the spec is silent, this module decides (and the tests pin it down):

- "Unknown document" is seen from the paying partner as of D: a `doc_no` that names no
  document, names another partner's document, or names a document dated after D. Such a
  payment is the paying partner's money all the same, so it goes to that partner's pool; it
  never settles another partner's document.
- Payments naming one document are summed first (a payment and its reversal cancel out), so
  their order does not matter. A document takes at most its total; the rest goes to the pool.
  A net negative sum (money refunded against that document) settles nothing and reduces the
  pool, as does a negative payment without `doc_no`.
- A return, or a payment naming a return or a zero document, only feeds the pool: such a
  document has nothing to settle and never counts as unsettled.
- A pool that is zero or negative settles nothing; debt = Σ unsettled − pool then adds what
  was refunded beyond the partner's credit.
- Document status (ordered, cancelled …) is not looked at: the spec counts every document
  dated ≤ D.

So a partner's debt always equals Σ document totals − Σ payments (both dated ≤ D); the
allocation decides which documents stay unsettled, hence the overdue debt and its oldest date.

Speed (20,000 partners, 200,000 documents in under a second on SQLite): SQL returns the documents
of each partner in settlement order (their `total` is the Σ of lines kept by
`services.recompute_document_totals`, so lines are never read) and the payment sums per
(partner, doc_no); Python walks the two streams partner by partner, holding one partner's rows
at a time. The streams carry amounts as exact integer cents and dates as ISO text, so rows need
no per-value conversion; every amount handed out is a Decimal with two places.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import groupby
from operator import itemgetter

from sqlalchemy import (
    BigInteger,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)

from crm.core.db import driver_rows
from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import Payment, SalesDocument

ZERO = Decimal("0.00")
# Partner ids per query when a list is given: well under SQLite's and PostgreSQL's parameter
# limits, and each chunk is an independent set of partners.
ID_CHUNK = 1000


@dataclass(slots=True)
class OpenDocument:
    """A document with an unsettled amount as of D (settled documents are not listed)."""

    doc_no: str
    due_date: date
    date: date
    total: Decimal
    unsettled: Decimal


@dataclass(slots=True)
class PartnerBalance:
    """One partner's receivable as of `as_of`."""

    partner_id: int
    as_of: date
    debt: Decimal = ZERO  # negative: the partner's credit
    overdue: Decimal = ZERO
    oldest_overdue: date | None = None  # due date of the oldest overdue unsettled document
    # [due_date, date, doc_no, total, unsettled] in FIFO order, ISO dates and cents: made into
    # OpenDocument objects only when asked for (a report of every partner never needs them).
    _open: list = field(default_factory=list, repr=False)

    @property
    def credit(self) -> Decimal:
        return -self.debt if self.debt < 0 else ZERO

    @property
    def open_documents(self) -> list[OpenDocument]:
        """The documents with an unsettled amount, in FIFO order (settled ones are left out)."""
        return [
            OpenDocument(
                doc_no,
                date.fromisoformat(due),
                date.fromisoformat(doc_date),
                _money(total),
                _money(unsettled),
            )
            for due, doc_date, doc_no, total, unsettled in self._open
        ]

    def unsettled(self, doc_no: str) -> Decimal:
        """The unsettled amount of one of the partner's documents (0 when settled or unknown)."""
        for _due, _date, number, _total, unsettled in self._open:
            if number == doc_no:
                return _money(unsettled)
        return ZERO


def receivables(
    as_of: date,
    partner_ids: Iterable[int] | None = None,
    manager_id: int | None = None,
    where=None,
) -> dict[int, PartnerBalance]:
    """Balances as of `as_of` of every partner with a document or a payment dated ≤ as_of.

    `partner_ids` limits the partners to those ids, `manager_id` to the partners that manager
    is responsible for, `where` (an SQL condition on Partner, e.g. the viewer's visibility
    clause) to the partners it accepts; the limits combine. A partner absent from the result
    owes nothing and has no credit."""
    return {
        b.partner_id: b
        for b in iter_receivables(as_of, partner_ids, manager_id=manager_id, where=where)
    }


def partner_balance(partner_id: int, as_of: date) -> PartnerBalance:
    """One partner's balance (zero when the partner has no documents or payments)."""
    found = receivables(as_of, [partner_id])
    return found.get(partner_id) or PartnerBalance(partner_id, as_of)


def iter_receivables(
    as_of: date,
    partner_ids: Iterable[int] | None = None,
    manager_id: int | None = None,
    where=None,
) -> Iterator[PartnerBalance]:
    """The balances one partner at a time, in partner id order (ids chunked when given)."""
    conditions = []
    if manager_id is not None:
        conditions.append(Partner.responsible_id == manager_id)
    if where is not None:
        conditions.append(where)
    if partner_ids is None:
        yield from _walk(as_of, _scope(conditions))
        return
    ids = sorted(set(partner_ids))
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        if conditions:
            yield from _walk(as_of, _scope([Partner.id.in_(chunk), *conditions]))
        else:
            yield from _walk(as_of, chunk)


def _scope(conditions: list):
    """Partner ids to keep: a subquery, or None for every partner."""
    if not conditions:
        return None
    return select(Partner.id).where(*conditions)


def _iso_date(column):
    """A date column as 'YYYY-MM-DD' text, which sorts and compares as the date does. SQLite
    stores dates so already; PostgreSQL formats them (independent of its DateStyle)."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM-DD")
    return type_coerce(column, String)


def _cents(expr):
    """An amount as exact integer cents. SQLite keeps NUMERIC as floating point (0.29 is
    0.28999…), so ROUND before the cast; PostgreSQL's numeric is exact anyway."""
    return cast(func.round(expr * 100), BigInteger)


def _documents_stmt(as_of: date, scope):
    # Ordered by the index (partner_id, due_date, date): ties on (due_date, date) are ordered
    # by doc_no in Python, which compares text the same way on every database.
    doc = SalesDocument.__table__.c
    stmt = select(
        doc.partner_id, doc.doc_no, _iso_date(doc.due_date), _iso_date(doc.date), _cents(doc.total)
    ).where(doc.date <= as_of)
    if scope is not None:
        stmt = stmt.where(doc.partner_id.in_(scope))
    return stmt.order_by(doc.partner_id, doc.due_date, doc.date)


def _payments_stmt(as_of: date, scope):
    pay = Payment.__table__.c
    # Σ of exact cents: summing SQLite's floating-point amounts could drift for many payments.
    stmt = (
        select(pay.partner_id, pay.doc_no, cast(func.sum(_cents(pay.amount)), BigInteger))
        .where(pay.date <= as_of)
        .group_by(pay.partner_id, pay.doc_no)
    )
    if scope is not None:
        stmt = stmt.where(pay.partner_id.in_(scope))
    # The GROUP BY's own order: SQLite then needs no second sort for the ORDER BY.
    return stmt.order_by(pay.partner_id, pay.doc_no)


def _stream(conn, stmt) -> Iterator[tuple]:
    """The statement's rows as plain driver tuples (crm.core.db.driver_rows): the columns are
    ints and text, which need no conversion."""
    return driver_rows(stmt, conn)


def _walk(as_of: date, scope) -> Iterator[PartnerBalance]:
    conn = db.session.connection()
    docs = groupby(_stream(conn, _documents_stmt(as_of, scope)), key=itemgetter(0))
    pays = groupby(_stream(conn, _payments_stmt(as_of, scope)), key=itemgetter(0))
    cutoff = as_of.isoformat()
    end = float("inf")
    d = next(docs, None)
    p = next(pays, None)
    while d is not None or p is not None:
        pid = min(d[0] if d is not None else end, p[0] if p is not None else end)
        paid = {}
        if p is not None and p[0] == pid:
            paid = {row[1]: row[2] for row in p[1]}
            p = next(pays, None)
        if d is not None and d[0] == pid:
            balance = _settle(pid, as_of, cutoff, d[1], paid)  # reads the group before next()
            d = next(docs, None)
        else:
            balance = _settle(pid, as_of, cutoff, (), paid)
        yield balance


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _settle(partner_id: int, as_of: date, cutoff: str, rows, paid: dict) -> PartnerBalance:
    """The rule for one partner. `rows`: (partner_id, doc_no, due_date, date, total) with ISO
    dates and cents, sorted by (due_date, date); `paid`: payment cents per doc_no ("" for none).

    Amounts here are exact integer cents (Numeric(14, 2) has two places); they become Decimal
    on the way out: the same walk in Decimal took 0.4 s instead of 0.17 s at 200,000 documents
    (bench/receivables_bench.py data), almost half of the 1 s budget."""
    pool = 0
    open_docs = []
    ties = False
    last = None
    for _, doc_no, due, doc_date, total in rows:
        # An empty doc_no is "no document": payments without one never settle it directly.
        direct = paid.pop(doc_no, None) if doc_no else None
        if total <= 0:
            pool -= total  # a return: its amount is the partner's to use
            if direct is not None:
                pool += direct
            continue
        unsettled = total
        if direct is not None:
            applied = (direct if direct < total else total) if direct > 0 else 0
            unsettled -= applied
            pool += direct - applied
        if unsettled > 0:
            key = (due, doc_date)
            ties = ties or key == last
            last = key
            open_docs.append([due, doc_date, doc_no, total, unsettled])
    # Left in `paid`: payments without doc_no and those naming no document of this partner ≤ D.
    for amount in paid.values():
        pool += amount
    if pool > 0:
        if ties:
            open_docs.sort()  # (due_date, date, doc_no): doc_no decides between equal dates
        for doc in open_docs:
            take = doc[4] if doc[4] < pool else pool
            doc[4] -= take
            pool -= take
            if pool == 0:
                break
        open_docs = [doc for doc in open_docs if doc[4] > 0]
    elif ties:
        open_docs.sort()
    unsettled_total = overdue = 0
    oldest = None
    for doc in open_docs:
        unsettled_total += doc[4]
        if doc[0] < cutoff:
            overdue += doc[4]
            if oldest is None:
                oldest = doc[0]  # in FIFO order the first is the oldest
    return PartnerBalance(
        partner_id,
        as_of,
        _money(unsettled_total - pool),
        _money(overdue),
        date.fromisoformat(oldest) if oldest else None,
        open_docs,
    )


# --- overdue totals in a few queries ---------------------------------------------------------


def overdue_total(as_of: date, manager_id: int | None = None) -> Decimal:
    """Σ over partners of their overdue debt as of `as_of` (see `overdue_totals`)."""
    return overdue_totals([as_of], manager_id)[as_of]


def overdue_totals(
    days: Iterable[date], manager_id: int | None = None, partners=None
) -> dict[date, Decimal]:
    """{day: Σ over partners of their overdue debt as of the day} (the partners of
    `manager_id` only, when given, and of `partners`, a SELECT of partner ids, when given):
    the same rule as `iter_receivables`, summed in SQL — the
    KPI dashboard asks for two days per request, and walking 600,000 documents in Python took
    seconds.

    Why sums are enough: the pool settles a partner's documents in order of due date, so the
    overdue ones (due before the day) are the first in line. After each document took what the
    payments naming it gave (a net negative sum gives nothing), a partner's overdue debt is
    O − P when positive, where O = Σ what is left of its overdue documents and P = its pool when
    positive (excess payments, payments naming no document of its own dated ≤ the day, returns,
    payments naming a return or a zero document; a negative pool settles nothing).

    Three reads, each for every day at once: the documents alone (Σ of the overdue positive
    totals, Σ of the returns' credit: one pass over the covering index in partner order), the
    payments naming a document of their partner (what each took, and its excess), and the
    payments naming none."""
    days = sorted(set(days))
    if not days:
        return {}
    mine = (
        select(Partner.id).where(Partner.responsible_id == manager_id)
        if manager_id is not None
        else None
    )
    if partners is not None:
        mine = partners if mine is None else mine.where(Partner.id.in_(partners))
    source, rests = _overdue_parts(days, mine)
    zero = literal(0)
    owed = [func.coalesce(func.sum(case((r > 0, r), else_=zero)), zero) for r in rests]
    row = db.session.execute(select(*owed).select_from(source)).one()
    return {d: _in_money(v) for d, v in zip(days, row, strict=True)}


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def _money_sql(column):
    """PostgreSQL sums numeric exactly (and faster than cents computed per row); SQLite keeps
    NUMERIC as floating point, so it sums integer cents."""
    return column if _postgres() else _cents(column)


def _in_money(value) -> Decimal:
    """A sum of `_money_sql` values as money."""
    if _postgres():
        return Decimal(value).quantize(Decimal("0.01"))
    return _money(int(value))


def _overdue_parts(days: list[date], mine, late_by: int = 0):
    """(FROM clause, [per-partner overdue rest per day]) — a partner's overdue is its rest when
    positive; the rests are in `_money_sql` units. `mine`: a partner id subquery or None.

    `late_by` N counts only documents more than N days past due (due before day − N): the pool
    settles documents in due-date order, so those are still the first in line and the same
    sums hold; a positive rest then says the oldest overdue document is more than N days late."""
    doc = SalesDocument.__table__.c
    zero = literal(0)
    t = _money_sql(doc.total)
    columns = []
    for k, d in enumerate(days):
        in_day = doc.date <= d
        late = and_(in_day, doc.due_date < d - timedelta(days=late_by), t > 0)
        columns.append(func.sum(case((late, t), else_=zero)).label(f"o{k}"))
        columns.append(func.sum(case((and_(in_day, t < 0), -t), else_=zero)).label(f"p{k}"))
    scan = select(doc.partner_id.label("partner_id"), *columns).where(doc.date <= days[-1])
    if mine is not None:
        scan = scan.where(doc.partner_id.in_(mine))
    scan = scan.group_by(doc.partner_id).subquery("scan")
    source = scan
    rests = []
    for k, d in enumerate(days):
        adj = _payment_adjustments(d, mine, _money_sql, zero, late_by).subquery(f"adj{k}")
        source = source.outerjoin(adj, adj.c.partner_id == scan.c.partner_id)
        o = scan.c[f"o{k}"] + func.coalesce(adj.c.o_adj, zero)
        pool = scan.c[f"p{k}"] + func.coalesce(adj.c.p_adj, zero)
        rests.append(o - case((pool > 0, pool), else_=zero))
    return source, rests


def partners_overdue_above(day: date, amount: Decimal, within=None, late_by: int = 0):
    """SELECT of the ids of the partners whose overdue debt as of `day` is above `amount` (the
    receivables rule, as `overdue_totals` sums it); `within`: a SELECT of partner ids to look
    at only (their documents and payments are read, not everyone's), None for all. `late_by` N
    counts only what is more than N days past due: with amount 0, the partners whose oldest
    overdue document (the walk's `oldest_overdue`) was due more than N days before `day`. A
    partner without documents owes nothing and is never listed."""
    limit = _limit(amount)
    fast = _overdue_above_without_refunds(day, limit, within, late_by)
    # Partners with a refund (a negative payment) dated ≤ day: the whole rule. Read from the
    # payments (not from the sums above), so that PostgreSQL's statistics see how few they are
    # and plan this part as small.
    refunds = select(Payment.partner_id).where(Payment.date <= day, Payment.amount < 0)
    if within is not None:
        refunds = refunds.where(Payment.partner_id.in_(within))
    source, (rest,) = _overdue_parts([day], select(refunds.cte().c.partner_id), late_by)
    exact = select(_scan_of(source).c.partner_id).select_from(source).where(rest > limit)
    return union_all(fast, exact)


def _overdue_above_without_refunds(day: date, limit, within, late_by: int = 0):
    """SELECT of the ids of the partners with no negative payment dated ≤ `day` whose overdue
    rest (`_overdue_parts`, in `_money_sql` units) is above `limit`; with `late_by` N "not yet
    due" reads "not more than N days past due" (due ≥ day − N), as in `_overdue_parts`.

    Why it holds: without negative payments every payment sum naming a document is ≥ 0, so a
    partner's pool P is ≥ 0 and its rest is O − P. With T the documents' totals and S the
    payments (all dated ≤ day), and each document named by payments taking at most its total,
    O − P = T − S − Σ over its documents not yet due (due ≥ day, total > 0) of what their own
    payments leave unpaid: the debt less the part of it not due yet.

    What it buys (bench/segments_bench.py, 100,000 partners, 600,000 documents, 578,000
    payments): sums of the documents' and of the payments' covering indexes, and a look at the
    few documents not yet due, instead of grouping every payment by document number and
    joining each group to its document. The condition alone, over every partner: SQLite
    3.2 → 0.8 s of CPU, PostgreSQL 5.0 → 1.0 s (with the covering payment indexes)."""
    doc = SalesDocument.__table__.c
    pay = Payment.__table__.c
    zero = literal(0)
    debt_docs = select(
        doc.partner_id.label("partner_id"), func.sum(_money_sql(doc.total)).label("t")
    ).where(doc.date <= day)
    # The documents not yet due, each with what the payments naming it paid.
    not_due = (
        select(
            doc.partner_id.label("partner_id"),
            _money_sql(doc.total).label("t"),
            func.coalesce(func.sum(_money_sql(pay.amount)), zero).label("s"),
        )
        .select_from(
            SalesDocument.__table__.outerjoin(
                Payment.__table__,
                and_(pay.doc_no == doc.doc_no, pay.partner_id == doc.partner_id, pay.date <= day),
            )
        )
        .where(doc.date <= day, doc.due_date >= day - timedelta(days=late_by), doc.total > 0)
    )
    paid = select(
        pay.partner_id.label("partner_id"),
        func.sum(_money_sql(pay.amount)).label("s"),
        func.min(pay.amount).label("least"),
    ).where(pay.date <= day)
    if within is not None:
        debt_docs = debt_docs.where(doc.partner_id.in_(within))
        not_due = not_due.where(doc.partner_id.in_(within))
        paid = paid.where(pay.partner_id.in_(within))
    debt_docs = debt_docs.group_by(doc.partner_id).subquery("debt_docs")
    paid = paid.group_by(pay.partner_id).subquery("paid_all")
    not_due = not_due.group_by(doc.id, doc.partner_id, doc.total).subquery("not_due")
    t, s = not_due.c.t, not_due.c.s
    took = case((s <= zero, zero), (s < t, s), else_=t)
    unpaid = (
        select(not_due.c.partner_id, func.sum(t - took).label("u"))
        .group_by(not_due.c.partner_id)
        .subquery("unpaid")
    )
    rest = debt_docs.c.t - func.coalesce(paid.c.s, zero) - func.coalesce(unpaid.c.u, zero)
    return (
        select(debt_docs.c.partner_id)
        .select_from(
            debt_docs.outerjoin(paid, paid.c.partner_id == debt_docs.c.partner_id).outerjoin(
                unpaid, unpaid.c.partner_id == debt_docs.c.partner_id
            )
        )
        .where(or_(paid.c.least.is_(None), paid.c.least >= 0), rest > limit)
    )


def _limit(amount: Decimal):
    """An amount in `_money_sql` units (compared with sums of them)."""
    return amount if _postgres() else int(Decimal(amount) * 100)


def partners_debt_above(day: date, amount: Decimal):
    """SELECT of the ids of the partners whose debt as of `day` is above `amount` (a negative
    amount: less credit than that). The walk's debt always equals Σ document
    totals − Σ payments dated ≤ `day` (see the module's docstring), so plain sums give it; a
    partner with neither owes 0, which is above a negative amount."""
    doc = SalesDocument.__table__.c
    pay = Payment.__table__.c
    ledger = union_all(
        select(doc.partner_id.label("partner_id"), _money_sql(doc.total).label("v")).where(
            doc.date <= day
        ),
        select(pay.partner_id.label("partner_id"), (-_money_sql(pay.amount)).label("v")).where(
            pay.date <= day
        ),
    ).subquery("ledger")
    debts = select(ledger.c.partner_id).group_by(ledger.c.partner_id)
    if amount >= 0:
        return debts.having(func.sum(ledger.c.v) > _limit(amount))
    at_most = debts.having(func.sum(ledger.c.v) <= _limit(amount))
    return select(Partner.id).where(Partner.id.not_in(at_most))


def _scan_of(source):
    """The `scan` subquery at the bottom of `_overdue_parts`' join."""
    while hasattr(source, "left"):
        source = source.left
    return source


def _payment_adjustments(day: date, mine, money, zero, late_by: int = 0):
    """Per partner, as of `day`: what payments naming one of its documents took off its
    overdue documents (o_adj, negative; overdue: due before day − `late_by` days) and what all
    its payments add to its pool (p_adj: a naming payment's excess or all of a net refund, a
    payment naming no document of its own — or a return or a zero document — whole)."""
    doc = SalesDocument.__table__.c
    pay = Payment.__table__.c
    paid = (
        select(
            pay.partner_id.label("partner_id"),
            pay.doc_no.label("doc_no"),
            func.sum(money(pay.amount)).label("s"),
        )
        .where(pay.date <= day)
        .group_by(pay.partner_id, pay.doc_no)
    )
    if mine is not None:
        paid = paid.where(pay.partner_id.in_(mine))
    paid = paid.subquery("paid")
    t = money(doc.total)
    s = paid.c.s
    known = doc.id.is_not(None)
    took = case((and_(known, t > 0, s > 0), case((s < t, s), else_=t)), else_=zero)
    return (
        select(
            paid.c.partner_id.label("partner_id"),
            func.sum(
                case((and_(known, doc.due_date < day - timedelta(days=late_by)), -took), else_=zero)
            ).label("o_adj"),
            func.sum(s - took).label("p_adj"),
        )
        .select_from(
            paid.outerjoin(
                SalesDocument.__table__,
                and_(
                    doc.doc_no == paid.c.doc_no,
                    doc.partner_id == paid.c.partner_id,
                    doc.date <= day,
                ),
            )
        )
        .group_by(paid.c.partner_id)
    )
