"""Deal conditions of segment rules (crm.deals.conditions) on five partners whose deals are
listed by hand; the rule's as-of date decides what was open and ends a window of days."""

from __future__ import annotations

from datetime import date

import pytest

from crm.extensions import db
from crm.segments.rules import RuleError, member_ids
from tests.factories import create_deal, create_deal_kind, create_partner

AS_OF = date(2026, 6, 30)


@pytest.fixture
def deals(app):
    """Kinds «Поставка» (Qualification → Proposal → Contract) and «Сервис» (Talk, Quote).
    P1: an open «Поставка» at Proposal (created 2026-01-10).
    P2: an open «Сервис» at Talk; a «Поставка» lost on 2026-06-01.
    P3: a «Сервис» lost on 2025-05-01 (created 2025-03-01); a «Поставка» won on 2026-06-10.
    P4: a «Поставка» created 2026-01-10, lost on 2026-03-01.
    P5: no deals."""
    supply = create_deal_kind("Поставка", commit=False)
    service = create_deal_kind("Сервис", stages=("Talk", "Quote"), process=False, commit=False)
    p = {n: create_partner(f"Клиент {n}", code=f"P{n}", commit=False) for n in range(1, 6)}
    create_deal(p[1], supply, stage="Proposal", commit=False)
    create_deal(p[2], service, commit=False)
    create_deal(p[2], supply, status="lost", closed_on=date(2026, 6, 1), commit=False)
    create_deal(p[3], service, status="lost", created_on=date(2025, 3, 1),
                closed_on=date(2025, 5, 1), commit=False)  # fmt: skip
    create_deal(p[3], supply, status="won", closed_on=date(2026, 6, 10), commit=False)
    create_deal(p[4], supply, status="lost", closed_on=date(2026, 3, 1), commit=False)
    db.session.commit()
    stages = {s.name: s.id for s in supply.stages}
    return {
        "names": {v.id: n for n, v in p.items()},
        "supply": supply.id,
        "service": service.id,
        "stages": stages,
    }


def members(deals, rule, as_of=AS_OF) -> set[int]:
    return {deals["names"][pid] for pid in member_ids(rule, as_of=as_of) if pid in deals["names"]}


def test_open_deals_of_a_kind_and_a_stage(deals):
    rule = {"type": "deals.open"}
    assert members(deals, rule) == {1, 2}
    assert members(deals, {**rule, "kinds": [deals["supply"]]}) == {1}
    assert members(deals, {**rule, "kinds": [deals["service"]]}) == {2}
    assert members(deals, {**rule, "stages": [deals["stages"]["Proposal"]]}) == {1}
    assert members(deals, {**rule, "stages": [deals["stages"]["Qualification"]]}) == set()
    both = {**rule, "kinds": [deals["service"]], "stages": [deals["stages"]["Proposal"]]}
    assert members(deals, both) == set()
    assert members(deals, {"not": rule}) == {3, 4, 5}


def test_a_deal_closed_after_the_rule_date_was_open_on_it(deals):
    """On 2026-02-15 every deal created by then and closed later was open: P3's won and P4's
    lost «Поставка» too; P3's «Сервис» was closed long before."""
    assert members(deals, {"type": "deals.open"}, date(2026, 2, 15)) == {1, 2, 3, 4}
    assert members(deals, {"type": "deals.open"}, date(2026, 1, 9)) == set()  # none created


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ({"days": 30}, {2}),  # from 2026-06-01
        ({"days": 365}, {2, 4}),  # from 2025-07-01
        ({"days": 500}, {2, 3, 4}),  # from 2025-02-17
        ({"from": "2026-02-01", "to": "2026-03-31"}, {4}),
        ({"to": "2025-12-31"}, {3}),
    ],
)
def test_lost_a_deal_within_a_window(deals, window, expected):
    assert members(deals, {"type": "deals.lost", **window}) == expected


def test_lost_a_deal_of_a_kind(deals):
    rule = {"type": "deals.lost", "days": 500}
    assert members(deals, {**rule, "kinds": [deals["service"]]}) == {3}
    assert members(deals, {**rule, "kinds": [deals["supply"]]}) == {2, 4}


@pytest.mark.parametrize(
    ("rule", "path", "message"),
    [
        ({"type": "deals.open", "kinds": [999999]}, "kinds", "No deal kind has the id 999999"),
        ({"type": "deals.open", "stages": [999999]}, "stages", "No deal stage has the id"),
        ({"type": "deals.open", "stages": ["'; DROP TABLE partner; --"]}, "stages", "whole"),
        ({"type": "deals.open", "kinds": 1}, "kinds", "non-empty list"),
        ({"type": "deals.lost"}, "days", "number of days or a period"),
        ({"type": "deals.lost", "days": 5, "to": "2026-01-01"}, "days", "not both"),
        ({"type": "deals.lost", "from": "2026-05-01", "to": "2026-04-01"}, "from", "starts after"),
        ({"any": [{"type": "deals.lost", "days": 0}]}, "any[0].days", "0"),
        ({"type": "deals.lost", "days": 30, "kinds": [999999]}, "kinds", "No deal kind"),
    ],
)
def test_bad_deal_conditions_are_refused_naming_the_parameter(deals, rule, path, message):
    with pytest.raises(RuleError) as caught:
        member_ids(rule, as_of=AS_OF)
    assert caught.value.path == path
    assert message in caught.value.message
