"""In headless Chromium with CSRF on: the Purchases tab draws its chart (plotly.js fetched
once, only when a chart is about to load), and the receivables report swaps its results and
pushes the URL when the date changes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import log_in
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
# plotly.js is 4.8 MB of script to parse: on a busy test machine that alone can take seconds.
CHART_MS = 20_000


def _seed(tag: str) -> dict:
    from crm.auth.models import User
    from crm.extensions import db
    from tests.factories import create_document, create_partner, create_payment

    user = User(email=f"sales-{tag}@example.test", role="manager", name=f"Sales {tag}")
    user.set_password(DEFAULT_PASSWORD)
    db.session.add(user)
    db.session.flush()
    p = create_partner(name=f"Покупатель {tag}", code=f"BR-{tag}", responsible=user, commit=False)
    today = date.today()
    create_document(
        p,
        [700, 300],
        doc_no=f"BR-{tag}-1",
        date=today - timedelta(days=90),
        due_date=today - timedelta(days=60),
        commit=False,
    )
    create_document(
        p,
        [500],
        doc_no=f"BR-{tag}-2",
        date=today - timedelta(days=20),
        due_date=today + timedelta(days=10),
        commit=False,
    )
    create_payment(p, 400, today - timedelta(days=50), commit=False)
    return {"email": user.email, "partner_id": p.id, "code": p.code}


def test_the_purchases_tab_draws_its_chart(live_server, browser_page):
    seeded = live_server.seed(_seed, "tab")
    page = browser_page(1280, 900)
    plotly_requests = []
    page.on("request", lambda r: plotly_requests.append(r.url) if "plotly" in r.url else None)
    log_in(page, seeded["email"], DEFAULT_PASSWORD)

    page.goto(f"/partners/{seeded['partner_id']}")
    assert plotly_requests == []  # the Summary tab has no chart: no plotly.js
    page.get_by_role("tab", name="Purchases").click()
    expect(page.locator("#partner-debt")).to_have_text("₽1,100.00")  # 1000 + 500 − 400
    expect(page.locator("#partner-overdue")).to_have_text("₽600.00")  # 1000 − 400, due 60 days ago
    expect(page.locator("#purchases-chart .plotly-graph-div .main-svg").first).to_be_visible(
        timeout=CHART_MS
    )
    expect(page.locator("#purchases-chart rect.bg, #purchases-chart .bars path")).not_to_have_count(
        0
    )

    # Back to Summary and again to Purchases: the chart redraws, plotly.js is not fetched again.
    page.get_by_role("tab", name="Summary").click()
    page.get_by_role("tab", name="Purchases").click()
    expect(page.locator("#purchases-chart .plotly-graph-div .main-svg").first).to_be_visible(
        timeout=CHART_MS
    )
    assert len([u for u in plotly_requests if u.endswith("plotly.min.js")]) == 1

    # Opened straight on the tab (a full page load) it draws too.
    page.goto(f"/partners/{seeded['partner_id']}?tab=purchases")
    expect(page.locator("#purchases-chart .plotly-graph-div .main-svg").first).to_be_visible(
        timeout=CHART_MS
    )
    assert page.js_errors == []


def test_the_report_follows_the_date_and_pushes_the_url(live_server, browser_page):
    seeded = live_server.seed(_seed, "report")
    page = browser_page(1280, 900)
    log_in(page, seeded["email"], DEFAULT_PASSWORD)

    page.goto("/sales/receivables")
    row = page.locator("#receivables-table tbody tr", has_text=seeded["code"])
    expect(row.locator('td[data-label="Debt"]')).to_have_text("₽1,100.00")
    # A date before the second document: only the first, less the payment: 600.
    earlier = (date.today() - timedelta(days=30)).isoformat()
    page.locator("#f-as-of").fill(earlier)
    page.locator("#f-as-of").dispatch_event("change")
    expect(row.locator('td[data-label="Debt"]')).to_have_text("₽600.00")
    expect(page).to_have_url(f"{live_server.url}/sales/receivables?as_of={earlier}")
    page.get_by_role("link", name="Overdue").click()
    expect(page).to_have_url(f"{live_server.url}/sales/receivables?as_of={earlier}&sort=-overdue")
    assert page.js_errors == []
