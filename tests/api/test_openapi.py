"""The OpenAPI document: valid OpenAPI 3.1, every API route in it, fields as the import's."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from crm.exchange.registry import kind_named

PREFIX = "/api/v1"


@pytest.fixture
def document(api):
    response = api("viewer").get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_document_needs_a_token_like_every_api_call(anonymous):
    assert anonymous.get(f"{PREFIX}/openapi.json").status_code == 401


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any error


def test_every_api_route_is_described_with_its_methods(app, document):
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len(PREFIX) :])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
    described = {(path, method) for path, item in document["paths"].items() for method in item}

    assert routes == described
    # 7 resources × list, get, create (+ update but payments) + this + segments (10 routes)
    assert len(routes) == 38


def test_bearer_scheme_and_error_shapes_are_described(document):
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token (account page).",
    }
    assert document["security"] == [{"bearerAuth": []}]
    errors = document["components"]["schemas"]["ValidationErrors"]["properties"]["errors"]
    assert errors["items"]["required"] == ["field", "message"]
    create = document["paths"]["/partners"]["post"]["responses"]
    assert set(create) == {"201", "400", "401", "403", "409", "422"}


@pytest.mark.parametrize(
    "name, kind",
    [
        ("Partner", "partners"),
        ("Contact", "contacts"),
        ("Product", "products"),
        ("StockBalance", "stock"),
    ],
)
def test_fields_are_the_import_columns(document, name, kind):
    schemas = document["components"]["schemas"]
    columns = [c.name for c in kind_named(kind).columns]
    required = [c.name for c in kind_named(kind).columns if c.required]

    assert list(schemas[name]["properties"]) == columns
    assert list(schemas[f"{name}Create"]["properties"]) == columns
    assert schemas[f"{name}Create"]["required"] == required


def test_sales_document_fields_are_the_sales_columns_split_into_document_and_lines(document):
    schemas = document["components"]["schemas"]
    doc = list(schemas["SalesDocument"]["properties"])
    line = list(schemas["SalesDocumentLine"]["properties"])

    assert doc == [
        "doc_no",
        "date",
        "partner_code",
        "organization",
        "department",
        "warehouse",
        "manager",
        "due_date",
        "status",
        "total",
        "lines",
    ]
    assert line == ["line_no", "sku", "quantity", "amount", "cost"]
    assert sorted(doc[:-2] + line) == sorted(c.name for c in kind_named("sales").columns)
    assert schemas["SalesDocumentLineInput"]["required"] == ["sku", "quantity", "amount"]
    assert schemas["SalesDocument"]["properties"]["total"]["readOnly"] is True


def test_money_is_a_decimal_string_out_and_a_string_or_number_in(document):
    schemas = document["components"]["schemas"]

    assert schemas["Product"]["properties"]["base_price"]["type"] == ["string", "null"]
    assert schemas["ProductCreate"]["properties"]["base_price"]["type"] == [
        "string",
        "number",
        "null",
    ]
    assert schemas["Payment"]["properties"]["date"] == {"type": "string", "format": "date"}
