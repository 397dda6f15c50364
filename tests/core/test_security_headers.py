"""Security headers on every response, and no inline script or style the CSP would refuse.

The walk covers every GET route of the URL map (a new route is checked without anyone adding
it here), with real ids from a small data set, as a page and as an HTMX fragment; the other
kinds of response (API JSON, downloads, the calendar feed, static files, redirects, errors)
are asked for one by one."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from werkzeug.routing.converters import NumberConverter

from crm.auth import services as auth_services
from crm.interactions import feeds
from crm.partners.tabs import tabs_for
from tests.factories import create_document, create_interaction, create_payment

ROOT = Path(__file__).resolve().parents[2]
HTMX = {"HX-Request": "true"}

# Written out here rather than read from crm.core.security_headers: the test states the policy.
FIXED_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def csp_directives(value: str) -> dict[str, list[str]]:
    directives = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_security_headers(response, where: str, hsts: bool = False) -> None:
    for name, value in FIXED_HEADERS.items():
        assert response.headers.get(name) == value, f"{where}: {name}"
    # Pages whose URL holds a secret (the feed, an invitation) send none at all.
    assert response.headers.get("Referrer-Policy") in ("same-origin", "no-referrer"), where
    assert "camera=()" in response.headers.get("Permissions-Policy", ""), where
    csp = csp_directives(response.headers.get("Content-Security-Policy", ""))
    assert csp.get("default-src") == ["'self'"], where
    assert csp.get("script-src") == ["'self'"], where  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp.get("style-src") == ["'self'"], where  # no <style> elements or style="" either
    assert not any(d.startswith("style-src-") or d.startswith("script-src-") for d in csp), where
    assert csp.get("object-src") == ["'none'"], where
    assert csp.get("base-uri") == ["'self'"], where
    assert csp.get("form-action") == ["'self'"], where
    assert csp.get("frame-ancestors") == ["'none'"], where
    assert not any("unsafe-eval" in w for words in csp.values() for w in words), where
    assert response.headers.get("Strict-Transport-Security") == (HSTS if hsts else None), where


class InlineScriptFinder(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would refuse: <script> without src (a JSON
    data block is allowed: it does not run), on…= handler attributes, javascript: URLs, htmx
    attributes that evaluate JavaScript, <style> elements and style attributes."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not attrs.get("src") and attrs.get("type") != "application/json":
            self.found.append(self.get_starttag_text())
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs.items():
            value = value or ""
            if name.startswith("on") or name.startswith("hx-on") or name == "style":
                self.found.append(f"{tag} {name}={value!r}")
            if value.strip().lower().startswith("javascript:"):
                self.found.append(f"{tag} {name}={value!r}")
            if name in ("hx-vals", "hx-vars", "hx-headers") and value.strip().startswith("js:"):
                self.found.append(f"{tag} {name}={value!r}")
            if name == "hx-trigger" and "[" in value:  # an event filter is evaluated JS
                self.found.append(f"{tag} {name}={value!r}")


def inline_scripts(html: str) -> list[str]:
    finder = InlineScriptFinder()
    finder.feed(html)
    return finder.found


@pytest.fixture
def site(app, login_as, make_partner):
    """An admin signed in, and one of each record the GET routes show."""
    admin = login_as("admin")
    partner = make_partner(
        name="Header Test Partner",
        responsible=admin,
        emails=["h@example.test"],
        persons=[{"name": "Pat Person", "phone": "+7 495 123-45-67"}],
    )
    today = date.today()
    create_document(
        partner,
        [1000],
        doc_no="HDR-1",
        date=today - timedelta(days=40),
        due_date=today - timedelta(days=10),
    )
    payment = create_payment(partner, 300, today - timedelta(days=5))
    interaction = create_interaction(admin, partner=partner, starts_at=datetime(2026, 3, 2, 9))
    _row, api_token = auth_services.create_api_token(admin, "headers")
    feed_token = feeds.create_feed(admin)
    from crm.extensions import db

    db.session.commit()
    values = {
        "partner_id": partner.id,
        "interaction_id": interaction.id,
        "user_id": admin.id,
        "id": payment.id,
        "code": partner.code,
        "partner_code": partner.code,
        "doc_no": "HDR-1",
        "kind": "partners",
        "fmt": "csv",
        "filename": "css/app.css",
    }
    return {
        "admin": admin,
        "values": values,
        "api_token": api_token,
        "feed": feed_token,
        "partner_id": partner.id,
    }


def url_for_rule(rule, site) -> str:
    values = {}
    for name, conv in rule._converters.items():
        if rule.endpoint == "interactions.feed" and name == "token":
            values[name] = site["feed"]
        else:
            default = 1 if isinstance(conv, NumberConverter) else "x"
            values[name] = site["values"].get(name, default)
    return rule.build(values, append_unknown=False)[1]


def test_every_get_route_answers_with_security_headers_and_no_inline_script(app, client, site):
    ok = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        url = url_for_rule(rule, site)
        headers = (
            {"Authorization": f"Bearer {site['api_token']}"} if url.startswith("/api/") else {}
        )
        for extra in ({}, HTMX):
            response = client.get(url, headers={**headers, **extra})
            response.get_data()  # streamed downloads finish inside the request context
            response.close()  # static files: the file is closed
            where = f"GET {url} ({rule.endpoint}) {'fragment' if extra else 'page'}"
            assert response.status_code < 500, where
            assert_security_headers(response, where)
            if response.mimetype == "text/html":
                assert inline_scripts(response.get_data(as_text=True)) == [], where
            if response.status_code == 200:
                ok.add(rule.endpoint)

    # The walk reached real content, not only refusals: pages, a download, the feed, the API.
    assert {
        "partners.index",
        "partners.detail",
        "interactions.calendar",
        "interactions.detail",
        "interactions.ics",
        "interactions.feed",
        "sales.receivables",
        "sales.purchases_chart",
        "exchange.index",
        "exchange.export",
        "auth.account",
        "api.partners_index",
        "api.partners_detail",
        "api.payments_detail",
        "static",
    } <= ok


def test_partner_tabs_calendar_views_and_downloads_carry_the_headers(app, client, site):
    pid = site["partner_id"]
    urls = [f"/partners/{pid}?tab={t.key}" for t in tabs_for(app, site["admin"])]
    urls += [
        f"/interactions/calendar?view={v}&date=2026-03-02"
        for v in ("day", "week", "month", "agenda")
    ]
    urls += ["/exchange/export/partners.xlsx", "/partners/reports/contacts?format=csv"]
    for url in urls:
        for extra in ({}, HTMX):
            response = client.get(url, headers=extra)
            response.get_data()
            response.close()  # the XLSX download is a temporary file
            assert response.status_code == 200, url
            assert_security_headers(response, url)
            if response.mimetype == "text/html":
                assert inline_scripts(response.get_data(as_text=True)) == [], url


def test_redirects_errors_and_posts_carry_the_headers(app, client, site, monkeypatch):
    redirect = client.get("/favicon.ico")
    assert redirect.status_code == 301
    assert_security_headers(redirect, "redirect")

    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert_security_headers(missing, "404")
    api_missing = client.get(
        "/api/v1/no-such", headers={"Authorization": f"Bearer {site['api_token']}"}
    )
    assert api_missing.status_code == 404 and api_missing.is_json
    assert_security_headers(api_missing, "API 404")

    def boom(**kwargs):
        raise RuntimeError("forced failure")

    monkeypatch.setitem(app.view_functions, "partners.index", boom)
    failed = client.get("/partners/")
    assert failed.status_code == 500
    assert_security_headers(failed, "500")
    failed_fragment = client.get("/partners/", headers=HTMX)
    assert failed_fragment.status_code == 500
    assert_security_headers(failed_fragment, "500 fragment")

    saved = client.post("/auth/account/tokens", data={"token-name": "second"})
    assert saved.status_code == 200
    assert_security_headers(saved, "POST")
    signed_out = client.post("/auth/logout")
    assert_security_headers(signed_out, "sign-out redirect")
    anonymous = client.get("/partners/")
    assert anonymous.status_code == 302
    assert_security_headers(anonymous, "sign-in redirect")


def test_hsts_only_when_session_cookies_are_secure(app, client):
    for secure in (False, True):
        app.config["SESSION_COOKIE_SECURE"] = secure
        for url in ("/auth/login", "/static/css/app.css", "/no-such-page"):
            with client.get(url) as response:
                assert_security_headers(response, url, hsts=secure)


# --- the source: nothing inline for the CSP to refuse -------------------------------------

SCRIPT_WITHOUT_SRC = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
HANDLER_ATTRIBUTE = re.compile(r"\s(on[a-z]+|hx-on[:\w-]*|style)\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style\b", re.I)
STYLE_ATTRIBUTE_IN_TAG = re.compile(r"<[a-z][^<>]*\sstyle=", re.I)
EVAL_IN_HTMX = re.compile(r"hx-trigger=\"[^\"]*\[|javascript:|\bjs:", re.I)


def test_no_template_has_an_inline_script_handler_or_style():
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern in (SCRIPT_WITHOUT_SRC, HANDLER_ATTRIBUTE, EVAL_IN_HTMX, STYLE_ELEMENT):
            found += [f"{path.relative_to(ROOT)}: {m.group(0)!r}" for m in pattern.finditer(text)]
    assert found == []


def test_no_python_module_writes_an_inline_script_or_style():
    # HTML built in Python (Markup, charts): a <script> there would be inline by definition.
    found = []
    for path in sorted((ROOT / "crm").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for pattern in (SCRIPT_WITHOUT_SRC, STYLE_ELEMENT, STYLE_ATTRIBUTE_IN_TAG):
            found += [f"{path.relative_to(ROOT)}: {m.group(0)!r}" for m in pattern.finditer(text)]
        if "to_html(" in text:
            found.append(f"{path.relative_to(ROOT)}: to_html() writes an inline script")
    assert found == []


def test_the_finder_catches_what_the_csp_refuses():
    # The checks above would pass on anything if the finder missed these.
    assert inline_scripts("<script>alert(1)</script>") != []
    assert inline_scripts('<button onclick="x()">') != []
    assert inline_scripts('<a href="javascript:x()">') != []
    assert inline_scripts('<div hx-trigger="every 1s [x]">') != []
    assert inline_scripts('<script src="/static/js/app.js"></script>') == []
    assert inline_scripts('<script type="application/json">{}</script>') == []
    assert inline_scripts('<div style="width: 5%">') != []
    assert inline_scripts("<style>p {}</style>") != []
    assert SCRIPT_WITHOUT_SRC.search("<script>x</script>")
    assert not SCRIPT_WITHOUT_SRC.search('<script src="/a.js" defer></script>')
    assert HANDLER_ATTRIBUTE.search('<form onsubmit="return confirm(1)">')
