"""Signing in and out: credentials, deactivated accounts, remember me, and where we go next."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from crm.auth.models import User
from tests.auth.helpers import committed_row, is_signed_in, sign_in

WRONG = "Wrong e-mail or password, or the account is deactivated."


def test_good_credentials_redirect_to_partner_list_showing_the_user(client, make_user):
    make_user("manager", email="olga@example.test", name="Olga Petrova")

    response = sign_in(client, "olga@example.test")

    assert response.status_code == 302
    assert response.location == "/"  # the start page: My day
    assert client.get("/").status_code == 200
    page = client.get("/partners/").get_data(as_text=True)
    assert "Olga Petrova" in page
    assert "Sign out" in page


def test_sign_in_records_the_time_of_the_last_sign_in(client, make_user):
    user = make_user("manager")
    assert committed_row(User, user.id)["last_login_at"] is None

    sign_in(client, user.email)

    assert committed_row(User, user.id)["last_login_at"] is not None


def test_wrong_password_is_refused_with_a_message_and_no_session(client, make_user):
    user = make_user("manager")

    response = sign_in(client, user.email, "not-the-password")

    assert response.status_code == 401
    assert WRONG in response.get_data(as_text=True)
    assert not is_signed_in(client)
    assert committed_row(User, user.id)["last_login_at"] is None


def test_unknown_email_gets_the_same_message_as_a_wrong_password(client, make_user):
    make_user("manager", email="known@example.test")

    response = sign_in(client, "nobody@example.test")

    assert response.status_code == 401
    assert WRONG in response.get_data(as_text=True)
    assert not is_signed_in(client)


def test_empty_form_is_refused_without_signing_in(client, make_user):
    make_user("manager")

    response = client.post("/auth/login", data={"email": "", "password": ""})

    assert response.status_code == 422
    assert not is_signed_in(client)


def test_deactivated_user_cannot_sign_in(client, make_user):
    user = make_user("manager", active=False)

    response = sign_in(client, user.email)

    assert response.status_code == 401
    assert WRONG in response.get_data(as_text=True)
    assert not is_signed_in(client)


def test_email_is_case_insensitive(client, make_user):
    make_user("manager", email="olga.petrova@example.test", name="Olga Petrova")

    response = sign_in(client, "Olga.Petrova@EXAMPLE.Test")

    assert response.status_code == 302
    assert "Olga Petrova" in client.get("/partners/").get_data(as_text=True)


def test_remember_me_keeps_the_user_signed_in_after_the_browser_closes(client, make_user):
    user = make_user("manager")

    client.post(
        "/auth/login",
        data={"email": user.email, "password": "correct-horse-battery", "remember": "y"},
    )

    assert client.get_cookie("remember_token") is not None
    client.delete_cookie("session")  # the other_browser is closed: session cookies are gone
    assert is_signed_in(client)


def test_without_remember_me_closing_the_browser_signs_out(client, make_user):
    user = make_user("manager")

    sign_in(client, user.email)

    assert client.get_cookie("remember_token") is None
    assert is_signed_in(client)
    client.delete_cookie("session")
    assert not is_signed_in(client)


def test_logout_is_post_only(client, make_user):
    user = make_user("manager")
    sign_in(client, user.email)

    response = client.get("/auth/logout")

    assert response.status_code == 405
    assert is_signed_in(client)


def test_logout_ends_the_session_and_forgets_remember_me(client, make_user):
    user = make_user("manager")
    client.post(
        "/auth/login",
        data={"email": user.email, "password": "correct-horse-battery", "remember": "y"},
    )

    response = client.post("/auth/logout")

    assert response.status_code == 302
    assert urlsplit(response.location).path == "/auth/login"
    assert "You are signed out." in client.get("/auth/login").get_data(as_text=True)
    assert not is_signed_in(client)
    client.delete_cookie("session")
    assert not is_signed_in(client)  # the remember-me cookie does not sign them back in


def test_anonymous_user_is_sent_to_sign_in_and_then_back_to_the_page(client, make_user):
    user = make_user("manager")

    response = client.get("/partners/?q=romashka")

    assert response.status_code == 302
    target = urlsplit(response.location)
    assert target.path == "/auth/login"
    assert parse_qs(target.query)["next"] == ["/partners/?q=romashka"]

    response = client.post(
        "/auth/login?" + target.query,
        data={"email": user.email, "password": "correct-horse-battery"},
    )
    assert response.status_code == 302
    assert response.location == "/partners/?q=romashka"


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "https:/evil.example",
        "javascript:alert(1)",
        "evil.example/partners/",
    ],
)
def test_next_parameter_ignores_other_sites(client, make_user, next_url):
    user = make_user("manager")

    response = client.post(
        "/auth/login",
        query_string={"next": next_url},
        data={"email": user.email, "password": "correct-horse-battery"},
    )

    assert response.status_code == 302
    assert response.location == "/"


def test_signed_in_user_opening_login_page_is_sent_on_but_not_off_site(client, make_user):
    user = make_user("manager")
    sign_in(client, user.email)

    assert client.get("/auth/login?next=/auth/account").location == "/auth/account"
    assert client.get("/auth/login", query_string={"next": "//evil.example"}).location == "/"
