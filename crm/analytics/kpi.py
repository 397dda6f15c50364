"""KPIs of a period P = [start, end] against the previous period of the same length P0 (the days
immediately before P), and their monthly trend. Reads only; shared/spec/analytics.md (Common,
KPIs) is the contract.

Definitions (every one computed as if only the sales lines in scope existed):

- revenue = Σ amount; gross profit = Σ (amount − cost) over the lines whose cost is known. A line
  with a NULL cost (the import leaves cost optional; crm/sales never computes a profit) is left
  out of gross profit altogether: an unknown cost is not a zero cost, and counting it as zero
  would report the line's whole amount as profit. Its amount still counts in revenue.
- sales = number of distinct `doc_no` with a line in P (returns are documents too, as the spec
  counts every line in scope); a document's `doc_no` is unique, so its id is counted.
- average check = revenue / sales; undefined (None) when there are no sales.
- a purchase is a sales line with amount > 0 (spec, Customer stages). active clients = partners
  with a purchase in P; a partner with only returns in P is not active.
- new clients = partners whose first purchase ever (in scope) falls in P.
- retention = |bought in P0 and in P| / |bought in P0| × 100; undefined when nobody bought in P0.
- lost clients: the KPI section of the spec does not define them, so lost clients of P = the
  partners that bought in P0 and not in P (= |bought in P0| − |bought in both|). This is not the
  "Lost" customer stage (L = 6 months without purchases), which the stages report owns.
- overdue receivables as of `end`, by crm.sales.receivables (the spec's FIFO rule).

Every sum is over the documents' summaries (crm.sales.summaries keeps each document's Σ of its
lines: revenue, gross profit as above, number of lines and of purchase lines), 5× fewer rows
than the lines. Scope: organization, department and manager are columns of `sales_document`
(the document's organization, department and the manager who sold).
Overdue receivables belong to a partner, not to a document (a payment settles the partner's
documents of any organization), so they follow only the manager scope, as the receivables report
does: partners whose responsible manager is that user. Under an organization or department
scope they are undefined (None). A partner scope (a segment: `Scope.partners`) keeps the
documents of its partners, and the overdue receivables of its partners. Warehouse and product
group are not offered.

Money is Decimal with 2 places: SQL sums exact integer cents (SQLite keeps NUMERIC as floating
point); percentages are unrounded Decimals. Every grouping is in SQL: a few one-row aggregates per
period and one GROUP BY month for the trend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, func, select

from crm.analytics.periods import as_date, bucket_sql, buckets
from crm.extensions import db
from crm.sales.models import SalesDocument

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)

# The CLI's rows, in this order (kpi_cli.py).
KPI_NAMES = (
    "revenue",
    "gross_profit",
    "sales",
    "average_check",
    "active_clients",
    "new_clients",
    "retention_pct",
    "lost_clients",
    "overdue_receivables",
)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which documents count: None means any. `partners`: a SELECT of the ids of the partners
    whose documents count (a partner scope such as a segment)."""

    organization_id: int | None = None
    department_id: int | None = None
    manager_id: int | None = None
    partners: Any = field(default=None, compare=False)

    @property
    def is_empty(self) -> bool:
        return self.documents_empty and self.partners is None

    @property
    def documents_empty(self) -> bool:
        """No scope on the document's own columns (organization, department, manager)."""
        return (
            self.organization_id is None and self.department_id is None and self.manager_id is None
        )


@dataclass(slots=True)
class KpiValues:
    """The KPIs of one period; None where undefined."""

    start: date
    end: date
    revenue: Decimal = ZERO
    gross_profit: Decimal = ZERO
    sales: int = 0
    average_check: Decimal | None = None
    active_clients: int = 0
    new_clients: int = 0
    retention_pct: Decimal | None = None
    lost_clients: int = 0
    overdue_receivables: Decimal | None = ZERO

    def value(self, name: str):
        return getattr(self, name)


@dataclass(slots=True)
class TrendRow:
    """One month of the trend (`month` is the month's first day)."""

    month: date
    revenue: Decimal = ZERO
    gross_profit: Decimal = ZERO
    sales: int = 0
    active_clients: int = 0


@dataclass(slots=True)
class KpiReport:
    current: KpiValues
    previous: KpiValues
    trend: list[TrendRow] = field(default_factory=list)
    previous_trend: list[TrendRow] = field(default_factory=list)

    def change(self, name: str):
        """P − P0, or None when either is undefined."""
        a, b = self.current.value(name), self.previous.value(name)
        return None if a is None or b is None else a - b

    def change_pct(self, name: str) -> Decimal | None:
        """(P − P0) / |P0| × 100, unrounded; None when P0 is zero or either is undefined."""
        a, b = self.current.value(name), self.previous.value(name)
        if a is None or b is None or b == 0:
            return None
        return (Decimal(a) - Decimal(b)) / abs(Decimal(b)) * HUNDRED


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length immediately before [start, end]."""
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def kpi_report(start: date, end: date, scope: Scope | None = None) -> KpiReport:
    """The KPIs of [start, end] and of the previous period of the same length, with trends."""
    scope = scope or Scope()
    p0_start, p0_end = previous_period(start, end)
    overdue = overdue_by_day([end, p0_end], scope)
    return KpiReport(
        current=kpis(start, end, scope, overdue=overdue),
        previous=kpis(p0_start, p0_end, scope, overdue=overdue),
        trend=trend(start, end, scope),
        previous_trend=trend(p0_start, p0_end, scope),
    )


def _cents(expr):
    return cast(func.round(expr * 100), BigInteger)


def _money(cents) -> Decimal:
    return Decimal(int(cents or 0)).scaleb(-2)


def scope_conditions(scope: Scope, doc=None, partners: bool = True) -> list:
    """The scope's conditions on the sales documents (`doc`, or an alias of the table); the
    partner scope's too unless `partners` is False."""
    doc = SalesDocument.__table__ if doc is None else doc
    conditions = []
    if partners and scope.partners is not None:
        conditions.append(doc.c.partner_id.in_(scope.partners))
    if scope.organization_id is not None:
        conditions.append(doc.c.organization_id == scope.organization_id)
    if scope.department_id is not None:
        conditions.append(doc.c.department_id == scope.department_id)
    if scope.manager_id is not None:
        conditions.append(doc.c.manager_id == scope.manager_id)
    return conditions


