"""Segments in the browser, under the real CSP and CSRF: the partner card's Segments tab adds
the partner to a manual segment and removes him (plain forms, no script), and My day shows who
entered and left an owner's periodic segment — and drops the block for someone with nothing to
tell."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import assert_clean, log_in, watch_page
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _seed(tag: str) -> dict:
    from crm.auth.models import User
    from crm.extensions import db
    from crm.segments.services import create_segment
    from tests.factories import create_partner

    people = {}
    for role in ("manager", "marketer"):
        user = User(email=f"seg-{role}-{tag}@example.test", role=role, name=f"Seg {role} {tag}")
        user.set_password(DEFAULT_PASSWORD)
        db.session.add(user)
        people[role] = user
    db.session.flush()
    city = f"Город {tag}"
    partner = create_partner(
        name=f"ООО Сегмент {tag}", responsible=people["manager"], city=city, commit=False
    )
    create_segment(
        people["manager"],
        f"Город {tag} ежедневно",
        "periodic",
        {"type": "partner.city", "cities": [city]},
        schedule="daily",
    )
    manual = create_segment(people["manager"], f"Обзвон {tag}", "manual")
    return {
        "manager": people["manager"].email,
        "marketer": people["marketer"].email,
        "partner_id": partner.id,
        "partner": partner.name,
        "manual": manual.name,
    }


def test_the_segments_tab_adds_and_removes_and_my_day_tells_the_owner(live_server, browser_page):
    seeded = live_server.seed(_seed, "surfaces")
    page = watch_page(browser_page(1280, 900))
    log_in(page, seeded["manager"], DEFAULT_PASSWORD)

    # My day: the periodic segment he owns took his partner in when it was created.
    block = page.locator("#w-segment-changes")
    expect(block.locator("#day-segment-changes")).to_be_visible()
    expect(block.locator(".day-segment-entered-names")).to_contain_text(seeded["partner"])
    assert_clean(page, "my day")

    # The card's Segments tab: add to the manual segment, then remove from it.
    page.goto(f"/partners/{seeded['partner_id']}?tab=segments")
    table = page.locator("#partner-segments")
    expect(table).not_to_contain_text(seeded["manual"])
    page.locator("#partner-segment-add summary").click()
    with page.expect_navigation():
        page.get_by_role("button", name=seeded["manual"], exact=True).click()
    expect(table).to_contain_text(seeded["manual"])
    with page.expect_navigation():
        page.get_by_role("button", name="Remove from segment").click()
    expect(table).not_to_contain_text(seeded["manual"])
    assert f"/partners/{seeded['partner_id']}" in page.url
    assert_clean(page, "segments tab")

    # Someone who owns no periodic segment: the block takes itself off My day.
    other = watch_page(browser_page(1280, 900))
    log_in(other, seeded["marketer"], DEFAULT_PASSWORD)
    expect(other.locator("#w-overdue-receivables")).to_be_attached()
    expect(other.locator("#w-segment-changes")).to_have_count(0)
    assert_clean(other, "my day without changes")
