"""The customer stages report in a real browser, at a phone's and a laptop's size: the page
comes at once and fills its results behind «Считаю…», a declining count opens the list of its
clients, and «Запланировать звонки» plans one call per client — pressed twice, nothing is
doubled. No CSP violation or script error on the way; nothing scrolls sideways. Screenshots go
to test-artifacts/analytics/."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import assert_clean, assert_fits, log_in, watch_page
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def month_ends() -> tuple[date, date, date]:
    """(T1, T2, the day of the one purchase): T2 the last month end, T1 the one before; the
    purchase on the first day of the month six months before T2's, so that the client is
    one-time at T1 (within the 6 months ending with T1's month) and lost at T2 (outside)."""
    t2 = date.today().replace(day=1) - timedelta(days=1)
    t1 = t2.replace(day=1) - timedelta(days=1)
    month = t2.year * 12 + t2.month - 1 - 6
    return t1, t2, date(month // 12, month % 12 + 1, 1)


def _seed(tag: str) -> dict:
    from crm.auth.models import User
    from crm.extensions import db
    from tests.factories import create_document, create_partner

    user = User(
        email=f"stages-{tag}@example.test", role="admin", name=f"Аналитик {tag}", locale="ru"
    )
    user.set_password(DEFAULT_PASSWORD)
    db.session.add(user)
    db.session.flush()
    _t1, _t2, bought = month_ends()
    partner = create_partner(
        name=f"ООО Ушедший клиент {tag}",
        responsible=user,
        phones=["+7 912 000-00-01"],
        created_on=bought - timedelta(days=30),
        commit=False,
    )
    create_document(partner, [15000], date=bought, commit=False)
    db.session.commit()
    return {"email": user.email, "partner": partner.name, "partner_id": partner.id}


def _calls(partner_id: int) -> int:
    from sqlalchemy import func, select

    from crm.extensions import db
    from crm.interactions.models import Interaction

    return db.session.execute(
        select(func.count()).select_from(Interaction).where(Interaction.partner_id == partner_id)
    ).scalar()


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
def test_a_lost_client_becomes_one_planned_call(
    live_server, browser_page, artifacts_dir, width, height
):
    tag = f"s{width}"
    seeded = live_server.seed(_seed, tag)
    t1, t2, _bought = month_ends()
    page = watch_page(browser_page(width, height, locale="ru-RU"))
    shots = artifacts_dir / "analytics"
    shots.mkdir(exist_ok=True)
    log_in(page, seeded["email"], DEFAULT_PASSWORD)

    page.goto(f"/analytics/transitions?from_date={t1.isoformat()}&to_date={t2.isoformat()}")
    cell = page.locator('a[href*="source=one-time"][href*="target=lost"]').first
    expect(cell).to_be_visible()
    assert_fits(page, shots / f"transitions-{width}-wide.png")
    page.screenshot(path=str(shots / f"transitions-{width}.png"), full_page=True)

    cell.click()
    expect(page.get_by_text(seeded["partner"])).to_be_visible()
    plan = page.locator("#plan-calls button[type=submit]")
    expect(plan).to_have_text("Запланировать звонки")
    assert_fits(page, shots / f"cell-{width}-wide.png")
    plan.click()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".alert").first).to_contain_text("запланирован", ignore_case=True)
    assert live_server.seed(_calls, seeded["partner_id"]) == 1

    page.locator("#plan-calls button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".alert").first).to_contain_text("уже")
    assert live_server.seed(_calls, seeded["partner_id"]) == 1
    page.screenshot(path=str(shots / f"cell-{width}.png"), full_page=True)
    assert_clean(page, "transitions")