def _buyers(start: date, end: date, scope: Scope) -> tuple[int, int, int]:
    """(bought in P0, bought in P0 and in P, first purchase in P) for P = [start, end]. A
    purchase is a document with a purchase line (a line with amount > 0)."""
    c = SalesDocument.__table__.c
    p0_start, p0_end = previous_period(start, end)
    # One row per partner with a purchase in P0 or P: only those documents are grouped.
    per_partner = (
        select(
            c.partner_id,
            func.max(case((c.date <= p0_end, c.date), else_=None)).label("last_p0"),
            func.max(c.date).label("last"),
            func.min(c.date).label("first"),
        )
        .where(c.purchase_lines > 0, c.date >= p0_start, c.date <= end, *scope_conditions(scope))
        .group_by(c.partner_id)
        .subquery()
    )
    # New: the first purchase in the window is in P and there is none before the window — a
    # probe of the (partner_id, purchase_lines, date) index per such partner, instead of
    # grouping all history.
    earlier = SalesDocument.__table__.alias("earlier_doc")
    bought_before = (
        select(earlier.c.id)
        .where(
            earlier.c.partner_id == per_partner.c.partner_id,
            earlier.c.purchase_lines > 0,
            earlier.c.date < p0_start,
            *scope_conditions(scope, earlier),
        )
        .exists()
    )
    in_p0 = per_partner.c.last_p0.is_not(None)
    in_p = per_partner.c.last >= start
    is_new = and_(per_partner.c.first >= start, ~bought_before)
    stmt = select(
        func.coalesce(func.sum(case((in_p0, 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(in_p0, in_p), 1), else_=0)), 0),
        func.coalesce(func.sum(case((is_new, 1), else_=0)), 0),
    )
    p0, both, new = db.session.execute(stmt).one()
    return int(p0), int(both), int(new)


def _sums(c):
    """Revenue and gross profit in cents, the number of sales (documents with lines) and of
    active clients, over the documents' summaries (crm.sales.summaries)."""
    return (
        func.sum(_cents(c.total)),
        func.sum(_cents(c.profit_total)),
        func.count(case((c.line_count > 0, 1), else_=None)),
        func.count(func.distinct(case((c.purchase_lines > 0, c.partner_id), else_=None))),
    )


def kpis(
    start: date, end: date, scope: Scope | None = None, *, overdue: dict | None = None
) -> KpiValues:
    """The KPIs of the period [start, end] (its own previous period gives retention and lost).
    `overdue`: overdue receivables by day already computed (`overdue_by_day`), if any."""
    scope = scope or Scope()
    c = SalesDocument.__table__.c
    stmt = select(*_sums(c)).where(c.date >= start, c.date <= end, *scope_conditions(scope))
    revenue, profit, sales, active = db.session.execute(stmt).one()
    values = KpiValues(start, end, _money(revenue), _money(profit), int(sales), None, int(active))
    if values.sales:
        values.average_check = values.revenue / values.sales
    p0, both, new = _buyers(start, end, scope)
    values.new_clients = new
    values.lost_clients = p0 - both
    if p0:
        values.retention_pct = Decimal(both) * HUNDRED / Decimal(p0)
    if overdue is not None and end in overdue:
        values.overdue_receivables = overdue[end]
    else:
        values.overdue_receivables = overdue_receivables(end, scope)
    return values


def overdue_by_day(days, scope: Scope | None = None) -> dict[date, Decimal | None]:
    """Overdue receivables as of each day, read together (crm.sales.receivables.overdue_totals);
    None for every day under an organization or department scope."""
    from crm.sales.receivables import overdue_totals

    scope = scope or Scope()
    if scope.organization_id is not None or scope.department_id is not None:
        return dict.fromkeys(days)
    return overdue_totals(days, manager_id=scope.manager_id, partners=scope.partners)


def overdue_receivables(as_of: date, scope: Scope | None = None) -> Decimal | None:
    """Σ overdue of every partner as of the date (crm.sales.receivables' rule); None under an
    organization or department scope (see the module's docstring)."""
    return overdue_by_day([as_of], scope)[as_of]


def trend(start: date, end: date, scope: Scope | None = None) -> list[TrendRow]:
    """Revenue, gross profit, sales and active clients per calendar month of [start, end], months
    without sales included as zeros. Lines are those of [start, end]: the first and last months
    are cut to the period, so the months add up to the period's revenue, profit and sales."""
    scope = scope or Scope()
    c = SalesDocument.__table__.c
    key = bucket_sql(c.date, "month", db.engine.dialect.name).label("month")
    stmt = (
        select(key, *_sums(c))
        .where(c.date >= start, c.date <= end, *scope_conditions(scope))
        .group_by(key)
    )
    found = {
        as_date(month): TrendRow(as_date(month), _money(r), _money(p), int(s), int(a))
        for month, r, p, s, a in db.session.execute(stmt)
    }
    return [found.get(m, TrendRow(m)) for m in buckets(start, end, "month")]
