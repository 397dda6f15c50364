"""Contact details (e-mails, phones, addresses…) and contact persons on the partner card."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from crm.partners.models import ContactDetail, ContactPerson, Partner
from tests.partners.helpers import (
    HX,
    audit_entries,
    detail_count,
    fresh,
    person_count,
    text,
)


@pytest.fixture
def partner(login_as, make_partner):
    manager = login_as("manager")
    return make_partner(
        name="Ромашка", responsible=manager, emails=["info@romashka.ru", "sales@romashka.ru"]
    )


def details_of(owner_id: int, kind: str, model=Partner) -> list[tuple[str, str, bool]]:
    owner = fresh(model, owner_id)
    return [(d.value, d.value_norm, d.is_main) for d in owner.details(kind)]


def test_add_phone_through_htmx_returns_contacts_fragment(client, partner):
    response = client.post(
        f"/partners/{partner.id}/details",
        headers=HX,
        data={"kind": "phone", "value": "8 (912) 345-67-89", "label": "мобильный"},
    )

    page = text(response)
    assert response.status_code == 200
    assert "<html" not in page
    assert '<a href="tel:+79123456789">8 (912) 345-67-89</a>' in page
    assert details_of(partner.id, "phone") == [("8 (912) 345-67-89", "+79123456789", True)]
    [entry] = audit_entries(partner.id)
    assert (entry.action, entry.object_type) == ("create", "contact_detail")
    assert entry.changes == {"phone": [None, "8 (912) 345-67-89"]}
    assert entry.summary == "added phone 8 (912) 345-67-89"


def test_add_without_htmx_redirects_to_contacts_tab(client, partner):
    response = client.post(
        f"/partners/{partner.id}/details", data={"kind": "website", "value": "romashka.ru"}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/partners/{partner.id}?tab=contacts"
    page = text(client.get(response.headers["Location"]))
    assert '<a href="https://romashka.ru">romashka.ru</a>' in page


def test_new_main_detail_takes_over_from_the_old_main(client, partner):
    client.post(
        f"/partners/{partner.id}/details",
        data={"kind": "email", "value": "boss@romashka.ru", "is_main": "y"},
    )

    assert details_of(partner.id, "email") == [
        ("boss@romashka.ru", "boss@romashka.ru", True),
        ("info@romashka.ru", "info@romashka.ru", False),
        ("sales@romashka.ru", "sales@romashka.ru", False),
    ]


BAD_DETAILS = {
    ("email", "not-an-email"): "is not a valid e-mail address",
    ("email", "SALES@romashka.ru"): "Already listed.",
    ("phone", "12"): "is not a phone number",
    ("phone", "+7 912 345\x00-67-89"): "is not a phone number",
    ("address", ""): "Value is required.",
    ("address", "ул. Ленина\x00"): "Value contains control characters",
    ("fax", "123"): "Choose one of: E-mail, Phone, Address, Messenger, Website.",
}


def test_bad_or_repeated_detail_is_refused_next_to_the_field(client, partner):
    outcomes = {}
    for (kind, value), message in BAD_DETAILS.items():
        response = client.post(
            f"/partners/{partner.id}/details", headers=HX, data={"kind": kind, "value": value}
        )
        page = text(response)
        outcomes[kind, value] = (response.status_code, "<html" in page, message in page)

    assert outcomes == {key: (422, False, True) for key in BAD_DETAILS}
    assert detail_count() == 2
    assert audit_entries(partner.id) == []


def test_same_phone_in_another_format_is_refused(client, login_as, make_partner):
    manager = login_as("manager")
    p = make_partner(name="Ромашка", responsible=manager, phones=["8 (912) 345-67-89"])

    response = client.post(
        f"/partners/{p.id}/details", data={"kind": "phone", "value": "+7 912 345 67 89"}
    )

    assert response.status_code == 422
    assert "Already listed." in text(response)
    assert detail_count() == 1


def test_make_main_switches_the_main_detail(client, partner):
    sales = next(d for d in fresh(Partner, partner.id).contact_details if d.value.startswith("s"))

    response = client.post(f"/partners/{partner.id}/details/{sales.id}/main", headers=HX)

    assert response.status_code == 200
    assert details_of(partner.id, "email") == [
        ("sales@romashka.ru", "sales@romashka.ru", True),
        ("info@romashka.ru", "info@romashka.ru", False),
    ]
    [entry] = audit_entries(partner.id)
    assert (entry.action, entry.changes) == ("update", {"main": [None, "sales@romashka.ru"]})


def test_removing_the_main_detail_passes_main_to_the_next(client, partner):
    info = next(d for d in fresh(Partner, partner.id).contact_details if d.value.startswith("i"))

    response = client.post(f"/partners/{partner.id}/details/{info.id}/delete", headers=HX)

    assert response.status_code == 200
    assert "info@romashka.ru" not in text(response)
    assert details_of(partner.id, "email") == [("sales@romashka.ru", "sales@romashka.ru", True)]
    assert fresh(ContactDetail, info.id) is None
    [entry] = audit_entries(partner.id)
    assert (entry.action, entry.changes) == ("delete", {"email": ["info@romashka.ru", None]})
    assert "info@romashka.ru" not in fresh(Partner, partner.id).search_text


def test_detail_of_another_partner_is_404(client, partner, make_partner):
    stranger = make_partner(name="Чужой", emails=["x@x.ru"])
    foreign = fresh(Partner, stranger.id).contact_details[0]

    assert client.post(f"/partners/{partner.id}/details/{foreign.id}/delete").status_code == 404
    assert client.post(f"/partners/{partner.id}/details/{foreign.id}/main").status_code == 404
    assert fresh(ContactDetail, foreign.id) is not None


def test_add_contact_person_with_birthday_email_and_phone(client, partner):
    response = client.post(
        f"/partners/{partner.id}/persons/new",
        data={
            "name": "Анна Смирнова",
            "position": "Директор",
            "birthday": "1985-04-23",
            "email": "anna@romashka.ru",
            "phone": "+7 912 000-11-22",
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/partners/{partner.id}?tab=contacts"
    [person] = fresh(Partner, partner.id).contact_persons
    assert (person.name, person.position, person.birthday) == (
        "Анна Смирнова",
        "Директор",
        date(1985, 4, 23),
    )
    assert [(d.kind, d.value, d.value_norm, d.is_main) for d in person.contact_details] == [
        ("email", "anna@romashka.ru", "anna@romashka.ru", True),
        ("phone", "+7 912 000-11-22", "+79120001122", True),
    ]
    [entry] = audit_entries(partner.id)
    assert (entry.action, entry.object_type, entry.object_id) == (
        "create",
        "contact_person",
        person.id,
    )
    assert entry.changes["name"] == [None, "Анна Смирнова"]
    assert entry.changes["birthday"] == [None, "1985-04-23"]
    tab = text(client.get(f"/partners/{partner.id}?tab=contacts", headers=HX))
    assert "<html" not in tab
    assert "Анна Смирнова" in tab
    assert "Директор · birthday 23 Apr 1985" in tab
    assert '<a href="mailto:anna@romashka.ru">anna@romashka.ru</a>' in tab


def test_edit_contact_person_records_the_change(client, partner):
    client.post(
        f"/partners/{partner.id}/persons/new", data={"name": "Анна", "position": "Бухгалтер"}
    )
    person_id = fresh(Partner, partner.id).contact_persons[0].id

    form = client.get(f"/partners/{partner.id}/persons/{person_id}")
    response = client.post(
        f"/partners/{partner.id}/persons/{person_id}",
        headers=HX,
        data={"name": "Анна Петрова", "position": "Бухгалтер", "birthday": "1990-02-28"},
    )

    assert 'value="Анна"' in text(form)
    assert response.status_code == 200
    assert "<html" not in text(response)
    assert "Анна Петрова" in text(response)
    person = fresh(ContactPerson, person_id)
    assert (person.name, person.birthday) == ("Анна Петрова", date(1990, 2, 28))
    update = audit_entries(partner.id, action="update")[0]
    assert update.changes == {"name": ["Анна", "Анна Петрова"], "birthday": [None, "1990-02-28"]}
    assert "анна петрова" in fresh(Partner, partner.id).search_text


@pytest.mark.parametrize(
    ("birthday", "message"),
    [
        ((date.today() + timedelta(days=1)).isoformat(), "A birthday cannot be in the future."),
        ("1985-13-45", "Birthday must be a date like 1985-04-23."),
    ],
)
def test_impossible_birthday_is_refused(client, partner, birthday, message):
    response = client.post(
        f"/partners/{partner.id}/persons/new", data={"name": "Анна", "birthday": birthday}
    )

    assert response.status_code == 422
    assert message in text(response)
    assert person_count() == 0
    assert audit_entries(partner.id) == []


def test_person_without_name_or_with_bad_email_is_refused(client, partner):
    nameless = client.post(f"/partners/{partner.id}/persons/new", data={"name": "  "})
    bad_mail = client.post(
        f"/partners/{partner.id}/persons/new", data={"name": "Анна", "email": "anna@"}
    )

    assert (nameless.status_code, bad_mail.status_code) == (422, 422)
    assert "Name is required." in text(nameless)
    assert "is not a valid e-mail address" in text(bad_mail)
    assert person_count() == 0


def test_delete_contact_person_removes_their_details(client, partner, make_partner):
    p = make_partner(
        name="Лютик",
        responsible=fresh(Partner, partner.id).responsible,
        persons=[{"name": "Борис", "email": "boris@lutik.ru"}],
    )
    person = fresh(Partner, p.id).contact_persons[0]

    response = client.post(f"/partners/{p.id}/persons/{person.id}/delete", headers=HX)

    assert response.status_code == 200
    assert "<html" not in text(response)
    assert "Борис" not in text(response)
    assert fresh(ContactPerson, person.id) is None
    assert detail_count() == 2  # only Ромашка's e-mails are left
    [entry] = audit_entries(p.id)
    assert (entry.action, entry.changes) == ("delete", {"name": ["Борис", None]})
    assert "boris@lutik.ru" not in fresh(Partner, p.id).search_text


def test_add_detail_to_a_contact_person(client, partner):
    client.post(f"/partners/{partner.id}/persons/new", data={"name": "Анна"})
    person_id = fresh(Partner, partner.id).contact_persons[0].id

    response = client.post(
        f"/partners/{partner.id}/persons/{person_id}/details",
        headers=HX,
        data={"kind": "messenger", "value": "@anna_tg"},
    )

    assert response.status_code == 200
    assert details_of(person_id, "messenger", ContactPerson) == [("@anna_tg", "@anna_tg", True)]
    entry = audit_entries(partner.id)[-1]
    assert entry.summary == "added messenger @anna_tg to Анна"


def test_manager_cannot_change_contacts_of_another_managers_partner(
    client, login_as, make_user, make_partner
):
    login_as("manager")
    p = make_partner(name="Чужой", responsible=make_user("manager"), emails=["x@x.ru"])

    assert (
        client.post(
            f"/partners/{p.id}/details", data={"kind": "email", "value": "y@y.ru"}
        ).status_code
        == 403
    )
    assert client.post(f"/partners/{p.id}/persons/new", data={"name": "Я"}).status_code == 403
    assert detail_count() == 1


def test_person_without_a_birthday_is_saved(client, partner):
    response = client.post(
        f"/partners/{partner.id}/persons/new",
        data={"name": "Анна", "position": "CEO", "birthday": ""},
    )

    assert response.status_code == 302
    assert person_count() == 1
    assert fresh(Partner, partner.id).contact_persons[0].birthday is None


@pytest.mark.parametrize("kind", ["email", "phone"])
def test_blank_email_or_phone_is_refused(client, partner, kind):
    before = detail_count()

    response = client.post(
        f"/partners/{partner.id}/details", data={"kind": kind, "value": " "}, headers=HX
    )

    assert response.status_code == 422
    assert "Value is required." in text(response)
    assert detail_count() == before
