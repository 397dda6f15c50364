"""The partner list: search as you type, filters, sorting, pages; page and HTMX fragment."""

from __future__ import annotations

from datetime import date

import pytest

from crm.partners.services import tags_by_name
from tests.partners.helpers import HX, listed_names, text


@pytest.fixture
def catalogue(app, login_as, make_user, make_partner):
    """An admin signed in and five partners with distinct names, codes and contacts."""
    admin = login_as("admin")
    anna = make_user("manager", name="Анна")
    boris = make_user("manager", name="Борис")
    [opt, vip] = tags_by_name(["Опт", "VIP"])
    make_partner(
        name="Иванов и партнёры",
        code="IV-001",
        inn="500100732259",
        city="Москва",
        emails=["Ivanov@Mail.ru"],
        phones=["+79123456789"],
        tags=[opt],
        responsible=anna,
        created_on=date(2023, 5, 1),
    )
    make_partner(
        name="Петров ООО",
        code="PT-002",
        city="Казань",
        is_supplier=True,
        is_client=False,
        persons=[{"name": "Анна Кузнецова", "email": "anna@petrov.ru"}],
        tags=[vip],
        responsible=boris,
        created_on=date(2024, 1, 10),
    )
    make_partner(
        name="Сидоров",
        code="SD-003",
        city="москва",
        phones=["8 (495) 765-43-21"],
        tags=[opt, vip],
        created_on=date(2022, 2, 2),
    )
    make_partner(
        name="Alpha Trade",
        code="AL-004",
        is_competitor=True,
        is_client=False,
        emails=["sales@alpha.com"],
        responsible=anna,
        created_on=date(2024, 6, 30),
    )
    make_partner(
        name="Ель", code="EL-005", city="Тула", responsible=admin, created_on=date(2021, 12, 31)
    )
    return {"admin": admin, "anna": anna, "boris": boris, "opt": opt, "vip": vip}


def names(client, query: str = "", headers=None, **params) -> list[str]:
    """Names listed for a raw query string and/or parameters (encoded by the client)."""
    url = "/partners/" + (f"?{query}" if query else "")
    response = client.get(url, query_string=params or None, headers=headers)
    assert response.status_code == 200
    return listed_names(response)


def test_list_shows_every_live_partner_sorted_by_name(client, catalogue, make_partner):
    make_partner(name="Слитый", merged_into_id=1)

    assert names(client) == ["Alpha Trade", "Ель", "Иванов и партнёры", "Петров ООО", "Сидоров"]


SEARCHES = {
    "иванов": ["Иванов и партнёры"],  # Cyrillic, another case
    "ИВАНОВ ПАРТНЁРЫ": ["Иванов и партнёры"],  # every word must occur, in any case
    "alpha": ["Alpha Trade"],
    "pt-002": ["Петров ООО"],  # code
    "ivanov@mail.ru": ["Иванов и партнёры"],  # e-mail, stored in another case
    "anna@petrov.ru": ["Петров ООО"],  # a contact person's e-mail
    "кузнецова": ["Петров ООО"],  # a contact person's name
    "500100732259": ["Иванов и партнёры"],  # tax id
    "9123456": ["Иванов и партнёры"],  # digits inside the phone
    "+7 912 345-67-89": ["Иванов и партнёры"],  # the phone in another format
    "(495) 765": ["Сидоров"],  # stored as typed "8 (495) 765-43-21"
    "74957654321": ["Сидоров"],  # ... and found by its E.164 digits too
    "нет такого": [],
    "100%": [],  # LIKE wildcards are literal
}


def test_search_as_you_type_finds_by_name_code_email_phone_and_tax_id(client, catalogue):
    found = {q: names(client, q=q) for q in SEARCHES}

    assert found == SEARCHES


def test_search_finds_phone_typed_in_national_format(client, catalogue):
    assert names(client, q="8 (912) 345-67-89") == ["Иванов и партнёры"]
    assert names(client, q="8 912 345") == ["Иванов и партнёры"]  # half typed


