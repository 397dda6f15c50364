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
    found = re.search(r"Page \d+ of (?:≈\s)?[\d,+]+", text(response))
    return " ".join(found.group(0).split()) if found else ""


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


def _analyze_partners() -> None:
    """Statistics as autovacuum would have them (PostgreSQL; SQLite has no estimate)."""
    from sqlalchemy import text as sql

    from crm.extensions import db

    if db.engine.dialect.name == "postgresql":
        db.session.execute(sql("ANALYZE partner"))
        db.session.commit()


def test_big_unfiltered_list_shows_an_estimate_on_postgresql(
    app, client, eight_matches, monkeypatch
):
    # 10 partners, pages of 3; "big" starts at 6 here (EXACT_COUNT_UPTO is 20,000 for real).
    monkeypatch.setattr(queries, "EXACT_COUNT_UPTO", 6)
    _analyze_partners()

    first = client.get("/partners/", headers=HX)

    assert listed_names(first) == ["Василёк", "Лютик", "Ромашка 1"]
    if app.config["CRM_BACKEND"] == "postgresql":
        # The planner's estimate, marked as one; "Next" still leads on.
        assert count_line(first) == "≈ 10 partners"
        assert pager_line(first) == "Page 1 of ≈ 4"
    else:
        assert count_line(first) == "10 partners"
        assert pager_line(first) == "Page 1 of 4"
    assert '/partners/?page=2" hx-get=' in text(first)


def test_pages_of_an_estimated_list_reach_the_end_and_count_it(
    app, client, eight_matches, monkeypatch
):
    monkeypatch.setattr(queries, "EXACT_COUNT_UPTO", 6)
    _analyze_partners()

    third = client.get("/partners/?page=3", headers=HX)
    last = client.get("/partners/?page=4", headers=HX)
    past = client.get("/partners/?page=9", headers=HX)

    assert listed_names(third) == ["Ромашка 5", "Ромашка 6", "Ромашка 7"]
    assert listed_names(last) == ["Ромашка 8"]
    # On the last page every partner has been seen: the count is exact, on both databases.
    assert count_line(last) == "10 partners"
    assert pager_line(last) == "Page 4 of 4"
    assert listed_names(past) == ["Ромашка 8"]
    assert count_line(past) == "10 partners"


def test_newest_first_lists_every_partner_by_date(app, client, login_as, make_partner):
    from datetime import date

    login_as("admin")
    app.config["PAGE_SIZE"] = 2
    days = {"Альфа": date(2026, 3, 1), "Бета": date(2026, 1, 5), "Гамма": date(2026, 3, 1)}
    made = {name: make_partner(name=name, created_on=day) for name, day in days.items()}
    make_partner(name="Дельта", created_on=date(2025, 12, 31))
    # Newest first; the same day: the later-made (higher id) first.
    first = client.get("/partners/?sort=-created", headers=HX)
    second = client.get("/partners/?sort=-created&page=2", headers=HX)

    assert made["Гамма"].id > made["Альфа"].id
    assert listed_names(first) == ["Гамма", "Альфа"]
    assert listed_names(second) == ["Бета", "Дельта"]
    assert count_line(first) == "4 partners"
