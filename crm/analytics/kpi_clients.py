"""The partners behind the KPI dashboard's client counts (reads only): active, new, lost and
retained clients of a period P = [start, end] against the previous period of the same length P0,
by the definitions of crm.analytics.kpi (its module docstring) and shared/spec/analytics.md:

- a purchase is a sales line with amount > 0 (in scope);
- active: a purchase in P; new: the first purchase ever (in scope) falls in P;
- lost: a purchase in P0 and none in P; retained: a purchase in P0 and in P.

Scope: organization, department and manager are columns of the sales document, as in the KPIs.
Each list shows a user only the partners he may see (crm.partners' visible rows), so a manager's
list may be shorter than the dashboard's company-wide count; the dashboard says so.

One GROUP BY partner over the lines of P0 ∪ P gives every list with its columns (revenue in P and
in P0, last purchase); the "new" list adds an index probe per candidate for an earlier purchase."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, and_, case, cast, func, select

from crm.analytics.kpi import Scope, previous_period, scope_conditions
from crm.auth.models import User
from crm.core.policy import visible
from crm.extensions import db
from crm.partners.models import ContactDetail, Partner
from crm.sales.models import SalesDocument, SalesLine

LISTS = ("active", "new", "lost", "retained")
CONTACT_CHUNK = 500  # partner ids per IN (...) when reading contacts


@dataclass(slots=True)
class ClientRow:
    partner_id: int
    code: str
    name: str
    manager: str
    revenue: Decimal  # Σ amount in P (returns included)
    previous_revenue: Decimal  # Σ amount in P0
    last_purchase: date | None  # the last purchase on or before the end of P
    phone: str = ""
    email: str = ""


def _scoped(line, doc, scope: Scope):
    """`line` joined to `doc` when the scope needs the document's columns, and the conditions
    (the partner scope's on the line's own partner)."""
    conditions = []
    if scope.partners is not None:
        conditions.append(line.c.partner_id.in_(scope.partners))
    if scope.documents_empty:
        return line, conditions
    joined = line.join(doc, doc.c.id == line.c.document_id)
    return joined, scope_conditions(scope, doc, partners=False) + conditions


def _cents(expr):
    # SQLite keeps NUMERIC as floating point: sum exact cents, as crm.analytics.kpi does.
    return cast(func.round(expr * 100), BigInteger)


def _money(cents) -> Decimal:
    return Decimal(int(cents or 0)).scaleb(-2)


def clients_stmt(which: str, start: date, end: date, scope: Scope | None = None):
    """SELECT partner_id, revenue_cents, previous_cents, last_purchase of the partners in the
    list `which` (one of LISTS), as a subquery-able statement."""
    if which not in LISTS:
        raise ValueError(f"unknown client list {which!r}")
    scope = scope or Scope()
    p0_start, p0_end = previous_period(start, end)
    line, doc = SalesLine.__table__, SalesDocument.__table__
    source, conditions = _scoped(line, doc, scope)
    c = line.c
    bought = c.amount > 0
    in_p = c.date >= start
    per_partner = (
        select(
            c.partner_id.label("partner_id"),
            func.sum(case((in_p, _cents(c.amount)), else_=0)).label("revenue_cents"),
            func.sum(case((in_p, 0), else_=_cents(c.amount))).label("previous_cents"),
            func.max(case((bought, c.date), else_=None)).label("last_purchase"),
            func.min(case((bought, c.date), else_=None)).label("first_purchase"),
            func.max(case((and_(bought, ~in_p), c.date), else_=None)).label("last_p0"),
        )
        .select_from(source)
        .where(c.date >= p0_start, c.date <= end, *conditions)
        .group_by(c.partner_id)
        .subquery()
    )
    bought_in_p = per_partner.c.last_purchase >= start
    bought_in_p0 = per_partner.c.last_p0.is_not(None)
    if which == "active":
        condition = bought_in_p
    elif which == "lost":
        condition = and_(bought_in_p0, ~bought_in_p)
    elif which == "retained":
        condition = and_(bought_in_p0, bought_in_p)
    else:
        earlier_line = line.alias("earlier_line")
        earlier_source, earlier_conditions = _scoped(earlier_line, doc.alias("earlier_doc"), scope)
        bought_before = (
            select(earlier_line.c.id)
            .select_from(earlier_source)
            .where(
                earlier_line.c.partner_id == per_partner.c.partner_id,
                earlier_line.c.date < p0_start,
                earlier_line.c.amount > 0,
                *earlier_conditions,
            )
            .exists()
        )
        condition = and_(per_partner.c.first_purchase >= start, ~bought_before)
    return select(
        per_partner.c.partner_id,
        per_partner.c.revenue_cents,
        per_partner.c.previous_cents,
        per_partner.c.last_purchase,
    ).where(condition)


def client_rows(
    user, which: str, start: date, end: date, scope: Scope | None = None, page=None, per_page=100
) -> tuple[list[ClientRow], int]:
    """The partners of the list `which` that `user` may see, largest revenue first (for lost
    clients: largest revenue in P0 first), then by code; a page of them when `page` is given,
    else all. Returns (rows, total)."""
    found = clients_stmt(which, start, end, scope).subquery()
    order_cents = found.c.previous_cents if which == "lost" else found.c.revenue_cents
    stmt = visible(
        user,
        Partner,
        select(
            Partner.id,
            Partner.code,
            Partner.name,
            User.name,
            User.email,
            found.c.revenue_cents,
            found.c.previous_cents,
            found.c.last_purchase,
        )
        .join(found, found.c.partner_id == Partner.id)
        .outerjoin(User, User.id == Partner.responsible_id),
    )
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    stmt = stmt.order_by(order_cents.desc(), Partner.code)
    if page is not None:
        stmt = stmt.limit(per_page).offset((page - 1) * per_page)
    rows = [
        ClientRow(pid, code, name, manager or email or "", _money(r), _money(p), _as_date(last))
        for pid, code, name, manager, email, r, p, last in db.session.execute(stmt)
    ]
    _add_contacts(rows)
    return rows, total


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])  # SQLite's MAX over a CASE gives text


def _add_contacts(rows: list[ClientRow]) -> None:
    """The main phone and e-mail of each partner (the first by id when none is main)."""
    by_id = {r.partner_id: r for r in rows}
    ids = list(by_id)
    for i in range(0, len(ids), CONTACT_CHUNK):
        chunk = ids[i : i + CONTACT_CHUNK]
        stmt = (
            select(ContactDetail.partner_id, ContactDetail.kind, ContactDetail.value)
            .where(ContactDetail.partner_id.in_(chunk), ContactDetail.kind.in_(("phone", "email")))
            .order_by(ContactDetail.is_main.desc(), ContactDetail.id)
        )
        for partner_id, kind, value in db.session.execute(stmt):
            row = by_id[partner_id]
            if not getattr(row, kind):
                setattr(row, kind, value)
