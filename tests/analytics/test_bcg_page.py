"""The BCG matrix page `analytics.bcg` over the hand-built market of tests/analytics/bcg_history.py
(numbers worked out by hand there): the page returns at once and fetches its results on load
with a progress indicator, the quadrants drill down to their lists, groups to their products,
the chart's points link to their rows, CSV/XLSX downloads, paging, bad parameters, Russian,
permissions."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
import struct
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from crm.extensions import db
from crm.sales.models import Organization, ProductGroup
from tests.analytics.bcg_history import build_market

Q2 = "from=2026-04-01&to=2026-06-30"
HX = {"HX-Request": "true"}


@pytest.fixture
def market(make_partner):
    return build_market(make_partner)


def rows_of(response) -> list[list[str]]:
    """The cells' text of the rows of <table id="bcg-table">."""
    body = response.get_data(as_text=True)
    table = re.search(r'<table[^>]*id="bcg-table".*?</table>', body, re.S)
    assert table, "no BCG table"
    out = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(0), re.S)[1:]:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        out.append([" ".join(html.unescape(re.sub(r"<[^>]+>", "", c)).split()) for c in cells])
    return out


def codes(response) -> list[str]:
    return [row[0] for row in rows_of(response)]


def test_the_page_returns_at_once_and_fetches_its_results_on_load(client, login_as, market):
    login_as("admin")
    page = client.get(f"/analytics/bcg?{Q2}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'hx-trigger="load"' in body and 'hx-indicator="#bcg-computing"' in body
    assert "Computing…" in body and "spinner-border" in body
    assert 'id="bcg-table"' not in body  # nothing computed yet
    # Without JavaScript a link computes the results with the page.
    assert f'href="/analytics/bcg?{Q2}&now=1"' in html.unescape(body)
    fetched = client.get(f"/analytics/bcg?{Q2}", headers={**HX, "HX-Trigger": "bcg-pending"})
    assert "<html" not in fetched.get_data(as_text=True)
    assert "HX-Push-Url" not in fetched.headers  # the page's own address: nothing to push
    assert codes(fetched) == ["T1", "T2", "T3", "C1", "N1"]
    without_js = client.get(f"/analytics/bcg?{Q2}&now=1")
    assert "<html" in without_js.get_data(as_text=True)
    assert codes(without_js) == ["T1", "T2", "T3", "C1", "N1"]


def test_the_table_shows_each_product_with_growth_share_and_quadrant(client, login_as, market):
    login_as("admin")
    response = client.get(f"/analytics/bcg?{Q2}", headers=HX)
    assert rows_of(response) == [
        ["T1", "Leader", "Tea", "₽1,100.00", "₽1,000.00", "10%", "1.00", "Stars"],
        ["T2", "Twin", "Tea", "₽1,100.00", "₽1,001.00", "9.9%", "1.00", "Cash cows"],
        ["T3", "Small", "Tea", "₽550.00", "₽0.00", "new", "0.50", "Question marks"],
        ["C1", "Solo", "Coffee", "₽300.00", "₽600.00", "-50%", "alone", "Cash cows"],
        ["N1", "=Odd", "No group", "-₽20.00", "₽100.00", "-120%", "alone", "Dogs"],
    ]
    body = html.unescape(response.get_data(as_text=True))
    assert "against 31 Dec 2025 to 31 Mar 2026"  # 91 days each in body
    # The quadrants: counts and revenue (total 3030: stars 1100 = 36.3 %).
    star = re.search(r'id="bcg-quadrant-star".*?</a>', body, re.S).group(0)
    assert "1 object" in star and "₽1,100.00 · 36.3%" in star
    cows = re.search(r'id="bcg-quadrant-cash_cow".*?</a>', body, re.S).group(0)
    assert "2 objects" in cows and "₽1,400.00" in cows
    # A change of the filters pushes its address.
    assert response.headers["HX-Push-Url"] == f"/analytics/bcg?{Q2}"


def test_each_quadrant_opens_its_list(client, login_as, market):
    login_as("admin")
    body = client.get(f"/analytics/bcg?{Q2}&now=1").get_data(as_text=True)
    link = re.search(r'id="bcg-quadrant-cash_cow"[^>]*href="([^"]+)"', body)
    link = link or re.search(r'href="([^"]+)"[^>]*id="bcg-quadrant-cash_cow"', body)
    href = html.unescape(re.search(r'href="([^"]+)"', link.group(0)).group(1))
    assert parse_qs(urlsplit(href).query)["quadrant"] == ["cash_cow"]
    listed = client.get(href, headers=HX)
    assert codes(listed) == ["T2", "C1"]
    assert "Cash cows: 2" in listed.get_data(as_text=True)
    empty = client.get(f"/analytics/bcg?{Q2}&quadrant=question_mark&now=1")
    assert codes(empty) == ["T3"]


def test_groups_open_the_matrix_of_their_products(client, login_as, market):
    login_as("admin")
    response = client.get(f"/analytics/bcg?{Q2}&by=groups", headers=HX)
    tea = db.session.query(ProductGroup).filter_by(name="Tea").one()
    rows = rows_of(response)
    assert rows == [
        [str(tea.id), "Tea", "₽2,750.00", "₽2,701.00", "1.8%", "9.17", "Cash cows"],
        [rows[1][0], "Coffee", "₽300.00", "₽600.00", "-50%", "0.11", "Dogs"],
        ["—", "No group", "-₽20.00", "₽100.00", "-120%", "-0.01", "Dogs"],
    ]
    body = response.get_data(as_text=True)
    href = html.unescape(re.search(r'<a href="([^"]*product_group=[^"]*)">Tea</a>', body).group(1))
    assert parse_qs(urlsplit(href).query).get("by", ["products"]) == ["products"]
    assert codes(client.get(href, headers=HX)) == ["T1", "T2", "T3"]


def numbers(value) -> list[float]:
    """A data array of a figure: a list, or plotly's typed array {"dtype": "f8", "bdata": …}."""
    if isinstance(value, dict):
        assert value["dtype"] == "f8"
        raw = base64.b64decode(value["bdata"])
        return list(struct.unpack(f"<{len(raw) // 8}d", raw))
    return list(value)


def figure(response) -> dict:
    body = response.get_data(as_text=True)
    assert "<html" not in body and "data-plotly-links" in body
    raw = re.search(r'data-plotly-figure="([^"]+)"', body).group(1)
    return json.loads(html.unescape(raw))


def test_the_chart_draws_the_placeable_points_each_linking_to_its_row(client, login_as, market):
    login_as("admin")
    fig = figure(client.get(f"/analytics/bcg?{Q2}&chart=1", headers=HX))
    points = {
        point[1]: (x, y, point[0])
        for trace in fig["data"]
        for x, y, point in zip(
            numbers(trace["x"]), numbers(trace["y"]), trace["customdata"], strict=True
        )
    }
    # New (Small), alone (Solo) and revenue ≤ 0 (=Odd) cannot be placed on the axes.
    assert set(points) == {"Leader", "Twin"}
    assert points["Leader"][:2] == (1.0, 10.0)
    assert points["Twin"][1] == pytest.approx(9.8901098901)
    path, query = points["Twin"][2].split("?")
    assert path == "/analytics/bcg" and query.endswith(f"#bcg-row-{market['T2'].id}")
    assert parse_qs(query.split("#")[0])["quadrant"] == ["cash_cow"]
    assert "Revenue: ₽%{customdata[2]:,.2f}<br>" in fig["data"][0]["hovertemplate"]
    assert fig["layout"]["xaxis"]["type"] == "log"
    lines = {(s["x0"], s["y0"]) for s in fig["layout"]["shapes"]}
    assert (1.0, 0) in lines and (0, 10.0) in lines  # the share and growth thresholds
    # Without JavaScript the chart link opens the page with the chart in it.
    page = client.get(f"/analytics/bcg?{Q2}&chart=1").get_data(as_text=True)
    assert "<html" in page and "data-plotly-figure" in page and "plotly.min.js" in page


def test_a_point_on_a_later_page_links_to_that_page(client, login_as, market, monkeypatch):
    monkeypatch.setattr("crm.analytics.bcg_views.PER_PAGE", 1)
    login_as("admin")
    fig = figure(client.get(f"/analytics/bcg?{Q2}&chart=1", headers=HX))
    twin = next(p[0] for t in fig["data"] for p in t["customdata"] if p[1] == "Twin")
    assert "page=" not in twin  # first of the cash cows
    second = client.get(f"/analytics/bcg?{Q2}&page=2", headers=HX)
    assert codes(second) == ["T2"]
    assert "Page 2 of 5" in second.get_data(as_text=True)
    assert codes(client.get(f"/analytics/bcg?{Q2}&page=99", headers=HX)) == ["N1"]  # the last


def csv_of(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_downloads_hold_the_listed_rows(client, login_as, market):
    login_as("admin")
    rows = csv_of(client.get(f"/analytics/bcg?{Q2}&format=csv"))
    assert rows == [
        ["Code", "Name", "Group", "Revenue", "Previous revenue", "Growth (%)", "Relative share",
         "Quadrant"],
        ["T1", "Leader", "Tea", "1100.00", "1000.00", "10.0", "1.000", "Stars"],
        ["T2", "Twin", "Tea", "1100.00", "1001.00", "9.9", "1.000", "Cash cows"],
        ["T3", "Small", "Tea", "550.00", "0.00", "", "0.500", "Question marks"],
        ["C1", "Solo", "Coffee", "300.00", "600.00", "-50.0", "", "Cash cows"],
        ["N1", "'=Odd", "No group", "-20.00", "100.00", "-120.0", "", "Dogs"],
    ]  # fmt: skip
    dogs = csv_of(client.get(f"/analytics/bcg?{Q2}&quadrant=dog&format=csv"))
    assert [r[0] for r in dogs[1:]] == ["N1"]
    xlsx = client.get(f"/analytics/bcg?{Q2}&format=xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[1][:5] == ["T1", "Leader", "Tea", 1100, 1000]
    assert cells[3][5] is None  # growth of a new product


def test_bad_parameters_are_ignored_with_messages(client, login_as, market):
    login_as("admin")
    response = client.get(
        "/analytics/bcg?from=2026-02-30&to=soon&by=shops&quadrant=best&organization=99999"
        "&manager=abc&product_group=0&page=-1&now=1"
    )
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    for message in (
        "The start of the period '2026-02-30' is not a date",
        "The end of the period 'soon' is not a date",
        "Unknown choice 'shops' ignored: showing products.",
        "Unknown quadrant 'best' ignored.",
        "Unknown organization ignored.",
        "Unknown manager ignored.",
        "Unknown product group ignored.",
    ):
        assert message in body, message
    # A download of something else than was asked for is refused, with the page saying why.
    refused = client.get(f"/analytics/bcg?{Q2}&organization=99999&format=csv")
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    swapped = client.get("/analytics/bcg?from=2026-06-30&to=2026-04-01", headers=HX)
    assert "dates were swapped" in swapped.get_data(as_text=True)
    assert codes(swapped) == ["T1", "T2", "T3", "C1", "N1"]


def test_the_scope_narrows_the_sales(client, login_as, market):
    org = Organization(name="Elsewhere")
    db.session.add(org)
    db.session.commit()
    login_as("admin")
    response = client.get(f"/analytics/bcg?{Q2}&organization={org.id}", headers=HX)
    assert "No sales in this period and scope." in response.get_data(as_text=True)
    tea = db.session.query(ProductGroup).filter_by(name="Coffee").one()
    only = client.get(f"/analytics/bcg?{Q2}&product_group={tea.id}", headers=HX)
    assert codes(only) == ["C1"]


def test_the_default_period_is_the_twelve_complete_months_before_this_one(client, login_as):
    login_as("admin")
    today = datetime.now(ZoneInfo("Europe/Moscow")).date()
    end = today.replace(day=1) - timedelta(days=1)
    start = date(end.year, 1, 1) if end.month == 12 else date(end.year - 1, end.month + 1, 1)
    body = client.get("/analytics/bcg?now=1").get_data(as_text=True)
    assert f'name="from" type="date" value="{start.isoformat()}"' in body
    assert f'name="to" type="date" value="{end.isoformat()}"' in body
    assert "No sales in this period and scope." in body


def test_in_russian(client, login_as, market):
    login_as("admin", locale="ru")
    page = client.get(f"/analytics/bcg?{Q2}").get_data(as_text=True)
    assert "Матрица BCG" in page and "Считаю…" in page
    fragment = client.get(f"/analytics/bcg?{Q2}", headers=HX)
    text = fragment.get_data(as_text=True)
    assert "Звёзды" in text and "Дойные коровы" in text and "Знаки вопроса" in text
    assert rows_of(fragment)[0][3:] == ["1 100,00 ₽", "1 000,00 ₽", "10 %", "1,00", "Звёзды"]
    fig = figure(client.get(f"/analytics/bcg?{Q2}&chart=1", headers=HX))
    assert "Выручка: %{customdata[2]:,.2f}\xa0₽<br>" in fig["data"][0]["hovertemplate"]
    assert fig["layout"]["separators"][0] == ","  # 1 100,00 on the axes and in the hover


def test_every_role_reads_it_and_the_start_page_lists_it(client, login_as, market):
    assert client.get("/analytics/bcg").status_code == 302
    login_as("viewer")
    assert client.get(f"/analytics/bcg?{Q2}").status_code == 200
    index = client.get("/analytics/").get_data(as_text=True)
    assert 'href="/analytics/bcg"' in index
    login_as("manager")
    assert codes(client.get(f"/analytics/bcg?{Q2}", headers=HX))[0] == "T1"
