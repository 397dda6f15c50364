"""Segments of products: the same machinery as partners' (dynamic, periodic with entered/left,
manual by SKU), their own conditions (group, SKU, sold in a window, ABC/XYZ class), their page
and export; a rule of partners cannot name a segment of products. Members listed by hand."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.core.timeutil import site_today
from crm.extensions import db
from crm.sales.models import ProductGroup
from crm.segments.models import Segment, SegmentProduct, SegmentProductChange
from crm.segments.rules import RuleError, compile_rule
from crm.segments.services import add_members, create_segment, members, refresh, remove_members
from tests.factories import create_document, create_partner, create_product
from tests.helpers import page_text


@pytest.fixture
def shelf(app):
    """Group «Краски»: P1 (sold 3 times for 900 in the last 30 days), P2 (sold once for 50
    400 days ago); group «Кисти»: P3 (sold twice for 300 ten days ago, one of them returned
    −100)."""
    today = site_today()
    paints, brushes = ProductGroup(name="Краски"), ProductGroup(name="Кисти")
    db.session.add_all([paints, brushes])
    db.session.flush()
    p1 = create_product("P1", "Белила", group_id=paints.id, commit=False)
    p2 = create_product("P2", "Охра", group_id=paints.id, commit=False)
    p3 = create_product("P3", "Кисть", group_id=brushes.id, commit=False)
    buyer = create_partner("Покупатель", commit=False)
    for days in (1, 5, 20):
        create_document(buyer, (300,), date=today - timedelta(days=days), product=p1, commit=False)
    create_document(buyer, (50,), date=today - timedelta(days=400), product=p2, commit=False)
    create_document(buyer, (200,), date=today - timedelta(days=10), product=p3, commit=False)
    create_document(buyer, (100, -100), date=today - timedelta(days=10), product=p3, commit=False)
    db.session.commit()
    return {"P1": p1.id, "P2": p2.id, "P3": p3.id, "paints": paints.id, "brushes": brushes.id}


def ids(shelf, *skus):
    return sorted(shelf[s] for s in skus)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"type": "product.group", "groups": ["paints"]}, ("P1", "P2")),
        ({"type": "product.sku", "skus": ["P3", "нет такого"]}, ("P3",)),
        ({"type": "sales.sold", "days": 30}, ("P1", "P3")),
        ({"type": "sales.sold", "days": 30, "times": 3}, ("P1",)),
        ({"type": "sales.sold", "days": 30, "revenue": "250"}, ("P1",)),  # P3: 200 + 100 − 100
        ({"type": "sales.sold", "days": 3660}, ("P1", "P2", "P3")),
        ({"not": {"type": "sales.sold", "days": 30}}, ("P2",)),
    ],
)
def test_product_conditions_select_by_hand(shelf, rule, expected):
    if rule.get("groups"):
        rule = {**rule, "groups": [shelf[g] for g in rule["groups"]]}
    segment = create_segment(None, "Товары", "dynamic", rule, of="products")
    db.session.commit()
    assert members(segment) == ids(shelf, *expected)


def test_partner_conditions_are_unknown_to_product_rules_and_back(shelf):
    with pytest.raises(RuleError, match="Unknown condition type"):
        compile_rule({"type": "partner.city", "cities": ["Москва"]}, "products")
    with pytest.raises(RuleError, match="Unknown condition type"):
        compile_rule({"type": "product.sku", "skus": ["P1"]})
    goods = create_segment(None, "Товары", "manual", of="products")
    db.session.commit()
    with pytest.raises(RuleError, match="is a segment of products"):
        compile_rule({"type": "segment.member", "segments": [goods.id]})


def test_a_periodic_product_segment_records_who_entered_and_left(shelf):
    rule = {"type": "sales.sold", "days": 30}
    segment = create_segment(None, "Ходовые", "periodic", rule, schedule="daily", of="products")
    db.session.commit()
    assert members(segment) == ids(shelf, "P1", "P3")
    segment.rule = {"type": "sales.sold", "days": 30, "times": 3}
    record = refresh(segment)
    db.session.commit()
    assert (record.members, record.entered, record.left) == (1, 0, 1)
    changes = db.session.execute(
        select(SegmentProductChange.product_id, SegmentProductChange.change).where(
            SegmentProductChange.refresh_id == record.id
        )
    ).all()
    assert changes == [(shelf["P3"], "left")]
    assert refresh(segment).entered == 0  # twice: nothing new


def test_manual_product_members_by_sku_on_the_page(client, login_as, shelf):
    login_as("admin")
    segment = create_segment(None, "Акция", "manual", of="products")
    db.session.commit()
    url = f"/segments/{segment.id}"
    client.post(f"{url}/members/add", data={"codes": "P1, P3\nP9"})
    stored = set(db.session.execute(select(SegmentProduct.product_id)).scalars())
    assert stored == {shelf["P1"], shelf["P3"]}
    text = page_text(client.get(url))
    assert "Added 2 products." in text and "P9" in text
    assert "Белила" in text and "Кисть" in text
    client.post(f"{url}/members/remove", data={"product_id": [str(shelf["P3"])]})
    assert add_members(None, segment, [shelf["P2"]]) == 1
    assert remove_members(None, segment, [shelf["P1"]]) == 1
    db.session.commit()
    assert members(segment) == [shelf["P2"]]
    export = client.get(f"{url}/export").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(export), delimiter=export.split("\n")[0][3]))
    assert [r[0] for r in rows[1:]] == ["P2"]
    assert rows[1][5:] == ["0.00", (site_today() - timedelta(days=400)).isoformat()]


def test_a_product_segment_is_built_on_the_form(client, login_as, shelf):
    login_as("admin")
    data = {
        "name": "Краски",
        "of": "products",
        "kind": "dynamic",
        "schedule": "daily",
        "n-0": "all",
        "n-0.0": "cond",
        "t-0.0": "product.group",
        "v-0.0-groups": str(shelf["paints"]),
    }
    count = client.post("/segments/builder/count", data=data, headers={"HX-Request": "true"})
    assert "2 products match" in count.text
    fragment = client.post("/segments/builder", data={**data, "op": "add-cond:0"})
    assert 'value="sales.sold"' in fragment.text and 'value="partner.city"' not in fragment.text
    assert client.post("/segments/new", data={**data, "save": "1"}).status_code == 302
    segment = db.session.execute(select(Segment)).scalar_one()
    assert segment.of == "products"
    text = page_text(client.get(f"/segments/{segment.id}"))
    assert "Белила" in text and "Охра" in text and "Кисть" not in text
    # the partner card's Segments tab and the partner rules never offer it
    assert (
        segment.name
        not in client.post(
            "/segments/builder", data={"n-0": "all", "n-0.0": "cond", "t-0.0": "segment.member"}
        ).text
    )


def test_the_abc_xyz_class_of_products_reads_the_latest_snapshot(shelf):
    from datetime import date
    from decimal import Decimal

    from crm.analytics.models import ClassSnapshot

    def klass(month, sku, abc, xyz):
        return ClassSnapshot(of="products", month=month, object_id=shelf[sku], abc=abc, xyz=xyz,
                             abc_metric=Decimal("1"), cv_pct=None)  # fmt: skip

    april, may = date(2026, 4, 1), date(2026, 5, 1)
    db.session.add_all(
        [klass(april, "P2", "A", "X"), klass(may, "P1", "A", "X"), klass(may, "P3", "A", "Z")]
    )
    db.session.commit()
    rule = {"type": "analytics.product_class", "abc": ["A"], "xyz": ["X"]}
    segment = create_segment(None, "AX", "dynamic", rule, of="products")
    db.session.commit()
    assert members(segment) == [shelf["P1"]]  # P2 was AX in April only
