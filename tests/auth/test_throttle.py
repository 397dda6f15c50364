"""Sign-in throttling: 5 failures for one account from one address within the window block
the next attempts of that pair only, until the window has passed."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from crm.auth.models import LoginAttempt
from crm.extensions import db
from tests.auth.helpers import is_signed_in, sign_in

BLOCKED = "Too many failed sign-in attempts"
WRONG = "Wrong e-mail or password"


def fail(client, email, times, ip="10.0.0.1"):
    for n in range(times):
        response = sign_in(client, email, "wrong-password", environ_base={"REMOTE_ADDR": ip})
        assert response.status_code == 401, f"failure {n + 1} was answered {response.status}"
        assert WRONG in response.get_data(as_text=True)


def age_failures(seconds):
    """Move the recorded failures into the past (in Python: SQLite cannot subtract times)."""
    attempts = db.session.execute(select(LoginAttempt)).scalars().all()
    assert attempts
    for attempt in attempts:
        attempt.at -= timedelta(seconds=seconds)
    db.session.commit()


def test_sixth_attempt_after_five_failures_is_refused_even_with_the_right_password(
    client, make_user
):
    user = make_user("manager")
    fail(client, user.email, 5)

    response = sign_in(client, user.email, environ_base={"REMOTE_ADDR": "10.0.0.1"})

    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert BLOCKED in page
    seconds = int(re.search(r"Try again in (\d+) seconds", page).group(1))
    assert 1 <= seconds <= 60
    assert not is_signed_in(client)


def test_four_failures_do_not_block_the_right_password(client, make_user):
    user = make_user("manager")
    fail(client, user.email, 4)

    response = sign_in(client, user.email, environ_base={"REMOTE_ADDR": "10.0.0.1"})

    assert response.status_code == 302
    assert is_signed_in(client)


def test_failures_with_different_letter_case_count_for_the_same_account(client, make_user):
    make_user("manager", email="olga@example.test")
    fail(client, "OLGA@example.test", 3)
    fail(client, "Olga@Example.test", 2)

    response = sign_in(client, "olga@example.test", environ_base={"REMOTE_ADDR": "10.0.0.1"})

    assert response.status_code == 429
    assert not is_signed_in(client)


def test_throttle_does_not_block_another_address(client, make_user):
    user = make_user("manager")
    fail(client, user.email, 5, ip="10.0.0.1")

    response = sign_in(client, user.email, environ_base={"REMOTE_ADDR": "10.0.0.2"})

    assert response.status_code == 302
    assert is_signed_in(client)


def test_throttle_does_not_block_another_account(client, make_user):
    victim, colleague = make_user("manager"), make_user("manager")
    fail(client, victim.email, 5)

    response = sign_in(client, colleague.email, environ_base={"REMOTE_ADDR": "10.0.0.1"})

    assert response.status_code == 302
    assert is_signed_in(client)


def test_sign_in_works_again_after_the_window_has_passed(app, client, make_user):
    user = make_user("manager")
    fail(client, user.email, 5)
    assert sign_in(client, user.email, environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 429

    age_failures(seconds=61)  # the window is 60 s

    response = sign_in(client, user.email, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert response.status_code == 302
    assert is_signed_in(client)


def test_window_length_follows_the_setting(app, client, make_user):
    app.config["LOGIN_FAILURE_WINDOW_SECONDS"] = 600
    user = make_user("manager")
    fail(client, user.email, 5)

    age_failures(seconds=61)

    # A minute later the ten-minute window still holds the failures.
    response = sign_in(client, user.email, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert response.status_code == 429


def test_successful_sign_in_clears_earlier_failures(client, make_user):
    user = make_user("manager")
    fail(client, user.email, 4)
    assert sign_in(client, user.email, environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 302
    client.post("/auth/logout")

    fail(client, user.email, 4)  # 8 failures in the window, but only 4 since the success
    response = sign_in(client, user.email, environ_base={"REMOTE_ADDR": "10.0.0.1"})

    assert response.status_code == 302
