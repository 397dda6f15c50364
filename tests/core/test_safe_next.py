"""Every place that sends the user on to a URL from the request (or from a stored link) stays on
this site: one table of tricks, through each real route that takes one."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from crm.extensions import db
from crm.notifications.services import notify
from tests.conftest import DEFAULT_PASSWORD

OFF_SITE = [
    "https://evil.example/",
    "http:evil.example",
    "https:/evil.example",
    "//evil.example",
    "///evil.example",
    "////evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/ /evil.example",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    "/\u00a0/evil.example",
    "/\u200b/evil.example",
    "/\u3000/evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%5Cevil.example",
    "/partners/\r\nSet-Cookie: a=b",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example/partners/",
    "partners/",
    "",
]
ON_SITE = [
    "/partners/?q=romashka",
    "/auth/account",
    "/partners/?q=%D0%98%D0%B2%D0%B0%D0%BD%20ltd",
    "/partners/?q=a+b&sort=name#results",
    "/interactions/?kind=call&kind=sms",
]


def check(go, fallback: str, off_site=OFF_SITE) -> list[str]:
    """`go(target)` returns the Location answered; the mismatches, readable."""
    wrong = []
    for target in off_site:
        if (location := go(target)) != fallback:
            wrong.append(f"{target!r} -> {location!r} (expected {fallback!r})")
    for target in ON_SITE:
        if (location := go(target)) != target:
            wrong.append(f"{target!r} -> {location!r} (expected it kept)")
    return wrong


def test_sign_in_form_sends_only_to_paths_of_this_site(client, make_user):
    user = make_user("manager")

    def go(target):
        client.post("/auth/logout")
        response = client.post(
            "/auth/login",
            query_string={"next": target},
            data={"email": user.email, "password": DEFAULT_PASSWORD},
        )
        assert response.status_code == 302
        return response.location

    assert check(go, "/") == []


def test_signed_in_user_on_the_login_page_is_sent_only_to_paths_of_this_site(client, login_as):
    login_as("manager")

    def go(target):
        response = client.get("/auth/login", query_string={"next": target})
        assert response.status_code == 302
        return response.location

    assert check(go, "/") == []


def test_quick_actions_go_back_only_to_paths_of_this_site(client, login_as, make_interaction):
    user = login_as("manager")

    def go(target):
        item = make_interaction(user, status="planned")
        response = client.post(f"/interactions/{item.id}/complete", data={"next": target})
        assert response.status_code == 302
        return response.location if response.location != f"/interactions/{item.id}" else "BACK"

    assert check(go, "BACK") == []


def test_notification_links_lead_only_to_paths_of_this_site(client, login_as):
    user = login_as("manager")
    keys = iter(range(10_000))

    def go(target):
        note = notify(user.id, f"test:{next(keys)}", "Look", url=target)
        db.session.commit()
        response = client.post(f"/notifications/{note.id}/open")
        assert response.status_code == 303
        return response.location

    storable = [t for t in OFF_SITE if "\x00" not in t]  # PostgreSQL text holds no NUL
    assert check(go, "/notifications/", storable) == []


@pytest.mark.parametrize("path", ["/partners/", "/interactions/"])
def test_sign_in_brings_the_user_back_to_the_page_asked_for(client, make_user, path):
    user = make_user("manager")
    asked = client.get(path, query_string={"q": "a b/c"})
    assert asked.status_code == 302

    response = client.post(asked.location, data={"email": user.email, "password": DEFAULT_PASSWORD})

    back = urlsplit(response.location)
    assert (back.netloc, back.path, parse_qs(back.query)) == ("", path, {"q": ["a b/c"]})
