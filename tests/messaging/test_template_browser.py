"""The template form in a real browser (HTMX, the CSP, a phone's and a laptop's width): typing
an SMS updates its counter and the preview; an unknown placeholder shows its error under the
field while typing; a partner found by the search box is previewed; the saved template's card
shows its HTML in a sandboxed iframe. No CSP violation or script error; nothing scrolls
sideways. Screenshots go to test-artifacts/messaging/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import (
    FITS,
    assert_clean,
    assert_fits,
    log_in,
    settle,
    watch_page,
)
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _seed(tag: str) -> dict:
    from crm.auth.models import User
    from crm.extensions import db
    from tests.factories import create_partner

    user = User(email=f"templates-{tag}@example.test", role="marketer", name="Ольга")
    user.locale = "en"
    user.set_password(DEFAULT_PASSWORD)
    db.session.add(user)
    create_partner(f"Лютик {tag}", phones=["+79001112233"], emails=[f"{tag}@lyutik.test"],
                   commit=False)  # fmt: skip
    db.session.commit()
    return {"email": user.email}


def find_partner(page, words: str) -> None:
    """Type into the search box, wait for the narrowed options, pick the one partner found."""
    with page.expect_response(lambda r: "/messaging/templates/partners" in r.url):
        page.fill("#partner_q", words)
    settle(page)
    options = page.locator("#preview-partner option")
    expect(options).to_have_count(2)  # the samples and the one partner
    page.select_option("#preview-partner", value=options.nth(1).get_attribute("value"))


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
def test_a_template_is_written_with_a_live_counter_preview_and_errors(
    live_server, browser_page, artifacts_dir, width, height
):
    tag = f"t{width}"
    seeded = live_server.seed(_seed, tag)
    page = watch_page(browser_page(width, height))
    shots = artifacts_dir / "messaging"
    shots.mkdir(exist_ok=True)
    log_in(page, seeded["email"], DEFAULT_PASSWORD)

    page.goto("/messaging/templates/new?channel=sms")
    page.fill("#name", f"Долг {tag}")
    text = page.locator("#ru_body_text")
    # The sample partner "ООО «Ромашка»" (13) + ": долг" (6) = 19 Cyrillic characters.
    text.fill("{{ partner.name }}: долг")
    expect(page.locator("#len-ru_body_text")).to_contain_text("19 characters")
    expect(page.locator("#len-ru_body_text")).to_contain_text("UCS-2")
    expect(page.locator("#preview-text")).to_have_text("ООО «Ромашка»: долг")

    text.fill("{{ partner.name }}: {{ config }}")
    expect(page.locator("#err-ru_body_text")).to_contain_text("“config” is not a placeholder")
    text.fill("{{ partner.name }}, {{ contact.address }}")
    expect(page.locator("#err-ru_body_text")).to_have_text("")

    find_partner(page, f"лютик {tag}")
    expect(page.locator("#preview-text")).to_have_text(f"Лютик {tag}, +79001112233")
    assert_fits(page, shots / f"sms-form-{width}-wide.png")
    page.screenshot(path=str(shots / f"sms-form-{width}.png"), full_page=True)

    page.locator("button[name=save]").click()
    expect(page.locator("h1")).to_contain_text(f"Долг {tag}")
    assert_clean(page, "the SMS template")

    page.goto("/messaging/templates/new?channel=email")
    page.fill("#name", f"Письмо {tag}")
    page.fill("#ru_subject", "Для {{ partner.name }}")
    page.fill("#ru_body_html", "<h2>{{ partner.name }}</h2><p>Долг: {{ debt.total|money }}</p>")
    frame = page.frame_locator("#preview-html")
    expect(frame.locator("h2")).to_have_text("ООО «Ромашка»")
    expect(page.locator("#preview-subject")).to_have_text("Для ООО «Ромашка»")
    # (Not assert_fits: its wait for an idle network never ends while the preview's iframe is
    # being replaced; the swaps are over once `settle` returns.)
    settle(page)
    page.wait_for_function(FITS)
    page.locator("button[name=save]").click()
    expect(page.locator("h1")).to_contain_text(f"Письмо {tag}")
    # The card's preview, for the partner chosen there (a GET form: HTMX swaps the preview).
    page.fill("#partner_q", f"лютик {tag}")
    settle(page)
    expect(page.locator("#preview-partner option")).to_have_count(2)
    page.select_option(
        "#preview-partner",
        value=page.locator("#preview-partner option").nth(1).get_attribute("value"),
    )
    expect(page.frame_locator("#preview-html").locator("h2")).to_have_text(f"Лютик {tag}")
    expect(page.locator("#preview-partner option:checked")).to_contain_text(f"Лютик {tag}")
    assert page.locator("#preview-html").get_attribute("sandbox") == ""
    # Settled, not assert_fits: the swapped preview iframe can keep the network from ever
    # being idle, as on the form above.
    settle(page)
    page.wait_for_function(FITS)
    page.screenshot(path=str(shots / f"email-card-{width}.png"), full_page=True)
    assert_clean(page, "the e-mail template's card")

    page.goto("/messaging/templates?q=" + tag)
    expect(page.locator("#template-rows tr")).to_have_count(2)
    assert_fits(page, shots / f"list-{width}-wide.png")
    assert_clean(page, "the template list")
