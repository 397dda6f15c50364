"""The contact reports are paged like the lists (the shared pager); the downloads and the
"print all" view hold every row of the filter. Seven partners, three to a page (the page size
is lowered for the test), named so that the name order is plain: П01 … П07."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from crm.extensions import db
from crm.partners import reports
from tests.partners.helpers import HX, text

NAMES = [f"П0{n}" for n in range(1, 8)]


@pytest.fixture
def seven(login_as, make_partner, monkeypatch):
    login_as("admin")
    monkeypatch.setattr(reports, "REPORT_PAGE_SIZE", 3)
    # Created out of name order, so that the order shown comes from the sort.
    for n in (5, 2, 7, 1, 4, 6, 3):
        make_partner(
            name=f"П0{n}",
            code=f"C-{n}",
            city="Тверь" if n % 2 else "Омск",
            persons=[{"name": f"Лицо {n}"}],
        )
    db.session.commit()


def partners_shown(response) -> list[str]:
    assert response.status_code == 200
    return [
        html.unescape(n) for n in re.findall(r'<td data-label="Partner">(.*?)</td>', text(response))
    ]


def test_each_page_shows_its_rows_with_the_pager(client, seven):
    first = client.get("/partners/reports/contacts")
    second = client.get("/partners/reports/contacts?page=2")
    third = client.get("/partners/reports/contacts?page=3")

    assert partners_shown(first) == ["П01", "П02", "П03"]
    assert partners_shown(second) == ["П04", "П05", "П06"]
    assert partners_shown(third) == ["П07"]
    assert "Page 2 of 3" in text(second)
    assert 'href="/partners/reports/contacts?page=3"' in text(second)  # Next
    assert 'href="/partners/reports/contacts"' in text(second)  # Previous: page 1, no number
    # On paper, the page says it is one page and where every row is.
    assert "Page 2 of 3. “Print all” above the report prints every row." in text(second)


def test_pages_keep_the_filter_and_the_fragment_updates_the_filter_count(client, seven):
    page = client.get("/partners/reports/contacts?city=Тверь&page=2", headers=HX)

    # Тверь: П01, П03, П05, П07 -> page 2 holds the fourth.
    assert partners_shown(page) == ["П07"]
    assert "Page 2 of 2" in text(page)
    assert (
        '<span id="partner-filters-count" data-count="1" hx-swap-oob="true">Filters (1)</span>'
        in text(page)
    )


def test_person_report_pages_by_partner(client, seven):
    second = text(client.get("/partners/reports/persons?page=2"))

    persons = re.findall(r'<td data-label="Contact person">(.*?)</td>', second)
    assert persons == ["Лицо 4", "Лицо 5", "Лицо 6"]


@pytest.mark.parametrize(
    ("page", "shown", "warning"),
    [
        ("abc", ["П01", "П02", "П03"], "Unknown page number; showing the first page."),
        ("0", ["П01", "П02", "П03"], "Unknown page number; showing the first page."),
        ("-2", ["П01", "П02", "П03"], "Unknown page number; showing the first page."),
        ("99", ["П07"], None),  # past the end: the last page, as the lists do
    ],
)
def test_a_bad_page_number_is_handled_like_the_lists(client, seven, page, shown, warning):
    report = client.get("/partners/reports/contacts", query_string={"page": page})
    listed = client.get("/partners/", query_string={"page": page})

    assert partners_shown(report) == shown
    if warning:
        assert warning in text(report)
        assert warning in text(listed)


def test_the_downloads_hold_every_row_whatever_the_page(client, seven):
    body = client.get("/partners/reports/contacts?format=csv&page=2").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))

    assert [r[1] for r in rows[1:]] == NAMES
    persons = client.get("/partners/reports/persons?format=csv&page=3").get_data(as_text=True)
    assert [r[2] for r in list(csv.reader(io.StringIO(persons.lstrip("\ufeff"))))[1:]] == [
        f"Лицо {n}" for n in range(1, 8)
    ]


def test_print_all_shows_every_row_of_the_filter_on_one_page(client, seven):
    report = text(client.get("/partners/reports/contacts?city=Тверь"))
    assert 'href="/partners/reports/contacts?print=all&amp;city=%D0%A2' in report

    everything = client.get("/partners/reports/contacts?print=all")
    tver = client.get("/partners/reports/contacts?print=all&city=Тверь&page=2")

    assert partners_shown(everything) == NAMES
    assert "7 rows: every row of the filter." in text(everything)
    assert 'aria-label="Pages"' not in text(everything)  # no pager
    assert partners_shown(tver) == ["П01", "П03", "П05", "П07"]


def test_print_all_says_when_it_stops_short(client, seven, monkeypatch):
    monkeypatch.setattr(reports, "PRINT_LIMIT", 5)

    cut = client.get("/partners/reports/contacts?print=all")

    assert partners_shown(cut) == NAMES[:5]
    assert "The first 5 rows of the filter; the CSV and XLSX downloads hold every row." in text(cut)


def test_report_pages_in_russian(client, login_as, make_partner, monkeypatch):
    login_as("admin", locale="ru")
    monkeypatch.setattr(reports, "REPORT_PAGE_SIZE", 3)
    for n in range(1, 6):
        make_partner(name=f"Р{n}", code=f"R-{n}")
    db.session.commit()

    second = text(client.get("/partners/reports/contacts?page=2"))
    everything = text(client.get("/partners/reports/contacts?print=all"))
    page = text(client.get("/partners/reports/contacts?city=Тверь&role=client", headers=HX))

    assert "Страница 2 из 2. «Печать всего» над отчётом печатает все строки." in second
    assert ">Печать страницы</button>" in second
    assert ">Печать всего</a>" in second
    assert "5 строк: все строки отбора." in everything
    assert ">Фильтры (2)</span>" in page
