"""Lists on a phone and on a laptop: the filters fold behind a "Filters (n)" button on a phone
(n counts the filters in force and follows each change made through HTMX), a partner is a
card of at most three lines and an interaction's quick actions stay on one row — headless
Chromium at 390×844 and 1280×800 against a live server."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import PHONE_MAX_WIDTH, log_in
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SIZES = [pytest.param(390, 844, id="phone"), pytest.param(1280, 800, id="laptop")]


def _seed(tag: str) -> dict:
    from crm.auth.models import User
    from crm.extensions import db
    from crm.partners.models import Tag
    from tests.factories import create_interaction, create_partner

    user = User(email=f"lists-{tag}@example.test", role="manager", name=f"Lister {tag}")
    user.set_password(DEFAULT_PASSWORD)
    db.session.add(user)
    db.session.flush()
    vip = Tag(name=f"vip-{tag}", name_norm=f"vip-{tag}")
    db.session.add(vip)
    full = create_partner(
        name=f"ООО Полный Комплект Торговый Дом {tag}",
        responsible=user,
        city="Санкт-Петербург",
        is_client=True,
        is_supplier=True,
        emails=[f"sales-department-{tag}@polny-komplekt.example"],
        phones=["+7 912 345-67-89"],
        tags=[vip],
        commit=False,
    )
    create_partner(name=f"Пустой {tag}", responsible=user, is_client=False, is_other=True)
    # Planned and in the past: overdue, so every quick action is offered.
    create_interaction(
        user, kind="call", partner=full, title=f"Звонок {tag}", starts_at=datetime(2026, 3, 2, 9)
    )
    return {"email": user.email, "partner": full.name}


def _count_on(page, form_id: str) -> int:
    return int(page.locator(f"#{form_id}-count").get_attribute("data-count"))


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_partner_filters_fold_on_a_phone_and_count_what_is_in_force(
    live_server, browser_page, artifacts_dir, width, height
):
    seeded = live_server.seed(_seed, f"f{width}")
    page = browser_page(width, height)
    phone = width < PHONE_MAX_WIDTH
    shot = artifacts_dir / f"phone-lists-filters-{width}x{height}"
    log_in(page, seeded["email"], DEFAULT_PASSWORD)
    page.goto("/partners/")

    toggle = page.locator("#partner-filters .filter-toggle")
    role, city = page.locator("#f-role"), page.locator("#f-city")
    expect(page.locator("#q")).to_be_visible()  # the search is never folded
    if not phone:
        expect(toggle).to_be_hidden()
        expect(role).to_be_visible()
        expect(page.locator("#f-sort")).to_be_visible()
        page.screenshot(path=f"{shot}.png", animations="disabled")
        return

    expect(toggle).to_be_visible()
    expect(toggle).to_have_text("Filters")
    expect(role).to_be_hidden()
    assert _count_on(page, "partner-filters") == 0
    toggle.click()
    expect(role).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.screenshot(path=f"{shot}-open.png", full_page=True, animations="disabled")

    # Two filters: a role and a city (each change re-fetches the results through HTMX).
    role.select_option("client")
    expect(toggle).to_have_text("Filters (1)")
    city.fill("Санкт-Петербург")
    city.dispatch_event("change")
    expect(toggle).to_have_text("Filters (2)")
    results = page.locator("#partner-results")
    expect(results).not_to_contain_text(f"Пустой f{width}")
    expect(results).to_contain_text(seeded["partner"])
    # A sort is not a filter.
    page.locator("#f-sort").select_option(index=1)
    expect(page).to_have_url(re.compile(r"sort="))
    expect(toggle).to_have_text("Filters (2)")
    assert _count_on(page, "partner-filters") == 2
    page.screenshot(path=f"{shot}-two.png", full_page=True, animations="disabled")

    # Cleared again: no number.
    role.select_option("")
    city.fill("")
    city.dispatch_event("change")
    expect(toggle).to_have_text("Filters")
    expect(results).to_contain_text(f"Пустой f{width}")
    assert _count_on(page, "partner-filters") == 0

    # A page opened with filters in its address shows their number before any change.
    page.goto("/partners/?role=client&city=Санкт-Петербург&sort=-name")
    expect(toggle).to_have_text("Filters (2)")
    expect(role).to_be_hidden()
    assert page.js_errors == []


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_interaction_and_receivable_filters_fold_on_a_phone(
    live_server, browser_page, width, height
):
    seeded = live_server.seed(_seed, f"i{width}")
    page = browser_page(width, height)
    phone = width < PHONE_MAX_WIDTH
    log_in(page, seeded["email"], DEFAULT_PASSWORD)

    page.goto("/interactions/")
    toggle = page.locator("#interaction-filters .filter-toggle")
    expect(page.locator("#q")).to_be_visible()
    if phone:
        expect(page.locator("#f-kind")).to_be_hidden()
        toggle.click()
        page.locator("#f-kind").select_option("call")
        expect(toggle).to_have_text("Filters (1)")
        page.locator("#f-unprocessed").check()
        expect(toggle).to_have_text("Filters (2)")
        # Grouping is a way of showing, not a filter.
        page.locator("#f-group").select_option(index=1)
        expect(page).to_have_url(re.compile(r"group="))
        expect(toggle).to_have_text("Filters (2)")
    else:
        expect(toggle).to_be_hidden()
        expect(page.locator("#f-kind")).to_be_visible()

    page.goto("/sales/receivables")
    toggle = page.locator("#receivables-filters .filter-toggle")
    if phone:
        expect(page.locator("#f-manager")).to_be_hidden()
        expect(toggle).to_have_text("Filters")
        toggle.click()
        page.locator("#f-manager").select_option("none")
        expect(toggle).to_have_text("Filters (1)")
    else:
        expect(toggle).to_be_hidden()
        expect(page.locator("#f-manager")).to_be_visible()
    assert page.js_errors == []


def test_a_partner_is_a_card_of_at_most_three_lines_on_a_phone(
    live_server, browser_page, artifacts_dir
):
    seeded = live_server.seed(_seed, "card")
    page = browser_page(390, 844)
    log_in(page, seeded["email"], DEFAULT_PASSWORD)
    page.goto("/partners/?q=card")
    rows = page.locator("#partner-rows tr")
    expect(rows).to_have_count(2)
    page.screenshot(path=str(artifacts_dir / "phone-lists-partners-390.png"), full_page=True)

    full = rows.filter(has_text=seeded["partner"])
    # The lines of the card: the distinct tops of the cells that are shown.
    tops = full.locator("td").evaluate_all(
        """cells => cells.filter(c => c.offsetParent !== null)
                         .map(c => Math.round(c.getBoundingClientRect().top))"""
    )
    assert len(set(tops)) == 3, tops  # name; code · roles · city; phone and e-mail
    line = page.evaluate("parseFloat(getComputedStyle(document.body).lineHeight)")
    box = full.bounding_box()
    # Three lines of text, the name's touch-sized link (44 px) and the card's padding.
    assert box["height"] <= 44 + 2 * line + 16, (box, line)
    expect(full).to_contain_text("+7 912 345-67-89")
    expect(full.get_by_text("Lister card")).to_be_hidden()  # the responsible: on the card page
    # The partner without a city, phone or e-mail: name and one line, no dashes.
    empty = rows.filter(has_text="Пустой card")
    tops = empty.locator("td").evaluate_all(
        """cells => cells.filter(c => c.offsetParent !== null)
                         .map(c => Math.round(c.getBoundingClientRect().top))"""
    )
    assert len(set(tops)) == 2, tops
    expect(empty.get_by_text("—")).to_have_count(3)  # city, e-mail, phone
    for n in range(3):
        expect(empty.get_by_text("—").nth(n)).to_be_hidden()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_an_interactions_quick_actions_stay_on_one_row(
    live_server, browser_page, artifacts_dir, width, height
):
    seeded = live_server.seed(_seed, f"q{width}")
    page = browser_page(width, height)
    log_in(page, seeded["email"], DEFAULT_PASSWORD)
    page.goto(f"/interactions/?q=q{width}")
    actions = page.locator(".interaction-row .quick-actions").first
    expect(actions).to_be_visible()
    page.screenshot(
        path=str(artifacts_dir / f"phone-lists-interactions-{width}x{height}.png"), full_page=True
    )
    buttons = actions.locator(".btn:visible")
    # Complete, Processed, Defer…, Reply, Follow-up: an overdue call offers them all.
    expect(buttons).to_have_count(5)
    tops = {round(b["y"]) for b in (buttons.nth(n).bounding_box() for n in range(5))}
    assert len(tops) == 1, tops
    # The bar scrolls inside the row; the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_contact_report_prints_all_rows_from_its_own_view(
    live_server, browser_page, artifacts_dir, width, height
):
    seeded = live_server.seed(_seed, f"r{width}")
    page = browser_page(width, height)
    log_in(page, seeded["email"], DEFAULT_PASSWORD)
    page.goto(f"/partners/reports/contacts?q=r{width}")
    expect(page.locator("#report-table tbody tr")).to_have_count(2)
    page.screenshot(path=str(artifacts_dir / f"phone-lists-report-{width}x{height}.png"))
    page.get_by_role("link", name="Print all").click()
    expect(page.locator("#print-note")).to_have_text("2 rows: every row of the filter.")
    expect(page.locator("#report-table tbody tr")).to_have_count(2)
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / f"phone-lists-print-all-{width}x{height}.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.js_errors == []
