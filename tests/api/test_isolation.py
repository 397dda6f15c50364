"""A manager's token sees and changes only his own partners' data, as the pages do."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.partners.models import ContactPerson, Partner
from crm.sales.models import Payment, SalesDocument, SalesLine
from tests.api.helpers import make_document, make_payment, make_product, stored
from tests.auth.helpers import committed_count, database_snapshot


@pytest.fixture
def two_managers(make_user, make_partner):
    """Anna's partner A1 and Boris's B1, each with a contact, a document and a payment."""
    anna = make_user("manager", name="Anna")
    boris = make_user("manager", name="Boris")
    mine = make_partner(
        name="Annas Client", code="A1", responsible=anna, persons=[{"name": "Alice"}]
    )
    theirs = make_partner(
        name="Boris Client", code="B1", responsible=boris, persons=[{"name": "Bob"}]
    )
    product = make_product("S1")
    make_document("DA", mine, [(product, "1", "10.00", None)])
    make_document("DB", theirs, [(product, "1", "20.00", None)])
    make_payment(mine, "1.00")
    make_payment(theirs, "2.00")
    return anna, boris


def data_snapshot() -> dict:
    """Every table but the tokens' (whose last use an API call records)."""
    return {k: v for k, v in database_snapshot().items() if k != "api_token"}


def codes(response, field="partner_code") -> list[str]:
    return [item[field] for item in response.get_json()["items"]]


def test_manager_lists_only_his_partners_data(api, two_managers):
    anna, _ = two_managers
    client = api(anna)

    assert codes(client.get("/api/v1/partners"), "code") == ["A1"]
    assert codes(client.get("/api/v1/contacts")) == ["A1"]
    assert codes(client.get("/api/v1/sales-documents")) == ["A1"]
    assert codes(client.get("/api/v1/payments")) == ["A1"]
    assert client.get("/api/v1/payments").get_json()["total"] == 1
    # Products and stock belong to no partner: everyone reads them.
    assert client.get("/api/v1/products").get_json()["total"] == 1


def test_manager_cannot_read_another_managers_items(api, two_managers):
    anna, _ = two_managers
    client = api(anna)
    boris_payment = stored(select(Payment.id).where(Payment.amount == 2))[0][0]

    for url in [
        "/api/v1/partners/B1",
        "/api/v1/contacts/B1/Bob",
        "/api/v1/sales-documents/DB",
        f"/api/v1/payments/{boris_payment}",
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Boris" not in response.get_data(as_text=True)


def test_manager_cannot_change_another_managers_items(api, two_managers):
    anna, _ = two_managers
    client = api(anna)
    before = data_snapshot()

    attempts = [
        client.patch("/api/v1/partners/B1", json={"name": "Hijacked"}),
        client.patch("/api/v1/contacts/B1/Bob", json={"position": "Spy"}),
        client.patch("/api/v1/sales-documents/DB", json={"due_date": "2030-01-01"}),
    ]

    assert [r.status_code for r in attempts] == [404, 404, 404]
    assert data_snapshot() == before


@pytest.mark.parametrize(
    "url, body",
    [
        ("/api/v1/contacts", {"partner_code": "B1", "name": "Intruder"}),
        (
            "/api/v1/sales-documents",
            {
                "doc_no": "DX",
                "date": "2024-03-01",
                "partner_code": "B1",
                "lines": [{"sku": "S1", "quantity": 1, "amount": 1}],
            },
        ),
        ("/api/v1/payments", {"date": "2024-03-01", "partner_code": "B1", "amount": "-5"}),
    ],
)
def test_manager_cannot_write_for_another_managers_partner(api, two_managers, url, body):
    anna, _ = two_managers
    before = data_snapshot()

    response = api(anna).post(url, json=body)

    # As unknown to him as a partner that does not exist (the import's message).
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "partner_code", "message": "unknown partner 'B1'"}
    ]
    assert data_snapshot() == before


def test_manager_cannot_move_his_document_to_another_managers_partner(api, two_managers):
    anna, _ = two_managers

    response = api(anna).patch("/api/v1/sales-documents/DA", json={"partner_code": "B1"})

    assert response.status_code == 422
    assert stored(
        select(Partner.code)
        .join(SalesDocument, SalesDocument.partner_id == Partner.id)
        .where(SalesDocument.doc_no == "DA")
    ) == [("A1",)]


def test_manager_writes_for_his_own_partner(api, two_managers):
    anna, _ = two_managers
    client = api(anna)

    contact = client.post("/api/v1/contacts", json={"partner_code": "A1", "name": "Ann"})
    doc = client.patch(
        "/api/v1/sales-documents/DA",
        json={"lines": [{"sku": "S1", "quantity": 2, "amount": "25.50"}]},
    )
    payment = client.post(
        "/api/v1/payments", json={"date": "2024-04-01", "partner_code": "A1", "amount": 3}
    )
    partner = client.patch("/api/v1/partners/A1", json={"city": "Kazan"})

    assert [r.status_code for r in (contact, doc, payment, partner)] == [201, 200, 201, 200]
    assert committed_count(ContactPerson) == 3
    assert stored(
        select(SalesLine.amount).join(SalesDocument).where(SalesDocument.doc_no == "DA")
    ) == [(Decimal("25.50"),)]
    assert stored(select(Payment.date).where(Payment.amount == 3)) == [(date(2024, 4, 1),)]


@pytest.mark.parametrize("role", ["admin", "marketer", "viewer"])
def test_other_roles_read_every_partners_data(api, two_managers, role):
    client = api(role)

    assert codes(client.get("/api/v1/partners"), "code") == ["A1", "B1"]
    assert codes(client.get("/api/v1/sales-documents")) == ["A1", "B1"]
    assert client.get("/api/v1/contacts/B1/Bob").status_code == 200


def test_managers_see_all_setting_opens_every_partner_to_managers(app, api, two_managers):
    app.config["MANAGERS_SEE_ALL_PARTNERS"] = True
    anna, _ = two_managers
    client = api(anna)

    assert codes(client.get("/api/v1/partners"), "code") == ["A1", "B1"]
    assert client.patch("/api/v1/partners/B1", json={"city": "Omsk"}).status_code == 200
