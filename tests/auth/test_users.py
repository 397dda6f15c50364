"""User administration: invitations, roles, deactivation; only admins may do it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from crm.auth.models import User
from crm.extensions import db
from tests.auth.helpers import (
    committed_count,
    committed_row,
    is_signed_in,
    session_cookie_text,
    sign_in,
)
from tests.conftest import DEFAULT_PASSWORD

USED = "This invitation link has been used or withdrawn."
INVALID = "This invitation link is not valid."


def invite(client, email="New.Person@Example.com", name="New Person", role="marketer"):
    """Invite as the signed-in admin; returns the path of the link shown on the answer page."""
    response = client.post("/auth/users/new", data={"email": email, "name": name, "role": role})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    match = re.search(
        r'id="invite-link"[^>]*value="http://localhost(/auth/invite/[\w.\-]+)"', page, re.S
    )
    assert match, "the page shows no invitation link"
    return match.group(1)


def user_by_email(email: str) -> User:
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    assert user is not None, email
    return user


def test_admin_invites_user_without_password(client, login_as, other_browser):
    login_as("admin")

    invite(client, email="New.Person@Example.com", role="marketer")

    user = user_by_email("new.person@example.com")
    row = committed_row(User, user.id)
    assert row["email"] == "new.person@example.com"
    assert row["role"] == "marketer"
    assert row["name"] == "New Person"
    assert row["password_hash"] is None
    assert row["active"] is True
    listing = client.get("/auth/users").get_data(as_text=True)
    assert re.search(r"new\.person@example\.com</td>.*?invited</td>", listing, re.S)
    # Until the link is used, no password opens the account.
    assert sign_in(other_browser(), "new.person@example.com", "anything-at-all").status_code == 401


def test_invite_link_never_travels_in_the_session_cookie(client, login_as):
    login_as("admin")

    link = invite(client)
    client.get("/auth/users")  # any flash of the invitation would still sit in the cookie

    token = link.rsplit("/", 1)[1]
    readable = session_cookie_text(client)
    assert "_user_id" in readable  # the cookie was read: the check below means something
    assert token not in readable
    assert "/auth/invite/" not in readable


def test_invite_link_lets_user_choose_password_and_signs_them_in(client, login_as, other_browser):
    login_as("admin")
    link = invite(client, email="new.person@example.com", name="New Person", role="marketer")
    newcomer = other_browser()

    page = newcomer.get(link)
    assert page.status_code == 200
    assert "Choose a password for <strong>new.person@example.com</strong>" in page.get_data(
        as_text=True
    )

    too_short = newcomer.post(link, data={"password": "1234567"})
    assert too_short.status_code == 422
    assert not is_signed_in(newcomer)

    response = newcomer.post(link, data={"password": "my-own-password"})
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/"  # the start page, whichever it is
    welcome = newcomer.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Welcome! Your password is set." in welcome
    assert "New Person" in welcome
    assert sign_in(other_browser(), "new.person@example.com", "my-own-password").status_code == 302


def test_invite_link_works_only_once(client, login_as, other_browser):
    login_as("admin")
    link = invite(client)
    other_browser().post(link, data={"password": "my-own-password"})

    again = other_browser().get(link)
    assert again.status_code == 404
    assert USED in again.get_data(as_text=True)

    # Nor can a second visitor overwrite the chosen password with it.
    attacker = other_browser()
    assert attacker.post(link, data={"password": "attacker-password"}).status_code == 404
    assert not is_signed_in(attacker)
    assert (
        sign_in(other_browser(), "new.person@example.com", "attacker-password").status_code == 401
    )
    assert sign_in(other_browser(), "new.person@example.com", "my-own-password").status_code == 302


@pytest.mark.parametrize("how", ["payload", "signature", "garbage"])
def test_tampered_invite_link_gets_a_clear_404_page(client, login_as, other_browser, how):
    login_as("admin")
    link = invite(client)
    token = link.rsplit("/", 1)[1]
    if how == "payload":
        bad = ("B" if token[3] == "A" else "A").join((token[:3], token[4:]))
    elif how == "signature":
        cut = token.rindex(".") + 1
        bad = token[:cut] + ("B" if token[cut] == "A" else "A") + token[cut + 1 :]
    else:
        bad = "not-a-token"
    assert bad != token

    response = other_browser().get(f"/auth/invite/{bad}")

    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert INVALID in page
    assert "<html" in page  # the full page with the layout, not a bare error
    assert user_by_email("new.person@example.com").password_hash is None


def test_admin_user_page_shows_invite_link_until_it_is_used(client, login_as, other_browser):
    login_as("admin")
    invite(client)
    user = user_by_email("new.person@example.com")

    page = client.get(f"/auth/users/{user.id}").get_data(as_text=True)
    match = re.search(r'value="http://localhost(/auth/invite/[\w.\-]+)"', page)
    assert match
    assert (
        other_browser().post(match.group(1), data={"password": "my-own-password"}).status_code
        == 302
    )

    page = client.get(f"/auth/users/{user.id}").get_data(as_text=True)
    assert "/auth/invite/" not in page


def test_invite_of_deactivated_user_is_withdrawn(client, login_as, other_browser):
    login_as("admin")
    link = invite(client)
    user = user_by_email("new.person@example.com")
    client.post(f"/auth/users/{user.id}", data={"name": "New Person", "role": "marketer"})

    response = other_browser().get(link)

    assert response.status_code == 404
    assert USED in response.get_data(as_text=True)


def test_inviting_an_existing_email_is_refused(client, make_user, login_as):
    existing = make_user("manager", email="olga@example.com")
    login_as("admin")
    users_before = committed_count(User)

    response = client.post("/auth/users/new", data={"email": "OLGA@example.com", "role": "viewer"})

    assert response.status_code == 422
    assert "Already registered." in response.get_data(as_text=True)
    assert committed_count(User) == users_before
    assert committed_row(User, existing.id)["role"] == "manager"


def test_admin_changes_role_and_the_user_gets_the_new_rights_at_once(
    client, make_user, login_as, other_browser
):
    user = make_user("manager")
    colleague = other_browser()
    sign_in(colleague, user.email)
    login_as("admin")
    assert colleague.get("/auth/users").status_code == 403

    response = client.post(
        f"/auth/users/{user.id}", data={"name": "Promoted", "role": "admin", "active": "y"}
    )

    assert response.status_code == 302
    row = committed_row(User, user.id)
    assert (row["role"], row["name"], row["active"]) == ("admin", "Promoted", True)
    assert colleague.get("/auth/users").status_code == 200
    assert "User " + user.email + " is updated." in client.get("/auth/users").get_data(as_text=True)


def test_admin_deactivates_user_and_their_open_session_ends(
    client, make_user, login_as, other_browser
):
    user = make_user("manager")
    theirs = other_browser()
    theirs.post(
        "/auth/login", data={"email": user.email, "password": DEFAULT_PASSWORD, "remember": "y"}
    )
    assert is_signed_in(theirs)
    login_as("admin")

    response = client.post(f"/auth/users/{user.id}", data={"name": "Gone", "role": "manager"})

    assert response.status_code == 302
    assert committed_row(User, user.id)["active"] is False
    assert not is_signed_in(theirs)
    theirs.delete_cookie("session")
    assert not is_signed_in(theirs)  # the remember-me cookie does not let them back either
    assert sign_in(other_browser(), user.email).status_code == 401
    listing = client.get("/auth/users").get_data(as_text=True)
    assert re.search(re.escape(user.email) + r"</td>.*?deactivated</td>", listing, re.S)


def test_admin_cannot_remove_his_own_admin_role(client, login_as):
    admin = login_as("admin")

    response = client.post(
        f"/auth/users/{admin.id}", data={"name": "Me", "role": "manager", "active": "y"}
    )

    assert response.status_code == 422
    assert "You cannot remove your own admin role or deactivate yourself." in (
        response.get_data(as_text=True)
    )
    assert committed_row(User, admin.id)["role"] == "admin"
    assert client.get("/auth/users").status_code == 200


def test_admin_cannot_deactivate_himself(client, login_as):
    admin = login_as("admin")

    response = client.post(f"/auth/users/{admin.id}", data={"name": "Me", "role": "admin"})

    assert response.status_code == 422
    assert "You cannot remove your own admin role or deactivate yourself." in (
        response.get_data(as_text=True)
    )
    assert committed_row(User, admin.id)["active"] is True
    assert is_signed_in(client)


def test_admin_may_demote_another_admin(client, make_user, login_as):
    other = make_user("admin")
    login_as("admin")

    response = client.post(
        f"/auth/users/{other.id}", data={"name": "Other", "role": "viewer", "active": "y"}
    )

    assert response.status_code == 302
    assert committed_row(User, other.id)["role"] == "viewer"


@pytest.mark.parametrize("role", ["manager", "marketer", "viewer"])
def test_non_admins_get_403_on_user_administration(client, make_user, login_as, role):
    someone = make_user("manager")
    me = login_as(role)
    users_before = committed_count(User)

    assert client.get("/auth/users").status_code == 403
    assert client.get(f"/auth/users/{someone.id}").status_code == 403
    created = client.post("/auth/users/new", data={"email": "x@example.com", "role": "admin"})
    assert created.status_code == 403
    promoted = client.post(
        f"/auth/users/{me.id}", data={"name": "Me", "role": "admin", "active": "y"}
    )
    assert promoted.status_code == 403

    assert committed_count(User) == users_before
    assert committed_row(User, me.id)["role"] == role
    assert "Users" not in client.get("/partners/").get_data(as_text=True).split("</nav>")[0]


def test_admin_sees_users_in_the_menu(client, login_as):
    login_as("admin")

    nav = client.get("/partners/").get_data(as_text=True).split("</nav>")[0]

    assert 'href="/auth/users"' in nav
