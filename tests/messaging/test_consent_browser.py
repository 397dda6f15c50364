"""The consent pages in a real browser: the Mailings tab's forms work through HTMX with the
page's CSRF token (and the Content-Security-Policy), and the groups, suppression list, the tab
and the public unsubscribe page fit a phone's 390 px and a desktop without scrolling sideways."""

from __future__ import annotations

import itertools

import pytest

from tests.browser.fixtures import assert_clean, assert_fits, log_in, settle, watch_page
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

_runs = itertools.count(1)


def _seed(n: int) -> dict:
    from crm.auth.models import User
    from crm.extensions import db
    from crm.messaging import consent, links, suppression, tokens
    from crm.messaging.models import MailingGroup, Message
    from tests.factories import create_partner

    admin = User(email=f"consent-admin-{n}@example.test", role="admin", name="Анна", locale="ru")
    admin.set_password(DEFAULT_PASSWORD)
    db.session.add(admin)
    group = MailingGroup(name=f"Акции и специальные предложения для постоянных клиентов {n}")
    db.session.add(group)
    db.session.flush()
    long_email = f"very.long.address.of.the.purchasing.department.{n}@example-company-name.test"
    partner = create_partner(
        name="Общество с ограниченной ответственностью «Торговый дом Северо-Западные стройматериалы»",
        responsible=admin,
        emails=[long_email],
        phones=["+7 912 345-67-89"],
        persons=[{"name": "Константин Константинопольский", "email": f"k{n}@example.test"}],
        commit=False,
    )
    suppression.suppress(None, "sms", "+79123456789", "bounced", note="Абонент недоступен " * 5)
    consent.opt_out(None, group, "email", f"k{n}@example.test", source="unsubscribe link")
    key = tokens.new_key()
    db.session.add(
        Message(
            channel="email",
            address=long_email,
            address_norm=long_email,
            partner_id=partner.id,
            group_id=group.id,
            language="ru",
            key=key,
            rfc_message_id=tokens.rfc_message_id(key),
            state="sent",
        )
    )
    db.session.flush()
    detail = partner.contact_details[0].id
    return {
        "email": admin.email,
        "partner": partner.id,
        "detail": detail,
        "unsubscribe": links.unsubscribe_url(key),
    }


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
def test_the_pages_fit_the_screen(live_server, browser_page, artifacts_dir, width, height):
    seeded = live_server.seed(_seed, next(_runs))
    page = watch_page(browser_page(width, height, locale="ru-RU"))
    shots = artifacts_dir / "overflow"
    shots.mkdir(exist_ok=True)
    unsubscribe = seeded["unsubscribe"].replace(live_server.url, "")
    for url in (unsubscribe,):  # before signing in: the recipient has no account
        assert page.goto(url).status == 200
        assert_fits(page, shots / f"{width}-messaging-unsubscribe.png")
        page.screenshot(path=str(shots / f"{width}-messaging-unsubscribe.png"), full_page=True)
    log_in(page, seeded["email"], DEFAULT_PASSWORD)
    for url in (
        "/messaging/groups/",
        "/messaging/groups/new",
        "/messaging/suppression/",
        f"/partners/{seeded['partner']}?tab=mailings",
    ):
        assert page.goto(url).status == 200, url
        name = url.strip("/").replace("/", "_").replace("?", "_").replace("=", "-")
        assert_fits(page, shots / f"{width}-{name}.png")
        page.screenshot(path=str(shots / f"{width}-{name}.png"), full_page=True)
        assert_clean(page, url)


def test_a_consent_is_recorded_on_the_card_through_htmx(live_server, browser_page):
    seeded = live_server.seed(_seed, next(_runs))
    page = watch_page(browser_page(1280, 800))
    log_in(page, seeded["email"], DEFAULT_PASSWORD)
    page.goto(f"/partners/{seeded['partner']}?tab=mailings")
    card = page.locator(f"#mailing-address-{seeded['detail']}")

    card.locator(".mailing-grant input[name=source]").fill("Анкета на сайте 04.12.2026")
    card.locator(".mailing-grant button[type=submit]").click()
    settle(page)

    # The form was swapped in place (no page load): the card now offers to withdraw.
    card = page.locator(f"#mailing-address-{seeded['detail']}")
    card.locator(".mailing-withdraw").wait_for()
    assert "Анкета на сайте 04.12.2026" in card.inner_text()
    assert page.url.endswith("?tab=mailings")
    assert_clean(page, "the Mailings tab")
