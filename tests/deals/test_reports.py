"""The deal report pages (funnel, deal effectiveness, probabilistic forecast): their tables
over small hand-built histories (tests/deals/report_history.py), in English and Russian, the
managers' view, drill-down links to the deal list, CSV/XLSX downloads, the lazily loaded chart,
HTMX fragments and bad filter values."""

import csv
import io
from datetime import date
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from crm.deals.models import LossReason
from crm.extensions import db
from tests.deals.report_history import (
    build_forecast_history,
    build_sales_history,
    build_unreached_history,
)

Q1 = "from=2026-01-01&to=2026-03-31"


@pytest.fixture
def sales(make_user, make_partner, make_deal_kind, make_deal):
    return build_sales_history(make_user, make_partner, make_deal_kind, make_deal)


@pytest.fixture
def forecast_history(make_user, make_partner, make_deal_kind, make_deal):
    return build_forecast_history(make_user, make_partner, make_deal_kind, make_deal)


class _Table(HTMLParser):
    """The rows of <table id=…> as [(cell text, cell's first link or None), …]."""

    def __init__(self, table_id):
        super().__init__()
        self.table_id, self.inside, self.rows = table_id, False, []
        self.cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ["", None]
        elif self.inside and tag == "a" and self.cell is not None and self.cell[1] is None:
            self.cell[1] = attrs.get("href")
        elif self.inside and tag == "div" and self.cell is not None and self.cell[0]:
            self.cell[0] += "; "

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append((" ".join(self.cell[0].split()), self.cell[1]))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[0] += data.replace("\xa0", " ").replace("\u202f", " ")


def table(response, table_id):
    parser = _Table(table_id)
    parser.feed(response.get_data(as_text=True))
    assert parser.rows, f"no table {table_id}"
    return parser.rows


def texts(rows):
    return [[text for text, _ in row] for row in rows]


def query(href):
    parts = urlsplit(href)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


def csv_rows(response):
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


# --- funnel ---------------------------------------------------------------------------------


def test_funnel_page_shows_each_stage_then_won_with_conversions(client, login_as, sales):
    login_as("admin")
    response = client.get(f"/deals/reports/funnel?kind={sales.kind.id}&{Q1}")
    assert response.status_code == 200
    assert "<html" in response.get_data(as_text=True)
    # Created in Q1: S1 S2 S3 S4 S5 S6 S9 S10 (see test_report_cli for the arithmetic):
    # Lead 8 (5600), Offer 5 (4800) 5/8, Contract 3 (3700) 3/5, won 2 (3000) 2/3.
    assert texts(table(response, "funnel-table")) == [
        ["Stage", "Reached", "Amount", "Conversion to the next"],
        ["Lead", "8", "₽5,600.00", "62.5%"],
        ["Offer", "5", "₽4,800.00", "60%"],
        ["Contract", "3", "₽3,700.00", "66.7%"],
        ["Won", "2", "₽3,000.00", ""],
    ]


def test_funnel_cells_drill_down_to_the_deal_list(client, login_as, sales):
    login_as("admin")
    rows = table(client.get(f"/deals/reports/funnel?kind={sales.kind.id}&{Q1}"), "funnel-table")
    base = {"kind": str(sales.kind.id), "created_from": "2026-01-01", "created_to": "2026-03-31"}
    assert query(rows[2][1][1]) == ("/deals/", {**base, "reached": "2", "status": "all"})
    assert query(rows[4][1][1]) == ("/deals/", {**base, "status": "won"})


