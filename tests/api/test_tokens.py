"""API tokens on the account page: made with a name, shown once, kept only as a hash, listed
by prefix, revoked by their owner."""

from __future__ import annotations

import hashlib
import re
from html import unescape

from sqlalchemy import select

from crm.auth.models import ApiToken
from crm.extensions import db
from tests.api.conftest import ApiClient
from tests.api.helpers import stored
from tests.auth.helpers import committed_count, database_snapshot


def create_token(client, name: str):
    return client.post("/auth/account/tokens", data={"token-name": name})


def shown_token(page: str) -> str | None:
    match = re.search(r'id="new-api-token"[^>]*value="([^"]+)"', page)
    return unescape(match.group(1)) if match else None


def test_new_token_is_shown_once_and_only_its_hash_is_stored(app, client, login_as):
    user = login_as("manager")

    response = create_token(client, "ERP exchange")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    token = shown_token(page)
    assert token and token.startswith("crm_") and len(token) == 4 + 43
    assert "Copy it now: it is shown only this once" in page
    rows = stored(select(ApiToken.user_id, ApiToken.name, ApiToken.token_hash, ApiToken.prefix))
    assert rows == [
        (user.id, "ERP exchange", hashlib.sha256(token.encode()).hexdigest(), token[:12])
    ]
    assert token not in repr(database_snapshot())

    again = client.get("/auth/account").get_data(as_text=True)
    assert token not in again
    assert shown_token(again) is None
    assert "ERP exchange" in again and f"{token[:12]}…" in again

    assert ApiClient(app, token).get("/api/v1/partners").status_code == 200


def test_each_token_is_different(client, login_as):
    login_as("admin")

    first = shown_token(create_token(client, "one").get_data(as_text=True))
    second = shown_token(create_token(client, "two").get_data(as_text=True))

    assert first != second
    assert committed_count(ApiToken) == 2


def test_token_needs_a_name(client, login_as):
    login_as("manager")

    response = create_token(client, "   ")

    assert response.status_code == 422
    assert shown_token(response.get_data(as_text=True)) is None
    assert committed_count(ApiToken) == 0


def test_revoking_a_token_stops_it_at_once(app, client, login_as):
    login_as("manager")
    token = shown_token(create_token(client, "script").get_data(as_text=True))
    row_id = db.session.execute(select(ApiToken.id)).scalar_one()

    response = client.post(f"/auth/account/tokens/{row_id}/revoke")

    assert response.status_code == 302
    page = client.get("/auth/account").get_data(as_text=True)
    assert "The API token “script” is revoked." in page
    assert "revoked" in page
    api = ApiClient(app, token).get("/api/v1/partners")
    assert api.status_code == 401
    assert api.get_json() == {"error": "This API token has been revoked."}


def test_nobody_revokes_another_users_token(app, client, login_as, make_user, make_token):
    other = make_user("manager")
    token = make_token(other, "theirs")
    row_id = db.session.execute(select(ApiToken.id)).scalar_one()
    login_as("admin")

    response = client.post(f"/auth/account/tokens/{row_id}/revoke")

    assert response.status_code == 404
    assert stored(select(ApiToken.revoked_at)) == [(None,)]
    assert ApiClient(app, token).get("/api/v1/partners").status_code == 200
    assert "theirs" not in client.get("/auth/account").get_data(as_text=True)


def test_viewer_may_make_and_revoke_tokens_of_his_own(app, client, login_as):
    login_as("viewer")

    token = shown_token(create_token(client, "reports").get_data(as_text=True))
    assert ApiClient(app, token).get("/api/v1/products").status_code == 200
    row_id = db.session.execute(select(ApiToken.id)).scalar_one()
    assert client.post(f"/auth/account/tokens/{row_id}/revoke").status_code == 302
    assert ApiClient(app, token).get("/api/v1/products").status_code == 401


def test_tokens_need_a_signed_in_user(client):
    response = client.post("/auth/account/tokens", data={"token-name": "x"})

    assert response.status_code == 401
    assert committed_count(ApiToken) == 0
