"""Editing one field in place on the partner card."""

from __future__ import annotations

import pytest

from crm.partners.models import Partner
from tests.partners.helpers import HX, audit_entries, fresh, text


@pytest.fixture
def partner(login_as, make_partner):
    manager = login_as("manager")
    return make_partner(name="Ромашка", code="R-1", city="Москва", responsible=manager)


def test_edit_link_gives_an_input_with_the_current_value(client, partner):
    response = client.get(f"/partners/{partner.id}/fields/city?edit=1", headers=HX)

    page = text(response)
    assert response.status_code == 200
    assert "<html" not in page
    assert '<form id="field-city" class="inline-field-form" method="post"' in page
    assert f'hx-post="/partners/{partner.id}/fields/city"' in page
    assert 'name="value" value="Москва"' in page


def test_save_returns_the_display_fragment_and_records_the_change(client, partner):
    response = client.post(f"/partners/{partner.id}/fields/city", headers=HX,
                           data={"value": "  Санкт-Петербург "})  # fmt: skip

    page = text(response)
    assert response.status_code == 200
    assert "<html" not in page
    assert '<div id="field-city" class="inline-field">' in page
    assert '<span class="field-value">Санкт-Петербург</span>' in page
    p = fresh(Partner, partner.id)
    assert (p.city, p.city_norm) == ("Санкт-Петербург", "санкт-петербург")
    [entry] = audit_entries(partner.id)
    assert (entry.action, entry.changes) == ("update", {"city": ["Москва", "Санкт-Петербург"]})


def test_renaming_in_place_updates_search(client, partner):
    client.post(f"/partners/{partner.id}/fields/name", headers=HX, data={"value": "Лютик"})

    p = fresh(Partner, partner.id)
    assert (p.name, p.name_norm) == ("Лютик", "лютик")
    assert "лютик" in p.search_text and "ромашка" not in p.search_text


def test_save_without_htmx_redirects_to_the_card(client, partner):
    response = client.post(f"/partners/{partner.id}/fields/notes", data={"value": "две\nстроки"})

    assert response.status_code == 302
    assert response.headers["Location"] == f"/partners/{partner.id}"
    assert fresh(Partner, partner.id).notes == "две\nстроки"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Name is required."),
        ("name", "Я" * 4000, "Name is too long: 4000 characters, at most 255."),
        ("name", "Ромашка\x1b[31m", "Name contains control characters or line breaks."),
        ("city", "Мос\nква", "City contains control characters or line breaks."),
        ("inn", "12ab", "A tax id is 4 to 20 digits (10 or 12 for a Russian INN)."),
    ],
)
def test_invalid_value_gives_422_with_message_and_changes_nothing(
    client, partner, field, value, message
):
    response = client.post(
        f"/partners/{partner.id}/fields/{field}", headers=HX, data={"value": value}
    )

    page = text(response)
    assert response.status_code == 422
    assert "<html" not in page
    assert f'<div class="invalid-feedback d-block">{message}</div>' in page
    assert 'class="form-control is-invalid"' in page
    p = fresh(Partner, partner.id)
    assert (p.name, p.city, p.inn) == ("Ромашка", "Москва", "")
    assert audit_entries(partner.id) == []


def test_code_taken_by_another_partner_is_refused(client, partner, make_partner):
    make_partner(name="Лютик", code="L-7")

    response = client.post(f"/partners/{partner.id}/fields/code", headers=HX, data={"value": "L-7"})

    assert response.status_code == 422
    assert "Code &#39;L-7&#39; belongs to another partner." in text(response)
    assert fresh(Partner, partner.id).code == "R-1"


def test_fields_not_editable_in_place_are_404(client, partner):
    url = f"/partners/{partner.id}/fields/"
    statuses = {
        field: (
            client.get(url + field, query_string={"edit": 1}).status_code,
            client.post(url + field, data={"value": "1"}).status_code,
        )
        for field in ("responsible_id", "merged_into_id", "search_text", "nope")
    }

    assert set(statuses.values()) == {(404, 404)}
    assert fresh(Partner, partner.id).responsible_id is not None


def test_manager_cannot_edit_another_managers_partner_in_place(
    client, partner, make_user, make_partner
):
    other = make_partner(name="Чужой", city="Тула", responsible=make_user("manager"))

    response = client.post(f"/partners/{other.id}/fields/city", headers=HX, data={"value": "X"})

    assert response.status_code == 403
    assert fresh(Partner, other.id).city == "Тула"


def test_clearing_the_code_in_place_is_refused(client, partner):
    response = client.post(f"/partners/{partner.id}/fields/code", data={"value": "  "}, headers=HX)

    assert response.status_code == 422
    assert "needs a code" in text(response)
    assert fresh(Partner, partner.id).code == "R-1"


def test_a_tab_pasted_into_a_one_line_field_is_stored_as_a_space(client, partner):
    response = client.post(
        f"/partners/{partner.id}/fields/city", data={"value": "Нижний\tНовгород"}, headers=HX
    )

    assert response.status_code == 200
    assert fresh(Partner, partner.id).city == "Нижний Новгород"


def test_history_names_the_responsible_manager_not_his_id(client, login_as, make_user, partner):
    admin = login_as("admin")
    successor = make_user("manager", name="Пётр Сменщиков")

    response = client.post(
        f"/partners/{partner.id}/edit",
        data={
            "name": partner.name,
            "code": partner.code,
            "kind": "company",
            "roles": ["client"],
            "city": partner.city,
            "responsible_id": str(successor.id),
        },
    )

    assert response.status_code == 302, text(response)[:300]
    change = audit_entries(partner.id, action="update")[-1].changes
    assert change["responsible"][1] == "Пётр Сменщиков"
    assert "responsible_id" not in change
    assert admin.role == "admin"
