"""KPIs (crm.analytics.kpi) against shared/spec/analytics.md: expected values come from a few
lines of pandas over the raw rows read back with plain SQL, never from the module under test."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import insert, text

from crm.extensions import db
from crm.sales.summaries import rebuild
from tests.helpers import sync_documents

D0 = Decimal("0.00")


# --- the generated history ------------------------------------------------------------------


def _generate(make_user, partners=320, seed=12):
    """Partners, documents (with returns and NULL costs), payments, spread over 2024–2025 across
    two organizations and two managers. Bulk inserts: the rows, not the services, are under test."""
    from crm.partners.models import Partner
    from crm.sales.models import (
        Department,
        Organization,
        Payment,
        Product,
        SalesDocument,
        SalesLine,
    )

    rng = random.Random(seed)
    managers = [make_user("manager"), make_user("manager")]
    db.session.execute(
        insert(Organization), [{"id": 1, "name": "Org 1"}, {"id": 2, "name": "Org 2"}]
    )
    db.session.execute(insert(Department), [{"id": 1, "name": "Dept 1"}])
    db.session.execute(
        insert(Product), [{"id": i, "sku": f"S{i}", "name": f"P{i}"} for i in (1, 2, 3)]
    )
    db.session.execute(
        insert(Partner),
        [
            {
                "id": i,
                "code": f"C{i:04d}",
                "name": f"Client {i}",
                "responsible_id": rng.choice(managers).id if rng.random() < 0.8 else None,
            }
            for i in range(1, partners + 1)
        ],
    )
    first_day, days = date(2024, 1, 1), 731
    docs, lines, payments = [], [], []
    doc_id = line_id = 0
    for pid in range(1, partners + 1):
        if rng.random() < 0.1:
            continue  # never bought
        start = rng.randrange(days)
        for _ in range(rng.randint(1, 12)):
            day = first_day + timedelta(days=rng.randrange(start, days))
            doc_id += 1
            is_return = rng.random() < 0.12
            amounts = []
            for line_no in range(1, rng.randint(1, 3) + 1):
                amount = Decimal(rng.randint(100, 500000)).scaleb(-2)
                if is_return:
                    amount = -amount
                cost = (
                    None
                    if rng.random() < 0.1
                    else (amount * Decimal(rng.randint(50, 95)) / 100).quantize(Decimal("0.01"))
                )
                line_id += 1
                amounts.append(amount)
                lines.append(
                    {
                        "id": line_id,
                        "document_id": doc_id,
                        "line_no": line_no,
                        "date": day,
                        "partner_id": pid,
                        "product_id": rng.randint(1, 3),
                        "quantity": Decimal(-1 if is_return else 1),
                        "amount": amount,
                        "cost": cost,
                    }
                )
            total = sum(amounts, D0)
            docs.append(
                {
                    "id": doc_id,
                    "doc_no": f"N{doc_id:06d}",
                    "date": day,
                    "due_date": day + timedelta(days=rng.choice((0, 14, 30, 60))),
                    "partner_id": pid,
                    "organization_id": rng.choice((1, 2, None)),
                    "department_id": rng.choice((1, None)),
                    "manager_id": rng.choice(managers).id,
                    "total": total,
                }
            )
            if total > 0 and rng.random() < 0.7:
                paid = (
                    total
                    if rng.random() < 0.6
                    else (total * Decimal(rng.randint(1, 99)) / 100).quantize(Decimal("0.01"))
                )
                payments.append(
                    {
                        "date": day + timedelta(days=rng.randint(0, 90)),
                        "partner_id": pid,
                        "amount": paid,
                        "doc_no": f"N{doc_id:06d}",
                    }
                )
        for _ in range(rng.randint(0, 2)):
            payments.append(
                {
                    "date": first_day + timedelta(days=rng.randrange(days)),
                    "partner_id": pid,
                    "amount": Decimal(rng.randint(100, 300000)).scaleb(-2),
                    "doc_no": "",
                }
            )
    db.session.execute(insert(SalesDocument), docs)
    db.session.execute(insert(SalesLine), lines)
    db.session.execute(insert(Payment), payments)
    db.session.commit()
    rebuild()  # the rows went around the sales services: their summaries, as those keep them
    return managers


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _money(value) -> Decimal | None:
    return (
        None if value is None or pd.isna(value) else Decimal(str(value)).quantize(Decimal("0.01"))
    )


def _raw():
    """Lines (with their document's doc_no, organization, manager), documents and payments as
    the database holds them, by plain SQL."""
    conn = db.session.connection()
    lines = pd.DataFrame(
        conn.execute(
            text(
                "SELECT l.date, l.partner_id, l.amount, l.cost, d.doc_no, d.organization_id,"
                " d.manager_id, d.department_id FROM sales_line l JOIN sales_document d ON d.id = l.document_id"
            )
        ).all(),
        columns=["date", "partner_id", "amount", "cost", "doc_no", "org", "manager", "dept"],
    )
    docs = pd.DataFrame(
        conn.execute(
            text("SELECT doc_no, date, due_date, partner_id, total FROM sales_document")
        ).all(),
        columns=["doc_no", "date", "due", "partner_id", "total"],
    )
    pays = pd.DataFrame(
        conn.execute(text("SELECT date, partner_id, amount, doc_no FROM payment")).all(),
        columns=["date", "partner_id", "amount", "doc_no"],
    )
    responsible = dict(conn.execute(text("SELECT id, responsible_id FROM partner")).all())
    for frame, dates, money in (
        (lines, ["date"], ["amount", "cost"]),
        (docs, ["date", "due"], ["total"]),
        (pays, ["date"], ["amount"]),
    ):
        for col in dates:
            frame[col] = frame[col].map(_day)
        for col in money:
            frame[col] = frame[col].map(_money).astype(object)
    return lines, docs, pays, responsible


def _overdue(docs, pays, as_of, partners=None):
    """The FIFO rule for this history (a payment names at most one own earlier document and
    never more than its total; returns and payments without doc_no form the pool)."""
    docs = docs[docs.date <= as_of]
    pays = pays[pays.date <= as_of]
    if partners is not None:
        docs, pays = docs[docs.partner_id.isin(partners)], pays[pays.partner_id.isin(partners)]
    direct = pays[pays.doc_no != ""].groupby("doc_no").amount.sum()
    total = D0
    for pid, own in docs.groupby("partner_id"):
        pool = sum(pays[(pays.partner_id == pid) & (pays.doc_no == "")].amount, D0)
        pool -= sum(own[own.total <= 0].total, D0)
        for doc in own[own.total > 0].sort_values(["due", "date", "doc_no"]).itertuples():
            left = doc.total - direct.get(doc.doc_no, D0)
            take = min(left, pool)
            left, pool = left - take, pool - take
            if doc.due < as_of:
                total += left
    return total


def _expected(lines, start, end, overdue):
    """Every KPI of [start, end] by the spec's words."""
    days = (end - start).days + 1
    p0_start, p0_end = start - timedelta(days=days), start - timedelta(days=1)
    in_p = lines[(lines.date >= start) & (lines.date <= end)]
    buys = lines[lines.amount > 0]
    bought = lambda a, b: set(buys[(buys.date >= a) & (buys.date <= b)].partner_id)  # noqa: E731
    p, p0 = bought(start, end), bought(p0_start, p0_end)
    first = buys.groupby("partner_id").date.min()
    revenue = sum(in_p.amount, D0)
    known = in_p[in_p.cost.notna()]
    sales = in_p.doc_no.nunique()
    return {
        "revenue": revenue,
        "gross_profit": sum(known.amount - known.cost, D0),
        "sales": sales,
        "average_check": revenue / sales if sales else None,
        "active_clients": len(p),
        "new_clients": int(((first >= start) & (first <= end)).sum()),
        "retention_pct": Decimal(len(p & p0)) * 100 / len(p0) if p0 else None,
        "lost_clients": len(p0 - p),
        "overdue_receivables": overdue,
    }


def _expected_trend(lines, start, end):
    in_p = lines[(lines.date >= start) & (lines.date <= end)].copy()
    in_p["month"] = in_p.date.map(lambda d: d.replace(day=1))
    in_p["profit"] = [
        a - c if c is not None and not pd.isna(c) else D0
        for a, c in zip(in_p.amount, in_p.cost, strict=True)
    ]
    in_p["buyer"] = in_p.partner_id.where(in_p.amount > 0)
    got = in_p.groupby("month").agg(
        revenue=("amount", lambda s: sum(s, D0)),
        gross_profit=("profit", lambda s: sum(s, D0)),
        sales=("doc_no", "nunique"),
        active_clients=("buyer", "nunique"),
    )
    months = pd.date_range(start.replace(day=1), end, freq="MS").date
    rows = []
    for m in months:
        if m in got.index:
            r = got.loc[m]
            rows.append((m, r.revenue, r.gross_profit, int(r.sales), int(r.active_clients)))
        else:
            rows.append((m, D0, D0, 0, 0))
    return rows


def _values(v):
    from crm.analytics.kpi import KPI_NAMES

    return {name: v.value(name) for name in KPI_NAMES}


def _trend(rows):
    return [(r.month, r.revenue, r.gross_profit, r.sales, r.active_clients) for r in rows]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2025, 4, 1), date(2025, 9, 30)),
        (date(2025, 2, 15), date(2025, 5, 10)),
        (date(2024, 12, 1), date(2024, 12, 31)),
    ],
)
def test_generated_history_matches_the_spec_computed_with_pandas(app, make_user, start, end):
    from crm.analytics.kpi import kpi_report, previous_period

    _generate(make_user)
    lines, docs, pays, _resp = _raw()
    assert lines.partner_id.nunique() > 250 and (lines.amount < 0).any() and lines.cost.isna().any()
    report = kpi_report(start, end)
    p0_start, p0_end = start - timedelta(days=(end - start).days + 1), start - timedelta(days=1)
    assert previous_period(start, end) == (p0_start, p0_end)
    assert _values(report.current) == _expected(lines, start, end, _overdue(docs, pays, end))
    assert _values(report.previous) == _expected(
        lines, p0_start, p0_end, _overdue(docs, pays, p0_end)
    )
    assert report.current.overdue_receivables > 0 and report.current.retention_pct is not None
    assert _trend(report.trend) == _expected_trend(lines, start, end)
    assert _trend(report.previous_trend) == _expected_trend(lines, p0_start, p0_end)
    for name in ("revenue", "active_clients"):
        assert report.change(name) == report.current.value(name) - report.previous.value(name)


