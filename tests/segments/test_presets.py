"""Ready-made segment templates (crm.segments.presets): each compiles and selects, on a small
hand-built set of partners, the partners listed by hand; a template needing a value refuses to
be used without it; a template whose conditions are not registered is not offered."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from crm.analytics.models import StageSnapshot
from crm.core.conditions import CONDITIONS
from crm.core.registry import Registry
from crm.extensions import db
from crm.sales.models import ProductGroup
from crm.segments.presets import PRESETS, available_presets, get_preset
from crm.segments.rules import RuleError, member_ids
from tests.factories import (
    create_deal,
    create_deal_kind,
    create_document,
    create_partner,
    create_payment,
    create_product,
)

AS_OF = date(2026, 6, 30)


@pytest.fixture
def shop(app):
    """As of 2026-06-30 (every purchase is paid on its day, except R4's):
    R1 bought on 2026-06-20.            R2 bought on 2026-05-01 (60 days before).
    R3 bought on 2026-02-01 (149 days). R4 bought on 2025-10-01 (272 days), unpaid: overdue.
    R5 a client who never bought; lost a deal on 2026-03-01.
    R6 a supplier (not a client) who never bought; at the stage «lost» on 2026-05-31.
    R7 bought group G on 2025-08-01, 2025-12-01 and 2026-04-01 (3 sales in 365 days).
    R8 bought G on 2025-09-01 and 2026-01-15 and group H on 2026-03-01; lost a deal on
       2025-05-01 (over a year before)."""
    g, h = ProductGroup(name="G"), ProductGroup(name="H")
    db.session.add_all([g, h])
    db.session.flush()
    pg, ph = (
        create_product(group_id=g.id, commit=False),
        create_product(group_id=h.id, commit=False),
    )
    r = {n: create_partner(f"Клиент {n}", code=f"R{n}", commit=False) for n in range(1, 9)}
    r[6].is_client, r[6].is_supplier = False, True

    def bought(n, day, product=ph, paid=True):
        doc = create_document(r[n], (1000,), date=day, product=product, commit=False)
        if paid:
            create_payment(r[n], 1000, day, doc_no=doc.doc_no, commit=False)

    bought(1, date(2026, 6, 20))
    bought(2, date(2026, 5, 1))
    bought(3, date(2026, 2, 1))
    bought(4, date(2025, 10, 1), paid=False)
    for day in (date(2025, 8, 1), date(2025, 12, 1), date(2026, 4, 1)):
        bought(7, day, pg)
    bought(8, date(2025, 9, 1), pg)
    bought(8, date(2026, 1, 15), pg)
    bought(8, date(2026, 3, 1), ph)
    kind = create_deal_kind("Поставка", commit=False)
    create_deal(r[5], kind, status="lost", closed_on=date(2026, 3, 1), commit=False)
    create_deal(r[8], kind, status="lost", created_on=date(2025, 3, 1),
                closed_on=date(2025, 5, 1), commit=False)  # fmt: skip
    db.session.add(StageSnapshot(at=date(2026, 5, 31), partner_id=r[6].id, stage="lost"))
    db.session.commit()
    return {"names": {v.id: n for n, v in r.items()}, "g": g.id}


def members(shop, rule) -> set[int]:
    return {shop["names"][pid] for pid in member_ids(rule, as_of=AS_OF) if pid in shop["names"]}


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("overdue", {4}),
        ("bought_last_month", {1}),
        ("lost", {5, 6}),
        ("active", {1, 2}),
        ("inactive", {4}),  # R3, R7, R8 bought within 180 days: neither active nor inactive
        ("potential", {5}),  # R6 never bought but is no client
    ],
)
def test_each_preset_selects_the_partners_listed_by_hand(shop, key, expected):
    preset = get_preset(key)
    assert members(shop, preset.filled()) == expected


def test_frequent_buyers_of_the_group_the_user_chose(shop):
    preset = get_preset("frequent_group")
    assert preset.fill == ("groups",)
    assert members(shop, preset.filled({"groups": [shop["g"]]})) == {7}
    assert preset.rule["groups"] is None  # the template itself stays unfilled


@pytest.mark.parametrize("values", [None, {}, {"groups": None}, {"groups": []}])
def test_a_preset_with_a_value_to_fill_refuses_to_be_used_without_it(shop, values):
    with pytest.raises(RuleError) as caught:
        get_preset("frequent_group").filled(values)
    assert caught.value.path == "groups"


def test_a_filled_value_is_checked_like_any_rule_value(shop):
    rule = get_preset("frequent_group").filled({"groups": ["'; DROP TABLE partner; --"]})
    with pytest.raises(RuleError) as caught:
        member_ids(rule, as_of=AS_OF)
    assert caught.value.path == "groups"
    with pytest.raises(RuleError) as caught:
        get_preset("overdue").filled({"all[0].groups": [1]})
    assert caught.value.path == "all[0].groups"


def test_every_preset_names_exactly_the_condition_types_its_rule_uses(app):
    def used(node) -> set[str]:
        if "type" in node:
            return {node["type"]}
        if "not" in node:
            return used(node["not"])
        return set().union(*(used(part) for part in next(iter(node.values()))))

    for preset in PRESETS:
        assert set(preset.needs) == used(preset.rule), preset.key
        assert str(preset.title) and str(preset.description)


def test_the_lost_preset_uses_the_real_stage_key(app):
    from crm.analytics.stages import LOST, TARGET_STAGES

    assert LOST == "lost" and LOST in TARGET_STAGES


def test_with_every_domain_all_presets_are_offered_in_order(app):
    keys = [p.key for p in available_presets()]
    assert keys == ["overdue", "bought_last_month", "lost", "active", "inactive", "potential",
                    "frequent_group"]  # fmt: skip


def test_a_preset_whose_conditions_are_not_registered_is_not_offered(app):
    """Without deals and analytics (their condition types absent) the "refused or lost"
    template is left out; without sales every template but that one is."""
    full = CONDITIONS.of(app)

    def without(*prefixes):
        registry = Registry()
        for condition in full:
            if not condition.key.startswith(prefixes):
                registry.add(condition)
        return SimpleNamespace(extensions={CONDITIONS.name: registry})

    no_deals = [p.key for p in available_presets(without("deals."))]
    assert "lost" not in no_deals and "overdue" in no_deals
    assert [p.key for p in available_presets(without("sales."))] == ["lost"]
    assert get_preset("lost", without("analytics.")) is None


def test_presets_in_russian(app):
    from flask_babel import force_locale

    with force_locale("ru"):
        titles = [str(p.title) for p in available_presets()]
    assert titles[0] == "Клиенты с просроченной задолженностью"
    assert all(not t.isascii() for t in titles)
