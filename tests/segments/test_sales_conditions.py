"""Purchase conditions of segment rules (crm.sales.conditions) on a few partners whose
purchases are listed by hand; the rule's as-of date ends a window of days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import ProductGroup
from crm.segments.rules import RuleError, member_ids
from tests.factories import create_document, create_partner, create_payment, create_product

AS_OF = date(2026, 6, 30)


@pytest.fixture
def buyers(app):
    """A: 1,500 of p1 (group G1) on 2026-06-10, 300 of p2 (G2) on 2026-05-01.
    B: 700 of p1 on 2026-03-01. C: a return of 200 of p1 on 2026-06-20 (not a purchase).
    D: nothing."""
    g1, g2 = ProductGroup(name="G1"), ProductGroup(name="G2")
    db.session.add_all([g1, g2])
    db.session.flush()
    p1 = create_product(group_id=g1.id, commit=False)
    p2 = create_product(group_id=g2.id, commit=False)
    who = {n: create_partner(f"Покупатель {n}", code=n, commit=False) for n in "ABCD"}
    create_document(who["A"], (1500,), date=date(2026, 6, 10), product=p1, commit=False)
    create_document(who["A"], (300,), date=date(2026, 5, 1), product=p2, commit=False)
    create_document(who["B"], (700,), date=date(2026, 3, 1), product=p1, commit=False)
    create_document(who["C"], (-200,), date=date(2026, 6, 20), product=p1, commit=False)
    db.session.commit()
    return {"ids": {n: p.id for n, p in who.items()}, "g1": g1.id, "g2": g2.id, "p2": p2.id}


def names(buyers, rule, as_of=AS_OF) -> set[str]:
    by_id = {pid: n for n, pid in buyers["ids"].items()}
    return {by_id[pid] for pid in member_ids(rule, as_of=as_of) if pid in by_id}


def test_bought_within_days_a_period_a_group_a_product_and_times(buyers):
    g1, g2 = buyers["g1"], buyers["g2"]
    assert names(buyers, {"type": "sales.bought", "days": 30}) == {"A"}  # C only returned
    assert names(buyers, {"type": "sales.bought", "days": 120}) == {"A"}  # from 2026-03-03
    assert names(buyers, {"type": "sales.bought", "days": 122}) == {"A", "B"}  # from 03-01
    assert names(buyers, {"type": "sales.bought", "days": 30, "groups": [g1]}) == {"A"}
    assert names(buyers, {"type": "sales.bought", "days": 30, "groups": [g2]}) == set()
    half = {"from": "2026-01-01", "to": "2026-06-30"}
    assert names(buyers, {"type": "sales.bought", **half, "groups": [g1]}) == {"A", "B"}
    assert names(buyers, {"type": "sales.bought", **half, "groups": [g1], "times": 2}) == set()
    assert names(buyers, {"type": "sales.bought", **half, "times": 2}) == {"A"}
    assert names(buyers, {"type": "sales.bought", **half, "products": [buyers["p2"]]}) == {"A"}
    assert names(buyers, {"not": {"type": "sales.bought", "days": 30}}) == {"B", "C", "D"}


def test_the_as_of_date_ends_the_window(buyers):
    assert names(buyers, {"type": "sales.bought", "days": 30}, date(2026, 3, 15)) == {"B"}


def test_revenue_and_number_of_sales_at_least_or_below(buyers):
    ninety = {"days": 90}  # 2026-04-02 … 2026-06-30
    rev = {"type": "sales.figure", "metric": "revenue", **ninety}
    assert names(buyers, {**rev, "compare": "at_least", "value": 1800}) == {"A"}
    assert names(buyers, {**rev, "compare": "at_least", "value": "1800.01"}) == set()
    # Below: no sales in the window is 0; C's return makes −200.
    assert names(buyers, {**rev, "compare": "below", "value": 1000}) == {"B", "C", "D"}
    sales = {"type": "sales.figure", "metric": "sales", "from": "2026-01-01"}
    assert names(buyers, {**sales, "compare": "at_least", "value": 2}) == {"A"}
    assert names(buyers, {**sales, "compare": "at_least", "value": 1}) == {"A", "B", "C"}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"type": "sales.bought"}, "number of days or a period"),
        ({"type": "sales.bought", "days": 30, "from": "2026-01-01"}, "not both"),
        ({"type": "sales.bought", "from": "2026-07-01", "to": "2026-01-01"}, "starts after"),
        ({"type": "sales.bought", "days": 0}, "0"),
        (
            {"type": "sales.figure", "metric": "margin", "compare": "below", "value": 1, "days": 5},
            "is not one of",
        ),  # fmt: skip
        (
            {
                "type": "sales.figure",
                "metric": "revenue",
                "compare": "below",
                "value": "много",
                "days": 5,
            },
            "not a number",
        ),  # fmt: skip
    ],
)
def test_bad_purchase_conditions_are_refused(buyers, rule, message):
    with pytest.raises(RuleError, match=message):
        member_ids(rule, as_of=AS_OF)


def test_members_as_of_a_date_from_the_command_line(buyers, runner):
    from crm.segments.services import create_segment

    create_segment(None, "Покупали за 30 дней", "dynamic", {"type": "sales.bought", "days": 30})
    db.session.commit()
    args = ["crm", "segments", "members", "Покупали за 30 дней"]
    assert runner.invoke(args=[*args, "--as-of", "2026-03-15"]).output == "B\n"
    assert runner.invoke(args=[*args, "--as-of", "2026-06-30"]).output == "A\n"
    bad = runner.invoke(args=[*args, "--as-of", "2026-02-30"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output


def test_overdue_debt_above_a_value_follows_the_receivables_rule(buyers):
    """As of 2026-06-30 every document is due on its day: A owes 1,800 overdue; B paid its 700;
    C's return is a credit; D owes nothing. The walk of crm.sales.receivables agrees."""
    from sqlalchemy import select

    from crm.partners.models import Partner
    from crm.sales.models import SalesDocument
    from crm.sales.receivables import receivables
    from tests.factories import create_payment

    partner_b = db.session.get(Partner, buyers["ids"]["B"])
    doc_no = db.session.execute(
        select(SalesDocument.doc_no).where(SalesDocument.partner_id == partner_b.id)
    ).scalar_one()
    create_payment(partner_b, 700, date(2026, 4, 1), doc_no=doc_no)
    overdue = {n: receivables(AS_OF).get(pid) for n, pid in buyers["ids"].items()}
    walk = {n: (b.overdue if b else 0) for n, b in overdue.items()}
    assert walk == {"A": 1800, "B": 0, "C": 0, "D": 0}
    rule = {"type": "sales.overdue"}
    assert names(buyers, {**rule, "above": 0}) == {"A"}
    assert names(buyers, {**rule, "above": "1799.99"}) == {"A"}
    assert names(buyers, {**rule, "above": 1800}) == set()
    # On 2026-04-30 only B's March document is overdue — and paid by then.
    assert names(buyers, {**rule, "above": 0}, date(2026, 4, 30)) == set()
    assert names(buyers, {**rule, "above": 0}, date(2026, 3, 31)) == {"B"}


