"""Natural keys in the web forms and in merges: one contact person of a (folded) name per
partner and one partner per code, also when two people save at the same moment (threads with
their own connections); merging partners that both have a person of one name keeps one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import crm.partners.services
from crm.extensions import db
from crm.interactions.models import Interaction
from crm.partners import services
from crm.partners.models import ContactDetail, ContactPerson, Partner
from tests.conftest import DEFAULT_PASSWORD
from tests.helpers import meet_before, run_together
from tests.partners.helpers import person_count, text

NAMESAKE = "Acme has a contact person named {} already."


@pytest.mark.parametrize("typed", ["Семён Петров", "  семен   ПЕТРОВ "])
def test_new_contact_person_named_like_one_at_the_partner_gets_a_field_error(
    client, login_as, make_partner, typed
):
    login_as("admin")
    partner = make_partner(name="Acme", persons=[{"name": "Семён Петров"}])

    response = client.post(f"/partners/{partner.id}/persons/new", data={"name": typed})

    assert response.status_code == 422
    assert NAMESAKE.format(typed.strip()) in text(response)
    assert typed.strip() in text(response)  # the input stays in the form
    assert person_count() == 1


def test_renaming_a_contact_person_to_a_namesake_gets_a_field_error(client, login_as, make_partner):
    login_as("admin")
    partner = make_partner(name="Acme", persons=[{"name": "Анна"}, {"name": "Мария"}])
    maria = next(p for p in partner.contact_persons if p.name == "Мария")

    response = client.post(f"/partners/{partner.id}/persons/{maria.id}", data={"name": "АННА"})

    assert response.status_code == 422
    assert NAMESAKE.format("АННА") in text(response)
    db.session.expire_all()
    assert sorted(p.name for p in db.session.execute(select(ContactPerson)).scalars()) == [
        "Анна",
        "Мария",
    ]


def test_same_name_at_another_partner_is_fine(client, login_as, make_partner):
    login_as("admin")
    make_partner(name="Acme", persons=[{"name": "Анна"}])
    other = make_partner(name="Beta")

    response = client.post(f"/partners/{other.id}/persons/new", data={"name": "Анна"})

    assert response.status_code in (200, 302, 303)
    assert person_count() == 2


def _signed_in_clients(app, make_user, n):
    admin = make_user("admin")
    clients = []
    for _ in range(n):
        c = app.test_client()
        c.post("/auth/login", data={"email": admin.email, "password": DEFAULT_PASSWORD})
        clients.append(c)
    return clients


def test_two_people_adding_one_contact_person_at_once_store_it_once(
    app, make_user, make_partner, monkeypatch
):
    url = f"/partners/{make_partner(name='Acme').id}/persons/new"
    clients = _signed_in_clients(app, make_user, 2)
    # Both have checked that the name is free before either stores it.
    meet_before(monkeypatch, crm.partners.services, "flush_or_refuse", 2)

    responses = run_together(app, 2, lambda i: clients[i].post(url, data={"name": "Иван Петров"}))

    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] < 400 and statuses[1] == 422
    loser = next(r for r in responses if r.status_code == 422)
    assert NAMESAKE.format("Иван Петров") in text(loser)
    assert person_count() == 1


def test_two_people_creating_partners_with_one_code_at_once_store_one(
    app, make_user, make_partner, monkeypatch
):
    clients = _signed_in_clients(app, make_user, 2)
    meet_before(monkeypatch, crm.partners.services, "flush_or_refuse", 2)

    responses = run_together(
        app,
        2,
        lambda i: clients[i].post(
            "/partners/new",
            data={"name": f"Фирма {i}", "code": "X-1", "kind": "company", "roles": ["client"]},
        ),
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] in (302, 303) and statuses[1] == 422
    loser = next(r for r in responses if r.status_code == 422)
    assert "Code &#39;X-1&#39; belongs to another partner." in text(loser)
    db.session.expire_all()
    assert db.session.execute(select(Partner.code)).scalars().all() == ["X-1"]


def test_two_saves_creating_one_new_tag_at_once_store_one_tag(app, make_partner, monkeypatch):
    from crm.partners.models import Tag

    meet_before(monkeypatch, crm.partners.services, "id_for_key", 2)

    run_together(app, 2, lambda i: (services.tags_by_name(["Новый"]), db.session.commit()))

    db.session.expire_all()
    assert db.session.execute(select(Tag.name_norm)).scalars().all() == ["новый"]


def test_merge_joins_contact_persons_of_one_name(app, make_user, make_partner, make_interaction):
    admin = make_user("admin")
    survivor = make_partner(
        name="Ромашка", code="A-1", persons=[{"name": "Иван Петров", "email": "ivan@a.test"}]
    )
    other = make_partner(
        name="Ромашка 2",
        code="B-2",
        persons=[
            {
                "name": "иван  петров",
                "position": "Директор",
                "email": "IVAN@a.test",
                "phone": "+79120000001",
            },
            {"name": "Анна"},
        ],
    )
    theirs = next(p for p in other.contact_persons if p.name == "иван  петров")
    call = make_interaction(admin, partner=other, contact_person_id=theirs.id)

    services.merge_partners(admin, survivor, other, {})
    db.session.commit()

    db.session.expire_all()
    persons = db.session.execute(
        select(ContactPerson.partner_id, ContactPerson.name, ContactPerson.position).order_by(
            ContactPerson.name
        )
    ).all()
    assert persons == [(survivor.id, "Анна", ""), (survivor.id, "Иван Петров", "Директор")]
    ivan = db.session.execute(
        select(ContactPerson).where(ContactPerson.name == "Иван Петров")
    ).scalar_one()
    assert sorted((d.kind, d.value) for d in ivan.contact_details) == [
        ("email", "ivan@a.test"),  # the same address in other case is not copied
        ("phone", "+79120000001"),
    ]
    assert db.session.get(Interaction, call.id).contact_person_id == ivan.id
    assert (
        db.session.execute(
            select(ContactDetail.id).where(
                ContactDetail.contact_person_id.is_(None), ContactDetail.partner_id.is_(None)
            )
        ).all()
        == []
    )
