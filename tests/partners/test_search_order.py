"""A word in many partners lists its matches in name order, page after page, however they lie
in the list (at its start, or clustered after every Latin name), on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import text as sql

from crm.extensions import db
from crm.partners import queries
from tests.partners.helpers import HX, listed_names, text

LATIN = [f"Acme {c}{d}" for c in "bcdefgh" for d in "xyz"]  # 21 names without "о"
CYRILLIC = [f"ООО Ромашка {n:02d}" for n in range(1, 13)]  # 12 names with "ооо"


@pytest.fixture
def common_word(app, login_as, make_partner, monkeypatch):
    """An admin, pages of 4, a count limit of 5: "ооо" and "acme" are common words."""
    login_as("admin")
    app.config["PAGE_SIZE"] = 4
    monkeypatch.setattr(queries, "COUNT_LIMIT", 5)
    for name in reversed(LATIN + CYRILLIC):  # ids in the reverse of name order
        make_partner(name=name)
    make_partner(name="Acme Ромашка", city="Омск")  # both words, among the Latin names
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sql("ANALYZE partner"))  # the histogram the walk decision reads
        db.session.commit()


def pages(client, q: str, n: int) -> list[list[str]]:
    return [listed_names(client.get(f"/partners/?q={q}&page={p}", headers=HX)) for p in range(1, n)]


def by_fours(names: list[str]) -> list[list[str]]:
    return [names[i : i + 4] for i in range(0, len(names), 4)]


def test_common_word_at_the_start_of_the_list_pages_in_name_order(client, common_word):
    # "acme" is in the first names of the list (a short walk on PostgreSQL).
    expected = sorted(LATIN + ["Acme Ромашка"], key=str.casefold)

    assert pages(client, "acme", 7) == by_fours(expected)
    assert "5+ partners found" in text(client.get("/partners/?q=acme", headers=HX))


def test_common_word_after_every_latin_name_pages_in_name_order(client, common_word):
    # "ооо" is in no Latin name: its matches start a third of the way down the list.
    expected = sorted(CYRILLIC, key=str.casefold)

    assert pages(client, "ооо", 4) == by_fours(expected)


def test_a_walk_that_gives_up_lists_the_same_page(client, common_word, monkeypatch):
    # A walk allowed 3 rows finds too few matches: the sorted read must give the same pages.
    monkeypatch.setattr(queries, "WALK_MIN", 3)
    monkeypatch.setattr(queries, "WALK_ROWS", 0)
    expected = sorted(LATIN + ["Acme Ромашка"], key=str.casefold)

    assert pages(client, "acme", 7) == by_fours(expected)


def test_common_word_for_a_manager_lists_only_his_partners(
    app, client, login_as, make_partner, make_user, monkeypatch
):
    me = login_as("manager")
    other = make_user("manager")
    app.config["PAGE_SIZE"] = 3
    monkeypatch.setattr(queries, "COUNT_LIMIT", 2)
    mine = [f"Acme {c}" for c in "adcbe"]
    for name in mine:
        make_partner(name=name, responsible=me)
    for name in ("Acme aa", "Acme bb", "Acme zz"):
        make_partner(name=name, responsible=other)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sql("ANALYZE partner"))
        db.session.commit()

    assert pages(client, "acme", 3) == [["Acme a", "Acme b", "Acme c"], ["Acme d", "Acme e"]]
