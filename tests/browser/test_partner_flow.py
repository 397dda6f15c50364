"""A manager finds a partner by typing, edits its city in place and sees the change kept,
on a phone and on a laptop screen, in headless Chromium against a live server with CSRF on."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import log_in, settle
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SIZES = [pytest.param(390, 844, id="phone"), pytest.param(1280, 800, id="laptop")]


def _seed_manager_with_partners(tag: str) -> dict:
    from crm.auth.models import User
    from crm.extensions import db
    from tests.factories import create_partner

    user = User(email=f"browser-{tag}@example.test", role="manager", name=f"Browser {tag}")
    user.set_password(DEFAULT_PASSWORD)
    db.session.add(user)
    db.session.flush()
    target = create_partner(
        name="ООО Ромашка",
        responsible=user,
        city="Тверь",
        emails=["info@romashka.example"],
        commit=False,
    )
    create_partner(name="Acme Trading Ltd", responsible=user, city="London", commit=False)
    create_partner(name="Василёк и партнёры", responsible=user, city="Омск", commit=False)
    return {"email": user.email, "partner_id": target.id}


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_manager_finds_partner_and_edits_city_inline(
    live_server, browser_page, artifacts_dir, width, height
):
    seeded = live_server.seed(_seed_manager_with_partners, f"{width}x{height}")
    page = browser_page(width, height)
    shot = artifacts_dir / f"partner-flow-{width}x{height}"
    phone = width < 640

    log_in(page, seeded["email"], DEFAULT_PASSWORD)
    expect(page.locator("#day-title")).to_be_visible()  # sign-in lands on My day
    page.goto("/partners/")
    rows = page.locator("#partner-rows tr")
    expect(rows).to_have_count(3)

    # The layout adapts: on a phone the menu collapses behind a toggler, rows become cards.
    toggler = page.locator(".navbar-toggler")
    thead = page.locator("#partner-table thead")
    if phone:
        expect(toggler).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
        expect(thead).to_be_hidden()
        card = rows.first.bounding_box()
        assert card["width"] <= width, card  # a card fits the screen: no sideways scrolling
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    else:
        expect(toggler).to_be_hidden()
        # Sign out is in the user's menu, a click on his name away.
        expect(page.locator("#user-menu")).to_be_visible()
        expect(thead).to_be_visible()
    page.screenshot(path=f"{shot}-1-list.png", full_page=True, animations="disabled")

    # Search as you type: lower-case Cyrillic finds "ООО Ромашка" and nothing else.
    page.locator("#q").press_sequentially("ромаш", delay=30)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ООО Ромашка")
    expect(page.locator("#partner-results")).not_to_contain_text("Acme")
    expect(page.locator("#partner-results")).not_to_contain_text("Василёк")
    # The search is in the address bar (hx-push-url): a link or Back returns to these results.
    expect(page).to_have_url(re.compile(r"/partners/\?(.*&)?q=%D1%80%D0%BE%D0%BC%D0%B0%D1%88(&|$)"))
    page.screenshot(path=f"{shot}-2-search.png", full_page=True, animations="disabled")

    page.get_by_role("link", name="ООО Ромашка").click()
    expect(page.locator("#partner-name-heading")).to_have_text("ООО Ромашка")
    expect(page.locator("#field-city .field-value")).to_have_text("Тверь")
    # A marker that a full page load would wipe: the edit below must not reload the page.
    page.evaluate("window.__noReload = true")

    settle(page)  # the card's links are HTMX's once it has loaded
    page.get_by_role("link", name="Edit city").click()
    editor = page.locator("form#field-city input[name=value]")
    expect(editor).to_have_value("Тверь")
    settle(page)
    editor.fill("Нижний Новгород")
    page.screenshot(path=f"{shot}-3-edit.png", full_page=True, animations="disabled")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.locator("form#field-city").get_by_role("button", name="Save").click()
    # The CSRF token reached the server through <body hx-headers>: a missing one answers 400.
    assert posted.value.status == 200, posted.value.text()[:300]
    assert posted.value.request.headers.get("x-csrftoken")
    expect(page.locator("#field-city .field-value")).to_have_text("Нижний Новгород")
    assert page.evaluate("window.__noReload") is True
    page.screenshot(path=f"{shot}-4-saved.png", full_page=True, animations="disabled")

    page.reload()
    expect(page.locator("#field-city .field-value")).to_have_text("Нижний Новгород")
    page.get_by_role("tab", name="History").click()
    history = page.locator("#history-table")
    expect(history).to_contain_text("City")
    expect(history).to_contain_text("Тверь")
    expect(history).to_contain_text("Нижний Новгород")
    expect(history).to_contain_text(f"Browser {width}x{height}")
    expect(page).to_have_url(f"{live_server.url}/partners/{seeded['partner_id']}?tab=history")
    page.screenshot(path=f"{shot}-5-history.png", full_page=True, animations="disabled")
    assert page.js_errors == []