def test_filters_by_role_manager_tag_and_city(client, catalogue):
    anna, opt, vip = catalogue["anna"], catalogue["opt"], catalogue["vip"]

    assert names(client, "role=supplier") == ["Петров ООО"]
    assert names(client, "role=competitor") == ["Alpha Trade"]
    assert names(client, f"manager={anna.id}") == ["Alpha Trade", "Иванов и партнёры"]
    assert names(client, "manager=none") == ["Сидоров"]
    assert names(client, f"tag={opt.id}") == ["Иванов и партнёры", "Сидоров"]
    assert names(client, f"tag={vip.id}&role=client") == ["Сидоров"]
    assert names(client, "city=МОСКВА") == ["Иванов и партнёры", "Сидоров"]
    assert names(client, f"city=Москва&manager={anna.id}&q=иван") == ["Иванов и партнёры"]


def test_sorting_by_name_descending_and_by_creation_date(client, catalogue):
    assert names(client, "sort=-name") == [
        "Сидоров",
        "Петров ООО",
        "Иванов и партнёры",
        "Ель",
        "Alpha Trade",
    ]
    assert names(client, "sort=created") == [
        "Ель",
        "Сидоров",
        "Иванов и партнёры",
        "Петров ООО",
        "Alpha Trade",
    ]
    assert names(client, "sort=-created") == [
        "Alpha Trade",
        "Петров ООО",
        "Иванов и партнёры",
        "Сидоров",
        "Ель",
    ]
    assert names(client, "sort=code") == [
        "Alpha Trade",
        "Ель",
        "Иванов и партнёры",
        "Петров ООО",
        "Сидоров",
    ]


def test_pages_show_their_rows_and_the_total(app, client, login_as, make_partner):
    login_as("admin")
    app.config["PAGE_SIZE"] = 3
    for n in range(7, 0, -1):
        make_partner(name=f"Партнёр {n:02d}")

    first = client.get("/partners/")
    assert listed_names(first) == ["Партнёр 01", "Партнёр 02", "Партнёр 03"]
    assert "7 partners" in text(first)
    assert "Page 1 of 3" in text(first)
    second = client.get("/partners/?page=2", headers=HX)
    assert listed_names(second) == ["Партнёр 04", "Партнёр 05", "Партнёр 06"]
    assert 'href="/partners/?page=3"' in text(second)
    assert 'href="/partners/"' in text(second)  # "Previous" drops page=1
    assert names(client, "page=3") == ["Партнёр 07"]
    # Past the end: the last page, not an empty one.
    assert names(client, "page=40") == ["Партнёр 07"]


def test_pager_links_keep_the_filter(app, client, login_as, make_partner):
    login_as("admin")
    app.config["PAGE_SIZE"] = 2
    for n in range(1, 6):
        make_partner(name=f"Тула {n}", city="Тула")
    make_partner(name="Тула 0 в Москве", city="Москва")

    page = text(client.get("/partners/?city=Тула&sort=-name"))

    assert "5 partners found" in page
    assert 'href="/partners/?city=%D0%A2%D1%83%D0%BB%D0%B0&amp;sort=-name&amp;page=2"' in page


def test_htmx_request_gets_only_the_results_fragment(client, catalogue):
    response = client.get("/partners/?q=иванов", headers=HX)

    body = text(response)
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="partner-filters"' not in body
    assert '<tbody id="partner-rows">' in body
    assert listed_names(response) == ["Иванов и партнёры"]
    assert "HX-Request" in response.headers["Vary"]


def test_full_page_has_layout_filters_and_rows(client, catalogue):
    response = client.get("/partners/?q=иванов")

    body = text(response)
    assert "<html" in body
    assert 'id="partner-filters"' in body
    assert 'value="иванов"' in body
    assert listed_names(response) == ["Иванов и партнёры"]
    assert "HX-Request" in response.headers["Vary"]


def test_manager_lists_only_own_partners(client, login_as, make_user, make_partner):
    me = login_as("manager")
    make_partner(name="Мой", responsible=me)
    make_partner(name="Чужой", responsible=make_user("manager"))
    make_partner(name="Ничей")

    assert names(client) == ["Мой"]
    assert names(client, "manager=none") == []


