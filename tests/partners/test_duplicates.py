"""Warnings about likely duplicates when creating or renaming a partner, and the live check."""

from __future__ import annotations

import pytest

from crm.partners.models import Partner
from tests.partners.helpers import HX, form, fresh, partner_count, text


@pytest.fixture
def romashka(login_as, make_partner):
    login_as("admin")
    return make_partner(
        name="ООО Ромашка",
        code="R-1",
        city="Москва",
        inn="7701234567",
        emails=["info@romashka.ru"],
        phones=["+79123456789"],
    )


CASES = {
    "e-mail in another case": (
        {"name": "Совсем другое", "email": "INFO@Romashka.RU"},
        "same e-mail info@romashka.ru",  # as the form cleaned it
    ),
    "phone in another format": (
        {"name": "Совсем другое", "phone": "8 (912) 345-67-89"},
        "same phone 8 (912) 345-67-89",
    ),
    "tax id with spaces": (
        {"name": "Совсем другое", "inn": "77 0123 4567"},
        "same tax id 7701234567",
    ),
    "name with another legal form": ({"name": "Ромашка, LLC"}, "same name"),
    "name in another case": ({"name": "ромашка"}, "same name"),
    "name with punctuation": ({"name": "«Ромашка»"}, "same name"),
}


def test_likely_duplicate_is_refused_with_warning_and_link(client, romashka):
    outcomes = {}
    for case, (fields, reason) in CASES.items():
        response = client.post("/partners/new", data=form(**fields))
        page = text(response)
        outcomes[case] = (
            response.status_code,
            "Possible duplicate:" in page,
            f'<a href="/partners/{romashka.id}" target="_blank">ООО Ромашка</a>' in page,
            reason in page,
            'name="confirm_duplicates"' in page,
        )
        # The typed values stay in the form for the second try.
        assert f'value="{fields["name"]}"' in page

    assert outcomes == {case: (409, True, True, True, True) for case in CASES}
    assert partner_count() == 1


def test_several_reasons_are_listed_together(client, romashka):
    page = text(client.post("/partners/new", data=form(name="Ромашка", inn="7701234567")))

    assert "same tax id 7701234567, same name" in page


def test_confirmed_duplicate_is_stored(client, romashka):
    response = client.post(
        "/partners/new",
        data=form(name="Ромашка, LLC", email="info@romashka.ru", confirm_duplicates="y"),
    )

    assert response.status_code == 302
    assert partner_count() == 2
    created = fresh(Partner, 2)
    assert created.name == "Ромашка, LLC"
    assert [d.value for d in created.contact_details] == ["info@romashka.ru"]


def test_latin_names_differing_in_case_and_legal_form_match(client, login_as, make_partner):
    login_as("admin")
    make_partner(name="ROMASHKA")

    response = client.post("/partners/new", data=form(name="Romashka Ltd"))

    assert response.status_code == 409
    assert "same name" in text(response)
    assert partner_count() == 1


def test_name_with_a_typo_after_the_first_word_is_very_similar(client, login_as, make_partner):
    login_as("admin")
    existing = make_partner(name="Ромашка Трейдинг")

    response = client.post("/partners/new", data=form(name="ООО «Ромашка Трейдин»"))

    assert response.status_code == 409
    assert f'href="/partners/{existing.id}"' in text(response)
    assert "very similar name" in text(response)
    assert partner_count() == 1


def test_name_with_a_typo_in_the_first_word_is_very_similar(client, login_as, make_partner):
    login_as("admin")
    existing = make_partner(name="Ромашка Трейдинг")

    response = client.post("/partners/new", data=form(name="Ромашкка Трейдинг"))

    assert response.status_code == 409
    assert f'href="/partners/{existing.id}"' in text(response)
    assert "very similar name" in text(response)


def test_name_written_with_yo_matches_the_one_written_with_e(client, login_as, make_partner):
    login_as("admin")
    make_partner(name="Пётр Семёнов")

    response = client.post("/partners/new", data=form(name="Петр Семенов", kind="person"))

    assert response.status_code == 409
    assert "same name" in text(response)


