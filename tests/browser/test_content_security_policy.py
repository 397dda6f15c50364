"""Under the real Content-Security-Policy (no inline script), in headless Chromium: the main
pages open without a console error or a policy violation, and what the page scripts do still
works — tabs, the Purchases chart, confirm dialogs, print buttons, select-on-focus, the
calendar's drag and drop."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import log_in, settle
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
# plotly.js is 4.8 MB of script to parse: on a busy test machine that alone can take seconds.
CHART_MS = 20_000

# Runs in every document before its own scripts: collects each CSP violation the page reports.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber + ":" + e.columnNumber);
});
"""


def _seed(tag: str) -> dict:
    from crm.auth.models import User
    from crm.extensions import db
    from crm.interactions.services import create_interaction
    from tests.factories import create_document, create_partner, create_payment

    user = User(
        email=f"csp-{tag}@example.test", role="admin", name=f"CSP {tag}", timezone="Europe/Moscow"
    )
    user.set_password(DEFAULT_PASSWORD)
    db.session.add(user)
    db.session.flush()
    partner = create_partner(
        name=f"ООО Политика {tag}",
        code=f"CSP-{tag}",
        responsible=user,
        emails=["csp@example.test"],
        commit=False,
        persons=[{"name": "Анна Иванова"}],
    )
    today = date.today()
    create_document(
        partner,
        [700, 300],
        doc_no=f"CSP-{tag}-1",
        date=today - timedelta(days=90),
        due_date=today - timedelta(days=60),
        commit=False,
    )
    create_payment(partner, 400, today - timedelta(days=50), commit=False)
    # Monday 7 December 2026, 10:00 in Moscow (UTC+3) is 07:00 UTC.
    meeting = create_interaction(
        user,
        {
            "kind": "meeting",
            "title": f"Встреча {tag}",
            "partner_id": partner.id,
            "starts_at": datetime(2026, 12, 7, 7, 0),
            "duration_minutes": 60,
        },
    )
    return {"email": user.email, "partner_id": partner.id, "meeting_id": meeting.id}


def _watched_page(browser_page):
    page = browser_page(1280, 900)
    page.console_errors = []
    page.on(
        "console",
        lambda m: (
            page.console_errors.append(m.text + " " + m.location.get("url", ""))
            if m.type == "error"
            else None
        ),
    )
    page.add_init_script(WATCH_VIOLATIONS)
    page.dialogs = []
    return page


def _assert_clean(page, where: str) -> None:
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], where
    assert page.console_errors == [], where
    assert page.js_errors == [], where