def test_average_check_lists_buyers_only(buyers):
    """From 2026-01-01: A 1,800 in 2 sales (900), B 700 in 1. C has only a return and D nothing:
    no average check, so neither "at least" nor "below" holds for them."""
    avg = {"type": "sales.figure", "metric": "average_check", "from": "2026-01-01"}
    assert names(buyers, {**avg, "compare": "at_least", "value": 900}) == {"A"}
    assert names(buyers, {**avg, "compare": "at_least", "value": "900.01"}) == set()
    assert names(buyers, {**avg, "compare": "at_least", "value": 700}) == {"A", "B"}
    assert names(buyers, {**avg, "compare": "below", "value": 900}) == {"B"}
    assert names(buyers, {**avg, "compare": "below", "value": 1000}) == {"A", "B"}
    assert names(buyers, {**avg, "compare": "below", "value": 700}) == set()
    # Within 90 days (from 2026-04-02) B bought nothing.
    assert names(buyers, {**avg, "from": None, "days": 90, "compare": "below", "value": 1000}) == {
        "A"
    }


def test_average_check_counts_a_return_as_a_sale_and_is_exact_to_the_cent(buyers):
    """C buys 1,000 on 2026-06-25 besides its return of 200: 800 in 2 sales = 400, as revenue
    and number of sales show. E: 333.33 + 333.33 + 333.34 = 1,000.00 in 3 sales = 333.333…"""
    c = db.session.get(Partner, buyers["ids"]["C"])
    create_document(c, (1000,), date=date(2026, 6, 25), commit=False)
    e = create_partner("Покупатель E", code="E", commit=False)
    for amount in ("333.33", "333.33", "333.34"):
        create_document(e, (amount,), date=date(2026, 6, 1), commit=False)
    db.session.commit()
    buyers["ids"]["E"] = e.id
    avg = {"type": "sales.figure", "metric": "average_check", "days": 30}  # from 2026-06-01
    assert names(buyers, {**avg, "compare": "below", "value": 401}) == {"C", "E"}
    assert names(buyers, {**avg, "compare": "below", "value": 400}) == {"E"}
    assert names(buyers, {**avg, "compare": "at_least", "value": "333.33"}) == {"A", "C", "E"}
    assert names(buyers, {**avg, "compare": "at_least", "value": "333.34"}) == {"A", "C"}
    assert names(buyers, {**avg, "compare": "below", "value": "333.34"}) == {"E"}


