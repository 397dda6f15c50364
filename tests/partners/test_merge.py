"""Merging a duplicate into the partner that stays: picked values, contacts, tags, history,
linked records of any domain, and who may do it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, insert, select

from crm.core.errors import DomainError
from crm.core.models import AuditEntry
from crm.extensions import db
from crm.partners import services
from crm.partners.models import ContactDetail, ContactPerson, Partner
from tests.partners.helpers import audit_entries, fresh, listed_names, text


@pytest.fixture
def pair(login_as, make_user, make_partner):
    """An admin signed in; survivor A and its duplicate B with overlapping contacts."""
    admin = login_as("admin")
    masha = make_user("manager", name="Маша")
    petya = make_user("manager", name="Петя")
    [opt, vip] = services.tags_by_name(["Опт", "VIP"])
    a = make_partner(
        name="Ромашка",
        code="A-1",
        inn="7701234567",
        city="",
        notes="Заметки A",
        responsible=masha,
        do_not_email=True,
        created_on=date(2020, 1, 1),
        emails=["a@romashka.ru"],
        phones=["+79123456789"],
        tags=[opt],
    )
    b = make_partner(
        name="ООО Ромашка",
        code="B-2",
        inn="",
        city="Москва",
        notes="Заметки B",
        responsible=petya,
        is_client=False,
        is_supplier=True,
        do_not_call=True,
        created_on=date(2019, 6, 1),
        emails=["b@romashka.ru", "A@Romashka.ru"],
        phones=["8 (912) 345-67-89", "+7 495 123-45-67"],
        persons=[{"name": "Анна", "email": "anna@romashka.ru"}],
        tags=[opt, vip],
    )
    db.session.add(
        AuditEntry(
            action="update",
            object_type="partner",
            object_id=b.id,
            root_type="partner",
            root_id=b.id,
            changes={"city": ["", "Москва"]},
            summary="история B до слияния",
        )
    )
    db.session.commit()
    return {"a": a, "b": b, "admin": admin, "masha": masha, "petya": petya}


def test_preview_shows_both_values_of_every_field_and_what_moves(client, pair):
    a, b = pair["a"], pair["b"]

    response = client.get(f"/partners/{a.id}/merge?other={b.id}")

    page = text(response)
    assert response.status_code == 200
    assert "<th>Keep: Ромашка</th><th>From: ООО Ромашка</th>" in page
    for value in ("Заметки A", "Заметки B", "Москва", "7701234567", "1 Jan 2020", "1 Jun 2019"):
        assert value in page
    # Defaults: the survivor's value unless it is empty; the earlier creation date.
    assert 'name="pick_city" value="other" checked' in page
    assert 'name="pick_name" value="survivor" checked' in page
    assert 'name="pick_created_on" value="other" checked' in page
    assert 'name="pick_notes" value="both"' in page
    # The responsible managers by name, not by id.
    assert 'value="survivor" checked> <span class="text-pre">Маша</span>' in page
    assert 'value="other"> <span class="text-pre">Петя</span>' in page
    assert "contact details: 4" in page
    assert "contact persons: 1" in page
    assert "tags: 2" in page


def test_merge_keeps_picked_values_and_combines_everything_else(client, pair):
    a, b = pair["a"], pair["b"]
    # A partner merged into B earlier: it must end up pointing at A.
    c = Partner(code="C-3", name="Ромашка старая", merged_into_id=b.id)
    db.session.add(c)
    db.session.commit()

    response = client.post(
        f"/partners/{a.id}/merge",
        data={
            "other": str(b.id),
            "pick_name": "other",
            "pick_city": "other",
            "pick_inn": "survivor",
            "pick_responsible_id": "other",
            "pick_notes": "both",
            "pick_created_on": "other",
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/partners/{a.id}"
    s = fresh(Partner, a.id)
    assert (s.name, s.code, s.city, s.inn) == ("ООО Ромашка", "A-1", "Москва", "7701234567")
    assert s.responsible_id == pair["petya"].id
    assert s.notes == "Заметки A\n\nЗаметки B"
    assert s.created_on == date(2019, 6, 1)
    assert s.roles == ["client", "supplier"]
    assert (s.do_not_email, s.do_not_call, s.do_not_sms, s.do_not_mail) == (
        True,
        True,
        False,
        False,
    )
    details = sorted((d.kind, d.value, d.is_main) for d in s.contact_details)
    assert details == [
        ("email", "a@romashka.ru", True),
        ("email", "b@romashka.ru", False),  # B's main e-mail; A keeps its own main one
        ("phone", "+7 495 123-45-67", False),
        ("phone", "+79123456789", True),
    ]
    assert (
        db.session.scalars(select(ContactDetail).where(ContactDetail.partner_id == b.id)).all()
        == []
    )
    assert [(p.name, [d.value for d in p.contact_details]) for p in s.contact_persons] == [
        ("Анна", ["anna@romashka.ru"])
    ]
    assert sorted(t.name for t in s.tags) == ["VIP", "Опт"]
    other = fresh(Partner, b.id)
    assert other.merged_into_id == a.id
    assert other.tags == []
    assert fresh(Partner, c.id).merged_into_id == a.id


def test_merge_moves_history_and_records_merge_on_both(client, pair):
    a, b = pair["a"], pair["b"]

    client.post(f"/partners/{a.id}/merge", data={"other": str(b.id)})

    assert audit_entries(b.id) == []
    entries = audit_entries(a.id)
    assert [(e.action, e.object_type, e.object_id) for e in entries] == [
        ("update", "partner", b.id),  # B's own history, now on A's card
        ("merge", "partner", a.id),
        ("merge", "partner", b.id),
    ]
    assert entries[1].changes["merged"] == [None, "ООО Ромашка (B-2)"]
    assert entries[1].changes["roles"] == [["client"], ["client", "supplier"]]
    history = text(client.get(f"/partners/{a.id}?tab=history"))
    assert "история B до слияния" in history
    assert "Merged ООО Ромашка (B-2) into this partner; moved " in history
    assert "ООО Ромашка (B-2) was merged into Ромашка" in history
    assert "<strong>Roles</strong>: <del>Client</del> → Client, Supplier" in history


def test_merged_partner_card_redirects_and_its_contacts_are_found_on_survivor(client, pair):
    a, b = pair["a"], pair["b"]

    client.post(f"/partners/{a.id}/merge", data={"other": str(b.id)})

    response = client.get(f"/partners/{b.id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/partners/{a.id}"
    assert listed_names(client.get("/partners/?q=anna@romashka.ru")) == ["Ромашка"]
    assert listed_names(client.get("/partners/?q=4951234567")) == ["Ромашка"]
    assert listed_names(client.get("/partners/")) == ["Ромашка"]


def test_merged_partner_cannot_be_merged_again(client, pair):
    a, b = pair["a"], pair["b"]
    client.post(f"/partners/{a.id}/merge", data={"other": str(b.id)})

    response = client.post(
        f"/partners/{a.id}/merge", data={"other": str(b.id)}, follow_redirects=True
    )

    assert "ООО Ромашка has been merged already." in text(response)
    assert len(audit_entries(a.id, action="merge")) == 2


def test_partner_cannot_be_merged_with_itself(client, pair):
    a = pair["a"]

    response = client.post(f"/partners/{a.id}/merge", data={"other": str(a.id)})

    assert response.status_code == 200
    assert "Choose a partner to merge from the list." in text(response)
    assert fresh(Partner, a.id).merged_into_id is None
    assert audit_entries(a.id, action="merge") == []
    with pytest.raises(DomainError, match="cannot be merged with itself"):
        services.merge_partners(pair["admin"], a, a, {})


def test_merge_without_other_lists_likely_duplicates(client, pair):
    a, b = pair["a"], pair["b"]

    page = text(client.get(f"/partners/{a.id}/merge"))

    assert 'id="merge-candidates"' in page
    assert f'href="/partners/{a.id}/merge?other={b.id}"' in page
    assert "same e-mail a@romashka.ru" in page


def test_bad_pick_is_refused_and_nothing_changes(client, pair):
    a, b = pair["a"], pair["b"]

    response = client.post(f"/partners/{a.id}/merge", data={"other": str(b.id), "pick_name": "x"})

    assert "Choose which value of Name to keep." in text(response)
    assert fresh(Partner, b.id).merged_into_id is None
    assert fresh(Partner, a.id).name == "Ромашка"


def test_manager_cannot_merge_another_managers_partner(client, login_as, pair):
    login_as(pair["masha"])
    a, b = pair["a"], pair["b"]  # A is Маша's, B is Петя's

    assert "Маша" in text(client.get(f"/partners/{a.id}"))
    assert client.get(f"/partners/{a.id}/merge?other={b.id}").status_code == 403
    assert client.post(f"/partners/{a.id}/merge", data={"other": str(b.id)}).status_code == 403
    assert fresh(Partner, b.id).merged_into_id is None


def test_manager_merges_own_partners_and_old_card_leads_to_survivor(
    client, login_as, make_partner, pair
):
    masha = login_as(pair["masha"])
    mine = make_partner(name="Ромашка дубль", responsible=masha)
    a = pair["a"]

    merged = client.post(f"/partners/{a.id}/merge", data={"other": str(mine.id)})
    old_card = client.get(f"/partners/{mine.id}")

    assert merged.status_code == 302
    assert fresh(Partner, mine.id).merged_into_id == a.id
    assert old_card.status_code == 302
    assert old_card.headers["Location"] == f"/partners/{a.id}"


def test_merged_pointer_does_not_open_another_managers_survivor(
    client, login_as, make_partner, pair
):
    masha = login_as(pair["masha"])
    mine_before = make_partner(name="Бывший мой", responsible=masha, merged_into_id=pair["b"].id)

    assert client.get(f"/partners/{mine_before.id}").status_code == 403


@pytest.fixture
def foreign_table(app):
    """A table of some other domain pointing at partners, known only through the metadata."""
    table = Table(
        "test_merge_probe",
        db.metadata,
        Column("id", Integer, primary_key=True),
        Column("partner_id", ForeignKey("partner.id")),
        Column("note", String(50)),
    )
    db.session.commit()
    try:
        table.create(db.engine)
        yield table
    finally:
        db.session.rollback()
        db.session.close()
        table.drop(db.engine, checkfirst=True)
        db.metadata.remove(table)


def test_merge_repoints_rows_of_other_domains(client, pair, foreign_table):
    a, b = pair["a"], pair["b"]
    db.session.execute(
        insert(foreign_table),
        [
            {"partner_id": b.id, "note": "сделка 1"},
            {"partner_id": b.id, "note": "сделка 2"},
            {"partner_id": a.id, "note": "своя"},
        ],
    )
    db.session.commit()

    preview = text(client.get(f"/partners/{a.id}/merge?other={b.id}"))
    response = client.post(
        f"/partners/{a.id}/merge", data={"other": str(b.id)}, follow_redirects=True
    )

    assert "test merge probe: 2" in preview
    # B's details b@ and +7 495 move; A@Romashka.ru and 8 (912) 345-67-89 are A's already.
    assert "Merged; moved contact details: 2, contact persons: 1, test merge probe: 2." in text(
        response
    )
    rows = db.session.execute(select(foreign_table.c.note, foreign_table.c.partner_id)).all()
    assert sorted(rows) == [("своя", a.id), ("сделка 1", a.id), ("сделка 2", a.id)]


def test_partner_with_rows_in_other_domains_cannot_be_deleted(client, pair, foreign_table):
    b = pair["b"]
    db.session.execute(insert(foreign_table), [{"partner_id": b.id, "note": "сделка"}])
    db.session.commit()

    response = client.post(f"/partners/{b.id}/delete", follow_redirects=True)

    assert "This partner has linked records (test merge probe: 1)" in text(response)
    assert fresh(Partner, b.id) is not None
    assert db.session.scalar(select(ContactPerson.partner_id)) == b.id
