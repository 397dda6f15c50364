"""Demo sales ledger for `crm demo`: a product catalogue, ~24 months of sales, payments, stock.

Every client partner gets a buying pattern: regular (steady, variable or erratic buyers, so that
XYZ later spreads over X, Y and Z), occasional, churning (stopped 7–12 months ago), new (first
purchase in the last 85 days) or none yet (potential). Customers re-order a few usual products
drawn from a long-tailed popularity (ABC: a few A products, a long C tail). About 3 % of sales
get a return; most are paid on time, some late, partly or never, some by lump sums (FIFO).

Everything is drawn from the step's `rng`: the same seed on the same day gives the same data.
Rows go in with bulk inserts, not ORM objects, so thousands of partners load in seconds. A second
run reuses the catalogue and reference lists and gives sales only to partners that have none.
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

from sqlalchemy import func, insert, select

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
from crm.sales.summaries import mark_months, summary_of_lines

CATALOGUE = Path(__file__).with_name("demo_catalogue.csv")  # 121 products in 11 groups
CENT = Decimal("0.01")
BATCH = 2000
MONTHS = 24
ORGANIZATIONS = ["ООО «Стройснаб»", "ООО «Стройснаб-Урал»"]
DEPARTMENTS = ["Оптовые продажи", "Розница", "Интернет-магазин"]
WAREHOUSES = ["Склад Подольск", "Склад Санкт-Петербург", "Склад Екатеринбург"]
MEASURED_UNITS = {"м", "кг", "м²", "м³"}  # sold in fractions; every other unit in whole pieces
# Share of client partners per pattern, percent: partners known from before the 24 months are
# mostly the established customer base, younger ones mostly leads and newcomers. This also
# keeps the growth of the customer base moderate, so steady products can come out X.
PATTERNS = ("regular", "occasional", "churning", "new", "potential")
OLD_PATTERNS = (48, 20, 16, 3, 13)
YOUNG_PATTERNS = (25, 25, 0, 15, 35)
# How a regular customer buys: chance of an order in a month, spread of quantities (σ of a
# log-normal factor), chance that each usual product is in the month's order, most documents
# a month. Steady ones come out X by monthly revenue, variable Y, erratic Z (analytics.md).
HABITS = {
    "steady": (0.97, 0.10, 0.92, 1),
    "variable": (0.80, 0.40, 0.65, 2),
    "erratic": (0.45, 0.90, 0.50, 3),
}
# Building materials sell more in the warm season (January first).
SEASON = (0.92, 0.94, 1.0, 1.03, 1.06, 1.07, 1.06, 1.04, 1.03, 1.0, 0.97, 0.93)


@dataclass(eq=False)
class Item:
    sku: str
    name: str
    group: str
    unit: str
    price: Decimal
    cost_per_mille: int  # usual cost as a share of the amount, 600–850 ‰
    weight: float = 0.0  # popularity: share of the customers' usual products
    id: int = 0


@dataclass(eq=False)
class Doc:
    buyer: Buyer
    date: date
    due_date: date
    lines: list[tuple[Item, Decimal, Decimal, Decimal]]  # item, quantity, amount, cost
    is_return: bool = False
    doc_no: str = ""

    @property
    def total(self) -> Decimal:
        return sum((amount for _, _, amount, _ in self.lines), Decimal("0"))


@dataclass(eq=False)
class Buyer:
    id: int
    manager_id: int | None
    created_on: date
    pattern: str
    habit: str
    budget: float  # roubles a month: it only sizes the quantities, money is Decimal further on
    refs: tuple[int, int, int]  # organization, department, warehouse
    terms: int  # days to pay
    discount: int  # percent
    late: float  # chance a document is paid late
    lump_sums: bool  # pays a monthly sum without a doc_no, allocated FIFO
    usual: dict[Item, float] = field(default_factory=dict)  # item -> typical quantity
    docs: list[Doc] = field(default_factory=list)


def make_sales_demo(fake, rng, users, *, n_partners: int, language: str = "ru") -> None:
    """The `crm demo` step: catalogue, sales, returns, payments and stock for client partners.
    The catalogue and the ledger's reference names are Russian in either demo language (an
    accounting system's data, as it would come from 1C)."""
    today = date.today()
    orgs = _named(Organization, ORGANIZATIONS)
    depts = _named(Department, DEPARTMENTS)
    whs = _named(Warehouse, WAREHOUSES)
    items = _catalogue(rng)
    months = _months(today)
    start = months[0][0].replace(day=min(today.day, 28))  # 24 months ago
    buyers = [_buyer(rng, row, start, items, orgs, depts, whs) for row in _partners_without_sales()]
    demand: Counter[Item] = Counter()
    for buyer in buyers:
        for idx, lo, hi in _active_months(rng, buyer, months, start, today):
            _orders(rng, buyer, idx, lo, hi, items, demand)
        for doc in [d for d in buyer.docs if rng.random() < 0.035]:
            _return(rng, doc, today)
    # Numbered in date order; the sort is stable, so a buyer's documents of a day keep theirs.
    docs = sorted((d for b in buyers for d in b.docs), key=lambda d: d.date)
    _number(docs)
    _insert_documents(docs)
    _bulk(Payment, [p for b in buyers for p in _payments(rng, b, today)])
    _bulk(StockBalance, _stock(rng, items, [whs[n] for n in WAREHOUSES], demand))


