"""Signing API calls in: a live bearer token only; cookies never; viewers and marketers read;
errors come back as JSON."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.auth.models import ApiToken, User
from crm.extensions import db
from crm.partners.models import Partner
from tests.api.conftest import ApiClient
from tests.api.helpers import make_product, stored
from tests.auth.helpers import committed_count, new_browser

NEW_PARTNER = {"code": "P-NEW", "name": "New Partner"}


def assert_unauthorized(response, message: str, invalid_token: bool = True):
    assert response.status_code == 401
    assert response.is_json
    assert response.get_json() == {"error": message}
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="crm"')
    assert ('error="invalid_token"' in challenge) is invalid_token
    assert "Set-Cookie" not in response.headers


def test_no_token_gets_401_asking_for_a_bearer_token(anonymous):
    for response in (
        anonymous.get("/api/v1/partners"),
        anonymous.post("/api/v1/partners", json=NEW_PARTNER),
    ):
        assert_unauthorized(
            response,
            "Send your API token in the header 'Authorization: Bearer <token>'.",
            invalid_token=False,
        )
    assert committed_count(Partner) == 0


def test_wrong_token_gets_401(app, make_user, make_token):
    make_token(make_user("admin"))
    stranger = ApiClient(app, "crm_" + "x" * 43)

    assert_unauthorized(stranger.get("/api/v1/partners"), "This API token is not valid.")
    assert_unauthorized(
        stranger.post("/api/v1/partners", json=NEW_PARTNER), "This API token is not valid."
    )
    assert committed_count(Partner) == 0


@pytest.mark.parametrize(
    "header", ["Basic YWRtaW46c2VjcmV0", "Bearer", "Bearer  ", "Token abc", "Bearer two words"]
)
def test_malformed_authorization_header_gets_401(anonymous, header):
    response = anonymous.get("/api/v1/partners", headers={"Authorization": header})

    assert_unauthorized(response, "The Authorization header must be 'Bearer <token>'.")


def test_token_works_whatever_the_case_of_bearer(api):
    client = api("viewer")

    response = client.get("/api/v1/partners", headers={"Authorization": f"bearer {client.token}"})

    assert response.status_code == 200


def test_revoked_token_gets_401(app, make_user, make_token):
    user = make_user("admin")
    client = ApiClient(app, make_token(user, revoked=True))

    assert_unauthorized(client.get("/api/v1/partners"), "This API token has been revoked.")


def test_token_of_a_deactivated_account_gets_401(api):
    client = api("admin")
    client.user.active = False
    db.session.commit()

    assert_unauthorized(
        client.get("/api/v1/products"), "The account of this API token is deactivated."
    )


def test_session_cookie_alone_gets_401(app, login_as, client):
    login_as("admin")
    assert client.get("/auth/account").status_code == 200  # signed in for the pages

    assert_unauthorized(
        client.get("/api/v1/partners"),
        "Send your API token in the header 'Authorization: Bearer <token>'.",
        invalid_token=False,
    )
    response = client.post("/api/v1/partners", json=NEW_PARTNER)
    assert response.status_code == 401
    assert committed_count(Partner) == 0
    assert client.get("/auth/account").status_code == 200  # and still signed in


def test_with_a_session_cookie_and_a_token_the_token_decides(
    app, login_as, client, make_user, make_token
):
    login_as("viewer")
    admin_token = make_token(make_user("admin"))

    response = client.post(
        "/api/v1/partners", json=NEW_PARTNER, headers={"Authorization": f"Bearer {admin_token}"}
    )

    assert response.status_code == 201
    assert stored(select(Partner.code)) == [("P-NEW",)]


def test_remember_me_cookie_does_not_sign_api_calls_and_does_not_hide_the_token(
    app, make_user, make_token
):
    user = make_user("admin")
    browser = new_browser(app)
    browser.post(
        "/auth/login",
        data={"email": user.email, "password": "correct-horse-battery", "remember": "y"},
    )
    browser.delete_cookie("session")  # only the remember-me cookie is left
    assert browser.get_cookie("remember_token") is not None

    assert browser.get("/api/v1/products").status_code == 401
    token = make_token(user)
    response = browser.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_viewer_token_reads_but_cannot_write(api, make_partner):
    make_partner(name="Kept", code="P1")
    make_product("S1", "Widget")
    client = api("viewer")

    assert client.get("/api/v1/partners").get_json()["total"] == 1
    assert client.get("/api/v1/partners/P1").get_json()["name"] == "Kept"
    assert client.get("/api/v1/products/S1").status_code == 200

    attempts = [
        client.post("/api/v1/partners", json=NEW_PARTNER),
        client.patch("/api/v1/partners/P1", json={"name": "Changed"}),
        client.post("/api/v1/products", json={"sku": "S2", "name": "Other"}),
        client.patch("/api/v1/products/S1", json={"name": "Changed"}),
    ]
    for response in attempts:
        assert response.status_code == 403
        assert response.is_json and response.get_json()["error"]
    assert stored(select(Partner.code, Partner.name)) == [("P1", "Kept")]
    assert client.get("/api/v1/products/S1").get_json()["name"] == "Widget"


def test_marketer_token_reads_but_cannot_write(api, make_partner):
    make_partner(name="Kept", code="P1")
    client = api("marketer")

    assert client.get("/api/v1/partners/P1").status_code == 200
    response = client.patch("/api/v1/partners/P1", json={"name": "Changed"})

    assert response.status_code == 403
    assert response.get_json() == {
        "error": "Your role (marketer) may read through the API but not write."
    }
    assert stored(select(Partner.name)) == [("Kept",)]


def test_a_role_that_only_reads_is_refused_before_its_body_is_read(api):
    response = api("marketer").post(
        "/api/v1/partners", data="{not json", content_type="application/json"
    )

    assert response.status_code == 403


@pytest.mark.parametrize("url", ["/api/v1/products", "/api/v1/stock"])
def test_manager_token_cannot_write_products_or_stock(api, url):
    body = {"sku": "S1", "name": "Widget", "warehouse": "Main", "quantity": 1, "value": 1}
    response = api("manager").post(url, json=body)

    assert response.status_code == 403
    assert "Only admins may change" in response.get_json()["error"]


def test_api_needs_no_csrf_token_even_with_csrf_protection_on(app, api):
    app.config["WTF_CSRF_ENABLED"] = True

    response = api("admin").post("/api/v1/partners", json=NEW_PARTNER)

    assert response.status_code == 201
    assert stored(select(Partner.code)) == [("P-NEW",)]


def test_last_use_is_recorded_at_most_once_a_minute(api):
    client = api("viewer")
    row = db.session.execute(select(ApiToken)).scalar_one()
    assert row.last_used_at is None

    client.get("/api/v1/partners")
    first = stored(select(ApiToken.last_used_at))[0][0]
    assert first is not None
    client.get("/api/v1/partners")
    assert stored(select(ApiToken.last_used_at))[0][0] == first

    earlier = first - timedelta(seconds=61)
    db.session.execute(db.update(ApiToken).values(last_used_at=earlier))
    db.session.commit()
    client.get("/api/v1/partners")
    assert stored(select(ApiToken.last_used_at))[0][0] > earlier + timedelta(seconds=60)


def test_the_token_acts_as_its_user(api):
    client = api("admin")

    client.post("/api/v1/partners", json={**NEW_PARTNER, "manager": "boss@example.test"})

    # The import's rule: an unknown manager e-mail becomes an inactive user.
    assert stored(select(User.email, User.active).where(User.email == "boss@example.test")) == [
        ("boss@example.test", False)
    ]


# --- errors are JSON -----------------------------------------------------------------------


def test_unknown_api_url_is_a_json_404(api):
    response = api("viewer").get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response.get_json() == {"error": "There is no such page or record."}


def test_unknown_item_is_a_json_404_naming_it(api):
    response = api("viewer").get("/api/v1/products/NOPE")

    assert response.status_code == 404
    assert response.get_json() == {"error": "There is no product with sku 'NOPE'."}


def test_method_not_allowed_is_a_json_405_with_allow(api):
    response = api("admin").patch("/api/v1/payments/1", json={"amount": "1"})

    assert response.status_code == 405
    assert response.is_json
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"


def test_server_error_is_a_json_500(app, api, monkeypatch):
    from crm.api.queries import RESOURCES

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(RESOURCES["products"], "page", broken)

    response = api("viewer").get("/api/v1/products")

    assert response.status_code == 500
    assert response.is_json
    assert "Something went wrong" in response.get_json()["error"]


@pytest.mark.parametrize(
    "data, content_type, message",
    [
        (
            "{bad",
            "application/json",
            "The body is not valid JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1).",
        ),
        (
            "",
            "application/json",
            "The body is not valid JSON: Expecting value: line 1 column 1 (char 0).",
        ),
        (
            '{"code": NaN}',
            "application/json",
            "The body is not valid JSON: NaN is not a number JSON allows.",
        ),
        ("[1, 2]", "application/json", "The body must be a JSON object."),
        ('"text"', "application/json", "The body must be a JSON object."),
        (
            "code=P1&name=X",
            "application/x-www-form-urlencoded",
            "Send the body as JSON with 'Content-Type: application/json'.",
        ),
        (
            '{"code": "P1", "name": "X"}',
            "text/plain",
            "Send the body as JSON with 'Content-Type: application/json'.",
        ),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400(api, data, content_type, message):
    response = api("admin").post("/api/v1/partners", data=data, content_type=content_type)

    assert response.status_code == 400
    assert response.get_json() == {"error": message}
    assert committed_count(Partner) == 0


def test_json_with_a_charset_is_fine(api):
    response = api("admin").post(
        "/api/v1/partners",
        data='{"code": "P1", "name": "Ёлка"}',
        content_type="application/json; charset=utf-8",
    )

    assert response.status_code == 201
    assert response.get_json()["name"] == "Ёлка"