@pytest.fixture
def ledger(app):
    """Receivables as of 2026-06-30 (payments without doc_no go to the pool, FIFO by due date):
    E: E1 1,000 due 03-31, E2 500 due 05-31, E3 200 due 07-20; a pool payment of 300 (04-10)
       settles E1 first → E1 700 + E2 500 overdue, oldest due 03-31 (91 days late); debt 1,400.
    F: F1 800 due 03-31 paid by name (04-05); F2 400 due 06-14, 100 paid by name → 300 overdue,
       oldest 06-14 (16 days); debt 300.
    G: G1 500 due 02-01, paid 700 (02-10): a credit of 200 (debt −200), nothing overdue.
    H: nothing at all (debt 0).
    K: K1 300 due 01-31, K2 300 due 04-30, a pool payment of 300 (06-01) settles K1 (the
       older): K2 overdue, oldest 04-30 (61 days); debt 300.
    L: as K, but the payment names L2: L1 stays, oldest 01-31 (150 days); debt 300."""
    who = {n: create_partner(f"Должник {n}", code=n, commit=False) for n in "EFGHKL"}
    doc = {}

    def document(n, no, amount, day, due):
        doc[no] = create_document(who[n], (amount,), doc_no=no, date=day, due_date=due,
                                  commit=False)  # fmt: skip

    document("E", "E1", 1000, date(2026, 3, 1), date(2026, 3, 31))
    document("E", "E2", 500, date(2026, 5, 1), date(2026, 5, 31))
    document("E", "E3", 200, date(2026, 6, 20), date(2026, 7, 20))
    create_payment(who["E"], 300, date(2026, 4, 10), commit=False)
    document("F", "F1", 800, date(2026, 3, 1), date(2026, 3, 31))
    document("F", "F2", 400, date(2026, 5, 15), date(2026, 6, 14))
    create_payment(who["F"], 800, date(2026, 4, 5), doc_no="F1", commit=False)
    create_payment(who["F"], 100, date(2026, 6, 1), doc_no="F2", commit=False)
    document("G", "G1", 500, date(2026, 2, 1), date(2026, 2, 1))
    create_payment(who["G"], 700, date(2026, 2, 10), commit=False)
    for n in "KL":
        document(n, f"{n}1", 300, date(2026, 1, 1), date(2026, 1, 31))
        document(n, f"{n}2", 300, date(2026, 4, 1), date(2026, 4, 30))
    create_payment(who["K"], 300, date(2026, 6, 1), commit=False)
    create_payment(who["L"], 300, date(2026, 6, 1), doc_no="L2", commit=False)
    db.session.commit()
    return {"ids": {n: p.id for n, p in who.items()}}


def test_the_ledger_is_what_the_receivables_walk_says(ledger):
    """The hand-worked figures of the fixture, from crm.sales.receivables' walk."""
    from crm.sales.receivables import receivables

    walk = receivables(AS_OF)
    got = {
        n: (walk[pid].debt, walk[pid].overdue, walk[pid].oldest_overdue)
        for n, pid in ledger["ids"].items()
        if pid in walk
    }
    assert got == {
        "E": (Decimal("1400.00"), Decimal("1200.00"), date(2026, 3, 31)),
        "F": (Decimal("300.00"), Decimal("300.00"), date(2026, 6, 14)),
        "G": (Decimal("-200.00"), Decimal("0.00"), None),
        "K": (Decimal("300.00"), Decimal("300.00"), date(2026, 4, 30)),
        "L": (Decimal("300.00"), Decimal("300.00"), date(2026, 1, 31)),
    }


@pytest.mark.parametrize(
    ("above", "expected"),
    [
        (0, {"E", "F", "K", "L"}),
        ("299.99", {"E", "F", "K", "L"}),
        (300, {"E"}),
        ("1399.99", {"E"}),
        (1400, set()),
        (-200, {"E", "F", "K", "L", "H"}),  # G's credit of 200 is a debt of −200, not above
        ("-200.01", {"E", "F", "K", "L", "H", "G"}),
    ],
)
def test_debt_above_a_value_is_documents_minus_payments(ledger, above, expected):
    assert names(ledger, {"type": "sales.debt", "above": above}) == expected


