"""Segment rules compiled to SQL (crm.segments.rules) over the partner-field conditions, on a
hand-built set of partners whose members are listed by hand for every rule."""

from __future__ import annotations

from datetime import date

import pytest

from crm.extensions import db
from crm.partners.models import Partner, Tag
from crm.segments.rules import RuleError, count, member_ids
from tests.factories import create_partner


@pytest.fixture
def people(app, make_user):
    """P1 Альфа: client, company, Москва, m1, VIP, e-mail, created 2025-01-10.
    P2 Бета: client + supplier, Санкт-Петербург, m2, Опт, phone, 2025-06-01.
    P3 Гамма: supplier, person, "москва", nobody responsible, e-mail + phone, 2026-02-01.
    P4 Дельта: competitor, Казань, m1, VIP + Опт, 2026-03-01.
    P5 merged into P1 (client, Москва, m1): never a member."""
    m1, m2 = make_user(role="manager"), make_user(role="manager")
    vip, opt = Tag(name="VIP", name_norm="vip"), Tag(name="Опт", name_norm="опт")
    db.session.add_all([vip, opt])
    db.session.flush()
    p = {}
    p[1] = create_partner("Альфа", m1, emails=["a@example.test"], tags=[vip], city="Москва",
                          created_on=date(2025, 1, 10), commit=False)  # fmt: skip
    p[2] = create_partner("Бета", m2, phones=["+7 912 111-22-33"], tags=[opt], is_supplier=True,
                          city="Санкт-Петербург", created_on=date(2025, 6, 1), commit=False)  # fmt: skip
    p[3] = create_partner("Гамма", None, emails=["g@example.test"], phones=["+7 912 444-55-66"],
                          kind="person", is_client=False, is_supplier=True, city="москва",
                          created_on=date(2026, 2, 1), commit=False)  # fmt: skip
    p[4] = create_partner("Дельта", m1, tags=[vip, opt], is_client=False, is_competitor=True,
                          city="Казань", created_on=date(2026, 3, 1), commit=False)  # fmt: skip
    p[5] = create_partner("Альфа (дубль)", m1, city="Москва", created_on=date(2025, 1, 10),
                          commit=False)  # fmt: skip
    p[5].merged_into_id = p[1].id
    db.session.commit()
    return {"p": {k: v.id for k, v in p.items()}, "m1": m1.id, "m2": m2.id}


def members(people, rule) -> set[int]:
    """The members as partner numbers 1…5 of the fixture."""
    number = {pid: n for n, pid in people["p"].items()}
    found = member_ids(rule)
    assert count(rule) == len(found)
    return {number[pid] for pid in found}


ROLE_CLIENT = {"type": "partner.role", "roles": ["client"]}
MOSCOW = {"type": "partner.city", "cities": ["МОСКВА"]}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (ROLE_CLIENT, {1, 2}),
        ({"type": "partner.role", "roles": ["supplier", "competitor"]}, {2, 3, 4}),
        ({"type": "partner.kind", "kind": "person"}, {3}),
        (MOSCOW, {1, 3}),  # folded: «москва» too; the merged P5 never
        ({"type": "partner.tags", "tags": ["vip"]}, {1, 4}),
        ({"type": "partner.tags", "tags": ["ОПТ", "нет такого"]}, {2, 4}),
        ({"type": "partner.created", "from": "2025-06-01", "to": "2026-02-28"}, {2, 3}),
        ({"type": "partner.created", "from": "2026-01-01"}, {3, 4}),
        ({"type": "partner.has_contact", "kind": "phone"}, {2, 3}),
        ({"type": "partner.has_contact", "kind": "address"}, set()),
        ({"type": "partner.no_manager"}, {3}),
        ({"all": [ROLE_CLIENT, MOSCOW]}, {1}),
        (
            {
                "any": [
                    {"type": "partner.tags", "tags": ["VIP"]},
                    {"type": "partner.kind", "kind": "person"},
                ]
            },
            {1, 3, 4},
        ),  # fmt: skip
        ({"not": ROLE_CLIENT}, {3, 4}),
        (
            {
                "all": [
                    {"any": [MOSCOW, {"type": "partner.city", "cities": ["Казань"]}]},
                    {"not": {"type": "partner.role", "roles": ["competitor"]}},
                ]
            },
            {1, 3},
        ),  # fmt: skip
        ({"not": {"not": {"any": [ROLE_CLIENT, {"type": "partner.no_manager"}]}}}, {1, 2, 3}),
    ],
)
def test_each_rule_matches_the_partners_listed_by_hand(people, rule, expected):
    assert members(people, rule) == expected


def test_a_manager_condition_and_its_negation_count_those_with_nobody_responsible(people):
    """NOT (manager is m1) holds for P3, who has nobody: no three-valued NULL surprise."""
    mine = {"type": "partner.manager", "managers": [people["m1"]]}
    assert members(people, mine) == {1, 4}
    assert members(people, {"not": mine}) == {2, 3}
    both = {"type": "partner.manager", "managers": [people["m1"], people["m2"]]}
    assert members(people, both) == {1, 2, 4}


def test_a_value_that_looks_like_sql_is_only_a_value(people):
    nasty = "'; DROP TABLE partner; --"
    assert members(people, {"type": "partner.city", "cities": [nasty]}) == set()
    assert members(people, {"type": "partner.tags", "tags": [nasty, "x' OR '1'='1"]}) == set()
    assert db.session.query(Partner).count() == 5


@pytest.mark.parametrize(
    ("rule", "path", "message"),
    [
        ([], "", "must be an object"),
        ({}, "", "must be an object"),
        ({"all": []}, "all", "non-empty list"),
        ({"any": ROLE_CLIENT}, "any", "non-empty list"),
        ({"all": [ROLE_CLIENT], "any": [MOSCOW]}, "", "only its list"),
        ({"not": ROLE_CLIENT, "type": "partner.kind"}, "", "only the part it negates"),
        ({"type": "partner.nope"}, "type", "Unknown condition type"),
        ({"type": "sql", "where": "1=1"}, "type", "Unknown condition type"),
        ({"all": [ROLE_CLIENT, {"type": "partner.city"}]}, "all[1].cities", "required"),
        ({"type": "partner.city", "cities": "Москва"}, "cities", "non-empty list"),
        ({"type": "partner.city", "cities": [""]}, "cities", "non-empty text"),
        ({"type": "partner.city", "cities": ["x" * 201]}, "cities", "At most 200"),
        ({"type": "partner.role", "roles": ["boss"]}, "roles", "is not one of"),
        ({"type": "partner.kind", "kind": "company", "extra": 1}, "extra", "Unknown parameter"),
        ({"type": "partner.created", "from": "2026-13-01"}, "from", "not a real date"),
        ({"type": "partner.created", "from": 20260101}, "from", "date YYYY-MM-DD"),
        ({"type": "partner.manager", "managers": [True]}, "managers", "whole number"),
        ({"type": "partner.manager", "managers": ["7; DELETE"]}, "managers", "whole number"),
        (
            {
                "not": {
                    "not": {
                        "not": {"not": {"not": {"not": {"not": {"not": {"not": ROLE_CLIENT}}}}}}
                    }
                }
            },
            "not.not.not.not.not.not.not.not.not",
            "deeper than 8",
        ),  # fmt: skip
        ({"any": [ROLE_CLIENT] * 101}, "any[99]", "more than 100 parts"),
    ],
)
def test_invalid_rules_are_refused_with_the_place_and_reason(people, rule, path, message):
    with pytest.raises(RuleError) as caught:
        member_ids(rule)
    assert caught.value.path == path
    assert message in caught.value.message
