"""Creating, editing and deleting partners through the pages, and the audit trail it leaves."""

from __future__ import annotations

from sqlalchemy import select

from crm.extensions import db
from crm.partners.models import Partner, Tag, partner_tag
from crm.partners.services import tags_by_name
from tests.partners.helpers import (
    audit_entries,
    detail_count,
    form,
    fresh,
    partner_count,
    person_count,
    text,
)


def test_create_stores_partner_with_main_contacts_tags_and_auto_code(client, login_as, make_user):
    colleague = make_user("manager")
    manager = login_as("manager")
    response = client.post(
        "/partners/new",
        data=form(
            roles=["client", "supplier"],
            inn="7701234567",
            city="Москва",
            tags="Опт, vip, опт",
            email="info@romashka.ru",
            phone="8 (912) 345-67-89",
            preferred_channel="email",
            do_not_call="y",
            responsible_id=str(colleague.id),
        ),
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/partners/1"
    p = fresh(Partner, 1)
    assert (p.name, p.code, p.inn, p.city) == ("ООО Ромашка", "P000001", "7701234567", "Москва")
    assert p.roles == ["client", "supplier"]
    assert p.responsible_id == manager.id  # a manager's new partner is his own, whatever is posted
    assert (p.preferred_channel, p.do_not_call, p.do_not_email) == ("email", True, False)
    details = {(d.kind, d.value, d.value_norm, d.is_main) for d in p.contact_details}
    assert details == {
        ("email", "info@romashka.ru", "info@romashka.ru", True),
        ("phone", "8 (912) 345-67-89", "+79123456789", True),
    }
    # "опт" repeats "Опт" in another case: one tag, spelled as first typed.
    assert sorted((t.name, t.name_norm) for t in db.session.query(Tag)) == [
        ("vip", "vip"),
        ("Опт", "опт"),
    ]
    assert [t.name for t in p.tags] == ["vip", "Опт"]


def test_auto_codes_number_partners_and_skip_a_taken_code(client, login_as, make_partner):
    login_as("admin")
    make_partner(name="Уже есть", code="P000002")  # takes id 1 and the code id 2 would get

    client.post("/partners/new", data=form(name="Первый"))
    client.post("/partners/new", data=form(name="Второй", code="MY-7"))

    assert fresh(Partner, 2).code == "P000002-2"
    assert fresh(Partner, 3).code == "MY-7"


def test_create_writes_audit_entry_shown_on_history_tab(client, login_as):
    login_as("manager", name="Мария Петрова")
    client.post("/partners/new", data=form(city="Тула"))

    [entry] = audit_entries(1)
    assert (entry.action, entry.object_type, entry.object_id) == ("create", "partner", 1)
    assert entry.changes["name"] == [None, "ООО Ромашка"]
    assert entry.changes["city"] == [None, "Тула"]
    page = text(client.get("/partners/1?tab=history"))
    assert "Partner created" in page
    assert "<strong>City</strong>: <del>—</del> → Тула" in page
    assert "Мария Петрова" in page


def test_edit_saves_changes_and_records_old_and_new_values(client, login_as, make_partner):
    manager = login_as("manager")
    p = make_partner(
        name="Ромашка", code="R-1", city="Москва", inn="7701234567", responsible=manager
    )

    response = client.post(
        f"/partners/{p.id}/edit",
        data=form(name="Ромашка", code="R-1", inn="7701234567", city="Казань", tags="новый"),
    )

    assert response.status_code == 302
    p = fresh(Partner, p.id)
    assert p.city == "Казань"
    assert p.city_norm == "казань"
    assert [t.name for t in p.tags] == ["новый"]
    [entry] = audit_entries(p.id, action="update")
    assert entry.changes == {"city": ["Москва", "Казань"], "tags": [[], ["новый"]]}
    history = text(client.get(f"/partners/{p.id}?tab=history", headers={"HX-Request": "true"}))
    assert "<strong>City</strong>: <del>Москва</del> → Казань" in history
    assert "<strong>Tags</strong>: <del>—</del> → новый" in history
    assert "<html" not in history


def test_edit_without_changes_records_nothing(client, login_as, make_partner):
    manager = login_as("manager")
    p = make_partner(name="Ромашка", code="R-1", responsible=manager)

    client.post(f"/partners/{p.id}/edit", data=form(name="Ромашка", code="R-1"))

    assert audit_entries(p.id) == []


def test_manager_cannot_edit_another_managers_partner(client, login_as, make_user, make_partner):
    login_as("manager")
    p = make_partner(name="Чужой", city="Тула", responsible=make_user("manager"))

    response = client.post(f"/partners/{p.id}/edit", data=form(name="Мой", city="Тула"))

    assert response.status_code == 403
    assert fresh(Partner, p.id).name == "Чужой"


def test_admin_deletes_unlinked_partner_and_audit_keeps_it(client, login_as, make_partner):
    login_as("admin")
    p = make_partner(
        name="Удаляемый",
        code="D-1",
        emails=["x@del.ru"],
        tags=tags_by_name(["a"]),
        persons=[{"name": "Анна", "phone": "+79120001122"}],
    )
    pid = p.id

    response = client.post(f"/partners/{pid}/delete")

    assert response.status_code == 302
    assert response.headers["Location"] == "/partners/"
    assert fresh(Partner, pid) is None
    assert (detail_count(), person_count()) == (0, 0)
    assert db.session.execute(select(partner_tag)).all() == []
    [entry] = audit_entries(pid)
    assert entry.action == "delete"
    assert entry.changes["name"] == ["Удаляемый", None]
    assert entry.summary == "deleted partner Удаляемый (D-1)"


def test_manager_may_not_delete(client, login_as, make_partner):
    manager = login_as("manager")
    p = make_partner(name="Мой", responsible=manager)

    assert client.post(f"/partners/{p.id}/delete").status_code == 403
    assert partner_count() == 1


def test_delete_refused_with_message_when_partners_were_merged_into_it(
    client, login_as, make_partner
):
    login_as("admin")
    survivor = make_partner(name="Выживший")
    make_partner(name="Слитый", merged_into_id=survivor.id)

    response = client.post(f"/partners/{survivor.id}/delete", follow_redirects=True)

    assert response.status_code == 200
    page = text(response)
    assert "merged partners" in page
    assert "merge it into another partner instead of deleting it" in page
    assert partner_count() == 2
    assert audit_entries(survivor.id) == []


def test_card_shows_partner_and_unknown_partner_is_404(client, login_as, make_partner):
    login_as("admin")
    p = make_partner(name="Ромашка", code="R-9", emails=["info@romashka.ru"])

    page = text(client.get(f"/partners/{p.id}"))
    assert "<html" in page
    assert 'id="partner-name-heading">Ромашка</h1>' in page
    assert 'href="mailto:info@romashka.ru"' in page
    assert client.get("/partners/999").status_code == 404


def test_manager_sees_only_own_partner_cards(client, login_as, make_user, make_partner):
    login_as("manager")
    other = make_partner(name="Чужой", responsible=make_user("manager"))

    assert client.get(f"/partners/{other.id}").status_code == 403


def test_viewer_cannot_create(client, login_as):
    login_as("viewer")

    assert client.get("/partners/new").status_code == 403
    assert client.post("/partners/new", data=form()).status_code == 403
    assert partner_count() == 0
