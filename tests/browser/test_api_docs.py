"""The API documentation and the account page in Russian, in headless Chromium, at a phone's
and a desktop's width: no policy violation or script error, nothing wider than the screen.
Screenshots go to test-artifacts/ to be looked at."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import assert_clean, log_in, watch_page
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _seed(tag: str) -> str:
    from crm.auth.models import User
    from crm.extensions import db

    user = User(email=f"docs-{tag}@example.test", role="manager", name=f"Документация {tag}")
    user.locale = "ru"
    user.set_password(DEFAULT_PASSWORD)
    db.session.add(user)
    return user.email


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 800)])
def test_api_docs_and_account_in_russian_fit_the_screen(
    live_server, browser_page, artifacts_dir, width, height
):
    email = live_server.seed(_seed, f"w{width}")
    page = watch_page(browser_page(width, height))
    log_in(page, email, DEFAULT_PASSWORD)

    for url, heading in (
        ("/api-docs/", "Документация API"),
        ("/auth/account", "Ваша учётная запись"),
    ):
        page.goto(url)
        expect(page.locator("h1")).to_have_text(heading)
        wide = page.evaluate("document.documentElement.scrollWidth")
        name = url.strip("/").replace("/", "-")
        page.screenshot(path=str(artifacts_dir / f"ru-{name}-{width}.png"), full_page=False)
        if url == "/api-docs/":  # an endpoint and a schema, close up
            page.locator(".api-operation").nth(1).screenshot(
                path=str(artifacts_dir / f"ru-api-docs-operation-{width}.png")
            )
            page.locator("#schema-PartnerCreate").screenshot(
                path=str(artifacts_dir / f"ru-api-docs-schema-{width}.png")
            )
        assert wide <= width, (url, wide)
        assert_clean(page, url)
