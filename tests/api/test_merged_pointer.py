"""A merged partner stays as a pointer so that its old code keeps naming the partner it went
into: it cannot be deleted, nor can a partner that others were merged into, and chains of
merges (A into B, then B into C) lead to the last one — in imports, the API and the card."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.exchange.importer import run_import
from crm.extensions import db
from crm.partners import services
from crm.partners.models import ContactPerson, Partner
from tests.auth.helpers import committed_count


@pytest.fixture
def merged(app, login_as, make_partner):
    """An admin signed in; OLD-1 merged (through the service) into NEW-1."""
    admin = login_as("admin")
    survivor = make_partner(name="Ромашка", code="NEW-1")
    old = make_partner(name="Ромашка (дубль)", code="OLD-1")
    services.merge_partners(admin, survivor, old, {})
    db.session.commit()
    return {"admin": admin, "survivor_id": survivor.id, "old_id": old.id}


def _import_contact(tmp_path, code: str, name: str):
    path = tmp_path / "contacts.csv"
    path.write_text(f"partner_code,name\n{code},{name}\n", encoding="utf-8")
    report = run_import(path, "contacts")
    assert report.errors == [] and report.file_errors == [], report


def _persons() -> list[tuple]:
    db.session.expire_all()
    return db.session.execute(
        select(Partner.code, ContactPerson.name)
        .join(Partner, Partner.id == ContactPerson.partner_id)
        .order_by(ContactPerson.name)
    ).all()


def partner_count() -> int:
    return committed_count(Partner)


def text(response) -> str:
    return response.get_data(as_text=True)


def _old_code_resolves(tmp_path, admin, api, code="OLD-1", to="NEW-1"):
    """A contacts import row and an API create naming `code` both land on partner `to`."""
    _import_contact(tmp_path, code, "Из файла")
    response = api(admin).post("/api/v1/contacts", json={"partner_code": code, "name": "Из API"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["partner_code"] == to
    assert _persons() == [(to, "Из API"), (to, "Из файла")]


def test_web_delete_of_a_merged_partner_is_refused_and_its_code_still_resolves(
    client, merged, tmp_path, api
):
    response = client.post(f"/partners/{merged['old_id']}/delete", follow_redirects=True)

    assert response.status_code == 200
    assert (
        "Ромашка (дубль) (OLD-1) was merged into Ромашка (NEW-1) and cannot be deleted: its "
        "code OLD-1 keeps naming Ромашка in imports and the API." in text(response)
    )
    assert partner_count() == 2
    _old_code_resolves(tmp_path, merged["admin"], api)


def test_web_delete_of_a_partner_others_were_merged_into_is_refused(client, merged, tmp_path, api):
    response = client.post(f"/partners/{merged['survivor_id']}/delete", follow_redirects=True)

    assert "Other partners were merged into this one (merged partners)" in text(response)
    assert partner_count() == 2
    _old_code_resolves(tmp_path, merged["admin"], api)


def test_delete_service_refuses_a_merged_partner(merged):
    from crm.core.errors import DomainError

    old = db.session.get(Partner, merged["old_id"])
    with pytest.raises(DomainError, match="was merged into Ромашка"):
        services.delete_partner(merged["admin"], old)
    db.session.rollback()
    assert partner_count() == 2


def test_the_api_has_no_partner_delete(merged, api):
    client = api(merged["admin"])

    for code in ("OLD-1", "NEW-1"):
        assert client.open("DELETE", f"/api/v1/partners/{code}").status_code == 405
    assert partner_count() == 2


def test_chained_merges_resolve_to_the_last_partner(client, login_as, make_partner, tmp_path, api):
    admin = login_as("admin")
    a = make_partner(name="A", code="A-1")
    b = make_partner(name="B", code="B-1")
    c = make_partner(name="C", code="C-1")
    services.merge_partners(admin, b, a, {})
    db.session.commit()
    services.merge_partners(admin, c, db.session.get(Partner, b.id), {})
    db.session.commit()

    response = client.get(f"/partners/{a.id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/partners/{c.id}")
    _old_code_resolves(tmp_path, admin, api, code="A-1", to="C-1")
    for pointer in (a.id, b.id):
        refused = client.post(f"/partners/{pointer}/delete", follow_redirects=True)
        assert "was merged into C (C-1) and cannot be deleted" in text(refused)
    assert partner_count() == 3
