"""The partner card's Purchases tab: last documents with what is unsettled, debt and overdue
debt today, and the monthly chart loaded lazily from its own URL."""

from __future__ import annotations

import html
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs_version

from crm.charts import (
    MAPLIBRE_CSS,
    MAPLIBRE_STYLE_ID,
    PLOTLY_CSS,
    PLOTLY_JS,
    PLOTLY_JS_VERSION,
    maplibre_css,
    plotly_css,
)
from crm.sales.queries import local_today

HX = {"HX-Request": "true"}
ROOT = Path(__file__).resolve().parents[2]


def text(response) -> str:
    return response.get_data(as_text=True)


def cell(body: str, row_of: str, label: str) -> str:
    row = body[body.index(f">{row_of}<") :]
    row = row[: row.index("</tr>")]
    return html.unescape(re.search(rf'data-label="{label}"[^>]*>(.*?)</td>', row).group(1))


@pytest.fixture
def today(app):
    """The date the pages call today (the users' time zone), not the test machine's."""
    return local_today()


def last_24_months(today: date) -> list[date]:
    """First days of the 24 calendar months ending with today's, oldest first."""
    year, month, out = today.year, today.month, []
    for _ in range(24):
        out.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def doc_date(today: date, k: int) -> date:
    """P-k (k = 1 … 12) is dated today − 128 + 10k days (P-01: −118 … P-12: −8) and due 15
    days later, today − 113 + 10k: P-11 3 days ago, P-12 in 7 days; no date near today."""
    return today - timedelta(days=128 - 10 * k)


@pytest.fixture
def buyer(make_user, make_partner, make_document, make_payment, today):
    """P-01 … P-12 of 100 each (lines 60 + 40), P-13 of 300 dated today − 3, due in 30 days.
    Payments: 100 naming P-01, 150 without doc_no (the pool)."""
    maria = make_user("manager", name="Мария")
    p = make_partner(name="Покупатель", code="B-1", responsible=maria)
    for k in range(1, 13):
        make_document(
            p,
            [60, 40],
            doc_no=f"P-{k:02d}",
            date=doc_date(today, k),
            due_date=doc_date(today, k) + timedelta(days=15),
        )
    make_document(
        p, [300], doc_no="P-13", date=today - timedelta(days=3), due_date=today + timedelta(days=30)
    )
    make_payment(p, 100, today - timedelta(days=100), doc_no="P-01")
    make_payment(p, 150, today - timedelta(days=60))
    return {"partner": p, "maria": maria}


def test_the_tab_shows_last_documents_debt_and_overdue(client, login_as, buyer, today):
    login_as("admin")
    p = buyer["partner"]
    response = client.get(f"/partners/{p.id}?tab=purchases", headers=HX)
    assert response.status_code == 200
    body = text(response)
    assert "<html" not in body
    # The last 10 documents, newest first: P-13, P-12 … P-04 (P-03 … P-01 are older).
    shown = re.findall(r'<td data-label="Document">(.*?)</td>', body)
    assert shown == ["P-13", *(f"P-{i:02d}" for i in range(12, 3, -1))]
    # Σ documents 12 × 100 + 300 = 1500; payments 100 + 150 = 250 → debt 1250.
    assert html.unescape(re.search(r'id="partner-debt">(.*?)<', body).group(1)) == "₽1,250.00"
    # P-01 paid by doc_no; the pool of 150 settles P-02 (100) and 50 of P-03.
    # Open: P-03 50, P-04 … P-12 100 each, P-13 300. Overdue: due before today, P-01 … P-11:
    # 50 (P-03) + 8 × 100 (P-04 … P-11) = 850; P-12 and P-13 are not due yet.
    assert html.unescape(re.search(r'id="partner-overdue">(.*?)<', body).group(1)) == "₽850.00"
    assert cell(body, "P-13", "Total") == "₽300.00"
    assert cell(body, "P-13", "Unsettled") == "₽300.00"
    assert cell(body, "P-04", "Unsettled") == "₽100.00"
    due = today - timedelta(days=73)
    assert cell(body, "P-04", "Due date") == f"{due.day} {due.strftime('%b %Y')}"  # 4 Dec 2026
    assert cell(body, "P-12", "Unsettled") == "₽100.00"
    # The chart is a placeholder that loads itself when it comes into view.
    assert f'hx-get="/sales/partners/{p.id}/purchases-chart"' in body
    assert 'hx-trigger="revealed"' in body
    assert f'data-plotly-src="/static/{PLOTLY_JS}"' in body


def test_the_card_opens_on_the_tab_as_a_full_page(client, login_as, buyer):
    login_as("admin")
    response = client.get(f"/partners/{buyer['partner'].id}?tab=purchases")
    assert response.status_code == 200
    assert "<html" in text(response) and ">Purchases</a>" in text(response)
    assert 'id="purchases-table"' in text(response)


