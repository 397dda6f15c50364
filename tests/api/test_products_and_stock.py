"""Products (key sku) and stock balances (key sku + warehouse) through the API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.sales.models import Product, ProductGroup, StockBalance, Warehouse
from tests.api.helpers import import_errors, make_product, make_stock, stored
from tests.auth.helpers import committed_count


@pytest.mark.parametrize(
    "price, shown",
    [
        ("1 234,50", "1234.50"),
        ("1234.5", "1234.50"),
        (1234.5, "1234.50"),
        (99, "99.00"),
        ("0.10", "0.10"),
        (0.1, "0.10"),
    ],
)
def test_create_product_keeps_money_exact(api, price, shown):
    response = api("admin").post(
        "/api/v1/products",
        json={"sku": "S1", "name": "Widget", "group": "Tools", "unit": "pcs", "base_price": price},
    )

    assert response.status_code == 201
    assert response.get_json() == {
        "sku": "S1",
        "name": "Widget",
        "group": "Tools",
        "unit": "pcs",
        "base_price": shown,
    }
    assert stored(
        select(Product.sku, Product.base_price, ProductGroup.name).join(ProductGroup)
    ) == [("S1", Decimal(shown), "Tools")]


def test_get_and_patch_product(api):
    make_product("S-1/A", "Widget", base_price="10.00", group="Tools", unit="pcs")
    client = api("admin")

    assert client.get("/api/v1/products/S-1/A").get_json() == {
        "sku": "S-1/A",
        "name": "Widget",
        "group": "Tools",
        "unit": "pcs",
        "base_price": "10.00",
    }
    changed = client.patch("/api/v1/products/S-1/A", json={"base_price": "12,30"})

    assert changed.status_code == 200
    assert changed.get_json() == {
        "sku": "S-1/A",
        "name": "Widget",
        "group": "Tools",
        "unit": "pcs",
        "base_price": "12.30",
    }
    assert stored(select(Product.name, Product.base_price)) == [("Widget", Decimal("12.30"))]


def test_patch_to_null_empties_an_optional_field(api):
    make_product("S1", "Widget", base_price="10.00")

    item = api("admin").patch("/api/v1/products/S1", json={"base_price": None}).get_json()

    assert item["base_price"] is None
    assert stored(select(Product.base_price)) == [(None,)]


def test_bad_price_gets_the_imports_message(api, tmp_path):
    row = {"sku": "S1", "name": "Widget", "base_price": "12 apples"}

    response = api("admin").post("/api/v1/products", json=row)

    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "base_price", "message": "'12 apples' is not a number"}
    ]
    assert import_errors(tmp_path, "products", list(row), list(row.values())) == [
        "row 2, column base_price: '12 apples' is not a number"
    ]
    assert committed_count(Product) == 0


def test_products_list_in_sku_order_and_by_group(api):
    make_product("B", group="Tools")
    make_product("A", group="Food")
    make_product("C", group="Tools")
    client = api("viewer")

    assert [p["sku"] for p in client.get("/api/v1/products").get_json()["items"]] == ["A", "B", "C"]
    tools = client.get("/api/v1/products?group=Tools").get_json()
    assert (tools["total"], [p["sku"] for p in tools["items"]]) == (2, ["B", "C"])


def test_create_stock_balance(api):
    make_product("S1", "Widget")

    response = api("admin").post(
        "/api/v1/stock",
        json={"sku": "S1", "warehouse": "Main / Kazan", "quantity": "12,5", "value": 1000},
    )

    assert response.status_code == 201
    assert response.get_json() == {
        "sku": "S1",
        "warehouse": "Main / Kazan",
        "quantity": "12.500",
        "value": "1000.00",
    }
    assert response.headers["Location"].endswith("/api/v1/stock/S1/Main%20/%20Kazan")
    assert stored(
        select(Warehouse.name, StockBalance.quantity, StockBalance.value).join(Warehouse)
    ) == [("Main / Kazan", Decimal("12.500"), Decimal("1000.00"))]


def test_get_patch_and_list_stock(api):
    s1, s2 = make_product("S1"), make_product("S2")
    make_stock(s1, "Main", "5", "50.00")
    make_stock(s1, "Spare", "1", "10.00")
    make_stock(s2, "Main", "2.5", "30.00")
    client = api("admin")

    assert client.get("/api/v1/stock/S1/Spare").get_json() == {
        "sku": "S1",
        "warehouse": "Spare",
        "quantity": "1.000",
        "value": "10.00",
    }
    changed = client.patch("/api/v1/stock/S1/Spare", json={"quantity": 0, "value": "0"})
    assert changed.get_json() == {
        "sku": "S1",
        "warehouse": "Spare",
        "quantity": "0.000",
        "value": "0.00",
    }
    listing = client.get("/api/v1/stock").get_json()["items"]
    assert [(s["sku"], s["warehouse"], s["quantity"]) for s in listing] == [
        ("S1", "Main", "5.000"),
        ("S1", "Spare", "0.000"),
        ("S2", "Main", "2.500"),
    ]
    main = client.get("/api/v1/stock?warehouse=Main").get_json()["items"]
    assert [s["sku"] for s in main] == ["S1", "S2"]


def test_stock_of_an_unknown_product_and_a_taken_key(api, tmp_path):
    make_stock(make_product("S1"), "Main", "5", "50.00")
    client = api("admin")
    row = {"sku": "NOPE", "warehouse": "Main", "quantity": "1", "value": "1"}

    unknown = client.post("/api/v1/stock", json=row)
    taken = client.post("/api/v1/stock", json={**row, "sku": "S1"})

    assert unknown.status_code == 422
    assert unknown.get_json()["errors"] == [{"field": "sku", "message": "unknown product 'NOPE'"}]
    assert import_errors(tmp_path, "stock", list(row), list(row.values())) == [
        "row 2, column sku: unknown product 'NOPE'"
    ]
    assert taken.status_code == 409
    assert stored(select(StockBalance.quantity)) == [(Decimal("5.000"),)]
