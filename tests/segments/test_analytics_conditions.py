"""Analytics conditions of segment rules (crm.analytics.conditions): the ABC/XYZ class and the
customer stage in the latest snapshot (the partner list filters' source), on five partners
whose snapshot rows are written by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm.analytics.models import ClassSnapshot, StageSnapshot
from crm.extensions import db
from crm.partners.models import Partner
from crm.segments.rules import RuleError, member_ids
from tests.factories import create_partner

AS_OF = date(2026, 6, 30)
APRIL, MAY = date(2026, 4, 1), date(2026, 5, 1)
APRIL_END, MAY_END = date(2026, 4, 30), date(2026, 5, 31)


@pytest.fixture
def classified(app):
    """Classes (months April, May) and stages (month ends 30.04, 31.05):
    S1: April CZ, May AX; stages one-time → regular-x.
    S2: May BY; stages regular-y → lost.
    S3: May CZ; stage potential in May.
    S4: April AY only (no class in May); one-time in May.
    S5: no rows.
    A product's class of June whose id equals S2's: partners' classes ignore it."""
    s = {n: create_partner(f"Класс {n}", code=f"S{n}", commit=False) for n in range(1, 6)}

    def klass(month, n, abc, xyz, of="partners"):
        return ClassSnapshot(of=of, month=month, object_id=s[n].id, abc=abc, xyz=xyz,
                             abc_metric=Decimal("1"), cv_pct=None)  # fmt: skip

    def stage(at, n, name):
        return StageSnapshot(at=at, partner_id=s[n].id, stage=name, revenue_window=Decimal(0))

    db.session.add_all([
        klass(APRIL, 1, "C", "Z"), klass(MAY, 1, "A", "X"), klass(MAY, 2, "B", "Y"),
        klass(MAY, 3, "C", "Z"), klass(APRIL, 4, "A", "Y"),
        klass(date(2026, 6, 1), 2, "A", "X", of="products"),
        stage(APRIL_END, 1, "one-time"), stage(MAY_END, 1, "regular-x"),
        stage(APRIL_END, 2, "regular-y"), stage(MAY_END, 2, "lost"),
        stage(MAY_END, 3, "potential"), stage(MAY_END, 4, "one-time"),
    ])  # fmt: skip
    db.session.commit()
    return {v.id: n for n, v in s.items()}


def members(classified, rule, as_of=AS_OF) -> set[int]:
    return {classified[pid] for pid in member_ids(rule, as_of=as_of) if pid in classified}


@pytest.mark.parametrize(
    ("rule", "as_of", "expected"),
    [
        ({"abc": ["A"]}, AS_OF, {1}),
        ({"abc": ["A", "B"]}, AS_OF, {1, 2}),
        ({"xyz": ["Z"]}, AS_OF, {3}),
        ({"classes": ["AX", "CZ"]}, AS_OF, {1, 3}),
        ({"abc": ["B", "C"], "xyz": ["Y"]}, AS_OF, {2}),
        ({"abc": ["A"], "classes": ["CZ"]}, AS_OF, set()),  # both must hold
        ({"classes": ["AY"]}, AS_OF, set()),  # S4's AY is April's, not the latest
        ({"classes": ["AY"]}, date(2026, 5, 15), {4}),  # May had not ended: April's
        ({"abc": ["C"]}, date(2026, 5, 15), {1}),
        ({"abc": ["A"]}, MAY_END, {1}),  # May's snapshot from its last day on
        ({"abc": ["A", "B", "C"]}, date(2026, 4, 29), set()),  # no snapshot yet
    ],
)
def test_the_class_in_the_latest_snapshot(classified, rule, as_of, expected):
    assert members(classified, {"type": "analytics.class", **rule}, as_of) == expected


def test_not_of_a_class_includes_the_unclassified(classified):
    rule = {"not": {"type": "analytics.class", "abc": ["A"]}}
    assert members(classified, rule) == {2, 3, 4, 5}


@pytest.mark.parametrize(
    ("stages", "as_of", "expected"),
    [
        (["lost"], AS_OF, {2}),
        (["regular-x", "potential"], AS_OF, {1, 3}),
        (["one-time"], AS_OF, {4}),
        (["regular-y", "regular-z"], AS_OF, set()),
        (["one-time"], date(2026, 5, 15), {1}),  # the snapshot of 30.04
        (["regular-y"], date(2026, 5, 15), {2}),
        (["one-time", "lost"], date(2026, 4, 29), set()),
    ],
)
def test_the_stage_in_the_latest_snapshot(classified, stages, as_of, expected):
    rule = {"type": "analytics.stage", "stages": stages}
    assert members(classified, rule, as_of) == expected


def test_the_partner_list_filters_read_the_same_snapshot(classified):
    """The list filters' clauses (crm.analytics.card_queries) agree with the conditions for
    today's latest snapshots."""
    from sqlalchemy import select

    from crm.analytics.card_queries import class_clause, stage_clause

    def listed(clause):
        ids = db.session.execute(select(Partner.id).where(clause)).scalars()
        return {classified[i] for i in ids if i in classified}

    assert listed(class_clause("partners", Partner.id, "AX")) == {1}
    assert listed(class_clause("partners", Partner.id, "AY")) == set()
    assert listed(stage_clause(Partner.id, "lost")) == {2}


@pytest.mark.parametrize(
    ("rule", "path", "message"),
    [
        ({"type": "analytics.class"}, "abc", "Choose ABC letters"),
        ({"type": "analytics.class", "abc": ["D"]}, "abc", "is not one of"),
        ({"type": "analytics.class", "xyz": "X"}, "xyz", "non-empty list"),
        ({"type": "analytics.class", "classes": ["ax"]}, "classes", "is not one of"),
        ({"type": "analytics.stage", "stages": ["new"]}, "stages", "is not one of"),
        ({"type": "analytics.stage"}, "stages", "required"),
        (
            {"type": "analytics.stage", "stages": ["lost'; DROP TABLE partner; --"]},
            "stages",
            "is not one of",
        ),  # fmt: skip
    ],
)
def test_bad_values_are_refused_naming_the_parameter(classified, rule, path, message):
    with pytest.raises(RuleError) as caught:
        member_ids(rule, as_of=AS_OF)
    assert caught.value.path == path
    assert message in caught.value.message
    assert db.session.query(Partner).count() == 5
