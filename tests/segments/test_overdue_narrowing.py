"""The overdue-debt condition's two ways of computing (crm.sales.receivables.
partners_overdue_above: the debt less what is not due yet for partners without refunds, the
whole rule for those with one) and the narrowing of an AND group (crm.segments.rules.
narrowed_parts: such a condition computed only for the partners the other parts allow), on
partners whose overdue debt is worked out by hand below and checked against the receivables'
FIFO walk."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import true

from crm.core.conditions import CONDITIONS, ConditionType, register_condition
from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.receivables import receivables
from crm.segments.rules import member_ids
from crm.segments.services import add_members, create_segment
from tests.factories import create_document, create_partner, create_payment

AS_OF = date(2026, 6, 30)

# Overdue debt as of 2026-06-30, by hand:
#   A  1,000: A1 (due 05-15) unpaid; A2 500 not due yet (07-10), unpaid.
#   B    600: B1 800 overdue, unpaid by name; B2 300 not due yet, paid 500 by name: the 200
#             over its total goes to the pool and settles 200 of B1.
#   C    300: C1 1,000 overdue; a payment of 700 without a number settles 700 of it; C2 600
#             not due yet, 200 of it paid by name (the 400 left is debt, not overdue).
#   D    400: D1 1,000 overdue, paid 1,000 by name, then −400 refunded by name (it took 600);
#             a refund of −300 without a number leaves the pool negative, which settles
#             nothing: the overdue is D1's 400 (the debt is 700).
#   E      0: E1 400 overdue, settled by E's payment of 400 naming A's document (not E's own:
#             it goes to E's pool); A's document stays unpaid.
#   F    650: F1 900 overdue; a return of −250 (F2) settles 250 of it.
#   G      0: G1 700 paid by name before it was due; G2 100 not due yet (debt, not overdue).
#   H      0: no documents, one payment of 100.
OVERDUE = {"A": 1000, "B": 600, "C": 300, "D": 400, "E": 0, "F": 650, "G": 0, "H": 0}


@pytest.fixture
def debtors(app):
    city = {"A": "Москва", "B": "Москва", "D": "Москва", "G": "Москва", "C": "Казань"}
    city |= {"F": "Казань", "E": "Тверь", "H": "Тверь"}
    who = {
        n: create_partner(f"Должник {n}", code=n, city=city[n], is_supplier=n == "G", commit=False)
        for n in "ABCDEFGH"
    }

    def doc(n, amount, day, due):
        return create_document(who[n], (amount,), date=day, due_date=due, commit=False)

    a1 = doc("A", 1000, date(2026, 5, 1), date(2026, 5, 15))
    doc("A", 500, date(2026, 6, 25), date(2026, 7, 10))
    doc("B", 800, date(2026, 5, 1), date(2026, 5, 31))
    b2 = doc("B", 300, date(2026, 6, 20), date(2026, 7, 20))
    create_payment(who["B"], 500, date(2026, 6, 21), doc_no=b2.doc_no, commit=False)
    doc("C", 1000, date(2026, 4, 1), date(2026, 4, 30))
    c2 = doc("C", 600, date(2026, 6, 28), date(2026, 7, 28))
    create_payment(who["C"], 700, date(2026, 6, 1), commit=False)
    create_payment(who["C"], 200, date(2026, 6, 29), doc_no=c2.doc_no, commit=False)
    d1 = doc("D", 1000, date(2026, 5, 1), date(2026, 5, 10))
    create_payment(who["D"], 1000, date(2026, 5, 5), doc_no=d1.doc_no, commit=False)
    create_payment(who["D"], -400, date(2026, 5, 20), doc_no=d1.doc_no, commit=False)
    create_payment(who["D"], -300, date(2026, 6, 1), commit=False)
    doc("E", 400, date(2026, 5, 1), date(2026, 5, 15))
    create_payment(who["E"], 400, date(2026, 6, 1), doc_no=a1.doc_no, commit=False)
    doc("F", 900, date(2026, 5, 1), date(2026, 5, 20))
    doc("F", -250, date(2026, 5, 25), date(2026, 5, 25))
    g1 = doc("G", 700, date(2026, 5, 1), date(2026, 5, 20))
    create_payment(who["G"], 700, date(2026, 5, 19), doc_no=g1.doc_no, commit=False)
    doc("G", 100, date(2026, 6, 29), date(2026, 7, 29))
    create_payment(who["H"], 100, date(2026, 6, 1), commit=False)
    db.session.commit()
    return {n: p.id for n, p in who.items()}


def names(debtors, rule) -> set[str]:
    by_id = {pid: n for n, pid in debtors.items()}
    return {by_id[pid] for pid in member_ids(rule, as_of=AS_OF) if pid in by_id}


def overdue(above) -> dict:
    return {"type": "sales.overdue", "above": above}


MOSCOW = {"type": "partner.city", "cities": ["Москва"]}
KAZAN = {"type": "partner.city", "cities": ["Казань"]}
SUPPLIER = {"type": "partner.role", "roles": ["supplier"]}


def test_the_hand_worked_overdue_debts_are_the_receivables_walk(debtors):
    walk = receivables(AS_OF)
    found = {n: (walk[pid].overdue if pid in walk else 0) for n, pid in debtors.items()}
    assert found == {n: Decimal(v) for n, v in OVERDUE.items()}
    assert walk[debtors["D"]].debt == Decimal("700.00")
    assert walk[debtors["C"]].debt == Decimal("700.00")


@pytest.mark.parametrize(
    ("above", "expected"),
    [
        (0, {"A", "B", "C", "D", "F"}),
        ("399.99", {"A", "B", "D", "F"}),
        (400, {"A", "B", "F"}),  # D (the refund: the whole rule) has exactly 400
        (600, {"A", "F"}),
        (650, {"A"}),
        (999, {"A"}),
        (1000, set()),
    ],
)
def test_overdue_above_a_value_with_and_without_refunds(debtors, above, expected):
    assert names(debtors, overdue(above)) == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"all": [MOSCOW, overdue(0)]}, {"A", "B", "D"}),
        ({"all": [overdue(500), MOSCOW]}, {"A", "B"}),
        ({"all": [MOSCOW, {"not": overdue(0)}]}, {"G"}),
        ({"all": [MOSCOW, {"any": [overdue(700), SUPPLIER]}]}, {"A", "G"}),
        ({"all": [MOSCOW, {"all": [overdue(0), {"not": overdue(700)}]}]}, {"B", "D"}),
        (
            {"any": [{"all": [MOSCOW, overdue(500)]}, {"all": [KAZAN, overdue(0)]}]},
            {"A", "B", "C", "F"},
        ),
        ({"all": [overdue(0), {"not": overdue(600)}]}, {"B", "C", "D"}),  # no plain part
        ({"any": [overdue(900), SUPPLIER]}, {"A", "G"}),
    ],
)
def test_overdue_inside_groups_gives_the_members_listed_by_hand(debtors, rule, expected):
    assert names(debtors, rule) == expected


def test_overdue_and_not_in_a_manual_segment(debtors):
    segment = create_segment(None, "Уже звонили", "manual")
    add_members(None, segment, [debtors["A"], debtors["C"], debtors["E"]])
    db.session.commit()
    not_in = {"not": {"type": "segment.member", "segments": [segment.id]}}
    assert names(debtors, {"all": [MOSCOW, overdue(0), not_in]}) == {"B", "D"}
    assert names(debtors, {"all": [overdue(0), not_in]}) == {"B", "D", "F"}


@pytest.fixture
def only_within(app, monkeypatch):
    """A throw-away condition type taking `within` that answers "in `within`" (everyone when
    there is none): its members show what a rule lets it know."""
    registry = CONDITIONS.of(app).copy()
    monkeypatch.setitem(app.extensions, CONDITIONS.name, registry)
    seen = []

    def build(values):
        seen.append(values["within"] is not None)
        return true() if values["within"] is None else Partner.id.in_(values["within"])

    register_condition(
        app, ConditionType("test.only_within", "Only within", (), build, within=True)
    )
    return seen


def test_a_condition_taking_within_is_told_what_the_rest_of_an_and_allows(debtors, only_within):
    probe = {"type": "test.only_within"}
    everyone = set(debtors)
    assert names(debtors, probe) == everyone
    assert names(debtors, {"all": [MOSCOW, probe]}) == {"A", "B", "D", "G"}
    assert names(debtors, {"all": [MOSCOW, {"not": probe}]}) == set()
    assert names(debtors, {"all": [MOSCOW, {"any": [probe, SUPPLIER]}]}) == {"A", "B", "D", "G"}
    assert names(debtors, {"all": [MOSCOW, {"all": [KAZAN, probe]}]}) == set()
    # Nothing to narrow by: an OR at the top, or only parts that take `within` themselves.
    assert names(debtors, {"any": [MOSCOW, probe]}) == everyone
    assert names(debtors, {"all": [probe, {"any": [probe]}]}) == everyone
    only_within.clear()
    assert names(debtors, {"all": [{"any": [probe, MOSCOW]}, KAZAN]}) == {"C", "F"}
    assert only_within == [False, True]  # checked in order first, then told
