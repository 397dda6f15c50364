"""Input a user can get wrong gives a message next to the field and stores nothing; text that
looks like markup is stored as typed and always shown escaped."""

from __future__ import annotations

import csv
import io

import pytest

from crm.partners.models import Partner
from tests.partners.helpers import (
    HX,
    audit_entries,
    field_errors,
    form,
    fresh,
    partner_count,
    text,
)

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"

BAD_FORMS = {
    "empty name": ({"name": "   "}, "name", "Name is required."),
    "4,000-character name": (
        {"name": "Я" * 4000},
        "name",
        "Name is too long: 4000 characters, at most 255.",
    ),
    "bell in the name": (
        {"name": "Ромашка\x07"},
        "name",
        "Name contains control characters or line breaks.",
    ),
    "line break in the city": (
        {"city": "Мос\r\nква"},
        "city",
        "City contains control characters or line breaks.",
    ),
    "malformed e-mail": (
        {"email": "ivan@@example.com"},
        "email",
        "'ivan@@example.com' is not a valid e-mail address.",
    ),
    "NUL in the e-mail": (
        {"email": "iv\x00an@example.com"},
        "email",
        "is not a valid e-mail address",
    ),
    "phone of letters": (
        {"phone": "call me"},
        "phone",
        "'call me' is not a phone number (use +country code, e.g. +7 495 123-45-67).",
    ),
    "tax id with letters": (
        {"inn": "77O1234567"},
        "inn",
        "A tax id is 4 to 20 digits (10 or 12 for a Russian INN).",
    ),
    "tax id of superscripts": (
        {"inn": "²²²²²"},
        "inn",
        "A tax id is 4 to 20 digits (10 or 12 for a Russian INN).",
    ),
    "unknown role": ({"roles": ["client", "boss"]}, "roles-0", "Unknown role: boss."),
    "unknown kind": ({"kind": "robot"}, "kind", "Choose one of: Company, Person."),
    "long tag": ({"tags": "ok, " + "т" * 65}, "tags", "A tag has at most 64 characters."),
    "notes with NUL": ({"notes": "a\x00b"}, "notes", "Notes contains control characters"),
}


def test_bad_partner_form_gives_message_next_to_the_field_and_stores_nothing(client, login_as):
    login_as("manager")
    outcomes = {}
    for case, (fields, field_id, message) in BAD_FORMS.items():
        response = client.post("/partners/new", data=form(**fields))
        errors = field_errors(text(response), field_id)
        outcomes[case] = (response.status_code, any(message in e for e in errors))

    assert outcomes == {case: (422, True) for case in BAD_FORMS}
    assert partner_count() == 0


def test_every_bad_field_is_reported_at_once(client, login_as):
    login_as("manager")

    response = client.post("/partners/new", data=form(name="", email="nope", inn="1"))

    page = text(response)
    assert response.status_code == 422
    assert field_errors(page, "name") == ["Name is required."]
    assert field_errors(page, "inn") == ["A tax id is 4 to 20 digits (10 or 12 for a Russian INN)."]
    assert len(field_errors(page, "email")) == 1
    assert field_errors(page, "city") == []


def test_admin_cannot_hand_a_partner_to_an_unknown_or_inactive_user(client, login_as, make_user):
    login_as("admin")
    gone = make_user("manager", active=False)
    viewer = make_user("viewer")

    statuses = [
        client.post("/partners/new", data=form(responsible_id=value)).status_code
        for value in ("abc", "99999", str(gone.id), str(viewer.id))
    ]
    page = text(client.post("/partners/new", data=form(responsible_id=str(gone.id))))

    assert statuses == [422, 422, 422, 422]
    assert field_errors(page, "responsible_id") == ["Choose an active manager or admin."]
    assert partner_count() == 0


def test_bad_edit_changes_nothing(client, login_as, make_partner):
    manager = login_as("manager")
    p = make_partner(name="Ромашка", code="R-1", city="Москва", responsible=manager)

    response = client.post(f"/partners/{p.id}/edit", data=form(name="", code="R-1", city="Тула"))

    assert response.status_code == 422
    assert field_errors(text(response), "name") == ["Name is required."]
    assert (fresh(Partner, p.id).name, fresh(Partner, p.id).city) == ("Ромашка", "Москва")
    assert audit_entries(p.id) == []


def test_code_of_another_partner_is_refused(client, login_as, make_partner):
    login_as("manager")
    make_partner(name="Лютик", code="L-1")

    response = client.post("/partners/new", data=form(code="L-1"))

    assert response.status_code == 422
    assert field_errors(text(response), "code") == ["Code 'L-1' belongs to another partner."]
    assert partner_count() == 1


@pytest.fixture
def scripted(client, login_as):
    """A partner whose name is markup, created through the form (it is valid text)."""
    login_as("admin")
    response = client.post(
        "/partners/new", data=form(name=SCRIPT, city=SCRIPT, email="x@script.ru", tags=SCRIPT)
    )
    assert response.status_code == 302
    return fresh(Partner, 1)


def test_markup_in_a_name_is_stored_as_typed(scripted):
    assert (scripted.name, scripted.city) == (SCRIPT, SCRIPT)
    assert [t.name for t in scripted.tags] == [SCRIPT]


PAGES_WITH_THE_NAME = [
    "/partners/",
    "/partners/?q=script",
    "/partners/1",
    "/partners/1?tab=history",
    "/partners/1/edit",
    "/partners/1/fields/name?edit=1",
    "/partners/reports/contacts",
    "/partners/duplicates?email=x@script.ru",
]


def test_markup_in_a_name_is_shown_escaped(client, scripted):
    shown = {}
    for url in PAGES_WITH_THE_NAME:
        for headers in (None, HX):
            page = text(client.get(url, headers=headers))
            shown[url, bool(headers)] = (SCRIPT in page, ESCAPED in page)

    assert shown == {(url, hx): (False, True) for url in PAGES_WITH_THE_NAME for hx in (0, 1)}


def test_markup_in_a_name_stays_plain_text_in_csv(client, scripted):
    body = client.get("/partners/reports/contacts?format=csv").get_data(as_text=True)

    assert list(csv.reader(io.StringIO(body[1:])))[1][1] == SCRIPT