def test_funnel_page_in_russian(client, login_as, sales):
    login_as("admin", locale="ru")
    response = client.get(f"/deals/reports/funnel?kind={sales.kind.id}&{Q1}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Воронка продаж" in body and "Эффективность сделок" in body
    assert texts(table(response, "funnel-table"))[1:] == [
        ["Lead", "8", "5 600,00 ₽", "62,5 %"],
        ["Offer", "5", "4 800,00 ₽", "60 %"],
        ["Contract", "3", "3 700,00 ₽", "66,7 %"],
        ["Выиграно", "2", "3 000,00 ₽", ""],
    ]


def test_funnel_of_a_stage_nobody_reached_has_no_conversion(
    client, login_as, make_partner, make_deal_kind, make_deal
):
    kind = build_unreached_history(make_partner, make_deal_kind, make_deal)
    login_as("admin")
    response = client.get(f"/deals/reports/funnel?kind={kind.id}&{Q1}")
    # Brief 3 (600) → Design 1/3; Design 1 (300) → Build 0/1; Build 0: no conversion; won 0.
    assert texts(table(response, "funnel-table"))[1:] == [
        ["Brief", "3", "₽600.00", "33.3%"],
        ["Design", "1", "₽300.00", "0%"],
        ["Build", "0", "₽0.00", ""],
        ["Won", "0", "₽0.00", ""],
    ]


def test_funnel_of_one_manager(client, login_as, sales):
    login_as("admin")
    url = f"/deals/reports/funnel?kind={sales.kind.id}&{Q1}&manager={sales.boris.id}"
    rows = table(client.get(url), "funnel-table")
    # boris's deals created in Q1: S4 (lost at Lead, 300), S5 (open at Contract, 700).
    # Lead 2 (1000) → 1/2; Offer 1 (700) → 1/1; Contract 1 (700) → 0/1; won 0.
    assert texts(rows)[1:] == [
        ["Lead", "2", "₽1,000.00", "50%"],
        ["Offer", "1", "₽700.00", "100%"],
        ["Contract", "1", "₽700.00", "0%"],
        ["Won", "0", "₽0.00", ""],
    ]
    assert query(rows[1][1][1])[1]["manager"] == str(sales.boris.id)


def test_funnel_without_any_deal_kind_says_so(client, login_as):
    login_as("admin")
    response = client.get("/deals/reports/funnel")
    assert response.status_code == 200
    assert "There are no deal kinds yet." in response.get_data(as_text=True)


def test_funnel_downloads_hold_the_table(client, login_as, sales):
    login_as("admin")
    rows = csv_rows(client.get(f"/deals/reports/funnel?kind={sales.kind.id}&{Q1}&format=csv"))
    assert rows == [
        ["Stage", "Reached", "Amount", "Conversion to the next (%)"],
        ["Lead", "8", "5600.00", "62.5"],
        ["Offer", "5", "4800.00", "60.0"],
        ["Contract", "3", "3700.00", "66.7"],
        ["Won", "2", "3000.00", ""],
    ]
    response = client.get(f"/deals/reports/funnel?kind={sales.kind.id}&{Q1}&format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[1][:3] == ["Lead", 8, 5600]
    assert cells[4][3] is None


def test_funnel_defaults_to_the_first_kind_and_refuses_bad_values_with_messages(
    client, login_as, sales
):
    login_as("admin")
    response = client.get("/deals/reports/funnel?kind=99999&from=2026-02-30&to=soon&manager=x")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Unknown deal kind ignored." in body
    assert "The start of the period &#39;2026-02-30&#39; is not a date" in body
    assert "The end of the period &#39;soon&#39; is not a date" in body
    assert "Unknown manager ignored." in body
    assert table(response, "funnel-table")[1][0][0] == "Lead"
    # A download of something else than was asked for is refused, with the page saying why.
    refused = client.get("/deals/reports/funnel?from=2026-02-30&format=csv")
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    swapped = client.get(
        f"/deals/reports/funnel?kind={sales.kind.id}&from=2026-03-31&to=2026-01-01"
    )
    assert "dates were swapped" in swapped.get_data(as_text=True)
    assert texts(table(swapped, "funnel-table"))[1][1] == "8"


def test_funnel_results_and_chart_are_fragments_for_htmx(client, login_as, sales):
    login_as("admin")
    url = f"/deals/reports/funnel?kind={sales.kind.id}&{Q1}"
    results = client.get(url, headers={"HX-Request": "true"})
    body = results.get_data(as_text=True)
    assert "<html" not in body and 'id="funnel-table"' in body
    assert "HX-Request" in results.headers["Vary"]
    assert 'hx-trigger="revealed"' in body and "chart=1" in body
    assert results.headers["HX-Push-Url"].startswith("/deals/reports/funnel?")
    chart = client.get(url + "&chart=1", headers={"HX-Request": "true"})
    chart_body = chart.get_data(as_text=True)
    assert "<html" not in chart_body and "data-plotly-figure" in chart_body
    assert "&#34;Lead&#34;" in chart_body or "Lead" in chart_body
    # Without JavaScript the chart link opens the page with the chart drawn in it.
    page = client.get(url + "&chart=1").get_data(as_text=True)
    assert "<html" in page and "data-plotly-figure" in page and "plotly.min.js" in page


def test_reports_need_a_sign_in_and_are_in_the_menu(client, login_as, sales):
    assert client.get("/deals/reports/funnel").status_code == 302
    login_as("viewer")
    body = client.get("/deals/reports/forecast").get_data(as_text=True)
    assert 'href="/deals/reports/funnel"' in body  # the menu item "Deal reports"
    assert "Deal reports" in body
    assert 'id="deal-report-tabs"' in body


# --- deal effectiveness ---------------------------------------------------------------------


def test_effectiveness_page_per_manager_with_loss_reasons(client, login_as, sales):
    login_as("admin")
    response = client.get(f"/deals/reports/effectiveness?{Q1}")
    assert response.status_code == 200
    # See test_report_cli: anna 3 won (12999) 1 lost (500), 141/4 days; boris 1 lost (300),
    # 1 open; clara 2 open, nothing closed; nobody 1 lost (100), 49 days.
    assert texts(table(response, "effectiveness-table")) == [
        ["Manager", "Won", "Lost", "Open at the end", "Won amount", "Lost amount", "Win rate",
         "Mean days to close", "Loss reasons"],
        ["Anna Ivanova", "3", "1", "0", "₽12,999.00", "₽500.00", "75%", "35.3", "Price: 1"],
        ["Boris Petrov", "0", "1", "1", "₽0.00", "₽300.00", "0%", "10.0", "Competitor: 1"],
        ["Clara Sidorova", "0", "0", "2", "₽0.00", "₽0.00", "", "", ""],
        ["No manager", "0", "1", "0", "₽0.00", "₽100.00", "0%", "49.0", "Price: 1"],
        # 3 won of 6 closed = 50 %; (141 + 10 + 49) / 6 = 33.3 days; Price 2, Competitor 1
        ["Total", "3", "3", "3", "₽12,999.00", "₽900.00", "50%", "33.3",
         "Price: 2; Competitor: 1"],
    ]  # fmt: skip


def test_effectiveness_cells_drill_down_to_the_deal_list(client, login_as, sales):
    login_as("admin")
    rows = table(client.get(f"/deals/reports/effectiveness?{Q1}"), "effectiveness-table")
    anna, clara = rows[1], rows[3]
    period = {"closed_from": "2026-01-01", "closed_to": "2026-03-31"}
    assert query(anna[1][1]) == (
        "/deals/",
        {"manager": str(sales.anna.id), "status": "won", **period},
    )
    price = db.session.execute(select(LossReason).where(LossReason.name == "Price")).scalar_one()
    assert query(anna[8][1]) == (
        "/deals/",
        {"manager": str(sales.anna.id), "status": "lost", "reason": str(price.id), **period},
    )
    assert query(clara[3][1]) == (
        "/deals/",
        {"manager": str(sales.clara.id), "status": "open", "created_to": "2026-03-31"},
    )
    assert clara[1][1] is None  # nothing won: nothing to list


def test_a_manager_sees_the_effectiveness_of_the_deals_he_may_see(client, login_as, sales):
    login_as(sales.boris)
    rows = texts(table(client.get(f"/deals/reports/effectiveness?{Q1}"), "effectiveness-table"))
    assert [r[0] for r in rows[1:]] == ["Boris Petrov", "Total"]
    assert rows[1][1:4] == ["0", "1", "1"]


def test_effectiveness_download(client, login_as, sales):
    login_as("admin")
    rows = csv_rows(client.get(f"/deals/reports/effectiveness?{Q1}&format=csv"))
    assert rows[0][:3] == ["Manager", "E-mail", "Won"]
    assert rows[1] == [
        "Anna Ivanova", "anna@example.test", "3", "1", "0", "12999.00", "500.00", "75.0",
        "35.3", "Price: 1",
    ]  # fmt: skip
    assert rows[3][7:9] == ["", ""]  # clara: no closed deal
    assert rows[-1][:2] == ["Total", ""]
    assert rows[-1][-1] == "Price: 2; Competitor: 1"


def test_effectiveness_fragment_and_russian_page(client, login_as, sales):
    login_as("admin", locale="ru")
    fragment = client.get(f"/deals/reports/effectiveness?{Q1}", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    rows = texts(table(fragment, "effectiveness-table"))
    assert rows[1][4:8] == ["12 999,00 ₽", "500,00 ₽", "75 %", "35,3"]
    chart = client.get(f"/deals/reports/effectiveness?{Q1}&chart=1", headers={"HX-Request": "true"})
    assert "data-plotly-figure" in chart.get_data(as_text=True)
    assert "<html" not in chart.get_data(as_text=True)


# --- probabilistic forecast -----------------------------------------------------------------


def test_forecast_page_weighs_open_deals_and_shows_past_won_amounts(
    client, login_as, forecast_history
):
    login_as("admin")
    response = client.get("/deals/reports/forecast?as_of=2026-06-30")
    assert response.status_code == 200
    rows = texts(table(response, "forecast-table"))
    assert rows[0] == ["Month", "Deals", "Amount", "Weighted amount", "Won"]
    # 12 past months June 2025 … May 2026 with their won amounts: March 1000 + 500, May 250
    # (H4, won in May 2025, is before the window); then the open deals (see test_report_cli):
    # July F-1 F-2 F-6 3300 → 700 + 200 + 1400; August F-3 150 → 15; no date F-4 500 → 350.
    past = {r[0]: r[4] for r in rows[1:13]}
    assert list(past)[0] == "June 2025" and list(past)[-1] == "May 2026"
    assert past["March 2026"] == "₽1,500.00" and past["May 2026"] == "₽250.00"
    assert past["April 2026"] == "₽0.00"
    assert all(r[1:4] == ["", "", ""] for r in rows[1:13])
    assert rows[13:] == [
        ["July 2026", "3", "₽3,300.00", "₽2,300.00", ""],
        ["August 2026", "1", "₽150.00", "₽15.00", ""],
        ["No expected close date", "1", "₽500.00", "₽350.00", ""],
        ["Total", "5", "₽3,950.00", "₽2,665.00", "₽1,750.00"],
    ]


def test_forecast_drills_down_to_open_deals_of_the_month(client, login_as, forecast_history):
    login_as("admin")
    rows = table(client.get("/deals/reports/forecast?as_of=2026-06-30"), "forecast-table")
    july = next(r for r in rows if r[0][0] == "July 2026")
    assert query(july[1][1]) == (
        "/deals/",
        {"status": "open", "expected_from": "2026-07-01", "expected_to": "2026-07-31"},
    )
    march = next(r for r in rows if r[0][0] == "March 2026")
    assert query(march[4][1]) == (
        "/deals/",
        {"status": "won", "closed_from": "2026-03-01", "closed_to": "2026-03-31"},
    )


def test_a_managers_forecast_holds_his_deals_weighed_by_every_closed_deal(
    client, login_as, make_user, make_partner, make_deal, forecast_history
):
    # Another manager's open deal of kind F at S2 for p1: its components rest on mila's closed
    # deals too (S2 80 %, p1 66.67 %, F 66.67 %; he has none closed: left out) → 71.11 %.
    # (80 + 66.667 + 66.667) / 3 = 71.111 % of 900 = 640.00
    igor = make_user("manager", email="igor@example.test")
    make_deal(forecast_history.p1, forecast_history.kind_f, manager=igor, stage=2, amount=900,
              created_on=date(2026, 5, 2), expected_close=date(2026, 7, 1))  # fmt: skip
    login_as(igor)
    rows = texts(table(client.get("/deals/reports/forecast?as_of=2026-06-30"), "forecast-table"))
    assert rows[13:] == [
        ["July 2026", "1", "₽900.00", "₽640.00", ""],
        ["Total", "1", "₽900.00", "₽640.00", "₽0.00"],
    ]


def test_forecast_filters_by_kind_and_months_and_downloads(client, login_as, forecast_history):
    login_as("admin")
    kind = forecast_history.kind_f.id
    response = client.get(f"/deals/reports/forecast?as_of=2026-06-30&months=3&kind={kind}")
    rows = texts(table(response, "forecast-table"))
    # March, April, May 2026; then F's open deals: July F-1 F-2 F-6; no date F-4.
    assert [r[0] for r in rows[1:]] == [
        "March 2026", "April 2026", "May 2026", "July 2026", "No expected close date", "Total",
    ]  # fmt: skip
    data = csv_rows(
        client.get(f"/deals/reports/forecast?as_of=2026-06-30&months=3&kind={kind}&format=csv")
    )
    assert data == [
        ["Month", "Deals", "Amount", "Weighted amount", "Won"],
        ["2026-03", "", "", "", "1500.00"],
        ["2026-04", "", "", "", "0.00"],
        ["2026-05", "", "", "", "250.00"],
        ["2026-07", "3", "3300.00", "2300.00", ""],
        ["", "1", "500.00", "350.00", ""],
    ]
    bad = client.get("/deals/reports/forecast?as_of=someday&months=999")
    body = bad.get_data(as_text=True)
    assert bad.status_code == 200
    assert "is not a date" in body and "Past months must be a whole number" in body


def test_forecast_in_russian_with_a_lazy_chart(client, login_as, forecast_history):
    login_as("admin", locale="ru")
    response = client.get("/deals/reports/forecast?as_of=2026-06-30")
    body = response.get_data(as_text=True)
    assert "Вероятностный прогноз" in body
    rows = texts(table(response, "forecast-table"))
    assert rows[13] == ["июль 2026", "3", "3 300,00 ₽", "2 300,00 ₽", ""]
    chart = client.get("/deals/reports/forecast?as_of=2026-06-30&chart=1",
                       headers={"HX-Request": "true"}).get_data(as_text=True)  # fmt: skip
    assert "<html" not in chart and "data-plotly-figure" in chart
    assert "&#34;separators&#34;:&#34;," in chart  # 1 234,5 on the axis


def test_a_long_list_of_open_deals_is_weighed_alike(
    client, login_as, monkeypatch, forecast_history
):
    # Beyond IDS_LIMIT deals the probabilities are read for every open deal, not by ids.
    from crm.deals import reports

    monkeypatch.setattr(reports, "IDS_LIMIT", 2)
    login_as("admin")
    rows = texts(table(client.get("/deals/reports/forecast?as_of=2026-06-30"), "forecast-table"))
    assert rows[13][:4] == ["July 2026", "3", "₽3,300.00", "₽2,300.00"]
    assert rows[-1][:4] == ["Total", "5", "₽3,950.00", "₽2,665.00"]
