"""Contact persons through the API, keyed by partner code and name."""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import select

from crm.partners.models import ContactDetail, ContactPerson
from tests.api.helpers import import_errors, stored
from tests.auth.helpers import committed_count


def test_create_contact_of_a_partner(api, make_partner):
    partner = make_partner(name="Acme", code="P1")

    response = api("admin").post(
        "/api/v1/contacts",
        json={
            "partner_code": "P1",
            "name": "Иван Петров",
            "position": "Buyer",
            "email": "ivan@acme.test",
            "phone": "+7 912 000-00-01",
        },
    )

    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"/api/v1/contacts/P1/{quote('Иван Петров')}")
    assert response.get_json() == {
        "partner_code": "P1",
        "name": "Иван Петров",
        "position": "Buyer",
        "email": "ivan@acme.test",
        "phone": "+7 912 000-00-01",
    }
    assert stored(select(ContactPerson.partner_id, ContactPerson.name, ContactPerson.position)) == [
        (partner.id, "Иван Петров", "Buyer")
    ]
    assert sorted(
        stored(
            select(ContactDetail.kind, ContactDetail.value).where(
                ContactDetail.contact_person_id.is_not(None)
            )
        )
    ) == [("email", "ivan@acme.test"), ("phone", "+7 912 000-00-01")]


def test_get_and_patch_a_contact_by_partner_code_and_name(api, make_partner):
    make_partner(
        name="Acme",
        code="P1",
        persons=[{"name": "Anna Smith", "position": "CEO", "email": "anna@acme.test"}],
    )
    client = api("admin")

    got = client.get("/api/v1/contacts/P1/Anna%20Smith")
    assert got.status_code == 200
    assert got.get_json() == {
        "partner_code": "P1",
        "name": "Anna Smith",
        "position": "CEO",
        "email": "anna@acme.test",
        "phone": None,
    }

    changed = client.patch("/api/v1/contacts/P1/Anna%20Smith", json={"position": "Owner"})
    assert changed.status_code == 200
    assert changed.get_json()["position"] == "Owner"
    assert changed.get_json()["email"] == "anna@acme.test"
    assert stored(select(ContactPerson.position)) == [("Owner",)]


def test_contact_of_an_unknown_partner_gets_the_imports_message(api, tmp_path):
    row = {"partner_code": "NOPE", "name": "Ivan"}

    response = api("admin").post("/api/v1/contacts", json=row)

    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "partner_code", "message": "unknown partner 'NOPE'"}
    ]
    assert import_errors(tmp_path, "contacts", list(row), list(row.values())) == [
        "row 2, column partner_code: unknown partner 'NOPE'"
    ]
    assert committed_count(ContactPerson) == 0


def test_existing_contact_is_a_409(api, make_partner):
    make_partner(name="Acme", code="P1", persons=[{"name": "Anna"}])

    response = api("admin").post("/api/v1/contacts", json={"partner_code": "P1", "name": "Anna"})

    assert response.status_code == 409
    assert committed_count(ContactPerson) == 1


def test_contact_name_and_partner_cannot_change_by_patch(api, make_partner):
    make_partner(name="Acme", code="P1", persons=[{"name": "Anna"}])
    make_partner(name="Other", code="P2")

    response = api("admin").patch(
        "/api/v1/contacts/P1/Anna", json={"partner_code": "P2", "name": "Bob"}
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["partner_code", "name"]


def test_list_contacts_of_one_partner(api, make_partner):
    make_partner(name="Acme", code="P1", persons=[{"name": "Boris"}, {"name": "Anna"}])
    make_partner(name="Other", code="P2", persons=[{"name": "Carl"}])
    client = api("viewer")

    everyone = client.get("/api/v1/contacts").get_json()
    assert [(c["partner_code"], c["name"]) for c in everyone["items"]] == [
        ("P1", "Anna"),
        ("P1", "Boris"),
        ("P2", "Carl"),
    ]
    only = client.get("/api/v1/contacts?partner_code=P2").get_json()
    assert (only["total"], [c["name"] for c in only["items"]]) == (1, ["Carl"])
