"""Long lists: a filtered list counts its matches only up to a limit ("1,000+"), the whole list
exactly; pages still reach every match; the city suggestions follow new partners."""

from __future__ import annotations

import re

import pytest

from crm.partners import queries
from tests.partners.helpers import HX, listed_names, text


@pytest.fixture
def eight_matches(app, login_as, make_partner, monkeypatch):
    """An admin, pages of 3, a count limit of 5, and 8 partners named "Ромашка N" + 2 others."""
    login_as("admin")
    app.config["PAGE_SIZE"] = 3
    monkeypatch.setattr(queries, "COUNT_LIMIT", 5)
    for n in range(8, 0, -1):
        make_partner(name=f"Ромашка {n}", city="Тула")
    make_partner(name="Василёк", city="Омск")
    make_partner(name="Лютик", city="Омск")


def count_line(response) -> str:
    found = re.search(r'id="partner-count">\s*(.*?)\s*</p>', text(response), re.S)
    return " ".join(found.group(1).split())


def pager_line(response) -> str:
    found = re.search(r"Page \d+ of [\d,+]+", text(response))
    return found.group(0) if found else ""


def test_filtered_list_past_the_limit_says_there_are_more(client, eight_matches):
    response = client.get("/partners/?q=ромашка", headers=HX)

    assert listed_names(response) == ["Ромашка 1", "Ромашка 2", "Ромашка 3"]
    assert count_line(response) == "5+ partners found"
    assert pager_line(response) == "Page 1 of 2+"
    assert '&amp;page=2" hx-get=' in text(response)  # "Next" is a link


def test_pages_past_the_limit_still_list_every_match(client, eight_matches):
    second = client.get("/partners/?q=ромашка&page=2", headers=HX)
    last = client.get("/partners/?q=ромашка&page=3", headers=HX)

    assert listed_names(second) == ["Ромашка 4", "Ромашка 5", "Ромашка 6"]
    assert pager_line(second) == "Page 2 of 3+"
    assert listed_names(last) == ["Ромашка 7", "Ромашка 8"]
    # On the last page every match has been seen: the total is exact again.
    assert count_line(last) == "8 partners found"
    assert pager_line(last) == "Page 3 of 3"


def test_page_past_the_end_of_a_long_match_shows_the_last_page(client, eight_matches):
    response = client.get("/partners/?q=ромашка&page=40", headers=HX)

    assert listed_names(response) == ["Ромашка 7", "Ромашка 8"]
    assert count_line(response) == "8 partners found"


def test_matches_within_the_limit_are_counted_exactly(client, eight_matches):
    response = client.get("/partners/?city=Омск", headers=HX)

    assert listed_names(response) == ["Василёк", "Лютик"]
    assert count_line(response) == "2 partners found"
    assert pager_line(response) == ""


def test_unfiltered_list_is_counted_exactly_past_the_limit(client, eight_matches):
    response = client.get("/partners/", headers=HX)

    assert count_line(response) == "10 partners"
    assert pager_line(response) == "Page 1 of 4"


def test_city_suggestions_list_a_new_partners_city_at_once(client, login_as, make_partner):
    login_as("admin")
    make_partner(name="Ромашка", city="Тула")
    make_partner(name="Лютик", city="ТУЛА")
    first = text(client.get("/partners/"))
    make_partner(name="Василёк", city="Омск")
    second = text(client.get("/partners/"))

    def suggestions(page):
        datalist = re.search(r'<datalist id="city-list">(.*?)</datalist>', page, re.S).group(1)
        return re.findall(r'<option value="([^"]*)">', datalist)

    assert [s.casefold() for s in suggestions(first)] == ["тула"]  # one spelling per city
    assert [s.casefold() for s in suggestions(second)] == ["омск", "тула"]
