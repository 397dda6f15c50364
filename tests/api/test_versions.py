"""Updates through the API from a stale read: the item's version is its ETag; sent back (in
the body or If-Match) a change since refuses the update with the changes; without it the
update applies as before."""

from __future__ import annotations

import pytest

from crm.extensions import db
from crm.partners.models import ContactPerson, Partner


def stored_city(code: str) -> str:
    db.session.expire_all()
    return db.session.query(Partner).filter_by(code=code).one().city


@pytest.fixture
def acme(make_partner, make_user):
    return make_partner(
        name="Acme", code="P1", city="Tver", persons=[{"name": "Ivan", "position": "buyer"}]
    )


def test_get_gives_the_version_as_etag_and_patch_the_new_one(api, acme):
    client = api("admin")
    assert client.get("/api/v1/partners/P1").headers["ETag"] == '"1"'

    response = client.patch("/api/v1/partners/P1", json={"city": "Omsk", "version": 1})

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    assert stored_city("P1") == "Omsk"


def test_patch_with_an_old_version_is_refused_with_the_changes(api, acme):
    anna = api("admin", name="Anna Petrova")
    boris = api("admin", name="Boris Ivanov")
    assert anna.patch("/api/v1/partners/P1", json={"city": "Omsk", "version": 1}).status_code == 200

    response = boris.patch("/api/v1/partners/P1", json={"name": "Acme Ltd", "version": 1})

    assert response.status_code == 409
    assert response.headers["ETag"] == '"2"'
    body = response.get_json()
    assert body["conflict"]["version"] == 2 and body["conflict"]["your_version"] == 1
    [change] = body["conflict"]["changes"]
    assert change["by"] == "Anna Petrova"
    assert change["fields"] == {"city": ["Tver", "Omsk"]}
    db.session.expire_all()
    assert db.session.query(Partner).filter_by(code="P1").one().name == "Acme"


def test_if_match_with_an_old_etag_fails_the_precondition(api, acme):
    client = api("admin")
    client.patch("/api/v1/partners/P1", json={"city": "Omsk"})

    response = client.patch(
        "/api/v1/partners/P1", json={"city": "Kazan"}, headers={"If-Match": '"1"'}
    )

    assert response.status_code == 412
    assert response.get_json()["conflict"]["changes"][0]["fields"] == {"city": ["Tver", "Omsk"]}
    assert stored_city("P1") == "Omsk"
    fine = client.patch("/api/v1/partners/P1", json={"city": "Kazan"}, headers={"If-Match": '"2"'})
    assert fine.status_code == 200 and stored_city("P1") == "Kazan"


def test_patch_without_a_version_applies_to_the_item_as_it_is(api, acme):
    client = api("admin")
    client.patch("/api/v1/partners/P1", json={"city": "Omsk"})

    response = client.patch("/api/v1/partners/P1", json={"name": "Acme Ltd"})

    assert response.status_code == 200
    assert stored_city("P1") == "Omsk"


@pytest.mark.parametrize("bad", ["1", 0, 1.5, True, 10**12])
def test_a_version_that_is_not_a_whole_number_is_refused(api, acme, bad):
    response = api("admin").patch("/api/v1/partners/P1", json={"city": "Omsk", "version": bad})

    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "version"
    assert stored_city("P1") == "Tver"


def test_contact_updated_from_an_old_version_is_refused(api, acme):
    client = api("admin")
    url = "/api/v1/contacts/P1/Ivan"
    assert client.get(url).headers["ETag"] == '"1"'
    assert client.patch(url, json={"position": "director", "version": 1}).status_code == 200

    response = client.patch(url, json={"position": "owner", "version": 1})

    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.query(ContactPerson).filter_by(name="Ivan").one().position == "director"


def test_resources_without_versions_have_no_etag_and_no_version_field(api):
    from tests.api.helpers import make_product

    make_product("S1")
    client = api("admin")
    assert "ETag" not in client.get("/api/v1/products/S1").headers
    response = client.patch("/api/v1/products/S1", json={"name": "New", "version": 1})
    assert response.status_code == 422
