"""The segment form's rule builder in a real browser, at a phone's and a laptop's size: a
condition is chosen, its parameters appear, a group is added with OR inside, the live count
follows each change, and the saved segment lists exactly the partners the rule gives. No CSP
violation or script error on the way; nothing scrolls sideways. Screenshots go to
test-artifacts/segments/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import assert_clean, assert_fits, log_in, settle, watch_page
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _seed(tag: str) -> dict:
    from crm.auth.models import User
    from crm.extensions import db
    from tests.factories import create_partner

    user = User(email=f"segments-{tag}@example.test", role="admin", name=f"Маркетолог {tag}")
    user.locale = "ru"
    user.set_password(DEFAULT_PASSWORD)
    db.session.add(user)
    db.session.flush()
    city = f"Город-{tag}"
    # In the city: a client, a supplier and a competitor; elsewhere a client.
    create_partner(f"Клиент {tag}", city=city, is_client=True, commit=False)
    create_partner(f"Поставщик {tag}", city=city, is_client=False, is_supplier=True, commit=False)
    create_partner(f"Конкурент {tag}", city=city, is_client=False, is_competitor=True, commit=False)
    create_partner(f"Приезжий {tag}", city="Другой", is_client=True, commit=False)
    db.session.commit()
    return {"email": user.email, "city": city}


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
def test_a_segment_is_built_condition_by_condition_with_a_live_count(
    live_server, browser_page, artifacts_dir, width, height
):
    tag = f"b{width}"
    seeded = live_server.seed(_seed, tag)
    page = watch_page(browser_page(width, height, locale="ru-RU"))
    shots = artifacts_dir / "segments"
    shots.mkdir(exist_ok=True)
    log_in(page, seeded["email"], DEFAULT_PASSWORD)

    page.goto("/segments/new")
    page.fill("#name", f"Город {tag}: клиенты и поставщики")
    page.select_option("#t-0\\.0", "partner.city")
    settle(page)
    cities = page.locator("#fv-0\\.0-cities")
    expect(cities).to_be_visible()
    cities.fill(seeded["city"])
    count = page.locator("#rule-count")
    expect(count).to_contain_text("3 партнёра")

    page.locator("button[value='add-group:0']").click()
    settle(page)
    first_in_group = page.locator("#t-0\\.1\\.0")
    expect(first_in_group).to_be_visible()
    expect(page.locator("#op-0\\.1")).to_have_value("any")
    first_in_group.select_option("partner.role")
    settle(page)
    page.locator("input[name='v-0.1.0-roles'][value='client']").check()
    expect(count).to_contain_text("1 партнёр")
    page.locator("button[value='add-cond:0.1']").click()
    settle(page)
    second_in_group = page.locator("#t-0\\.1\\.1")
    expect(second_in_group).to_be_visible()
    second_in_group.select_option("partner.role")
    settle(page)
    page.locator("input[name='v-0.1.1-roles'][value='supplier']").check()
    expect(count).to_contain_text("2 партнёра")
    assert_fits(page, shots / f"builder-{width}-wide.png")
    page.screenshot(path=str(shots / f"builder-{width}.png"), full_page=True)

    page.locator("button[name=save]").click()
    members = page.locator("#member-rows")
    expect(members).to_contain_text(f"Клиент {tag}")
    expect(members).to_contain_text(f"Поставщик {tag}")
    expect(members.locator("tr")).to_have_count(2)
    expect(page.locator("#segment-rule")).to_contain_text("Город")
    assert_fits(page, shots / f"segment-{width}-wide.png")
    page.screenshot(path=str(shots / f"segment-{width}.png"), full_page=True)
    assert_clean(page, "segments")
