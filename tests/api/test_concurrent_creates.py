"""Creates of one key at the same moment: the database's unique key lets one win, that call
answers 201 and every other 409; the row is stored once. Threads with their own connections;
each waits, after the API's existence check, until all have passed it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import crm.api.services
from crm.partners.models import ContactPerson, Partner
from crm.sales.models import Payment, Product, SalesDocument, SalesLine, StockBalance, Warehouse
from tests.api.helpers import make_product, stored
from tests.helpers import meet_before, run_together

BODIES = {
    "partners": {"code": "NEW-1", "name": "Новый партнёр"},
    "contacts": {"partner_code": "P1", "name": "Иван Петров", "email": "ivan@acme.test"},
    "products": {"sku": "SKU-NEW", "name": "Widget", "group": "Новая группа"},
    "stock": {"sku": "SKU1", "warehouse": "Новый склад", "quantity": "5", "value": "50"},
    "sales-documents": {
        "doc_no": "D-1",
        "date": "2024-03-01",
        "partner_code": "P1",
        "organization": "Новая организация",
        "manager": "new.manager@example.test",
        "lines": [{"sku": "SKU1", "quantity": "1", "amount": "10"}],
    },
    "payments": {"date": "2024-03-05", "partner_code": "P1", "amount": "10", "doc_no": "D-1"},
}
# What one create stores: (model, how many rows).
STORED = {
    "partners": [(Partner, 2)],  # with P1
    "contacts": [(ContactPerson, 1)],
    "products": [(Product, 2)],  # with SKU1
    "stock": [(StockBalance, 1), (Warehouse, 1)],
    "sales-documents": [(SalesDocument, 1), (SalesLine, 1)],
    "payments": [(Payment, 1)],
}


def _count(model) -> int:
    return stored(select(func.count()).select_from(model))[0][0]


@pytest.mark.parametrize("resource", list(BODIES))
@pytest.mark.parametrize("callers", [2, 8])
def test_concurrent_creates_of_one_key_store_it_once_and_answer_one_201(
    app, api, make_partner, monkeypatch, resource, callers
):
    make_partner(name="Acme", code="P1")
    make_product("SKU1")
    clients = [api("admin") for _ in range(callers)]
    meet_before(monkeypatch, crm.api.services, "import_rows", callers)

    statuses = run_together(
        app,
        callers,
        lambda i: clients[i].post(f"/api/v1/{resource}", json=BODIES[resource]).status_code,
    )

    assert sorted(statuses) == [201] + [409] * (callers - 1)
    for model, rows in STORED[resource]:
        assert _count(model) == rows, model.__tablename__


def test_eight_contact_creates_started_together_store_one_person(app, api, make_partner):
    """The issue's case as it happened: no meeting point, just eight calls at once."""
    make_partner(name="Acme", code="P1")
    clients = [api("admin") for _ in range(8)]
    body = {"partner_code": "P1", "name": "Анна Смирнова"}

    statuses = run_together(
        app, 8, lambda i: clients[i].post("/api/v1/contacts", json=body).status_code
    )

    assert sorted(statuses) == [201] + [409] * 7
    assert stored(select(ContactPerson.name)) == [("Анна Смирнова",)]


def test_contact_of_a_folded_namesake_is_refused_with_409(api, make_partner):
    make_partner(name="Acme", code="P1", persons=[{"name": "Семён Иванов"}])

    response = api("admin").post(
        "/api/v1/contacts", json={"partner_code": "P1", "name": "СЕМЕН  иванов"}
    )

    assert response.status_code == 409
    assert stored(select(ContactPerson.name)) == [("Семён Иванов",)]
