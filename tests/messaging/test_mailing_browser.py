"""Mailings in the browser, under the real CSP and CSRF: a marketer makes a draft on a phone,
previews its recipients (an HTMX post carrying the CSRF header), saves and schedules it, and
the card polls its state; no page scrolls sideways at 390 px or on a desktop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import assert_clean, assert_fits, log_in, settle, watch_page
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _seed(tag: str) -> dict:
    from crm.auth.models import User
    from crm.core.timeutil import utcnow
    from crm.extensions import db
    from crm.messaging.models import (
        Mailing,
        MailingGroup,
        Message,
        MessageTemplate,
        MessageTemplateText,
        Subscriber,
    )
    from tests.factories import create_partner

    marketer = User(email=f"mail-{tag}@example.test", role="marketer", name=f"Mail {tag}")
    marketer.set_password(DEFAULT_PASSWORD)
    db.session.add(marketer)
    group = MailingGroup(name=f"Акции {tag}", kind="advertising")
    db.session.add(group)
    db.session.flush()
    codes = []
    for n in range(3):
        partner = create_partner(
            name=f"Общество с ограниченной ответственностью «Торговый дом {tag} {n}»",
            code=f"ML-{tag}-{n}",
            emails=[f"very.long.address.of.purchasing.{n}@example-company-{tag}.test"],
            commit=False,
        )
        codes.append(partner.code)
        if n < 2:
            db.session.add(
                Subscriber(
                    channel="email",
                    address=partner.contact_details[0].value,
                    address_norm=partner.contact_details[0].value_norm,
                    consent=True,
                )
            )
    template = MessageTemplate(name=f"Письмо {tag}", channel="email")
    template.texts.append(
        MessageTemplateText(
            language="ru", subject="Весенняя распродажа", body_html="<p>Hi</p>", body_text="Hi"
        )
    )
    db.session.add(template)
    db.session.flush()
    sending = Mailing(
        name=f"Рассылка, которая идёт сейчас, с очень длинным названием {tag}",
        channel="email",
        template_id=template.id,
        group_id=group.id,
        state="sending",
        tracking=True,
        total=3,
        started_at=utcnow(),
        created_by_id=marketer.id,
    )
    db.session.add(sending)
    db.session.flush()
    for n, state in enumerate(("sent", "failed", "queued")):
        db.session.add(
            Message(
                mailing_id=sending.id,
                channel="email",
                address=f"very.long.address.of.purchasing.{n}@example-company-{tag}.test",
                address_norm=f"very.long.address.of.purchasing.{n}@example-company-{tag}.test",
                rfc_message_id=f"<{tag}{n}@crm.test>",
                state=state,
                error="550 5.1.1 The email account that you tried to reach does not exist"
                if state == "failed"
                else "",
                sent_at=utcnow() if state == "sent" else None,
            )
        )
    later = utcnow() + timedelta(days=2)
    return {
        "email": marketer.email,
        "codes": codes,
        "template": template.id,
        "group": group.id,
        "sending": sending.id,
        "at": later.strftime("%Y-%m-%dT%H:%M"),
        "tag": tag,
    }


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
def test_a_draft_is_previewed_saved_and_scheduled(
    live_server, browser_page, artifacts_dir, width, height
):
    seeded = live_server.seed(_seed, f"w{width}")
    page = watch_page(browser_page(width, height))
    log_in(page, seeded["email"], DEFAULT_PASSWORD)
    shots = artifacts_dir / "mailings"
    shots.mkdir(exist_ok=True)

    page.goto("/messaging/mailings/new")
    assert_fits(page, shots / f"{width}-form.png")
    page.fill("#name", f"Весенняя распродажа {seeded['tag']}")
    page.select_option("#template_id", str(seeded["template"]))
    page.select_option("#group_id", str(seeded["group"]))
    page.fill("#codes", "\n".join(seeded["codes"]))
    page.click("#preview-button")
    # Two of the three addresses consented: the third is skipped for it.
    expect(page.locator("#preview-messages")).to_have_text("2")
    expect(page.locator("#preview-skip-reasons")).to_contain_text("No consent to advertising: 1")
    settle(page)
    assert_fits(page, shots / f"{width}-preview.png")
    page.screenshot(path=str(shots / f"{width}-preview.png"), full_page=True)

    page.check("#when-1")
    page.fill("#send_at", seeded["at"])
    with page.expect_navigation():
        page.click("#mailing-form button[type=submit]:not([formaction])")
    expect(page.locator("#mailing-state")).to_have_text("Draft")
    page.locator("#mailing-preview").scroll_into_view_if_needed()
    expect(page.locator("#preview-messages")).to_have_text("2")
    with page.expect_navigation():
        page.click("#mailing-actions button:has-text('Schedule')")
    expect(page.locator("#mailing-state")).to_have_text("Scheduled")
    expect(page.locator("#mailing-status")).to_have_attribute("hx-trigger", "every 2s")
    assert_fits(page, shots / f"{width}-scheduled.png")

    page.goto(f"/messaging/mailings/{seeded['sending']}")
    expect(page.locator("#mailing-progress")).to_have_attribute("value", "66")
    expect(page.locator("#message-rows tr")).to_have_count(3)
    assert_fits(page, shots / f"{width}-sending.png")
    page.screenshot(path=str(shots / f"{width}-sending.png"), full_page=True)
    page.goto(f"/messaging/?q={seeded['tag']}")
    expect(page.locator("#mailing-rows tr")).to_have_count(2)
    assert_fits(page, shots / f"{width}-list.png")
    assert_clean(page, "mailing pages")