def test_scope_by_organization_and_by_manager(app, make_user):
    from crm.analytics.kpi import Scope, kpi_report

    managers = _generate(make_user, partners=250, seed=7)
    lines, docs, pays, responsible = _raw()
    start, end = date(2025, 1, 1), date(2025, 6, 30)

    by_org = kpi_report(start, end, Scope(organization_id=2))
    expected = _expected(lines[lines.org == 2], start, end, None)
    assert _values(by_org.current) == expected
    assert _trend(by_org.trend) == _expected_trend(lines[lines.org == 2], start, end)

    both = Scope(organization_id=2, department_id=1)
    chosen = lines[(lines.org == 2) & (lines.dept == 1)]
    assert _values(kpi_report(start, end, both).current) == _expected(chosen, start, end, None)

    m = managers[1].id
    by_manager = kpi_report(start, end, Scope(manager_id=m))
    own = {pid for pid, r in responsible.items() if r == m}
    expected = _expected(lines[lines.manager == m], start, end, _overdue(docs, pays, end, own))
    assert _values(by_manager.current) == expected
    assert _trend(by_manager.trend) == _expected_trend(lines[lines.manager == m], start, end)


# --- hand-built cases -----------------------------------------------------------------------


def _doc(partner, day, amounts, costs=None, due=None, doc_no=None):
    from tests.factories import create_document

    doc = create_document(
        partner, amounts=amounts, date=day, due_date=due, doc_no=doc_no, commit=False
    )
    for line, cost in zip(doc.lines, costs or [None] * len(amounts), strict=True):
        line.cost = None if cost is None else Decimal(str(cost))
    sync_documents([doc])
    db.session.commit()
    return doc


