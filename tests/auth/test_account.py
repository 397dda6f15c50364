"""A user's own account: changing the password ends every other session."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.auth.helpers import is_signed_in, sign_in
from tests.conftest import DEFAULT_PASSWORD

NEW_PASSWORD = "new-secret-passphrase"
NINE_STRONG = "kq7#Vz2m!"  # random characters, strong enough but one too few
TEN_STRONG = "kq7#Vz2m!x"


def change_password(client, current, new):
    return client.post("/auth/account", data={"current": current, "password": new})


def test_account_page_shows_email_and_role(client, login_as):
    user = login_as("marketer")

    page = client.get("/auth/account").get_data(as_text=True)

    assert user.email in page
    assert "marketer" in page


def test_wrong_current_password_is_refused_and_nothing_changes(client, login_as, other_browser):
    user = login_as("manager")

    response = change_password(client, "not-my-password", NEW_PASSWORD)

    assert response.status_code == 422
    assert "Wrong password." in response.get_data(as_text=True)
    assert is_signed_in(client)
    assert sign_in(other_browser(), user.email, DEFAULT_PASSWORD).status_code == 302
    assert sign_in(other_browser(), user.email, NEW_PASSWORD).status_code == 401


def test_too_short_new_password_is_refused_and_nothing_changes(client, login_as, other_browser):
    user = login_as("manager")

    response = change_password(client, DEFAULT_PASSWORD, NINE_STRONG)

    assert response.status_code == 422
    assert "At least 10 characters." in response.get_data(as_text=True)
    assert sign_in(other_browser(), user.email, DEFAULT_PASSWORD).status_code == 302
    assert sign_in(other_browser(), user.email, NINE_STRONG).status_code == 401


def test_ten_characters_are_enough_when_hard_to_guess(client, login_as, other_browser):
    user = login_as("manager")

    response = change_password(client, DEFAULT_PASSWORD, TEN_STRONG)

    assert response.status_code == 302
    assert sign_in(other_browser(), user.email, TEN_STRONG).status_code == 302


def test_password_change_replaces_the_old_password(client, login_as, other_browser):
    user = login_as("manager")

    response = change_password(client, DEFAULT_PASSWORD, NEW_PASSWORD)

    assert response.status_code == 302
    assert urlsplit(response.location).path == "/auth/account"
    assert "Your password is changed." in client.get("/auth/account").get_data(as_text=True)
    assert sign_in(other_browser(), user.email, DEFAULT_PASSWORD).status_code == 401
    assert sign_in(other_browser(), user.email, NEW_PASSWORD).status_code == 302


def test_password_change_keeps_this_session_and_ends_all_others(client, login_as, other_browser):
    user = login_as("manager")
    laptop = other_browser()
    sign_in(laptop, user.email)
    phone = other_browser()
    phone.post(
        "/auth/login", data={"email": user.email, "password": DEFAULT_PASSWORD, "remember": "y"}
    )
    assert is_signed_in(laptop) and is_signed_in(phone)

    change_password(client, DEFAULT_PASSWORD, NEW_PASSWORD)

    assert is_signed_in(client)
    assert not is_signed_in(laptop)
    assert not is_signed_in(phone)  # its remember-me cookie no longer works either