def _bulk(model, rows: list[dict]) -> None:
    # A Core insert of the table: the ORM's bulk insert splits a batch wherever a value turns
    # None (manager_id), which made PostgreSQL four times slower.
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model.__table__), rows[start : start + BATCH])


def _named(model, names: list[str]) -> dict[str, int]:
    """Reference rows by name, created when missing (a second run finds them)."""
    query = select(model.name, model.id).where(model.name.in_(names))
    found = dict(db.session.execute(query).all())
    _bulk(model, [{"name": n} for n in names if n not in found])
    return dict(db.session.execute(query).all())


def _catalogue(rng) -> list[Item]:
    """Products from the catalogue file: each variant of a name is a product (sku per group),
    its price between the first variant's and the last's. Missing ones are inserted; id, price
    and unit come from the database, so a run with another seed prices by the stored products."""
    items: list[Item] = []
    numbers: Counter[str] = Counter()
    with CATALOGUE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter=";"):
            low, high, variants = int(row["price_from"]), int(row["price_to"]), row["variants"]
            for i, variant in enumerate(variants.split("|")):
                numbers[row["sku_prefix"]] += 1
                sku = f"{row['sku_prefix']}-{numbers[row['sku_prefix']]:03d}"
                rub = (low + (high - low) * i / max(1, variants.count("|"))) * rng.uniform(0.9, 1.1)
                price = Decimal(round(rub)) - (CENT * 10 if rub > 100 and rng.random() < 0.5 else 0)
                items.append(
                    Item(
                        sku,
                        f"{row['name']} {variant}",
                        row["group"],
                        row["unit"],
                        price.quantize(CENT),
                        rng.randint(620, 820),
                    )
                )
    order = rng.sample(range(len(items)), len(items))
    for rank, i in enumerate(order):  # Zipf-like: a few best sellers, a long tail of rare ones
        items[i].weight = 1 / (rank + 1) ** 1.3
    groups = _named(ProductGroup, sorted({i.group for i in items}))
    by_sku = {i.sku: i for i in items}
    query = select(Product.sku, Product.id, Product.base_price, Product.unit)
    query = query.where(Product.sku.in_(by_sku))
    found = {row.sku for row in db.session.execute(query)}
    _bulk(
        Product,
        [
            dict(sku=i.sku, name=i.name, group_id=groups[i.group], unit=i.unit, base_price=i.price)
            for i in items
            if i.sku not in found
        ],
    )
    for sku, id_, price, unit in db.session.execute(query):
        item = by_sku[sku]
        item.id, item.price, item.unit = id_, price or item.price, unit
    return items