BAD_FILTERS = {
    "page=abc": "Unknown page number; showing the first page.",
    "page=-2": "Unknown page number; showing the first page.",
    "page=99999999999": "Unknown page number; showing the first page.",
    "page=%C2%B2": "Unknown page number; showing the first page.",  # "²" is a digit to isdigit
    "sort=zzz": "Unknown sort order &#39;zzz&#39; ignored.",
    "role=boss": "Unknown role &#39;boss&#39; ignored.",
    "tag=x": "Unknown tag ignored.",
    "tag=%C2%B2": "Unknown tag ignored.",
    "tag=99999999999999999999999": "Unknown tag ignored.",
    "manager=abc": "Unknown responsible manager ignored.",
    "manager=%C2%B2": "Unknown responsible manager ignored.",
    "manager=99999999999999999999999": "Unknown responsible manager ignored.",
    "q=" + "я" * 5000: "The search text was cut to 200 characters.",
    "q=%D0%B8%D0%B2%00": "The search text had control characters; they were removed.",
    "city=%00%01": "The city had control characters; they were removed.",
}


def test_bad_filter_values_give_a_warning_not_an_error(client, catalogue):
    outcomes = {}
    for query in BAD_FILTERS:
        for headers in (None, HX):
            response = client.get(f"/partners/?{query}", headers=headers)
            warned = next((w for w in BAD_FILTERS.values() if w in text(response)), None)
            outcomes[query, bool(headers)] = (response.status_code, warned)

    assert outcomes == {(q, hx): (200, w) for q, w in BAD_FILTERS.items() for hx in (False, True)}


def test_search_with_control_characters_still_finds_the_rest(client, catalogue):
    assert names(client, "q=%D0%B8%D0%B2%D0%B0%D0%BD%00") == ["Иванов и партнёры"]


def test_bad_filter_value_is_dropped_and_the_rest_applies(client, catalogue):
    response = client.get("/partners/?sort=zzz&tag=x&city=Казань")

    assert listed_names(response) == ["Петров ООО"]


def test_names_starting_with_yo_sort_in_alphabet_order(client, login_as, make_partner):
    login_as("admin")
    for name in ("Жук", "Ёж", "Еда"):
        make_partner(name=name)

    assert names(client) == ["Еда", "Ёж", "Жук"]


def _row(page: str, name: str) -> str:
    """The <tr> of the partner `name` in the list."""
    start = page.index(f">{name}</a>")
    return page[page.rindex("<tr>", 0, start) : page.index("</tr>", start)]


def test_a_row_shows_the_main_contacts_tags_in_order_and_who_is_responsible(
    client, login_as, make_user, make_partner
):
    login_as("admin")
    nameless = make_user("manager", name="", email="nameless@example.test")
    [opt, vip, antey] = tags_by_name(["Опт", "VIP", "Антей"])
    full = make_partner(
        name="Ромашка",
        city="Тверь",
        is_client=True,
        is_supplier=True,
        emails=["first@romashka.ru", "main@romashka.ru"],
        phones=["+7 912 000-00-01", "+7 912 000-00-02"],
        persons=[{"name": "Анна", "email": "anna@romashka.ru"}],
        tags=[opt, vip, antey],
        responsible=nameless,
    )
    # The second e-mail becomes the main one; neither phone is main: the first one is shown.
    for d in full.contact_details:
        d.is_main = d.value == "main@romashka.ru"
    make_partner(name="Пустой", is_client=False, is_other=True)
    from crm.extensions import db

    db.session.commit()

    page = text(client.get("/partners/"))
    row = _row(page, "Ромашка")
    assert '<td data-label="Roles">Client, Supplier</td>' in row
    assert '<td data-label="City">Тверь</td>' in row
    assert '<td data-label="Responsible">nameless@example.test</td>' in row
    assert '<a href="mailto:main@romashka.ru">main@romashka.ru</a>' in row
    assert "first@romashka.ru" not in row and "anna@romashka.ru" not in row
    assert '<a href="tel:+79120000001">+7 912 000-00-01</a>' in row
    # Tags in folded-name order: Latin before Cyrillic, "антей" before "опт".
    assert row.index(">VIP<") < row.index(">Антей<") < row.index(">Опт<")
    assert f'<a href="/partners/{full.id}">Ромашка</a>' in row

    empty = _row(page, "Пустой")
    # An empty city is marked: a phone's compact card leaves it out (static/css/app.css).
    assert '<td data-label="City" class="is-empty">—</td>' in empty
    for label in ("Responsible", "E-mail", "Phone"):
        assert f'<td data-label="{label}">—</td>' in empty
    assert '<td data-label="Roles">Other</td>' in empty
    assert '<td data-label="Tags"></td>' in empty
