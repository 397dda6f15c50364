"""Browser fixtures: a live server, headless Chromium and pages of a chosen screen size.

`live_server` serves a real app (SQLite file, CSRF on) from a thread; `browser` is Debian's
Chromium driven by Playwright; `browser_page(width, height)` opens a fresh context (own cookies)
with that viewport. Browser tests carry `@pytest.mark.browser` and
`@pytest.mark.xdist_group("browser")` so one xdist worker runs them all (`--dist loadgroup`).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
# Screens narrower than this are phones: touch, mobile viewport (the CSS breakpoint is 640 px).
PHONE_MAX_WIDTH = 640
# How long an action or an `expect` waits for its condition. A page of this app answers in
# milliseconds when the machine is idle, but CI and developers run the suite while other work
# loads both cores: a condition that holds is met at once, so a long limit costs a passing test
# nothing, and a short one turns a slow second into a failure.
DEFAULT_TIMEOUT_MS = 30_000
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class LiveServer:
    url: str
    app: Flask

    def seed(self, func, *args, **kwargs):
        """Run `func` inside an app context and commit; the server sees the rows at once."""
        from crm.extensions import db

        with self.app.app_context():
            try:
                result = func(*args, **kwargs)
                db.session.commit()
                # Plain values survive the context; ORM objects would be detached.
                return result
            finally:
                db.session.remove()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The app served on 127.0.0.1:<free port> from a daemon thread, on its own SQLite file."""
    from werkzeug.serving import make_server

    from crm import create_app
    from crm.extensions import db
    from tests.conftest import base_config

    folder = tmp_path_factory.mktemp("live")
    config = base_config("sqlite:///" + str(folder / "live.sqlite3"))
    config.update(WTF_CSRF_ENABLED=True, TESTING=False)
    app = create_app(config, instance_path=str(folder / "instance"))
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's package; `playwright install` cannot download here)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)  # assertions wait as long as actions do
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def browser_page(browser, live_server):
    """browser_page(width, height, **context_options) -> a Page in a fresh context whose
    relative URLs go to the live server. Phone widths get a touch, mobile viewport.

    Each page collects uncaught JavaScript errors in `page.js_errors` (a test asserts it empty).
    """
    contexts = []

    def open_page(width: int, height: int, **options):
        phone = width < PHONE_MAX_WIDTH
        options.setdefault("base_url", live_server.url)
        options.setdefault("is_mobile", phone)
        options.setdefault("has_touch", phone)
        options.setdefault("locale", "en-GB")
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.js_errors = []
        page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """test-artifacts/ (gitignored): screenshots to look at after a run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def log_in(page, email: str, password: str) -> None:
    """Sign in through the login form, as a person would (in whichever language the browser's
    Accept-Language chose: the fields are found by name)."""
    page.goto("/auth/login")
    form = page.locator("main form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    if "/auth/login" in page.url:
        raise AssertionError(f"sign-in as {email} failed: {page.inner_text('main')[:300]}")


# Runs in every document before its own scripts: collects each CSP violation the page reports.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile);
});
"""


def watch_page(page):
    """Collect the page's console errors and CSP violations (see `assert_clean`)."""
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.add_init_script(CSP_WATCH)
    return page


def assert_clean(page, where: str) -> None:
    """No CSP violation, console error or uncaught script error on a watched page."""
    assert page.evaluate("window.__cspViolations") == [], where
    assert page.console_errors == [], where
    assert page.js_errors == [], where


FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def assert_fits(page, shot) -> None:
    """Nothing scrolls sideways once the page has settled (its HTMX swap done); a screenshot
    of the page as it is when it does not."""
    page.wait_for_load_state("networkidle")
    try:
        page.wait_for_function(FITS, timeout=5000)
    except Exception:
        page.screenshot(path=str(shot), full_page=True)
        raise AssertionError(f"{page.url} scrolls sideways; see {shot}") from None


# HTMX wires the page's controls once the document has loaded, and a swapped-in control as the
# swap settles: a click made before that (a robot is faster than a hand, more so on a busy
# machine) would follow the plain link or submit the plain form instead, so a step waits for
# the page to be loaded and any swap to end.
SETTLED = (
    "() => document.readyState === 'complete' && !!window.htmx"
    " && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
)


def settle(page) -> None:
    page.wait_for_function(SETTLED)
