"""Sessions live on the server: signing out, signing out everywhere, expiry after 30 days and
deactivation end them, so a copy of the session or remember-me cookie opens nothing after."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from crm.auth.models import UserSession
from crm.core.timeutil import utcnow
from crm.extensions import db
from tests.auth.helpers import (
    committed_count,
    copy_cookie,
    is_signed_in,
    move_sessions,
    sign_in,
)
from tests.conftest import DEFAULT_PASSWORD

DAYS_30 = timedelta(days=30)


def sign_in_remembered(client, email):
    response = client.post(
        "/auth/login", data={"email": email, "password": DEFAULT_PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302
    return response


def sent_to_sign_in(client) -> bool:
    response = client.get("/partners/")
    return response.status_code == 302 and urlsplit(response.location).path == "/auth/login"


@pytest.mark.parametrize("kept", ["session", "remember_token"])
def test_a_cookie_copied_before_sign_out_opens_nothing_after(
    client, make_user, other_browser, kept
):
    user = make_user("manager")
    sign_in_remembered(client, user.email)
    thief = other_browser()
    copy_cookie(client, thief, kept)  # only this one cookie: the other is not needed to get in
    assert thief.get("/partners/").status_code == 200

    assert client.post("/auth/logout").status_code == 302

    assert sent_to_sign_in(thief)
    assert sent_to_sign_in(client)
    assert committed_count(UserSession) == 0


def test_sign_out_ends_only_that_session(client, make_user, other_browser):
    user = make_user("manager")
    sign_in(client, user.email)
    laptop = other_browser()
    sign_in_remembered(laptop, user.email)

    client.post("/auth/logout")

    assert not is_signed_in(client)
    assert is_signed_in(laptop)


def test_sign_out_everywhere_ends_every_session_of_the_user(
    client, make_user, login_as, other_browser
):
    user = login_as("manager")
    phone = other_browser()
    sign_in_remembered(phone, user.email)
    phone_remembered = other_browser()
    copy_cookie(phone, phone_remembered, "remember_token")
    colleague = other_browser()
    sign_in(colleague, make_user("manager").email)
    assert is_signed_in(phone) and is_signed_in(phone_remembered)

    response = client.post("/auth/account/sessions/end-all")

    assert response.status_code == 302
    assert urlsplit(response.location).path == "/auth/login"
    assert "You are signed out on every device." in client.get("/auth/login").get_data(as_text=True)
    assert not is_signed_in(client)
    assert not is_signed_in(phone)
    assert not is_signed_in(phone_remembered)
    assert is_signed_in(colleague)  # another user's session is not touched


def test_account_page_lists_sessions_and_ends_another_one(client, login_as, other_browser):
    user = login_as("manager")
    phone = other_browser()
    phone.post(
        "/auth/login",
        data={"email": user.email, "password": DEFAULT_PASSWORD},
        headers={"User-Agent": "PhoneBrowser/1.0"},
    )

    page = client.get("/auth/account").get_data(as_text=True)

    assert "PhoneBrowser/1.0" in page
    assert page.count("this device") == 1
    ends = re.findall(r'action="(/auth/account/sessions/(\d+)/end)"', page)
    assert len(ends) == 1  # the phone's; this device has no button of its own
    assert client.post(ends[0][0]).status_code == 302
    assert not is_signed_in(phone)
    assert is_signed_in(client)


def test_nobody_ends_another_users_session(client, make_user, login_as, other_browser):
    victim = make_user("manager")
    theirs = other_browser()
    sign_in(theirs, victim.email)
    victim_session = db.session.execute(select(UserSession.id)).scalar_one()
    login_as("manager")

    assert client.post(f"/auth/account/sessions/{victim_session}/end").status_code == 404
    assert is_signed_in(theirs)


def test_remember_me_lasts_30_days_in_the_cookie_and_on_the_server(client, make_user):
    user = make_user("manager")
    before = utcnow()

    sign_in_remembered(client, user.email)

    after = utcnow()
    cookie = client.get_cookie("remember_token")
    expires = cookie.expires.astimezone(UTC).replace(tzinfo=None)
    assert (
        before + DAYS_30 - timedelta(seconds=1) <= expires <= after + DAYS_30 + timedelta(seconds=1)
    )
    row = db.session.execute(select(UserSession)).scalar_one()
    assert row.remember is True
    assert before + DAYS_30 - timedelta(seconds=1) <= row.expires_at <= after + DAYS_30


@pytest.mark.parametrize("remember", [True, False])
def test_a_session_ends_30_days_after_sign_in_whatever_the_cookies_say(client, make_user, remember):
    user = make_user("manager")
    if remember:
        sign_in_remembered(client, user.email)
    else:
        sign_in(client, user.email)
    assert is_signed_in(client)

    move_sessions(expires_at=datetime(2000, 1, 1))  # as if the 30 days had passed

    assert sent_to_sign_in(client)
    client.delete_cookie("session")
    assert sent_to_sign_in(client)


def test_last_seen_is_noted_at_most_once_a_minute(client, make_user):
    user = make_user("manager")
    sign_in(client, user.email)
    recent = utcnow() - timedelta(seconds=20)
    move_sessions(last_seen_at=recent)

    client.get("/partners/")
    db.session.expire_all()
    assert db.session.execute(select(UserSession.last_seen_at)).scalar_one() == recent

    move_sessions(last_seen_at=recent - timedelta(minutes=2))
    before = utcnow()
    client.get("/partners/")
    db.session.expire_all()
    assert db.session.execute(select(UserSession.last_seen_at)).scalar_one() >= before


def test_reactivated_user_gets_back_no_old_token_feed_link_or_session(
    client, make_user, login_as, other_browser
):
    user = make_user("manager")
    theirs = other_browser()
    sign_in_remembered(theirs, user.email)
    page = theirs.post("/auth/account/tokens", data={"token-name": "ERP"}).get_data(as_text=True)
    token = html.unescape(re.search(r'id="new-api-token"[^>]*value="([^"]+)"', page, re.S)[1])
    page = theirs.post("/interactions/calendar/feed").get_data(as_text=True)
    feed_url = html.unescape(re.search(r"(/interactions/feed/[\w-]+\.ics)", page)[1])
    bearer = {"Authorization": f"Bearer {token}"}
    assert other_browser().get("/api/v1/partners", headers=bearer).status_code == 200
    assert other_browser().get(feed_url).status_code == 200
    login_as("admin")

    client.post(f"/auth/users/{user.id}", data={"name": "Away", "role": "manager"})
    client.post(f"/auth/users/{user.id}", data={"name": "Back", "role": "manager", "active": "y"})

    api = other_browser().get("/api/v1/partners", headers=bearer)
    assert api.status_code == 401
    assert api.get_json() == {"error": "This API token has been revoked."}
    assert other_browser().get(feed_url).status_code == 404
    assert not is_signed_in(theirs)
    theirs.delete_cookie("session")
    assert not is_signed_in(theirs)  # nor does the remember-me cookie
    assert sign_in(other_browser(), user.email).status_code == 302  # a new sign-in works
