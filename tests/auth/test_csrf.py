"""CSRF protection: a write without the page's token is refused with a clear message and
changes nothing; with the token from the page (form field or <body hx-headers>) it works."""

from __future__ import annotations

import pytest

from crm.partners.models import Partner
from tests.auth.helpers import (
    committed_row,
    csrf_from_body,
    csrf_from_form,
    is_signed_in,
    sign_in,
)
from tests.conftest import DEFAULT_PASSWORD

EXPIRED = "The form has expired or was sent from another site. Reload the page and try again."
HTMX = {"HX-Request": "true"}


@pytest.fixture
def own_partner(app, login_as, make_partner):
    """A manager signed in (before CSRF is switched on) with a partner of his own."""
    user = login_as("manager")
    partner = make_partner(name="Old Name", responsible=user)
    app.config["WTF_CSRF_ENABLED"] = True
    return partner


def test_form_post_without_token_is_refused_and_changes_nothing(client, own_partner):
    response = client.post(f"/partners/{own_partner.id}/fields/name", data={"value": "New Name"})

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert EXPIRED in page
    assert "<html" in page
    assert committed_row(Partner, own_partner.id)["name"] == "Old Name"


def test_htmx_post_without_token_gets_the_message_in_the_flash_area(client, own_partner):
    response = client.post(
        f"/partners/{own_partner.id}/fields/name", data={"value": "New Name"}, headers=HTMX
    )

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert EXPIRED in body
    assert "<html" not in body
    assert response.headers["HX-Retarget"] == "#flash-area"
    assert committed_row(Partner, own_partner.id)["name"] == "Old Name"


def test_form_post_with_token_from_the_page_succeeds(client, own_partner):
    page = client.get(f"/partners/{own_partner.id}").get_data(as_text=True)

    response = client.post(
        f"/partners/{own_partner.id}/fields/name",
        data={"value": "New Name", "csrf_token": csrf_from_form(page)},
    )

    assert response.status_code == 302
    assert committed_row(Partner, own_partner.id)["name"] == "New Name"


def test_htmx_post_with_token_from_body_hx_headers_succeeds(client, own_partner):
    page = client.get(f"/partners/{own_partner.id}").get_data(as_text=True)

    response = client.post(
        f"/partners/{own_partner.id}/fields/name",
        data={"value": "New Name"},
        headers={**HTMX, "X-CSRFToken": csrf_from_body(page)},
    )

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "New Name" in body
    assert "<html" not in body
    assert committed_row(Partner, own_partner.id)["name"] == "New Name"


def test_token_of_another_browser_is_refused(client, own_partner, other_browser):
    # A page of this site opened in another other_browser (as a forger would) yields a token…
    foreign_token = csrf_from_form(other_browser().get("/auth/login").get_data(as_text=True))

    # …which is not this user's.
    response = client.post(
        f"/partners/{own_partner.id}/fields/name",
        data={"value": "New Name", "csrf_token": foreign_token},
    )

    assert response.status_code == 400
    assert committed_row(Partner, own_partner.id)["name"] == "Old Name"


def test_sign_in_needs_the_token_of_the_login_page(app, client, make_user):
    user = make_user("manager")
    app.config["WTF_CSRF_ENABLED"] = True

    refused = sign_in(client, user.email)
    assert refused.status_code == 400
    assert EXPIRED in refused.get_data(as_text=True)
    assert not is_signed_in(client)

    token = csrf_from_form(client.get("/auth/login").get_data(as_text=True))
    response = client.post(
        "/auth/login",
        data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert is_signed_in(client)


def test_sign_out_without_token_keeps_the_user_signed_in(client, own_partner):
    response = client.post("/auth/logout")

    assert response.status_code == 400
    assert is_signed_in(client)

    token = csrf_from_form(client.get("/partners/").get_data(as_text=True))
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert not is_signed_in(client)