def test_empty_period_has_zero_sums_and_undefined_ratios(app, make_partner):
    from crm.analytics.kpi import kpi_report

    _doc(make_partner(), date(2024, 1, 5), [100], [50])
    r = kpi_report(date(2025, 3, 1), date(2025, 3, 31))
    v = r.current
    assert (v.revenue, v.gross_profit, v.sales, v.average_check) == (D0, D0, 0, None)
    assert (v.active_clients, v.new_clients, v.retention_pct, v.lost_clients) == (0, 0, None, 0)
    assert v.overdue_receivables == Decimal("100.00")
    assert [(t.month, t.revenue, t.sales) for t in r.trend] == [(date(2025, 3, 1), D0, 0)]
    assert r.change_pct("revenue") is None


def test_nobody_in_previous_period_leaves_retention_undefined(app, make_partner):
    from crm.analytics.kpi import kpis

    a, b = make_partner(), make_partner()
    _doc(a, date(2025, 3, 3), [100], [40])
    _doc(b, date(2025, 3, 31), [50], [None])
    v = kpis(date(2025, 3, 1), date(2025, 3, 31))
    assert (v.revenue, v.gross_profit, v.sales, v.average_check) == (
        Decimal("150.00"),
        Decimal("60.00"),
        2,
        Decimal("75"),
    )
    assert (v.active_clients, v.new_clients, v.retention_pct, v.lost_clients) == (2, 2, None, 0)