def _partners_without_sales():
    has_docs = select(SalesDocument.id).where(SalesDocument.partner_id == Partner.id).exists()
    has_payments = select(Payment.id).where(Payment.partner_id == Partner.id).exists()
    query = (
        select(Partner.id, Partner.kind, Partner.created_on, Partner.responsible_id)
        .where(Partner.is_client, Partner.merged_into_id.is_(None), ~has_docs, ~has_payments)
        .where(~Partner.code.like("%-DUP"))  # the near-duplicates to merge stay without sales
        .order_by(Partner.code)
    )
    return db.session.execute(query).all()


def _buyer(rng, row, start: date, items, orgs, depts, whs) -> Buyer:
    shares = OLD_PATTERNS if row.created_on < start else YOUNG_PATTERNS
    pattern = rng.choices(PATTERNS, weights=shares)[0]
    habit = rng.choices(list(HABITS), weights=(40, 35, 25))[0]
    budget = math.exp(rng.gauss(math.log(40000), 0.75))
    if pattern == "new":
        budget /= 2  # a new customer tries us out with smaller orders first
    home = rng.choices(range(3), weights=(60, 25, 15))[0]  # the Urals firm ships from its own
    if row.kind == "person":
        dept = rng.choice(DEPARTMENTS[1:])
    else:
        dept = DEPARTMENTS[0] if budget > 50000 else DEPARTMENTS[1]
    wholesale = dept == DEPARTMENTS[0]
    buyer = Buyer(
        row.id,
        row.responsible_id,
        row.created_on,
        pattern,
        habit,
        budget,
        refs=(orgs[ORGANIZATIONS[home == 2]], depts[dept], whs[WAREHOUSES[home]]),
        terms=30 if wholesale else rng.choice((14, 14, 30)),
        discount=min(15, int(budget // 20000)) if wholesale else rng.randint(0, 3),
        late=rng.choice((0.05, 0.05, 0.12, 0.3)),
        lump_sums=row.kind == "company" and rng.random() < 0.12,
    )
    weights = [i.weight for i in items]
    wanted = rng.randint(2, 8)
    while len(buyer.usual) < wanted:
        item = rng.choices(items, weights=weights)[0]
        buyer.usual[item] = budget / wanted / float(item.price)
    return buyer


def _months(today: date) -> list[tuple[date, date]]:
    """First and last day of each month from 24 months ago to the current one."""
    out = []
    for back in range(MONTHS, -1, -1):
        y, m = divmod(today.year * 12 + today.month - 1 - back, 12)
        first = date(y, m + 1, 1)
        out.append((first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)))
    return out


def _active_months(rng, buyer: Buyer, months, start: date, today: date) -> list[tuple]:
    """(month index, first, last possible day) of the months this buyer orders in."""
    since = max(buyer.created_on, start)
    if buyer.pattern == "new":
        since = max(since, today - timedelta(days=85))
    spans = [(i, max(a, since), min(b, today)) for i, (a, b) in enumerate(months)]
    spans = [s for s in spans if s[1] <= s[2]]
    chance = HABITS[buyer.habit][0]
    if buyer.pattern == "churning":
        stop = len(months) - 1 - rng.randint(7, 12)
        history = [s for s in spans if s[0] <= stop]
        if len(history) >= 4:
            return [s for s in history[:-1] if rng.random() < chance] + [history[-1]]
        buyer.pattern = "occasional"  # too young a partner to have churned
    if buyer.pattern == "regular":
        return [s for s in spans if rng.random() < chance]
    if buyer.pattern == "new":
        return [s for s in spans if rng.random() < 0.6] or spans[-1:]
    if buyer.pattern == "occasional":
        return sorted(rng.sample(spans, k=min(len(spans), rng.randint(1, 5))))
    return []


def _quantity(q: float, unit: str) -> Decimal:
    if unit in MEASURED_UNITS:
        return Decimal(max(10, round(q * 100))).scaleb(-2)
    return Decimal(max(1, round(q))).quantize(CENT)


def _orders(rng, buyer: Buyer, idx, lo, hi, items, demand) -> None:
    """One month's documents of a buyer: usual products, now and then something else."""
    _, sigma, share, most_docs = HABITS[buyer.habit]
    picked = [i for i in buyer.usual if rng.random() < share] or [rng.choice(list(buyer.usual))]
    if rng.random() < 0.25:  # a product outside the usual ones
        picked = list(dict.fromkeys(picked + rng.choices(items, weights=[i.weight for i in items])))
    rng.shuffle(picked)
    n_docs = min(len(picked), max(math.ceil(len(picked) / 6), rng.randint(1, most_docs)))
    # Prices were lower in the past: about 7 % a year of inflation up to today's base price.
    drift = Decimal(1000 - 6 * (MONTHS - idx)) / 1000 * (100 - buyer.discount) / 100
    season = SEASON[lo.month - 1]
    for k in range(n_docs):
        day = lo + timedelta(days=rng.randint(0, (hi - lo).days))
        if day.weekday() >= 5 and day - timedelta(days=day.weekday() - 4) >= lo:
            day -= timedelta(days=day.weekday() - 4)  # shipped on the Friday before
        lines = []
        for item in picked[k::n_docs]:
            typical = buyer.usual.get(item) or buyer.budget / 4 / float(item.price)
            qty = _quantity(typical * season * math.exp(rng.gauss(0, sigma)), item.unit)
            amount = (qty * item.price * drift).quantize(CENT)
            per_mille = min(850, max(600, item.cost_per_mille + rng.randint(-30, 30)))
            lines.append((item, qty, amount, (amount * per_mille / 1000).quantize(CENT)))
            if idx >= MONTHS - 2:
                demand[item] += float(qty) / 3
        buyer.docs.append(Doc(buyer, day, day + timedelta(days=buyer.terms), lines))


def _return(rng, doc: Doc, today: date) -> None:
    """Part of one or two lines of `doc` brought back 3–30 days later (never after today)."""
    day = doc.date + timedelta(days=rng.randint(3, 30))
    if day > today:
        return
    lines = []
    picked = rng.sample(doc.lines, k=min(len(doc.lines), rng.choice((1, 1, 2))))
    for item, qty, amount, cost in picked:
        back = _quantity(float(qty) * rng.uniform(0.2, 1), item.unit).min(qty)
        lines.append(
            (
                item,
                -back,
                -(amount * back / qty).quantize(CENT),
                -(cost * back / qty).quantize(CENT),
            )
        )
    doc.buyer.docs.append(Doc(doc.buyer, day, day, lines, is_return=True))


def _number(docs: list[Doc]) -> None:
    """Numbers in date order, sales «РН-…» and returns «ВЗ-…» each in their own series, going
    on after the numbers an earlier run took."""
    numbers = {}
    for prefix in ("РН-", "ВЗ-"):
        query = select(SalesDocument.doc_no).where(SalesDocument.doc_no.like(prefix + "%"))
        taken = db.session.execute(query).scalars()
        numbers[prefix] = max((int(n[3:]) for n in taken if n[3:].isdigit()), default=0)
    for doc in docs:
        prefix = "ВЗ-" if doc.is_return else "РН-"
        numbers[prefix] += 1
        doc.doc_no = f"{prefix}{numbers[prefix]:06d}"


def _insert_documents(docs: list[Doc]) -> None:
    rows = [
        dict(
            doc_no=d.doc_no,
            date=d.date,
            partner_id=d.buyer.id,
            organization_id=d.buyer.refs[0],
            department_id=d.buyer.refs[1],
            warehouse_id=d.buyer.refs[2],
            manager_id=d.buyer.manager_id,
            due_date=d.due_date,
            status="shipped",
            **summary_of_lines(
                {"amount": amount, "quantity": qty, "cost": cost}
                for _item, qty, amount, cost in d.lines
            ),
        )
        for d in docs
    ]
    mark_months(d.date for d in docs)
    before = db.session.execute(select(func.max(SalesDocument.id))).scalar() or 0
    _bulk(SalesDocument, rows)
    query = select(SalesDocument.doc_no, SalesDocument.id).where(SalesDocument.id > before)
    ids = dict(db.session.execute(query).all())  # the new documents' ids by doc_no
    lines = [
        dict(
            document_id=ids[d.doc_no],
            line_no=n,
            date=d.date,
            partner_id=d.buyer.id,
            product_id=item.id,
            quantity=qty,
            amount=amount,
            cost=cost,
        )
        for d in docs
        for n, (item, qty, amount, cost) in enumerate(d.lines, start=1)
    ]
    _bulk(SalesLine, lines)


def _payments(rng, buyer: Buyer, today: date) -> list[dict]:
    out: list[dict] = []
    occurrence: Counter[tuple] = Counter()  # equal payments on one day: 1st, 2nd… (the key)

    def pay(day: date, amount: Decimal, doc_no: str = "") -> None:
        if day <= today and amount > 0:  # a payment due later is simply not made yet
            occurrence[(day, amount, doc_no)] += 1
            out.append(
                dict(
                    date=day,
                    partner_id=buyer.id,
                    amount=amount,
                    doc_no=doc_no,
                    occurrence=occurrence[(day, amount, doc_no)],
                )
            )

    if buyer.lump_sums:  # a monthly transfer for everything due that month, returns netted
        due: defaultdict[tuple[int, int], Decimal] = defaultdict(Decimal)
        for d in buyer.docs:
            due[(d.due_date.year, d.due_date.month)] += d.total
        for (y, m), amount in sorted(due.items()):
            r = rng.random()
            if r < 0.1:  # paid short: a debt that lingers until FIFO clears it
                amount = (amount * rng.randint(60, 90) / 100).quantize(CENT)
            elif r < 0.15:  # rounded up: a small credit
                amount = _round_up(amount, 1000)
            pay(date(y, m, rng.randint(20, 28)), amount)
        return out
    sales = [d for d in buyer.docs if not d.is_return]
    # A churning customer often leaves its last documents unpaid.
    last = set(sales[-3:]) if buyer.pattern == "churning" else set()
    for d in sales:
        r = rng.random() - (0.25 if d in last else 0.01)
        on_time = d.date + timedelta(days=rng.randint(min(3, buyer.terms), buyer.terms))
        if r < 0:
            continue  # never paid
        if r < 0.04:
            part = (d.total * rng.randint(30, 80) / 100).quantize(CENT)
            pay(on_time, part, d.doc_no)
            if rng.random() < 0.6:
                pay(d.due_date + timedelta(days=rng.randint(15, 90)), d.total - part, d.doc_no)
        elif r < 0.04 + buyer.late:
            pay(d.due_date + timedelta(days=rng.randint(1, 60)), d.total, d.doc_no)
        elif rng.random() < 0.002:  # overpaid: the excess stays as the partner's credit
            pay(on_time, _round_up(d.total + 1, 5000), d.doc_no)
        else:  # some accountants forget the document number: FIFO settles it
            pay(on_time, d.total, "" if rng.random() < 0.04 else d.doc_no)
    return out


def _round_up(amount: Decimal, step: int) -> Decimal:
    return ((amount / step).to_integral_value(ROUND_CEILING) * step).quantize(CENT)


def _stock(rng, items: list[Item], warehouses: list[int], demand) -> list[dict]:
    """Balances for most products: half a month to two and a half of recent demand, over one
    to three warehouses; unsold products lie in small quantities. Existing balances stay."""
    taken = set(db.session.execute(select(StockBalance.product_id, StockBalance.warehouse_id)))
    rows = []
    for item in items:
        if rng.random() < 0.1:
            continue  # sold out everywhere
        monthly = demand[item]
        where = rng.sample(warehouses, k=3 if monthly > 50 else rng.randint(1, 3))
        for wh in where:
            q = monthly / len(where) * rng.uniform(0.5, 2.5) if monthly else rng.uniform(1, 20)
            qty = _quantity(q, item.unit)
            value = (qty * item.price * item.cost_per_mille / 1000).quantize(CENT)
            if (item.id, wh) not in taken:
                rows.append(dict(product_id=item.id, warehouse_id=wh, quantity=qty, value=value))
    return rows
