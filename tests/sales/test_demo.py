"""`crm demo` fills the sales ledger: ~24 months of documents with customer patterns, returns,
payments and stock. Every check reads the tables with its own queries and computes what it
expects from the stored rows, never through crm.sales.demo."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import (
    Department,
    Organization,
    Payment,
    Product,
    ProductGroup,
    SalesDocument,
    SalesLine,
    StockBalance,
    Warehouse,
)
from tests.conftest import _clean_tables

CENT = Decimal("0.01")


def _load(runner, partners: int = 120, seed: int = 7) -> None:
    result = runner.invoke(args=["crm", "demo", "--partners", str(partners), "--seed", str(seed)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()


def _rows(*columns, where=None):
    query = select(*columns)
    return db.session.execute(query if where is None else query.where(where)).all()


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _month(day: date, shift: int) -> tuple[int, int]:
    y, m = divmod(day.year * 12 + day.month - 1 + shift, 12)
    return y, m + 1


def _months_before(today: date, n: int) -> date:
    """The same day n months back (the 28th at most, so every month has it)."""
    y, m = _month(today, -n)
    return date(y, m, min(today.day, 28))


def _buyers():
    """Per partner: dates and months of purchases (lines with amount > 0), as analytics.md."""
    dates = defaultdict(list)
    for partner_id, day in _rows(SalesLine.partner_id, SalesLine.date, where=SalesLine.amount > 0):
        dates[partner_id].append(day)
    return dates


def test_demo_sales_span_24_months_and_each_total_is_the_sum_of_its_lines(runner):
    _load(runner)
    today = date.today()
    docs = _rows(SalesDocument)
    docs = [d for (d,) in docs]
    lines = defaultdict(list)
    for (line,) in _rows(SalesLine):
        lines[line.document_id].append(line)
    responsible = dict(_rows(Partner.id, Partner.responsible_id))

    days = [d.date for d in docs]
    assert _months_before(today, 24) - timedelta(days=3) <= min(days) < _months_before(today, 23)
    assert today - timedelta(days=7) <= max(days) <= today
    assert {_month(today, -k) for k in range(1, 25)} <= {(d.year, d.month) for d in days}
    for doc in docs:
        own = lines[doc.id]
        assert 1 <= len(own) <= 6, doc.doc_no
        assert sorted(line.line_no for line in own) == list(range(1, len(own) + 1))
        assert doc.total == sum((line.amount for line in own), Decimal("0")), doc.doc_no
        assert all(line.date == doc.date and line.partner_id == doc.partner_id for line in own)
        assert re.fullmatch(r"(РН|ВЗ)-\d{6}", doc.doc_no)
        assert doc.manager_id == responsible[doc.partner_id]
        assert (doc.due_date - doc.date).days in ((14, 30) if doc.total > 0 else (0,))
        assert None not in (doc.organization_id, doc.department_id, doc.warehouse_id)
    sold = [line for own in lines.values() for line in own if line.amount > 0]
    assert len(sold) > 5 * len(docs) / 3  # several lines per document on average
    for line in sold:
        assert line.quantity > 0
        assert line.amount.as_tuple().exponent >= -2 and line.cost.as_tuple().exponent >= -2
        assert (
            line.amount * Decimal("0.6") - CENT <= line.cost <= line.amount * Decimal("0.85") + CENT
        )
    assert (_count(Organization), _count(Department), _count(Warehouse)) == (2, 3, 3)
    assert 100 <= _count(Product) <= 140
    assert _count(ProductGroup) >= 8


def test_demo_customers_are_regular_occasional_churning_new_or_potential(runner):
    _load(runner)
    today = date.today()
    clients = {
        pid
        for pid, code in _rows(Partner.id, Partner.code, where=Partner.is_client)
        if not code.endswith("-DUP")
    }
    dates = _buyers()
    months = {pid: {(d.year, d.month) for d in days} for pid, days in dates.items()}
    last_24 = {_month(today, -k) for k in range(1, 25)}

    regular = [p for p in months if len(months[p] & last_24) >= 18]
    occasional = [
        p for p in months if len(months[p]) <= 5 and min(dates[p]) < today - timedelta(days=180)
    ]
    churned = [
        p for p in months if len(months[p]) >= 3 and max(dates[p]) < _months_before(today, 6)
    ]
    new = [p for p in months if min(dates[p]) > _months_before(today, 3)]
    potential = clients - set(months)
    counts = [len(regular), len(occasional), len(churned), len(new), len(potential)]
    assert min(counts) >= 3, counts
    assert set(months) <= clients

    # Regular customers differ in steadiness, so XYZ of monthly revenue (net of returns) over
    # the last 12 full months gives X (CV ≤ 50), Y (≤ 100) and Z.
    window = [_month(today, -k) for k in range(1, 13)]
    revenue = defaultdict(Decimal)
    for pid, day, amount in _rows(SalesLine.partner_id, SalesLine.date, SalesLine.amount):
        revenue[(pid, (day.year, day.month))] += amount
    classes = Counter()
    for pid in months:
        if len(months[pid] & set(window)) >= 2:
            xs = [float(revenue[(pid, m)]) for m in window]
            cv = statistics.pstdev(xs) / statistics.fmean(xs) * 100
            classes["X" if cv <= 50 else "Y" if cv <= 100 else "Z"] += 1
    assert min(classes["X"], classes["Y"], classes["Z"]) >= 3, classes


def test_demo_products_follow_a_long_tail(runner):
    _load(runner)
    revenue = Counter()
    buyers = defaultdict(set)
    for product_id, partner_id, amount in _rows(
        SalesLine.product_id, SalesLine.partner_id, SalesLine.amount, where=SalesLine.amount > 0
    ):
        revenue[product_id] += amount
        buyers[product_id].add(partner_id)
    products = [pid for (pid,) in _rows(Product.id)]
    ranked = sorted((revenue[p] for p in products), reverse=True)
    top_tenth = sum(ranked[: len(ranked) // 10]) / sum(ranked)
    assert top_tenth > Decimal("0.4")  # a few best sellers
    rare = [p for p in products if len(buyers[p]) <= 2]
    assert len(rare) >= len(products) // 5  # many products few customers buy, or none
    assert max(len(b) for b in buyers.values()) >= len(set().union(*buyers.values())) // 4


def test_demo_returns_bring_back_products_bought_before(runner):
    _load(runner)
    docs = _rows(SalesDocument.id, SalesDocument.total)
    returns = {doc_id for doc_id, total in docs if total < 0}
    assert 0.01 <= len(returns) / len(docs) <= 0.06
    sold = defaultdict(list)
    lines = _rows(
        SalesLine.document_id,
        SalesLine.partner_id,
        SalesLine.product_id,
        SalesLine.date,
        SalesLine.quantity,
        SalesLine.amount,
        SalesLine.cost,
    )
    for _, partner_id, product_id, day, quantity, amount, _ in lines:
        if amount > 0:
            sold[(partner_id, product_id)].append((day, quantity))
    for doc_id, partner_id, product_id, day, quantity, amount, cost in lines:
        if doc_id in returns:
            assert quantity < 0 and amount < 0 and cost <= 0
            assert any(d <= day and q >= -quantity for d, q in sold[(partner_id, product_id)])


def test_demo_payments_are_on_time_late_partial_missing_or_without_a_doc_no(runner):
    _load(runner)
    today = date.today()
    docs = {
        no: (pid, due, total)
        for no, pid, due, total in _rows(
            SalesDocument.doc_no,
            SalesDocument.partner_id,
            SalesDocument.due_date,
            SalesDocument.total,
            where=SalesDocument.total > 0,
        )
    }
    payments = _rows(Payment.date, Payment.partner_id, Payment.amount, Payment.doc_no)
    assert all(p.date <= today and p.amount > 0 for p in payments)
    assert all(p.doc_no in docs and docs[p.doc_no][0] == p.partner_id for p in payments if p.doc_no)
    unallocated = {p.partner_id for p in payments if not p.doc_no}
    assert len(unallocated) >= 3  # paid without a doc_no: settled FIFO
    paid = defaultdict(Decimal)
    last_paid = {}
    for p in payments:
        if p.doc_no:
            paid[p.doc_no] += p.amount
            last_paid[p.doc_no] = max(p.date, last_paid.get(p.doc_no, p.date))

    # Documents of partners who always name the document: nothing else can settle them.
    own = {no: d for no, d in docs.items() if d[0] not in unallocated}
    unpaid = [no for no in own if no not in paid]
    on_time = [no for no in own if paid[no] >= own[no][2] and last_paid[no] <= own[no][1]]
    late = [no for no in own if paid[no] >= own[no][2] and last_paid[no] > own[no][1]]
    partial = [no for no in own if 0 < paid[no] < own[no][2]]
    assert len(on_time) > 0.6 * len(own)
    assert len(late) >= 0.05 * len(own)
    assert partial
    assert 0.02 <= len(unpaid) / len(own) <= 0.2
    recent = [no for no in unpaid if own[no][1] >= today - timedelta(days=30)]
    assert len(recent) > len(unpaid) / 3  # mostly not due yet or just due
    assert any(own[no][1] < today - timedelta(days=90) for no in unpaid)  # and some bad debt


def test_demo_stock_lies_in_one_to_three_warehouses_for_most_products(runner):
    _load(runner)
    price = dict(_rows(Product.id, Product.base_price))
    balances = _rows(
        StockBalance.product_id,
        StockBalance.warehouse_id,
        StockBalance.quantity,
        StockBalance.value,
    )
    where = Counter(b.product_id for b in balances)
    assert len(where) >= 0.75 * len(price)
    assert set(where.values()) <= {1, 2, 3}
    for b in balances:
        assert b.quantity > 0
        unit_value = b.value / b.quantity
        assert (
            price[b.product_id] * Decimal("0.55")
            <= unit_value
            <= price[b.product_id] * Decimal("0.9")
        )


def _ledger() -> tuple:
    """The whole generated ledger by natural keys (codes, skus, names), to compare two runs."""
    code = dict(_rows(Partner.id, Partner.code))
    sku = dict(_rows(Product.id, Product.sku))
    name = {
        model: dict(_rows(model.id, model.name))
        for model in (Organization, Department, Warehouse, ProductGroup)
    }
    docs = {
        i: (
            no,
            d,
            due,
            code[p],
            name[Organization][o],
            name[Department][dp],
            name[Warehouse][w],
            m,
            t,
        )
        for i, no, d, due, p, o, dp, w, m, t in _rows(
            SalesDocument.id,
            SalesDocument.doc_no,
            SalesDocument.date,
            SalesDocument.due_date,
            SalesDocument.partner_id,
            SalesDocument.organization_id,
            SalesDocument.department_id,
            SalesDocument.warehouse_id,
            SalesDocument.manager_id,
            SalesDocument.total,
        )
    }
    lines = sorted(
        (docs[d][0], n, sku[p], q, a, c)
        for d, n, p, q, a, c in _rows(
            SalesLine.document_id,
            SalesLine.line_no,
            SalesLine.product_id,
            SalesLine.quantity,
            SalesLine.amount,
            SalesLine.cost,
        )
    )
    payments = sorted(
        (d, code[p], a, no, o)
        for d, p, a, no, o in _rows(
            Payment.date, Payment.partner_id, Payment.amount, Payment.doc_no, Payment.occurrence
        )
    )
    stock = sorted(
        (sku[p], name[Warehouse][w], q, v)
        for p, w, q, v in _rows(
            StockBalance.product_id,
            StockBalance.warehouse_id,
            StockBalance.quantity,
            StockBalance.value,
        )
    )
    products = sorted(
        (s, n, u, b, name[ProductGroup][g])
        for s, n, u, b, g in _rows(
            Product.sku, Product.name, Product.unit, Product.base_price, Product.group_id
        )
    )
    return sorted(docs.values()), lines, payments, stock, products


def test_demo_sales_with_the_same_seed_are_the_same(app, runner):
    _load(runner, partners=40, seed=5)
    first = _ledger()
    db.session.remove()
    _clean_tables(app)
    _load(runner, partners=40, seed=5)
    again = _ledger()
    db.session.remove()
    _clean_tables(app)
    _load(runner, partners=40, seed=6)

    assert len(first[0]) > 100 and len(first[2]) > 100
    assert again == first
    assert _ledger()[:3] != first[:3]


def test_demo_run_again_gives_sales_only_to_partners_without_any(runner):
    _load(runner, partners=40)
    before = Counter(pid for (pid,) in _rows(SalesDocument.partner_id))
    numbers = {no for (no,) in _rows(SalesDocument.doc_no)}
    products = _count(Product)

    _load(runner, partners=40, seed=8)

    after = Counter(pid for (pid,) in _rows(SalesDocument.partner_id))
    assert {pid: after[pid] for pid in before} == before
    assert set(after) - set(before)
    new_numbers = {no for (no,) in _rows(SalesDocument.doc_no)} - numbers
    taken = max(int(no[3:]) for no in numbers if no.startswith("РН-"))
    assert min(int(no[3:]) for no in new_numbers if no.startswith("РН-")) == taken + 1
    assert (_count(Product), _count(Organization), _count(Warehouse)) == (products, 2, 3)