def test_return_only_partner_is_neither_active_nor_new_and_is_lost(app, make_partner):
    from crm.analytics.kpi import kpis

    a = make_partner()
    _doc(a, date(2025, 2, 10), [300], [200])
    _doc(a, date(2025, 3, 10), [-100], [-70])
    only_return = make_partner()
    _doc(only_return, date(2025, 3, 12), [-40], [-30])
    v = kpis(date(2025, 3, 1), date(2025, 3, 31))  # P0 = 2025-01-29 … 2025-02-28
    assert (v.revenue, v.gross_profit, v.sales) == (Decimal("-140.00"), Decimal("-40.00"), 2)
    assert v.average_check == Decimal("-70")
    assert (v.active_clients, v.new_clients, v.retention_pct, v.lost_clients) == (
        0,
        0,
        Decimal(0),
        1,
    )


def test_first_purchase_on_the_first_day_is_new_and_the_day_before_is_not(app, make_partner):
    from crm.analytics.kpi import kpi_report

    on_first, day_before, returned_first = make_partner(), make_partner(), make_partner()
    _doc(on_first, date(2025, 4, 1), [10])
    _doc(day_before, date(2025, 3, 31), [10])
    _doc(day_before, date(2025, 4, 2), [10])
    _doc(returned_first, date(2025, 3, 20), [-5])  # a return is not a purchase
    _doc(returned_first, date(2025, 4, 30), [5])
    r = kpi_report(date(2025, 4, 1), date(2025, 4, 30))
    assert r.current.new_clients == 2
    assert r.previous.new_clients == 1
    assert r.current.retention_pct == Decimal(100)
    # Revenue 10 + 10 + 5 in April against 10 − 5 in March 2 … 31.
    assert (r.current.revenue, r.previous.revenue) == (Decimal("25.00"), Decimal("5.00"))
    assert (r.change("revenue"), r.change_pct("revenue")) == (Decimal("20.00"), Decimal(400))
    assert r.change("average_check") == Decimal("25") / 3 - Decimal("5") / 2


def test_cli_prints_the_kpis_as_csv(app, runner, make_partner):
    from tests.factories import create_payment

    a, b, c, d = (make_partner() for _ in range(4))
    first_a = _doc(a, date(2025, 3, 10), [100], [60])
    _doc(a, date(2025, 4, 1), [200, 50], [120, None])
    _doc(b, date(2025, 3, 15), [300], [200])
    _doc(b, date(2025, 4, 20), [-100], [-70])
    _doc(c, date(2025, 4, 1), [150], [100], due=date(2025, 4, 10))
    _doc(d, date(2025, 3, 20), [80], [50])
    _doc(d, date(2025, 4, 30), [70], [None])
    create_payment(a, 100, date(2025, 3, 12), doc_no=first_a.doc_no)
    create_payment(a, 50, date(2025, 4, 5))
    result = runner.invoke(
        args=["crm", "report", "kpi", "--from", "2025-04-01", "--to", "2025-04-30"]
    )
    assert result.exit_code == 0, result.output
    # P0 = 2025-03-02 … 2025-03-31: A, B, D bought; in April A and D again, B only returned.
    # Profit: 80 (A; the NULL-cost line left out) − 30 (B's return) + 50 (C); D's line has no cost.
    # Overdue on 30.04: A 200 (250 less the 50 pool), B 200 (300 less its return), C 150, D 80.
    assert result.output == (
        "kpi,value\n"
        "revenue,370.00\n"
        "gross_profit,100.00\n"
        "sales,4\n"
        "average_check,92.50\n"
        "active_clients,3\n"
        "new_clients,1\n"
        "retention_pct,66.7\n"
        "lost_clients,1\n"
        "overdue_receivables,630.00\n"
    )


def test_cli_leaves_undefined_values_empty(app, runner):
    result = runner.invoke(
        args=["crm", "report", "kpi", "--from", "2025-04-01", "--to", "2025-04-30"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        "kpi,value\nrevenue,0.00\ngross_profit,0.00\nsales,0\naverage_check,\nactive_clients,0\n"
        "new_clients,0\nretention_pct,\nlost_clients,0\noverdue_receivables,0.00\n"
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--from", "2025-05-01", "--to", "2025-04-30"], "2025-05-01 > 2025-04-30"),
        (["--from", "yesterday", "--to", "2025-04-30"], "--from"),
        (["--from", "2025-02-30", "--to", "2025-04-30"], "--from"),
        (["--from", "2025-04-01"], "--to"),
    ],
)
def test_cli_refuses_bad_arguments(app, runner, args, says):
    result = runner.invoke(args=["crm", "report", "kpi", *args])
    assert result.exit_code != 0
    assert says in result.output
    assert "Traceback" not in result.output