def test_dissimilar_partner_is_created_without_warning(client, romashka):
    response = client.post(
        "/partners/new",
        data=form(
            name="Василёк", email="info@vasilek.ru", phone="+7 912 345-67-80", inn="7701234568"
        ),
    )

    assert response.status_code == 302
    assert partner_count() == 2


def test_contact_persons_email_counts_for_its_partner(client, login_as, make_partner):
    login_as("admin")
    owner = make_partner(name="Лютик", persons=[{"name": "Анна", "email": "anna@lutik.ru"}])

    response = client.post("/partners/new", data=form(name="Другая", email="Anna@Lutik.ru"))

    assert response.status_code == 409
    assert f'href="/partners/{owner.id}"' in text(response)


def test_duplicate_of_merged_partner_points_at_the_survivor(client, login_as, make_partner):
    login_as("admin")
    survivor = make_partner(name="Ромашка Групп")
    make_partner(name="Лютик", inn="7701234567", merged_into_id=survivor.id)

    page = text(client.post("/partners/new", data=form(name="Другая", inn="7701234567")))

    assert f'<a href="/partners/{survivor.id}" target="_blank">Ромашка Групп</a>' in page
    assert "Лютик" not in page


def test_renaming_into_a_lookalike_warns_but_other_edits_do_not(client, romashka, make_partner):
    other = make_partner(name="Лютик", code="L-1")

    renamed = client.post(f"/partners/{other.id}/edit", data=form(name="Ромашка", code="L-1"))
    moved = client.post(
        f"/partners/{other.id}/edit", data=form(name="Лютик", code="L-1", city="Тула")
    )

    assert renamed.status_code == 409
    assert f'href="/partners/{romashka.id}"' in text(renamed)
    assert moved.status_code == 302
    p = fresh(Partner, other.id)
    assert (p.name, p.city) == ("Лютик", "Тула")


def test_confirmed_rename_into_a_lookalike_is_saved(client, romashka, make_partner):
    other = make_partner(name="Лютик", code="L-1")

    response = client.post(
        f"/partners/{other.id}/edit", data=form(name="Ромашка", code="L-1", confirm_duplicates="y")
    )

    assert response.status_code == 302
    assert fresh(Partner, other.id).name == "Ромашка"


def test_live_duplicate_check_returns_the_warning_fragment(client, romashka):
    response = client.get(
        "/partners/duplicates",
        query_string={"phone": "+7 (912) 345 67 89", "name": "Ромашка"},
        headers=HX,
    )

    page = text(response)
    assert response.status_code == 200
    assert "<html" not in page
    assert "Possible duplicate:" in page
    assert f'<a href="/partners/{romashka.id}" target="_blank">ООО Ромашка</a>' in page
    assert "same phone +7 (912) 345 67 89, same name" in page
    assert "confirm_duplicates" not in page  # the form's own warning offers that
    assert "HX-Request" in response.headers["Vary"]


def test_live_check_is_empty_for_a_new_name_and_excludes_the_partner_itself(client, romashka):
    new = client.get("/partners/duplicates", query_string={"name": "Василёк"}, headers=HX)
    itself = client.get(
        "/partners/duplicates",
        headers=HX,
        query_string={"name": "ООО Ромашка", "exclude": str(romashka.id)},
    )

    assert new.status_code == itself.status_code == 200
    assert text(new).strip() == ""
    assert text(itself).strip() == ""


def test_live_check_survives_garbage_input(client, romashka):
    for query in (
        "exclude=%C2%B2",
        "exclude=99999999999999999999",
        "email=a%00b%40c.ru",
        "name=%00%01",
        "phone=%00",
        "inn=%00",
    ):
        response = client.get(f"/partners/duplicates?{query}", headers=HX)
        assert (query, response.status_code) == (query, 200)