def test_main_pages_run_under_the_csp_without_violations(live_server, browser_page, artifacts_dir):
    seeded = live_server.seed(_seed, "pages")
    page = _watched_page(browser_page)
    log_in(page, seeded["email"], DEFAULT_PASSWORD)
    # The policy is really there on the page the browser got.
    response = page.goto("/partners/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("#partner-rows tr")).not_to_have_count(0)
    _assert_clean(page, "partners list")

    # The partner card: every tab loads by htmx and is marked active; Purchases draws its chart.
    page.goto(f"/partners/{seeded['partner_id']}")
    for name in ("Summary", "Contacts", "Interactions", "History", "Purchases"):
        tab = page.get_by_role("tab", name=name, exact=True)
        if tab.count() == 0:
            continue
        tab.click()
        expect(tab).to_have_class(re.compile(r"\bactive\b"))
        expect(page.locator(".nav-tabs .nav-link.active")).to_have_count(1)
    chart = page.locator("#purchases-chart .js-plotly-plot .main-svg").first
    expect(chart).to_be_visible(timeout=CHART_MS)
    expect(page.locator("#purchases-chart .bars path")).not_to_have_count(0)
    # The chart keeps the size the server asked for (260 px high) and fills its column.
    drawn = page.locator("#purchases-chart .js-plotly-plot").bounding_box()
    column = page.locator("#purchases-chart").bounding_box()
    assert drawn["height"] == pytest.approx(260, abs=2), drawn
    assert drawn["width"] == pytest.approx(column["width"], abs=2), (drawn, column)
    page.screenshot(path=str(artifacts_dir / "csp-purchases-tab.png"), full_page=True)
    _assert_clean(page, "partner card")

    # The chart's own page (plotly.js in the page head, the figure drawn by app.js).
    page.goto(f"/sales/partners/{seeded['partner_id']}/purchases-chart")
    expect(page.locator("#purchases-chart .js-plotly-plot .main-svg").first).to_be_visible(
        timeout=CHART_MS
    )
    _assert_clean(page, "chart page")

    for url in (
        "/",  # My day: its blocks load as fragments
        "/interactions/",
        "/interactions/calendar?view=month&date=2026-12-07",
        "/interactions/calendar?view=agenda&date=2026-12-07",
        "/exchange/",
        "/partners/reports/contacts",
        "/notifications/",
        "/auth/users",
    ):
        page.goto(url)
        expect(page.locator("main")).to_be_visible()
        _assert_clean(page, url)


def test_confirm_print_and_select_still_work_under_the_csp(live_server, browser_page):
    seeded = live_server.seed(_seed, "behaviour")
    page = _watched_page(browser_page)
    log_in(page, seeded["email"], DEFAULT_PASSWORD)

    # Delete a partner asks first; answering "Cancel" keeps the partner.
    page.goto(f"/partners/{seeded['partner_id']}")
    page.once("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.get_by_role("button", name="Delete").click()
    expect(page.locator("#partner-name-heading")).to_be_visible()
    assert page.dialogs == ["Delete this partner?"]
    assert page.url.endswith(f"/partners/{seeded['partner_id']}")
    page.reload()
    expect(page.locator("#partner-name-heading")).to_be_visible()  # still there
    _assert_clean(page, "partner delete")

    # Print buttons print (window.print is replaced to count the calls).
    page.goto("/sales/receivables")
    page.evaluate("window.print = function () { document.body.dataset.printed = 'yes'; }")
    page.get_by_role("button", name="Print").click()
    expect(page.locator("body")).to_have_attribute("data-printed", "yes")
    _assert_clean(page, "receivables")

    # A new API token is selected whole on focus; Revoke asks, and only "OK" revokes.
    page.goto("/auth/account")
    page.get_by_label("Token name").fill("csp test")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-api-token")
    settle(page)  # the token came in a swap: click it once that has settled
    token.click()  # the click's handlers have run when click() returns
    assert token.evaluate("el => [el.selectionStart, el.selectionEnd, el.value.length]") == [
        0,
        len(token.input_value()),
        len(token.input_value()),
    ]
    page.once("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("active", exact=True)).to_be_visible()
    page.once("dialog", lambda d: (page.dialogs.append(d.message), d.accept()))
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("button", name="Revoke")).to_have_count(0)
    assert page.dialogs[1:] == ["Revoke this token? Programs using it stop working."] * 2
    _assert_clean(page, "account")

    # The calendar: drag the meeting to Wednesday 15:00 in the week view (calendar.js wired).
    page.goto("/interactions/calendar?view=week&date=2026-12-07")
    meeting = f'[data-item-key="interaction-{seeded["meeting_id"]}"]'
    expect(page.locator(f'[data-slot="2026-12-07T10:00"] {meeting}')).to_be_visible()
    page.locator(meeting).drag_to(page.locator('[data-slot="2026-12-09T15:00"]'))
    expect(page.locator(f'[data-slot="2026-12-09T15:00"] {meeting}')).to_be_visible()
    # The feed link: made with a click, shown in a box that selects itself on focus.
    page.locator("#calendar-subscribe summary").click()
    page.locator("#calendar-feed button").first.click()
    feed = page.locator("#calendar-feed-url")
    feed.focus()
    url = feed.input_value()
    assert "/interactions/feed/" in url
    assert feed.evaluate("el => [el.selectionStart, el.selectionEnd]") == [0, len(url)]
    _assert_clean(page, "calendar")
