"""Partners through the API: create, read, change, list, with the import's fields and checks."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from crm.auth.models import User
from crm.partners.models import ContactDetail, Partner
from tests.api.helpers import import_errors, stored
from tests.auth.helpers import committed_count


def test_create_partner_stores_the_fields_and_answers_with_the_item(api):
    client = api("admin")
    body = {
        "code": " P-100 ",
        "name": "Ромашка ООО",
        "kind": "company",
        "roles": "supplier;client",
        "inn": "7707083893",
        "email": "info@romashka.test",
        "phone": "+7 495 123-45-67",
        "city": "Kazan",
        "created_on": "01.02.2023",
    }

    response = client.post("/api/v1/partners", json=body)

    assert response.status_code == 201
    assert response.headers["Location"].endswith("/api/v1/partners/P-100")
    assert response.get_json() == {
        "code": "P-100",
        "name": "Ромашка ООО",
        "kind": "company",
        "roles": "client;supplier",
        "inn": "7707083893",
        "email": "info@romashka.test",
        "phone": "+7 495 123-45-67",
        "city": "Kazan",
        "manager": None,
        "created_on": "2023-02-01",
    }
    assert list(response.get_json()) == [
        "code",
        "name",
        "kind",
        "roles",
        "inn",
        "email",
        "phone",
        "city",
        "manager",
        "created_on",
    ]
    assert stored(
        select(
            Partner.code,
            Partner.name,
            Partner.is_client,
            Partner.is_supplier,
            Partner.city,
            Partner.created_on,
        )
    ) == [("P-100", "Ромашка ООО", True, True, "Kazan", date(2023, 2, 1))]
    assert sorted(
        stored(select(ContactDetail.kind, ContactDetail.value, ContactDetail.is_main))
    ) == [("email", "info@romashka.test", True), ("phone", "+7 495 123-45-67", True)]


def test_create_with_only_the_required_fields_takes_the_imports_defaults(api):
    response = api("admin").post("/api/v1/partners", json={"code": 1001, "name": "Bare"})

    assert response.status_code == 201
    item = response.get_json()
    assert (item["code"], item["kind"], item["roles"], item["inn"], item["email"]) == (
        "1001",
        "company",
        "client",
        None,
        None,
    )
    assert item["created_on"] == date.today().isoformat()


def test_manager_creating_a_partner_becomes_its_manager(api):
    client = api("manager")

    item = client.post("/api/v1/partners", json={"code": "M1", "name": "Mine"}).get_json()

    assert item["manager"] == client.user.email
    assert stored(select(Partner.responsible_id)) == [(client.user.id,)]
    assert client.get("/api/v1/partners/M1").status_code == 200


def test_create_with_a_taken_code_is_a_409_and_changes_nothing(api, make_partner):
    make_partner(name="First", code="P1")

    response = api("admin").post("/api/v1/partners", json={"code": "P1", "name": "Second"})

    assert response.status_code == 409
    assert response.get_json() == {
        "error": "A partner with this key exists: code 'P1'. Change it with PATCH."
    }
    assert stored(select(Partner.name)) == [("First",)]


def test_get_partner_shows_its_stored_values(api, make_partner, make_user):
    anna = make_user("manager", email="anna@example.test")
    make_partner(
        name="Acme",
        code="A/1",
        responsible=anna,
        kind="person",
        is_supplier=True,
        inn="500100732259",
        city="Tver",
        created_on=date(2020, 5, 17),
        emails=["main@acme.test", "other@acme.test"],
        phones=["+74951234567"],
    )

    response = api("viewer").get("/api/v1/partners/A/1")

    assert response.status_code == 200
    assert response.get_json() == {
        "code": "A/1",
        "name": "Acme",
        "kind": "person",
        "roles": "client;supplier",
        "inn": "500100732259",
        "email": "main@acme.test",
        "phone": "+74951234567",
        "city": "Tver",
        "manager": "anna@example.test",
        "created_on": "2020-05-17",
    }


def test_patch_changes_only_the_fields_sent(api, make_partner, make_user):
    anna = make_user("manager", email="anna@example.test")
    make_partner(
        name="Acme",
        code="P1",
        responsible=anna,
        city="Tver",
        inn="7707083893",
        emails=["old@acme.test"],
        created_on=date(2020, 5, 17),
    )
    client = api("admin")

    response = client.patch("/api/v1/partners/P1", json={"city": "Omsk", "email": "new@acme.test"})

    assert response.status_code == 200
    item = response.get_json()
    assert (
        item["name"],
        item["city"],
        item["inn"],
        item["email"],
        item["manager"],
        item["created_on"],
    ) == ("Acme", "Omsk", "7707083893", "new@acme.test", "anna@example.test", "2020-05-17")
    # As the import does: the new e-mail is the main one, the old one stays.
    assert sorted(stored(select(ContactDetail.value, ContactDetail.is_main))) == [
        ("new@acme.test", True),
        ("old@acme.test", False),
    ]
    assert client.get("/api/v1/partners/P1").get_json() == item


def test_patch_of_an_unknown_partner_is_a_404(api):
    response = api("admin").patch("/api/v1/partners/NOPE", json={"name": "X"})

    assert response.status_code == 404
    assert response.get_json() == {"error": "There is no partner with code 'NOPE'."}
    assert committed_count(Partner) == 0


def test_patch_cannot_change_the_code(api, make_partner):
    make_partner(name="Acme", code="P1")

    response = api("admin").patch("/api/v1/partners/P1", json={"code": "P2", "name": "New"})

    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "code", "message": "is the key (it is in the URL): it cannot be changed"}
    ]
    assert stored(select(Partner.code, Partner.name)) == [("P1", "Acme")]


def test_patch_may_repeat_the_code_unchanged(api, make_partner):
    make_partner(name="Acme", code="P1")

    response = api("admin").patch("/api/v1/partners/P1", json={"code": "P1", "name": "New"})

    assert response.status_code == 200
    assert stored(select(Partner.name)) == [("New",)]


def test_list_is_in_code_order_and_filters_by_manager(api, make_partner, make_user):
    anna = make_user("manager", email="anna@example.test")
    make_partner(name="Second", code="B2", responsible=anna)
    make_partner(name="First", code="A1")
    make_partner(name="Third", code="C3", responsible=anna)
    client = api("viewer")

    listing = client.get("/api/v1/partners").get_json()
    assert [p["code"] for p in listing["items"]] == ["A1", "B2", "C3"]
    assert (listing["total"], listing["page"], listing["next"]) == (3, 1, None)

    annas = client.get("/api/v1/partners?manager=Anna@Example.test").get_json()
    assert [p["code"] for p in annas["items"]] == ["B2", "C3"]


def test_merged_partner_is_not_listed_and_its_code_stays_taken(api, make_partner):
    survivor = make_partner(name="Survivor", code="S1")
    make_partner(name="Gone", code="G1", merged_into_id=survivor.id)
    client = api("admin")

    assert [p["code"] for p in client.get("/api/v1/partners").get_json()["items"]] == ["S1"]
    assert client.get("/api/v1/partners/G1").status_code == 404
    assert client.post("/api/v1/partners", json={"code": "G1", "name": "X"}).status_code == 409


# --- the import's checks and messages ------------------------------------------------------

BAD_VALUES = [
    ("email", "not-an-email"),
    ("kind", "robot"),
    ("roles", "client;friend"),
    ("inn", "12ab"),
    ("phone", "call me"),
    ("created_on", "31.02.2024"),
    ("manager", "boss@"),
    ("name", "x" * 256),
]


@pytest.mark.parametrize("column, value", BAD_VALUES)
def test_bad_value_gets_the_imports_message(api, tmp_path, column, value):
    row = {"code": "P1", "name": "Acme", column: value}

    response = api("admin").post("/api/v1/partners", json=row)

    assert response.status_code == 422
    body = response.get_json()
    expected = import_errors(tmp_path, "partners", list(row), list(row.values()))
    # The file's first data row is its row 2 (the header is row 1).
    assert len(expected) == 1 and expected[0].startswith(f"row 2, column {column}: ")
    assert body["errors"] == [{"field": column, "message": expected[0].split(": ", 1)[1]}]
    assert body["error"] == "The partner is not saved: 1 problem."
    assert committed_count(Partner) == 0


def test_messages_read_as_the_import_writes_them(api):
    response = api("admin").post(
        "/api/v1/partners",
        json={
            "code": "P1",
            "name": "Acme",
            "kind": "robot",
            "created_on": "31.02.2024",
            "roles": "client;friend",
        },
    )

    assert response.get_json()["errors"] == [
        {
            "field": "roles",
            "message": "unknown role(s) friend; use client, supplier, competitor, other",
        },
        {"field": "created_on", "message": "'31.02.2024' is not a real date"},
        {"field": "kind", "message": "must be company or person"},
    ]


def test_missing_required_fields_are_each_named(api):
    response = api("admin").post("/api/v1/partners", json={"city": "Kazan"})

    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "code", "message": "is required"},
        {"field": "name", "message": "is required"},
    ]


def test_unknown_fields_and_values_that_are_not_text_or_numbers_are_refused(api):
    response = api("admin").post(
        "/api/v1/partners",
        json={"code": "P1", "name": "Acme", "town": "Kazan", "roles": ["client"], "inn": True},
    )

    assert response.status_code == 422
    assert sorted(response.get_json()["errors"], key=lambda e: e["field"]) == [
        {"field": "inn", "message": "must be a string, a number or null"},
        {"field": "roles", "message": "must be a string, a number or null"},
        {"field": "town", "message": "is not a field of a partner"},
    ]
    assert committed_count(Partner) == 0


def test_a_refused_patch_changes_nothing(api, make_partner):
    make_partner(name="Acme", code="P1", city="Tver")

    response = api("admin").patch("/api/v1/partners/P1", json={"city": "Omsk", "email": "bad"})

    assert response.status_code == 422
    assert stored(select(Partner.city)) == [("Tver",)]
    assert committed_count(User) == 1  # the token's admin only
