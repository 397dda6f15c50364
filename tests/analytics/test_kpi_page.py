"""The KPI dashboard page (analytics.kpi) and its client lists (analytics.kpi_clients) over a
small hand-built history whose every KPI is worked out by hand below (shared/spec/analytics.md,
KPIs): the cards, the colours, the downloads, the scope, the drill-down lists (a manager sees his
own clients), the lazily loaded results and trend charts, bad parameters and permissions.

The period is March 2026 (31 days); its previous period is 29 January – 28 February 2026.

| partner (responsible) | lines (date: amount / cost), document's manager and organization |
|---|---|
| A (m1) | 2026-02-10: 100 / 60; 2026-03-05: 200 / 150 — m1, org 1; both paid on the day |
| B (m1) | 2026-02-15: 300 / no cost — m1, org 2; unpaid, due on the day |
| C (m2) | 2026-03-10: 400 / 100 — m2, org 1; unpaid, due 2026-03-15 |
| D (m2) | 2025-06-01: 50 / 30 (paid); 2026-03-20: 80 / 40, due 2026-04-20 — m2, no org |
| E (m1) | 2026-02-01: 70 / 50, due on the day; 2026-03-12: return −30 / −20 — m1, org 1 |
| F (m1) | 2026-01-10: 20 / 10, paid — m1, org 1 |

March: revenue 200 + 400 + 80 − 30 = 650; gross profit 50 + 300 + 40 − 10 = 380; 4 sales;
average check 162.50; active A, C, D = 3; new C = 1; bought in P0 {A, B, E}, again in March {A}:
retention 33.3 %, lost B, E = 2; overdue on 31 March: B 300 + C 400 + E (70 − the return's 30)
= 740.
P0: revenue 100 + 300 + 70 = 470; gross profit 40 + 20 = 60 (B's line has no cost); 3 sales;
average check 156.67; active A, B, E = 3; new A, B, E = 3; before P0 (29 Dec – 28 Jan) only F
bought, not again: retention 0 %, lost 1; overdue on 28 February: B 300 + E 70 = 370.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook

from crm.extensions import db
from crm.sales.models import Organization
from tests.factories import create_document, create_payment
from tests.helpers import page_text, sync_documents

MARCH = "from=2026-03-01&to=2026-03-31"
HX = {"HX-Request": "true"}


@pytest.fixture
def history(make_user, make_partner):
    m1, m2 = make_user("manager"), make_user("manager")
    db.session.add_all([Organization(id=1, name="Org 1"), Organization(id=2, name="Org 2")])
    db.session.commit()
    p = {
        code: make_partner(name=f"Client {code}", code=code, responsible=who, **extra)
        for code, who, extra in (
            ("A", m1, {"emails": ["a@example.test"], "phones": ["+7 900 000-00-01"]}),
            ("B", m1, {}),
            ("C", m2, {}),
            ("D", m2, {}),
            ("E", m1, {}),
            ("F", m1, {}),
        )
    }

    def doc(code, day, amount, cost, manager, org, due=None, paid=False):
        d = create_document(
            p[code],
            amounts=(amount,),
            date=day,
            due_date=due or day,
            manager_id=manager.id,
            organization_id=org,
            commit=False,
        )
        d.lines[0].cost = None if cost is None else Decimal(cost)
        sync_documents([d])
        if paid:
            create_payment(p[code], amount, day, doc_no=d.doc_no, commit=False)
        return d

    doc("A", date(2026, 2, 10), 100, 60, m1, 1, paid=True)
    doc("A", date(2026, 3, 5), 200, 150, m1, 1, paid=True)
    doc("B", date(2026, 2, 15), 300, None, m1, 2)
    doc("C", date(2026, 3, 10), 400, 100, m2, 1, due=date(2026, 3, 15))
    doc("D", date(2025, 6, 1), 50, 30, m2, None, paid=True)
    doc("D", date(2026, 3, 20), 80, 40, m2, None, due=date(2026, 4, 20))
    doc("E", date(2026, 2, 1), 70, 50, m1, 1)
    doc("E", date(2026, 3, 12), -30, -20, m1, 1)
    doc("F", date(2026, 1, 10), 20, 10, m1, 1, paid=True)
    db.session.commit()
    return m1, m2, p


def csv_rows(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def kpi_csv(client, query):
    rows = csv_rows(client.get(f"/analytics/kpi?{query}&format=csv"))
    assert rows[0] == ["Code", "KPI", "Value", "Previous period", "Change", "Change (%)"]
    return {r[0]: r[2:] for r in rows[1:]}


def card_html(body: str, name: str) -> str:
    start = body.index(">", body.index(f'id="kpi-{name}"')) + 1
    end = body.find('<div class="card h-100 kpi-card"', start)
    return body[start : end if end > 0 else None]


def card(body: str, name: str) -> str:
    """The text of the card of a KPI (tags removed, spaces collapsed)."""
    text = re.sub(r"<[^>]+>", " ", card_html(body, name)).replace("\xa0", " ")
    text = text.replace("\u202f", " ")
    return " ".join(text.split())


def card_link(body: str, name: str) -> str | None:
    m = re.search(r'<a href="([^"]+)"', card_html(body, name))
    return m and m.group(1)


def codes(response) -> list[str]:
    body = page_text(response)
    if 'id="kpi-clients-table"' not in body:
        return []
    table = body[body.index('id="kpi-clients-table"') :]
    return re.findall(r'<td data-label="Code">([^<]*)</td>', table)


# --- the KPIs ---------------------------------------------------------------------------------


def test_downloads_hold_every_kpi_against_the_previous_period(client, login_as, history):
    login_as("admin")
    assert kpi_csv(client, MARCH) == {
        "revenue": ["650.00", "470.00", "180.00", "38.3"],
        "gross_profit": ["380.00", "60.00", "320.00", "533.3"],
        "sales": ["4", "3", "1", "33.3"],
        "average_check": ["162.50", "156.67", "5.83", "3.7"],
        "active_clients": ["3", "3", "0", "0.0"],
        "new_clients": ["1", "3", "-2", "-66.7"],
        "retention_pct": ["33.3", "0.0", "33.3", ""],
        "lost_clients": ["2", "1", "1", "100.0"],
        "overdue_receivables": ["740.00", "370.00", "370.00", "100.0"],
    }
    response = client.get(f"/analytics/kpi?{MARCH}&format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[1][:4] == ["revenue", "Revenue", 650, 470]
    assert cells[7][5] is None  # retention: no change % from 0 %


def test_cards_show_values_changes_and_colour_good_and_bad_news(client, login_as, history):
    login_as("admin")
    response = client.get(f"/analytics/kpi?{MARCH}", headers=HX)
    body = page_text(response)
    assert response.status_code == 200 and "<html" not in body
    assert card(body, "revenue") == (
        "Revenue ₽650.00 Previous period: ₽470.00 ▲ ₽180.00 (38.3%) — better"
    )
    assert 'id="kpi-revenue" data-tone="good"' in body
    # More lost clients and more overdue debt are bad news, fewer new clients too.
    assert 'id="kpi-lost_clients" data-tone="bad"' in body
    assert 'id="kpi-overdue_receivables" data-tone="bad"' in body
    assert 'id="kpi-new_clients" data-tone="bad"' in body
    assert 'id="kpi-active_clients" data-tone="same"' in body
    assert card(body, "retention_pct") == ("Retention 33.3% Previous period: 0% ▲ 33.3 pp — better")
    assert card(body, "average_check").startswith("Average check ₽162.50 Previous period: ₽156.67")


def test_count_cards_open_their_lists_and_overdue_opens_receivables(client, login_as, history):
    m1, _, _ = history
    login_as("admin")
    body = page_text(client.get(f"/analytics/kpi?{MARCH}&manager={m1.id}", headers=HX))
    links = {name: card_link(body, name) for name in re.findall(r'kpi-card" id="kpi-(\w+)"', body)}
    for name, which in (
        ("active_clients", "active"),
        ("new_clients", "new"),
        ("lost_clients", "lost"),
        ("retention_pct", "retained"),
    ):
        parts = urlsplit(links[name])
        assert parts.path == "/analytics/kpi/clients"
        assert parse_qs(parts.query) == {
            "from": ["2026-03-01"],
            "to": ["2026-03-31"],
            "manager": [str(m1.id)],
            "which": [which],
        }
    parts = urlsplit(links["overdue_receivables"])
    assert parts.path == "/sales/receivables"
    assert parse_qs(parts.query) == {
        "as_of": ["2026-03-31"],
        "manager": [str(m1.id)],
        "sort": ["-overdue"],
    }
    assert links["revenue"] is None and links["sales"] is None


def test_a_manager_scope_counts_his_documents_and_his_clients_debt(client, login_as, history):
    m1, m2, _ = history
    login_as("admin")
    # m1 sold A's, B's, E's and F's documents; overdue: partners he is responsible for (B, E).
    got = kpi_csv(client, f"{MARCH}&manager={m1.id}")
    assert got["revenue"][:2] == ["170.00", "470.00"]
    assert got["sales"][:2] == ["2", "3"]
    assert got["active_clients"][:2] == ["1", "3"]
    assert got["lost_clients"][:2] == ["2", "1"]
    assert got["overdue_receivables"][:2] == ["340.00", "370.00"]
    got = kpi_csv(client, f"{MARCH}&manager={m2.id}")
    assert got["revenue"][:2] == ["480.00", "0.00"]
    assert got["new_clients"][:2] == ["1", "0"]
    assert got["average_check"][:2] == ["240.00", ""]
    assert got["overdue_receivables"][:2] == ["400.00", "0.00"]


def test_an_organization_scope_leaves_overdue_debt_undefined(client, login_as, history):
    login_as("admin")
    got = kpi_csv(client, f"{MARCH}&organization=1")
    # org 1: A 200, C 400, E −30 in March; A 100, E 70 in P0.
    assert got["revenue"][:2] == ["570.00", "170.00"]
    assert got["retention_pct"][:2] == ["50.0", "0.0"]
    assert got["overdue_receivables"] == ["", "", "", ""]
    body = page_text(client.get(f"/analytics/kpi?{MARCH}&organization=1", headers=HX))
    assert "not split by organization or department" in body
    assert 'href="/sales/receivables' not in body


def test_the_default_period_is_this_month_so_far(client, login_as, history, monkeypatch):
    import crm.analytics.kpi_views as views

    monkeypatch.setattr(views, "local_today", lambda user=None: date(2026, 3, 12))
    login_as("admin")
    body = page_text(client.get("/analytics/kpi", headers=HX))
    # 1–12 March against the 12 days before it.
    period = re.search(r'<p [^>]*id="kpi-period">([^<]*)</p>', body).group(1)
    assert period == (
        "From 1 Mar 2026 to 12 Mar 2026 against the previous period of the same length,"
        " from 17 Feb 2026 to 28 Feb 2026."
    )
    got = kpi_csv(client, "from=2026-03-01&to=2026-03-12")
    assert got["revenue"][:2] == ["570.00", "0.00"]


# --- the page, the fragments, the chart -------------------------------------------------------


def test_the_page_returns_at_once_and_loads_the_results_with_a_spinner(client, login_as, history):
    login_as("admin")
    response = client.get(f"/analytics/kpi?{MARCH}")
    body = page_text(response)
    assert response.status_code == 200 and "<html" in body
    assert 'id="kpi-cards"' not in body
    assert 'hx-trigger="load"' in body and 'hx-indicator="#kpi-computing"' in body
    assert "Computing…" in body and "spinner-border" in body
    assert '<noscript><a href="/analytics/kpi?now=1&from=2026-03-01&to=2026-03-31">' in body
    # Without JavaScript, the link draws the results in the page.
    inline = page_text(client.get(f"/analytics/kpi?{MARCH}&now=1"))
    assert "<html" in inline and 'id="kpi-cards"' in inline
    # The placeholder's own fetch does not push the address again; a filter change does.
    loaded = client.get(f"/analytics/kpi?{MARCH}", headers={**HX, "HX-Trigger": "kpi-loader"})
    assert "HX-Push-Url" not in loaded.headers and 'id="kpi-cards"' in page_text(loaded)
    changed = client.get(f"/analytics/kpi?{MARCH}", headers={**HX, "HX-Trigger": "report-filters"})
    assert changed.headers["HX-Push-Url"] == "/analytics/kpi?from=2026-03-01&to=2026-03-31"
    assert "HX-Request" in changed.headers["Vary"]


def test_trend_charts_one_per_kpi_over_twelve_months(client, login_as, history):
    login_as("admin")
    response = client.get(f"/analytics/kpi?{MARCH}&chart=1", headers=HX)
    body = page_text(response)
    assert response.status_code == 200 and "<html" not in body
    assert body.count("data-plotly-figure") == 5
    for name in ("revenue", "gross_profit", "sales", "average_check", "active_clients"):
        assert f'id="kpi-trend-{name}"' in body
    raw = response.get_data(as_text=True)
    figure = re.search(r'id="kpi-trend-revenue"><div [^>]*data-plotly-figure="([^"]+)"', raw)
    data = json.loads(html.unescape(figure.group(1)))["data"][0]
    assert len(data["x"]) == 12 and data["x"][0] == "Apr 2025" and data["x"][-1] == "Mar 2026"
    assert data["y"][-1] == 650 and data["y"][-2] == 470 and data["y"][-3] == 20
    # March is the period, February the previous period (it began on 29 January: January too).
    assert data["marker"]["color"][-1] == "#0d6efd"
    assert data["marker"]["color"][-2] == data["marker"]["color"][-3] == "#8fa9c9"
    assert data["marker"]["color"][0] == "#d3d7dc"
    # Without JavaScript the chart link opens the page with the charts in it.
    page = page_text(client.get(f"/analytics/kpi?{MARCH}&chart=1"))
    assert "<html" in page and "data-plotly-figure" in page and "plotly.min.js" in page


def test_the_dashboard_in_russian(client, login_as, history):
    login_as("admin", locale="ru")
    body = page_text(client.get(f"/analytics/kpi?{MARCH}"))
    assert "Считаю…" in body and "Панель KPI" in body
    body = page_text(client.get(f"/analytics/kpi?{MARCH}", headers=HX))
    assert card(body, "revenue") == (
        "Выручка 650,00 ₽ Предыдущий период: 470,00 ₽ ▲ 180,00 ₽ (38,3 %) — лучше"
    )
    assert card(body, "retention_pct") == (
        "Удержание 33,3 % Предыдущий период: 0 % ▲ 33,3 п. п. — лучше"
    )
    assert (
        card(body, "lost_clients") == "Потерянные клиенты 2 Предыдущий период: 1 ▲ 1 (100 %) — хуже"
    )
    listed = page_text(client.get(f"/analytics/kpi/clients?{MARCH}&which=lost"))
    assert "Потерянные клиенты" in listed and "2 клиента, доступных вам." in listed


# --- the client lists -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("which", "expected"),
    [("active", ["C", "A", "D"]), ("new", ["C"]), ("lost", ["B", "E"]), ("retained", ["A"])],
)
def test_client_lists_hold_the_partners_counted(client, login_as, history, which, expected):
    login_as("admin")
    response = client.get(f"/analytics/kpi/clients?{MARCH}&which={which}")
    assert response.status_code == 200
    # By revenue in the period (lost: in the previous period), largest first.
    assert codes(response) == expected


def test_a_client_list_shows_contacts_revenue_and_last_purchase(client, login_as, history):
    login_as("admin")
    rows = csv_rows(client.get(f"/analytics/kpi/clients?{MARCH}&which=active&format=csv"))
    assert rows[0] == [
        "Code",
        "Partner",
        "Manager",
        "Phone",
        "E-mail",
        "Revenue in the period",
        "Revenue in the previous period",
        "Last purchase",
    ]
    m1 = history[0]
    assert rows[2] == [
        "A",
        "Client A",
        m1.display_name,
        "'+7 900 000-00-01",  # escaped: a leading + would start a formula
        "a@example.test",
        "200.00",
        "100.00",
        "2026-03-05",
    ]
    lost = csv_rows(client.get(f"/analytics/kpi/clients?{MARCH}&which=lost&format=csv"))
    # E's return in March counts in its revenue; its last purchase is February's.
    assert lost[2][0] == "E" and lost[2][5:] == ["-30.00", "70.00", "2026-02-01"]


def test_a_manager_sees_only_his_clients_in_a_list(client, login_as, history):
    m1, m2, _ = history
    login_as(m2)
    assert codes(client.get(f"/analytics/kpi/clients?{MARCH}&which=active")) == ["C", "D"]
    assert codes(client.get(f"/analytics/kpi/clients?{MARCH}&which=lost")) == []
    body = page_text(client.get(f"/analytics/kpi/clients?{MARCH}&which=lost"))
    assert "No client in this list." in body


def test_a_list_keeps_the_scope(client, login_as, history):
    m1, _, _ = history
    login_as("admin")
    response = client.get(f"/analytics/kpi/clients?{MARCH}&which=active&manager={m1.id}")
    assert codes(response) == ["A"]
    body = page_text(response)
    assert f'href="/analytics/kpi?from=2026-03-01&to=2026-03-31&manager={m1.id}"' in body


# --- bad parameters, permissions --------------------------------------------------------------


def test_bad_parameters_are_reported_not_a_500(client, login_as, history):
    login_as("admin")
    response = client.get(
        "/analytics/kpi?from=2026-02-30&to=soon&organization=99999&department=x&manager=-1",
        headers=HX,
    )
    body = page_text(response)
    assert response.status_code == 200
    assert "The start of the period '2026-02-30' is not a date" in body
    assert "The end of the period 'soon' is not a date" in body
    assert "Unknown organization ignored." in body
    assert "Unknown department ignored." in body
    assert "Unknown manager ignored." in body
    assert 'id="kpi-cards"' in body
    swapped = page_text(client.get("/analytics/kpi?from=2026-03-31&to=2026-03-01", headers=HX))
    assert "dates were swapped" in swapped
    refused = client.get("/analytics/kpi?from=2026-13-01&format=csv")
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    bad_list = client.get(f"/analytics/kpi/clients?{MARCH}&which=everyone&page=zero")
    assert bad_list.status_code == 200
    assert "Unknown client list &#39;everyone&#39; ignored." in bad_list.get_data(as_text=True)
    assert codes(bad_list) == ["C", "A", "D"]
    far = client.get(f"/analytics/kpi/clients?{MARCH}&which=new&page=99999")
    assert far.status_code == 200 and codes(far) == ["C"]
    out_of_range = client.get("/analytics/kpi?from=1800-01-01&to=3500-01-01", headers=HX)
    assert out_of_range.status_code == 200


def test_the_dashboard_needs_a_sign_in_and_is_listed(client, login_as, history):
    assert client.get("/analytics/kpi").status_code == 302
    assert client.get("/analytics/kpi/clients").status_code == 302
    login_as("viewer")
    assert client.get(f"/analytics/kpi?{MARCH}").status_code == 200
    assert client.get(f"/analytics/kpi/clients?{MARCH}").status_code == 200
    body = page_text(client.get("/analytics/"))
    assert 'href="/analytics/kpi"' in body and "KPI dashboard" in body
