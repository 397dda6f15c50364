"""Weak passwords are refused wherever a password is set (account page, invitation, command
line), with a message saying why; wrong current passwords and refused API tokens are
throttled like sign-ins."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crm.auth.models import User
from crm.extensions import db
from tests.auth.helpers import age_login_failures, committed_count, is_signed_in, sign_in
from tests.conftest import DEFAULT_PASSWORD

EMAIL = "olga.petrova@example.com"
TOO_EASY = "This password is too easy to guess."
OWN_EMAIL = "The password must not contain your e-mail address or its name part."
TOO_SHORT = "At least 10 characters."

# (password, what the user is told): common passwords and patterns by zxcvbn, the user's own
# address and its name part (any case) by our rule, and the minimum length.
WEAK = [
    ("password1234", TOO_EASY),
    ("1234567890", TOO_EASY),
    ("qwertyuiop12", TOO_EASY),
    ("iloveyou2024", TOO_EASY),
    ("olga.petrova2024", OWN_EMAIL),
    ("OLGA.PETROVA-x9", OWN_EMAIL),
    ("my olga.petrova@example.com!", OWN_EMAIL),
    ("kq7#Vz2m!", TOO_SHORT),
]
STRONG = "tulip-engine-marsh"


def page_text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


@pytest.mark.parametrize("password, message", WEAK)
def test_account_page_refuses_a_weak_new_password(
    client, make_user, login_as, other_browser, password, message
):
    user = login_as(make_user("manager", email=EMAIL, name="Olga Petrova"))

    response = client.post(
        "/auth/account", data={"current": DEFAULT_PASSWORD, "password": password}
    )

    assert response.status_code == 422
    assert message in page_text(response)
    assert sign_in(other_browser(), user.email, password).status_code == 401
    assert sign_in(other_browser(), user.email, DEFAULT_PASSWORD).status_code == 302


def test_common_password_message_carries_zxcvbn_advice(client, make_user, login_as):
    login_as(make_user("manager", email=EMAIL))

    response = client.post(
        "/auth/account", data={"current": DEFAULT_PASSWORD, "password": "password1234"}
    )

    assert "common password" in page_text(response)


def test_account_page_accepts_a_strong_password(client, make_user, login_as, other_browser):
    user = login_as(make_user("manager", email=EMAIL, name="Olga Petrova"))

    response = client.post("/auth/account", data={"current": DEFAULT_PASSWORD, "password": STRONG})

    assert response.status_code == 302
    assert sign_in(other_browser(), user.email, STRONG).status_code == 302


@pytest.mark.parametrize("password, message", WEAK)
def test_invitation_refuses_a_weak_password(client, login_as, other_browser, password, message):
    login_as("admin")
    page = client.post(
        "/auth/users/new", data={"email": EMAIL, "name": "Olga Petrova", "role": "manager"}
    ).get_data(as_text=True)
    link = re.search(r'value="http://localhost(/auth/invite/[\w.\-]+)"', page)[1]
    newcomer = other_browser()

    response = newcomer.post(link, data={"password": password})

    assert response.status_code == 422
    assert message in page_text(response)
    assert not is_signed_in(newcomer)
    user = db.session.execute(select(User).where(User.email == EMAIL)).scalar_one()
    db.session.refresh(user)
    assert user.password_hash is None
    assert newcomer.post(link, data={"password": STRONG}).status_code == 302


@pytest.mark.parametrize("password, message", WEAK)
def test_command_line_refuses_a_weak_password(runner, password, message):
    result = runner.invoke(
        args=[
            "crm",
            "users",
            "create",
            EMAIL,
            "--role",
            "manager",
            "--name",
            "Olga Petrova",
            "--password",
            password,
        ]
    )

    assert result.exit_code == 1
    expected = message if message != TOO_SHORT else "at least 10 characters"
    assert expected in result.stderr
    assert committed_count(User) == 0


def test_the_test_suites_default_password_stays_acceptable(runner):
    result = runner.invoke(
        args=[
            "crm",
            "users",
            "create",
            "manager1@example.test",
            "--role",
            "manager",
            "--password",
            DEFAULT_PASSWORD,
        ]
    )

    assert result.exit_code == 0, result.output


# --- throttling wrong current passwords -------------------------------------------------------

BLOCKED = "Too many wrong passwords. Try again in"


def test_wrong_current_passwords_are_throttled_like_sign_in(
    app, client, make_user, login_as, other_browser
):
    user = login_as(make_user("manager", email=EMAIL))
    limit = app.config["LOGIN_MAX_FAILURES"]
    for n in range(limit):
        response = client.post(
            "/auth/account", data={"current": f"guess-number-{n}", "password": STRONG}
        )
        assert response.status_code == 422, n

    # Throttled: even the right password is not looked at, and nothing changes.
    response = client.post("/auth/account", data={"current": DEFAULT_PASSWORD, "password": STRONG})
    assert response.status_code == 429
    assert BLOCKED in page_text(response)
    elsewhere = {"REMOTE_ADDR": "10.3.3.3"}
    assert sign_in(other_browser(), user.email, STRONG, environ_base=elsewhere).status_code == 401
    # One count per account and address for both forms: guessing here is guessing at sign-in.
    assert sign_in(other_browser(), user.email, DEFAULT_PASSWORD).status_code == 429

    age_login_failures(app.config["LOGIN_FAILURE_WINDOW_SECONDS"] + 1)
    response = client.post("/auth/account", data={"current": DEFAULT_PASSWORD, "password": STRONG})
    assert response.status_code == 302
    assert sign_in(other_browser(), user.email, STRONG).status_code == 302


def test_password_throttle_is_per_address(app, client, make_user, login_as):
    login_as(make_user("manager", email=EMAIL))
    for n in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post(
            "/auth/account",
            data={"current": f"guess-{n}", "password": STRONG},
            environ_base={"REMOTE_ADDR": "10.9.9.9"},
        )

    response = client.post("/auth/account", data={"current": DEFAULT_PASSWORD, "password": STRONG})

    assert response.status_code == 302  # from the user's own address


# --- throttling refused API tokens -------------------------------------------------------------


def api_get(client, token, ip):
    return client.get(
        "/api/v1/partners",
        headers={"Authorization": f"Bearer {token}"},
        environ_base={"REMOTE_ADDR": ip},
    )


def make_token(client, login_as) -> str:
    login_as("manager")
    page = client.post("/auth/account/tokens", data={"token-name": "ERP"}).get_data(as_text=True)
    token = re.search(r'id="new-api-token"[^>]*value="([^"]+)"', page, re.S)[1]
    client.post("/auth/logout")
    return token


def test_refused_api_tokens_are_throttled_per_address(app, client, login_as, other_browser):
    good = make_token(client, login_as)
    api = other_browser()
    limit = app.config["LOGIN_MAX_FAILURES"]
    for n in range(limit):
        response = api_get(api, f"crm_wrong-{n}", "10.1.1.1")
        assert response.status_code == 401, n

    refused = api_get(api, "crm_wrong-again", "10.1.1.1")
    assert refused.status_code == 429
    assert refused.is_json
    assert refused.get_json()["error"].startswith(
        "Too many failed API token sign-ins from your address. Try again in"
    )
    retry = int(refused.headers["Retry-After"])
    assert 1 <= retry <= app.config["LOGIN_FAILURE_WINDOW_SECONDS"] + 1
    # While throttled, a valid token from that address is refused too (else guessing goes on).
    assert api_get(api, good, "10.1.1.1").status_code == 429
    assert api_get(api, good, "10.2.2.2").status_code == 200  # other addresses are not held up

    age_login_failures(app.config["LOGIN_FAILURE_WINDOW_SECONDS"] + 1)
    assert api_get(api, good, "10.1.1.1").status_code == 200


def test_missing_or_malformed_authorization_is_not_counted(app, client, other_browser):
    api = other_browser()
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 2):
        assert (
            api.get("/api/v1/partners", environ_base={"REMOTE_ADDR": "10.1.1.1"}).status_code == 401
        )
        assert (
            api.get(
                "/api/v1/partners",
                headers={"Authorization": "Basic eDp5"},
                environ_base={"REMOTE_ADDR": "10.1.1.1"},
            ).status_code
            == 401
        )