def test_debt_as_of_an_earlier_date(ledger):
    """On 2026-03-15: E owes E1 (1,000), F owes F1 (800), K and L their first 300, G −200."""
    rule = {"type": "sales.debt", "above": 500}
    assert names(ledger, rule, date(2026, 3, 15)) == {"E", "F"}
    assert names(ledger, {**rule, "above": 0}, date(2026, 1, 15)) == {"K", "L"}


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0, {"E", "F", "K", "L"}),  # anything overdue at all
        (15, {"E", "F", "K", "L"}),
        (16, {"E", "K", "L"}),  # F's oldest is 16 days late: not more than 16
        (60, {"E", "K", "L"}),
        (61, {"E", "L"}),  # K's older document was settled by the pool (FIFO)
        (90, {"E", "L"}),
        (91, {"L"}),
        (149, {"L"}),
        (150, set()),
    ],
)
def test_overdue_for_more_than_n_days_follows_the_fifo_rule(ledger, days, expected):
    assert names(ledger, {"type": "sales.overdue_days", "days": days}) == expected


def test_overdue_days_as_of_an_earlier_date(ledger):
    """On 2026-04-20: E1 unpaid (due 03-31, 20 days; the pool's 300 took part of it), F1 paid,
    K1 and L1 due 01-31 (79 days)."""
    rule = {"type": "sales.overdue_days"}
    assert names(ledger, {**rule, "days": 19}, date(2026, 4, 20)) == {"E", "K", "L"}
    assert names(ledger, {**rule, "days": 20}, date(2026, 4, 20)) == {"K", "L"}
    assert names(ledger, {**rule, "days": 79}, date(2026, 4, 20)) == set()


def test_overdue_days_agree_with_the_walk_on_random_ledgers(app):
    """Returns, partial, excess and foreign payments: for every N, the partners listed are those
    whose oldest overdue due date (the walk's) is more than N days before the date."""
    import random
    from datetime import timedelta

    from crm.sales.receivables import receivables

    rng = random.Random(5)
    partners = [create_partner(commit=False) for _ in range(8)]
    days = [date(2026, 1, 1) + timedelta(days=6 * i) for i in range(20)]
    docs = []
    for n in range(70):
        p = rng.choice(partners)
        day = rng.choice(days)
        amount = rng.randrange(100, 5000) * (-1 if rng.random() < 0.1 else 1)
        due = day + timedelta(days=rng.choice([0, 10, 30]))
        create_document(p, (amount,), doc_no=f"Z{n:03d}", date=day, due_date=due, commit=False)
        docs.append(f"Z{n:03d}")
    for _ in range(60):
        p = rng.choice(partners)
        create_payment(p, rng.randrange(100, 4000), rng.choice(days),
                       doc_no=rng.choice(["", "", *docs]), commit=False)  # fmt: skip
    db.session.commit()
    ids = {p.id for p in partners}
    sizes = set()
    for as_of in (days[6], days[13], days[19] + timedelta(days=40)):
        walk = receivables(as_of)
        for n in (0, 5, 17, 30, 45, 90):
            expected = {
                pid
                for pid, b in walk.items()
                if b.oldest_overdue is not None and (as_of - b.oldest_overdue).days > n
            }
            rule = {"type": "sales.overdue_days", "days": n}
            assert set(member_ids(rule, as_of=as_of)) & ids == expected, (as_of, n)
            sizes.add(len(expected))
            debt = {pid for pid, b in walk.items() if b.debt > 0}
            assert set(member_ids({"type": "sales.debt", "above": 0}, as_of=as_of)) & ids == debt
    assert len(sizes) >= 4  # the cases differ: not every N lists everyone or no one


@pytest.mark.parametrize(
    ("rule", "path", "message"),
    [
        ({"type": "sales.debt"}, "above", "required"),
        ({"type": "sales.debt", "above": "много"}, "above", "not a number"),
        ({"type": "sales.debt", "above": True}, "above", "A number is expected"),
        ({"type": "sales.overdue_days", "days": -1}, "days", "-1"),
        ({"type": "sales.overdue_days", "days": "10; DROP TABLE partner"}, "days", "whole"),
        ({"type": "sales.overdue_days", "days": 30, "above": 5}, "above", "Unknown parameter"),
        (
            {"type": "sales.figure", "metric": "avg", "compare": "below", "value": 1, "days": 5},
            "metric",
            "is not one of",
        ),  # fmt: skip
    ],
)
def test_bad_receivable_conditions_name_the_parameter(ledger, rule, path, message):
    with pytest.raises(RuleError) as caught:
        member_ids(rule, as_of=AS_OF)
    assert caught.value.path == path
    assert message in caught.value.message
