"""The product list (search, group filter, sort, pages) and the product card (stock per
warehouse, sales by month), and the registries through which higher domains add filters,
facts and sections to them."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from crm.core.filters import ChoiceField, ExtraFilter
from crm.extensions import db
from crm.sales import product_card
from crm.sales.models import ProductGroup, SalesDocument, SalesLine, StockBalance, Warehouse
from crm.sales.queries import local_today

HX = {"HX-Request": "true"}
_NAME = re.compile(
    r'<td data-label="Name" class="fw-semibold"><a href="/sales/products/\d+">(.*?)</a>'
)


def text(response) -> str:
    return response.get_data(as_text=True)


def listed(response) -> list[str]:
    return [html.unescape(n) for n in _NAME.findall(text(response))]


@pytest.fixture
def catalogue(make_product):
    """Молоко (dairy), Кефир (dairy), Хлеб (bakery), Гвозди (no group)."""
    dairy, bakery = ProductGroup(name="Молочка"), ProductGroup(name="Хлеб и выпечка")
    db.session.add_all([dairy, bakery])
    db.session.flush()
    items = {
        "milk": make_product(sku="MLK-1", name="Молоко 3,2%", group_id=dairy.id, unit="л"),
        "kefir": make_product(sku="KEF-1", name="Кефир", group_id=dairy.id, unit="л"),
        "bread": make_product(sku="BRD-1", name="Хлеб ржаной", group_id=bakery.id, unit="шт"),
        "nails": make_product(sku="NL-100", name="Гвозди 100 мм", base_price=Decimal("12.50")),
    }
    return {"dairy": dairy, "bakery": bakery, **items}


def test_product_list_searches_sku_and_name_in_any_case(login_as, client, catalogue):
    login_as("viewer")
    assert listed(client.get("/sales/products/")) == [
        "Гвозди 100 мм",
        "Кефир",
        "Молоко 3,2%",
        "Хлеб ржаной",
    ]
    assert listed(client.get("/sales/products/?q=МОЛОКО")) == ["Молоко 3,2%"]
    assert listed(client.get("/sales/products/?q=mlk")) == ["Молоко 3,2%"]
    assert listed(client.get("/sales/products/?q=хлеб ржан")) == ["Хлеб ржаной"]
    assert listed(client.get("/sales/products/?q=3,2%")) == ["Молоко 3,2%"]
    assert listed(client.get("/sales/products/?q=%25")) == ["Молоко 3,2%"]  # % is no wildcard


def test_product_list_filters_by_group_and_sorts(login_as, client, catalogue):
    login_as("manager")
    dairy = catalogue["dairy"].id
    assert listed(client.get(f"/sales/products/?group={dairy}")) == ["Кефир", "Молоко 3,2%"]
    assert listed(client.get("/sales/products/?group=none")) == ["Гвозди 100 мм"]
    assert listed(client.get("/sales/products/?sort=-name")) == [
        "Хлеб ржаной", "Молоко 3,2%", "Кефир", "Гвозди 100 мм"
    ]  # fmt: skip
    assert listed(client.get("/sales/products/?sort=sku")) == [
        "Хлеб ржаной", "Кефир", "Молоко 3,2%", "Гвозди 100 мм"
    ]  # fmt: skip


def test_product_list_shows_stock_over_all_warehouses(login_as, client, catalogue):
    a, b = Warehouse(name="Основной"), Warehouse(name="Дальний")
    db.session.add_all([a, b])
    db.session.flush()
    milk = catalogue["milk"]
    db.session.add_all(
        [
            StockBalance(product_id=milk.id, warehouse_id=a.id, quantity=Decimal("10.5"), value=Decimal("700.00")),
            StockBalance(product_id=milk.id, warehouse_id=b.id, quantity=Decimal("2"), value=Decimal("150.25")),
        ]
    )  # fmt: skip
    db.session.commit()
    login_as("manager")
    body = text(client.get("/sales/products/?q=MLK"))
    row = body[body.index("MLK-1") : body.index("</tr>", body.index("MLK-1"))]
    assert '"In stock" class="text-end">12.500<' in row
    assert "850.25" in row


def test_bad_list_parameters_are_reported_not_fatal(login_as, client, catalogue):
    login_as("manager")
    response = client.get("/sales/products/?group=abc&sort=price&page=-3")
    assert response.status_code == 200
    body = text(response)
    assert "Unknown product group ignored." in body
    assert "Unknown sort order" in body
    assert listed(response) == ["Гвозди 100 мм", "Кефир", "Молоко 3,2%", "Хлеб ржаной"]
    # an unknown group id: an empty list, no error
    assert listed(client.get("/sales/products/?group=999999")) == []


def test_product_list_pages_and_fragment(login_as, client, make_product):
    for n in range(55):
        make_product(sku=f"P{n:03d}", name=f"Товар {n:03d}", commit=False)
    db.session.commit()
    login_as("manager")
    first = client.get("/sales/products/?sort=sku")
    assert listed(first)[0] == "Товар 000" and len(listed(first)) == 50
    second = client.get("/sales/products/?sort=sku&page=2", headers=HX)
    assert "<html" not in text(second)
    assert listed(second) == [f"Товар {n:03d}" for n in range(50, 55)]
    assert second.headers["HX-Push-Url"] == "/sales/products/?sort=sku&page=2"
    assert "Vary" in second.headers and "HX-Request" in second.headers["Vary"]


def test_product_card_shows_stock_and_sales_by_month(login_as, client, make_partner, catalogue):
    today = local_today()
    milk = catalogue["milk"]
    wh = Warehouse(name="Основной")
    db.session.add(wh)
    db.session.flush()
    db.session.add(
        StockBalance(product_id=milk.id, warehouse_id=wh.id, quantity=Decimal("4"), value=Decimal("320.00"))
    )  # fmt: skip
    buyer = make_partner(name="Покупатель")
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    too_old = date(today.year - 3, today.month, 1)
    lines = [  # (date, quantity, amount, document)
        (this_month, "2", "200.00", "S-1"),
        (this_month, "1", "90.00", "S-1"),
        (this_month, "3", "300.00", "S-2"),
        (last_month, "-1", "-100.00", "S-3"),  # a return
        (too_old, "5", "500.00", "S-4"),  # outside the 24 months
    ]
    docs = {}
    for day, qty, amount, doc_no in lines:
        if doc_no not in docs:
            docs[doc_no] = SalesDocument(doc_no=doc_no, date=day, partner_id=buyer.id, due_date=day)
            db.session.add(docs[doc_no])
            db.session.flush()
        doc = docs[doc_no]
        doc.lines.append(
            SalesLine(
                line_no=len(doc.lines) + 1, date=day, partner_id=buyer.id, product_id=milk.id,
                quantity=Decimal(qty), amount=Decimal(amount),
            )
        )  # fmt: skip
    db.session.commit()
    login_as("viewer")
    body = text(client.get(f"/sales/products/{milk.id}"))
    assert "Молоко 3,2%" in body and "MLK-1" in body and "Молочка" in body
    assert "Основной" in body and "4.000" in body and "320.00" in body
    months = body[body.index('id="product-months"') :]
    rows = re.findall(r"<tr><td data-label=\"Month\">(.*?)</td>(.*?)</tr>", months, re.S)
    assert len(rows) == 24
    # this month: 6 units, 590.00, 2 documents; last month: −1, −100.00, 1 document
    assert re.findall(r">([^<>]+)</td>", rows[0][1]) == ["6.000", "₽590.00", "2"]
    assert re.findall(r">([^<>]+)</td>", rows[1][1]) == ["-1.000", "-₽100.00", "1"]
    assert all(re.findall(r">([^<>]+)</td>", r[1]) == ["0.000", "₽0.00", "0"] for r in rows[2:])
    chart = client.get(f"/sales/products/{milk.id}/sales-chart", headers=HX)
    assert (
        chart.status_code == 200 and "<html" not in text(chart) and "plotly" in text(chart).lower()
    )


def test_product_card_without_sales_or_stock(login_as, client, catalogue):
    login_as("manager")
    body = text(client.get(f"/sales/products/{catalogue['nails'].id}"))
    assert 'id="product-stock-empty"' in body and 'id="product-months-empty"' in body
    assert "12.50" in body


def test_unknown_product_is_404_and_anonymous_signs_in(client, login_as, catalogue):
    assert client.get("/sales/products/").status_code in (302, 401)
    assert client.get(f"/sales/products/{catalogue['milk'].id}").status_code in (302, 401)
    login_as("viewer")
    assert client.get("/sales/products/999999").status_code == 404


def test_products_are_in_the_main_menu(login_as, client):
    login_as("viewer")
    assert 'href="/sales/products/"' in text(client.get("/"))


@pytest.fixture
def extra_entries(app, monkeypatch):
    """A throw-away fact, section and list filter on this app's product registries."""
    registries = {}
    for key in (product_card.FACTS, product_card.SECTIONS, product_card.LIST_FILTERS):
        registries[key] = key.of(app).copy()
        monkeypatch.setitem(app.extensions, key.name, registries[key])
    from crm.sales.models import Product

    registries[product_card.FACTS].add(
        product_card.ProductFact("t", lambda p: f"<b id='t-fact'>{p.sku}</b>", 1)
    )
    registries[product_card.SECTIONS].add(
        product_card.ProductSection("t", "Test section", lambda p: "<i id='t-body'>x</i>", 1)
    )
    registries[product_card.SECTIONS].add(
        product_card.ProductSection("empty", "Empty section", lambda p: "", 2)
    )
    registries[product_card.LIST_FILTERS].add(
        ExtraFilter(
            "priced",
            ChoiceField("Priced", [("yes", "yes"), ("no", "no")], id="f-priced", blank="Any"),
            lambda v: (
                Product.base_price.isnot(None) if v == "yes" else Product.base_price.is_(None)
            ),
            1,
            lambda user: user.role != "viewer",
        )
    )


def test_registered_filter_fact_and_section_appear(login_as, client, catalogue, extra_entries):
    login_as("manager")
    page = client.get("/sales/products/?priced=yes")
    assert 'id="f-priced"' in text(page)
    assert listed(page) == ["Гвозди 100 мм"]
    assert len(listed(client.get("/sales/products/?priced=no"))) == 3
    bad = client.get("/sales/products/?priced=maybe")
    assert "Unknown value" in text(bad) and len(listed(bad)) == 4
    body = text(client.get(f"/sales/products/{catalogue['milk'].id}"))
    assert "<b id='t-fact'>MLK-1</b>" in body
    assert 'id="product-section-t"' in body and "Test section" in body
    assert "Empty section" not in body


def test_a_filter_a_user_may_not_use_is_neither_shown_nor_applied(
    login_as, client, catalogue, extra_entries
):
    login_as("viewer")
    page = client.get("/sales/products/?priced=yes")
    assert 'id="f-priced"' not in text(page)
    assert len(listed(page)) == 4
