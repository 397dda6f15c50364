"""The deal pages in a real browser at a phone's 390×844 and a laptop's 1280×800: the list's
filters fold on a phone and narrow the list through HTMX, a row is a card, nothing scrolls
sideways, and a manager opens a deal through the form (finding the partner by typing, with
the CSRF token of a real form) and lands on its card — no CSP violation or script error on
the way. Screenshots go to test-artifacts/deals/."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import PHONE_MAX_WIDTH, assert_clean, log_in, watch_page
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SIZES = [pytest.param(390, 844, id="phone"), pytest.param(1280, 800, id="laptop")]
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def _seed(tag: str) -> dict:
    from crm.auth.models import User
    from crm.extensions import db
    from tests.factories import create_deal, create_deal_kind, create_partner

    user = User(email=f"deals-{tag}@example.test", role="manager", name=f"Сделочник {tag}")
    user.set_password(DEFAULT_PASSWORD)
    db.session.add(user)
    db.session.flush()
    partner = create_partner(
        name=f"ООО Торговый Дом Полный Комплект {tag}",
        responsible=user,
        persons=[{"name": f"Ольга {tag}"}],
    )
    other = create_partner(name=f"Лютик {tag}", responsible=user)
    kind = create_deal_kind(name=f"Поставка {tag}", stages=("Лид", "КП", "Договор"))
    create_deal(partner, kind, user, deal_no=f"{tag}-1", title="Очень длинное название сделки",
                amount="1234567.89", expected_close=date(2026, 12, 31))  # fmt: skip
    create_deal(other, kind, user, deal_no=f"{tag}-2", title="Вторая", amount="10")
    return {"email": user.email, "partner": partner.name, "kind": kind.id, "tag": tag}


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_deal_list_card_and_form(live_server, browser_page, artifacts_dir, width, height):
    tag = f"d{width}"
    seeded = live_server.seed(_seed, tag)
    page = watch_page(browser_page(width, height))
    phone = width < PHONE_MAX_WIDTH
    shots = artifacts_dir / "deals"
    shots.mkdir(exist_ok=True)
    log_in(page, seeded["email"], DEFAULT_PASSWORD)

    page.goto("/deals/")
    rows = page.locator("#deal-rows tr")
    expect(rows).to_have_count(2)
    assert page.evaluate(OVERFLOW) <= 0
    page.screenshot(path=str(shots / f"list-{width}.png"), full_page=True, animations="disabled")
    toggle = page.locator("#deal-filters .filter-toggle")
    if phone:
        expect(page.locator("#f-status")).to_be_hidden()
        toggle.click()
        # A row is a card: its cells stack, each with its label.
        cell = rows.first.locator("td").nth(1)
        assert cell.evaluate("el => getComputedStyle(el).display") == "block"
    page.locator("#q").fill("Лютик")
    expect(rows).to_have_count(1)
    expect(page.locator("#deal-rows")).to_contain_text(f"{tag}-2")
    page.locator("#q").fill("")
    expect(rows).to_have_count(2)
    page.locator("#f-status").select_option("won")
    expect(page.locator("#deal-results")).to_contain_text("No deals match.")
    if phone:
        expect(toggle).to_have_text("Filters (1)")
    page.locator("#f-status").select_option("open")

    page.goto("/deals/new")
    page.locator("#partner_q").fill("Полный Комплект " + tag)
    expect(page.locator("#partner_id option")).to_have_count(2)
    page.locator("#partner_id").select_option(index=1)
    expect(page.locator("#deal-contacts")).to_contain_text(f"Ольга {tag}")
    page.locator("#contacts-0-contact_person_id").select_option(index=1)
    page.locator("#kind_id").select_option(str(seeded["kind"]))
    page.locator("#title").fill("Новая из браузера")
    page.locator("#amount").fill("5 000,50")
    page.locator("#expected_close").fill("2026-12-20")
    assert page.evaluate(OVERFLOW) <= 0
    page.screenshot(path=str(shots / f"form-{width}.png"), full_page=True, animations="disabled")
    with page.expect_navigation():
        page.locator("form.deal-form button[type=submit]").click()
    expect(page.locator("#deal-heading")).to_have_text("Новая из браузера")
    expect(page.locator("#deal-amount")).to_have_text("₽5,000.50")
    expect(page.locator("#deal-contacts")).to_contain_text(f"Ольга {tag}")
    expect(page.locator("#deal-history tbody tr")).to_have_count(1)
    assert page.evaluate(OVERFLOW) <= 0
    page.screenshot(path=str(shots / f"card-{width}.png"), full_page=True, animations="disabled")
    assert_clean(page, "deal pages")