def test_the_chart_fragment_is_a_plotly_figure_of_24_months(client, login_as, buyer, today):
    login_as("admin")
    p = buyer["partner"]
    response = client.get(f"/sales/partners/{p.id}/purchases-chart", headers=HX)
    assert response.status_code == 200
    body = text(response)
    assert "<html" not in body
    # No script at all (the CSP runs none inline): the figure travels as JSON that
    # static/js/app.js draws; plotly.js itself is not in every fragment.
    assert "<script" not in body
    figure = re.search(r'<div class="plotly-graph-div"[^>]* data-plotly-figure="([^"]*)"', body)
    data = json.loads(html.unescape(figure.group(1)))["data"]
    assert data[0]["type"] == "bar"
    assert data[0]["x"] == [m.strftime("%b %Y") for m in last_24_months(today)]


def test_the_chart_page_has_plotly_and_a_table_of_monthly_totals(client, login_as, buyer, today):
    login_as("admin")
    p = buyer["partner"]
    response = client.get(f"/sales/partners/{p.id}/purchases-chart")
    body = text(response)
    assert "<html" in body
    assert f'<script src="/static/{PLOTLY_JS}"></script>' in body
    months = re.findall(
        r'<td data-label="Month">(\w+ \d{4})</td><td data-label="Total" class="text-end">(.*?)</td>',
        body,
    )
    assert len(months) == 24
    # Expected by hand from the fixture's dates: 100 per document in its month, 300 for P-13.
    expected = {m.strftime("%B %Y"): 0 for m in last_24_months(today)}
    for k in range(1, 13):
        expected[doc_date(today, k).strftime("%B %Y")] += 100
    expected[(today - timedelta(days=3)).strftime("%B %Y")] += 300
    assert {m: t for m, t in months} == {m: f"₽{v:,.2f}" for m, v in expected.items()}


def test_a_partner_without_purchases_shows_zero_debt(client, login_as, make_partner):
    login_as("admin")
    p = make_partner()
    body = text(client.get(f"/partners/{p.id}?tab=purchases", headers=HX))
    assert "No purchases yet." in body
    assert html.unescape(re.search(r'id="partner-debt">(.*?)<', body).group(1)) == "₽0.00"


def test_another_managers_partner_is_forbidden(client, login_as, make_user, buyer):
    login_as("manager")
    p = buyer["partner"]
    assert client.get(f"/partners/{p.id}?tab=purchases", headers=HX).status_code == 403
    assert client.get(f"/sales/partners/{p.id}/purchases-chart", headers=HX).status_code == 403
    assert client.get("/sales/partners/999999/purchases-chart").status_code == 404
    login_as(buyer["maria"])
    assert client.get(f"/sales/partners/{p.id}/purchases-chart", headers=HX).status_code == 200


def test_vendored_plotly_js_is_the_installed_plotly_version():
    assert get_plotlyjs_version() == PLOTLY_JS_VERSION
    vendored = ROOT / "static" / PLOTLY_JS
    packaged = Path(__import__("plotly").__file__).parent / "package_data" / "plotly.min.js"
    assert vendored.read_bytes() == packaged.read_bytes()


def test_vendored_plotly_css_holds_the_rules_plotly_js_would_inject():
    # The CSP refuses plotly.js's own <style> elements: the stylesheets beside it stand in.
    js = (ROOT / "static" / PLOTLY_JS).read_text(encoding="utf-8")
    css = (ROOT / "static" / PLOTLY_CSS).read_text(encoding="utf-8")
    assert css == plotly_css(js)
    # A few rules as plotly.js writes them, checked by hand against its source.
    assert ".js-plotly-plot .plotly,.js-plotly-plot .plotly div{direction:ltr;" in css
    assert (
        ".js-plotly-plot .plotly .main-svg{position:absolute;top:0;left:0;pointer-events:none;}"
        in css
    )
    assert (ROOT / "static" / MAPLIBRE_CSS).read_text(encoding="utf-8") == maplibre_css(js)
    assert f'document.getElementById("{MAPLIBRE_STYLE_ID}")' in js
    assert f'"{MAPLIBRE_STYLE_ID}"' in (ROOT / "static" / "js" / "app.js").read_text(
        encoding="utf-8"
    )


def test_a_partner_without_purchases_gets_no_empty_chart(client, login_as, make_partner):
    manager = login_as("manager")
    partner = make_partner(name="Без покупок", responsible=manager)

    body = client.get(f"/partners/{partner.id}?tab=purchases").get_data(as_text=True)

    assert "No purchases to chart." in body
    assert 'purchases-chart"' not in body.replace('id="purchases-chart-empty"', "")


def test_the_tab_in_russian(client, login_as, buyer, today):
    nb = "\N{NO-BREAK SPACE}"
    login_as("admin", locale="ru")
    body = html.unescape(
        text(client.get(f"/partners/{buyer['partner'].id}?tab=purchases", headers=HX))
    )
    assert f"Задолженность на {today:%d.%m.%Y}" in body
    assert re.search(r'id="partner-debt">(.*?)<', body).group(1) == f"1{nb}250,00{nb}₽"
    assert "Покупки по месяцам, последние 24 месяца" in body  # 24: the second plural form
    assert "Последние документы" in body
    due = today - timedelta(days=73)
    assert f">{due:%d.%m.%Y}<" in body
