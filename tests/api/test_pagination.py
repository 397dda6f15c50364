"""Lists come in pages: page, per_page (at most 500), total, and the next page's URL."""

from __future__ import annotations

import pytest

from crm.extensions import db
from crm.sales.models import Product
from tests.api.helpers import make_product


@pytest.fixture
def seven_products(app):
    for n in range(1, 8):
        make_product(f"S{n}", group="Tools" if n % 2 else "Food")


def skus(response) -> list[str]:
    return [p["sku"] for p in response.get_json()["items"]]


def test_pages_of_three(api, seven_products):
    client = api("viewer")

    first = client.get("/api/v1/products?per_page=3")
    assert skus(first) == ["S1", "S2", "S3"]
    assert {k: v for k, v in first.get_json().items() if k != "items"} == {
        "page": 1,
        "per_page": 3,
        "total": 7,
        "next": "/api/v1/products?page=2&per_page=3",
    }

    second = client.get(first.get_json()["next"])
    assert skus(second) == ["S4", "S5", "S6"]
    assert second.get_json()["next"] == "/api/v1/products?page=3&per_page=3"

    last = client.get(second.get_json()["next"]).get_json()
    assert [p["sku"] for p in last["items"]] == ["S7"]
    assert (last["page"], last["total"], last["next"]) == (3, 7, None)


def test_next_keeps_the_filter(api, seven_products):
    first = api("viewer").get("/api/v1/products?group=Tools&per_page=2").get_json()

    assert [p["sku"] for p in first["items"]] == ["S1", "S3"]
    assert first["total"] == 4
    assert first["next"] == "/api/v1/products?group=Tools&page=2&per_page=2"


def test_a_page_past_the_end_is_empty(api, seven_products):
    page = api("viewer").get("/api/v1/products?page=9&per_page=3").get_json()

    assert (page["items"], page["total"], page["next"]) == ([], 7, None)


def test_default_page_size_is_100_and_at_most_500_are_given(api):
    db.session.add_all(Product(sku=f"S{n:04d}", name="x", unit="") for n in range(501))
    db.session.commit()
    client = api("viewer")

    default = client.get("/api/v1/products").get_json()
    assert (len(default["items"]), default["per_page"], default["total"]) == (100, 100, 501)
    big = client.get("/api/v1/products?per_page=1000").get_json()
    assert (len(big["items"]), big["per_page"]) == (500, 500)
    assert big["next"] == "/api/v1/products?page=2&per_page=500"
    assert skus(client.get(big["next"])) == ["S0500"]


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=two", "per_page=0", "per_page=1.5"])
def test_bad_page_numbers_are_a_400(api, query):
    response = api("viewer").get(f"/api/v1/products?{query}")

    assert response.status_code == 400
    assert "must be a whole number of 1 or more" in response.get_json()["error"]
