"""Purchase conditions of segment rules (crm.sales.conditions) on a few partners whose
purchases are listed by hand; the rule's as-of date ends a window of days."""

from __future__ import annotations

from datetime import date

import pytest

from crm.extensions import db
from crm.sales.models import ProductGroup
from crm.segments.rules import RuleError, member_ids
from tests.factories import create_document, create_partner, create_product

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
