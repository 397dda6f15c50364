"""The Notifications tab in Chromium: the channel choice swaps the template list, a save swaps
its card (the CSRF token travels with the HTMX request), on a phone and a desktop, without
sideways scrolling, script errors or CSP violations. Screenshots go to
test-artifacts/notifications/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import assert_clean, assert_fits, log_in, settle, watch_page
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _seed(n: int) -> dict:
    from crm.auth.models import User
    from crm.extensions import db
    from crm.messaging.models import (
        MailingGroup,
        MessageTemplate,
        MessageTemplateText,
        NotificationSetting,
    )

    # The live server's database lives for the session: the kind starts unset each time.
    db.session.query(NotificationSetting).filter_by(kind="overdue_debt").delete()
    user = User(email=f"notices-{n}@example.test", role="marketer", name="Марина", locale="ru")
    user.set_password(DEFAULT_PASSWORD)
    db.session.add(user)
    for name, channel in ((f"Письмо о долге {n}", "email"), (f"СМС о долге {n}", "sms")):
        template = MessageTemplate(name=name, channel=channel)
        template.texts = [MessageTemplateText(language="ru", subject="Долг", body_text="Долг")]
        db.session.add(template)
    group = MailingGroup(name=f"Служебные уведомления {n}", kind="service")
    db.session.add(group)
    db.session.flush()
    return {"email": user.email}


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
def test_a_marketer_switches_overdue_debt_notices_on_by_sms(
    live_server, browser_page, artifacts_dir, width, height
):
    seeded = live_server.seed(_seed, width)
    page = watch_page(browser_page(width, height))
    log_in(page, seeded["email"], DEFAULT_PASSWORD)
    shots = artifacts_dir / "notifications"
    shots.mkdir(exist_ok=True)

    page.goto("/messaging/notifications")
    assert_fits(page, shots / f"page-{width}.png")
    card = page.locator("#notification-overdue_debt")
    template = card.locator("select[name=template_id]")
    expect(template).to_contain_text(f"Письмо о долге {width}")
    card.locator("select[name=channel]").select_option("sms")
    expect(template).to_contain_text(f"СМС о долге {width}")
    expect(template).not_to_contain_text(f"Письмо о долге {width}")
    settle(page)
    template.select_option(label=f"СМС о долге {width}")
    card.locator("input[name=enabled]").check()
    card.locator("input[name=param_days_after_due]").fill("5")
    card.locator("button[type=submit]").click()

    expect(card.locator(".alert-success")).to_be_visible()
    expect(card.locator(".notification-state")).to_have_class(re.compile("text-bg-success"))
    expect(card.locator("input[name=param_days_after_due]")).to_have_value("5")
    assert page.url.endswith("/messaging/notifications")  # swapped in place, not reloaded
    assert_fits(page, shots / f"saved-{width}.png")
    page.screenshot(path=str(shots / f"saved-{width}.png"), full_page=True)
    assert_clean(page, "notifications page")
