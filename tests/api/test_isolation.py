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


# --- the web forms' role rules hold through the API ------------------------------------------

NEW_DOC = {"date": "2024-03-01", "lines": [{"sku": "S1", "quantity": 1, "amount": 1}]}
OWN_ONLY = "only an admin can make someone else responsible; leave it out or name yourself"
KEEP_ONLY = "only an admin can change who is responsible; leave it out"

# (method, url, body with {anna}/{boris} for the e-mails, the field error) — every write a
# manager's form would not offer: another responsible, an unknown e-mail, clearing it, or
# another manager's partner.
REFUSED = {
    "partner for a colleague": (
        "POST",
        "/api/v1/partners",
        {"code": "N1", "name": "N", "manager": "{boris}"},
        ("manager", OWN_ONLY),
    ),
    "partner for an unknown e-mail": (
        "POST",
        "/api/v1/partners",
        {"code": "N1", "name": "N", "manager": "new@example.test"},
        ("manager", OWN_ONLY),
    ),
    "his partner handed to a colleague": (
        "PATCH",
        "/api/v1/partners/A1",
        {"manager": "{boris}"},
        ("manager", KEEP_ONLY),
    ),
    "his partner handed to an unknown e-mail": (
        "PATCH",
        "/api/v1/partners/A1",
        {"manager": "ghost@example.test"},
        ("manager", KEEP_ONLY),
    ),
    "his partner left without anyone": (
        "PATCH",
        "/api/v1/partners/A1",
        {"manager": None},
        ("manager", KEEP_ONLY),
    ),
    "document for a colleague": (
        "POST",
        "/api/v1/sales-documents",
        {"doc_no": "DN", "partner_code": "A1", "manager": "{boris}", **NEW_DOC},
        ("manager", OWN_ONLY),
    ),
    "document for an unknown e-mail": (
        "POST",
        "/api/v1/sales-documents",
        {"doc_no": "DN", "partner_code": "A1", "manager": "new@example.test", **NEW_DOC},
        ("manager", OWN_ONLY),
    ),
    "his document handed to a colleague": (
        "PATCH",
        "/api/v1/sales-documents/DA",
        {"manager": "{boris}"},
        ("manager", KEEP_ONLY),
    ),
    "contact of another's partner": (
        "POST",
        "/api/v1/contacts",
        {"partner_code": "B1", "name": "Spy"},
        ("partner_code", "unknown partner 'B1'"),
    ),
    "payment for another's partner": (
        "POST",
        "/api/v1/payments",
        {"date": "2024-03-01", "partner_code": "B1", "amount": 1},
        ("partner_code", "unknown partner 'B1'"),
    ),
    "document of another's partner": (
        "POST",
        "/api/v1/sales-documents",
        {"doc_no": "DN", "partner_code": "B1", **NEW_DOC},
        ("partner_code", "unknown partner 'B1'"),
    ),
}


def _filled(body, anna, boris):
    return {
        k: v.format(anna=anna.email, boris=boris.email) if isinstance(v, str) else v
        for k, v in body.items()
    }


@pytest.mark.parametrize("case", list(REFUSED))
def test_manager_cannot_do_through_the_api_what_his_forms_do_not_offer(api, two_managers, case):
    anna, boris = two_managers
    method, url, body, (field, message) = REFUSED[case]
    before = data_snapshot()

    response = api(anna).open(method, url, json=_filled(body, anna, boris))

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"] == [{"field": field, "message": message}]
    assert data_snapshot() == before  # no user account made, nothing changed


ALLOWED = {
    "partner naming himself (any case)": (
        "POST",
        "/api/v1/partners",
        {"code": "N1", "name": "N", "manager": "{ANNA}"},
        201,
    ),
    "partner naming no one: his own": (
        "POST",
        "/api/v1/partners",
        {"code": "N1", "name": "N"},
        201,
    ),
    "his partner keeping its manager": ("PATCH", "/api/v1/partners/A1", {"manager": "{anna}"}, 200),
    "document naming himself": (
        "POST",
        "/api/v1/sales-documents",
        {"doc_no": "DN", "partner_code": "A1", "manager": "{anna}", **NEW_DOC},
        201,
    ),
    "his document keeping no manager": (
        "PATCH",
        "/api/v1/sales-documents/DA",
        {"manager": None},
        200,
    ),
}


@pytest.mark.parametrize("case", list(ALLOWED))
def test_manager_may_name_himself_and_keep_what_is_stored(api, two_managers, case):
    anna, boris = two_managers
    method, url, body, status = ALLOWED[case]
    body = {
        k: v.replace("{ANNA}", anna.email.upper()) if isinstance(v, str) else v
        for k, v in body.items()
    }

    response = api(anna).open(method, url, json=_filled(body, anna, boris))

    assert response.status_code == status, response.get_json()
    if url.startswith("/api/v1/partners"):
        assert response.get_json()["manager"] == anna.email


def test_a_manager_who_sees_all_edits_another_partner_but_keeps_its_manager(app, api, two_managers):
    app.config["MANAGERS_SEE_ALL_PARTNERS"] = True
    anna, boris = two_managers
    client = api(anna)

    taken = client.patch("/api/v1/partners/B1", json={"manager": anna.email})
    edited = client.patch("/api/v1/partners/B1", json={"city": "Omsk", "manager": boris.email})

    assert taken.status_code == 422
    assert taken.get_json()["errors"] == [{"field": "manager", "message": KEEP_ONLY}]
    assert edited.status_code == 200
    assert (edited.get_json()["city"], edited.get_json()["manager"]) == ("Omsk", boris.email)


def test_an_admin_hands_partners_and_documents_to_anyone(api, two_managers):
    anna, boris = two_managers
    client = api("admin")

    partner = client.patch("/api/v1/partners/A1", json={"manager": boris.email})
    doc = client.patch("/api/v1/sales-documents/DA", json={"manager": boris.email})

    assert (partner.status_code, doc.status_code) == (200, 200)
    assert partner.get_json()["manager"] == doc.get_json()["manager"] == boris.email


def test_list_filters_naming_another_managers_partner_find_nothing(api, two_managers):
    anna, boris = two_managers
    client = api(anna)

    responses = [
        client.get("/api/v1/contacts?partner_code=B1"),
        client.get("/api/v1/sales-documents?partner_code=B1"),
        client.get("/api/v1/payments?partner_code=B1"),
        client.get(f"/api/v1/partners?manager={boris.email}"),
    ]

    assert [(r.status_code, r.get_json()["total"]) for r in responses] == [(200, 0)] * 4
    assert not [r for r in responses if "Bob" in r.get_data(as_text=True)]
    assert not [r for r in responses if "Boris Client" in r.get_data(as_text=True)]
