"""Fixtures of the API tests: tokens made directly in the database, and a client that sends one."""

from __future__ import annotations

import hashlib
import secrets

import pytest

from crm.auth.models import ApiToken
from crm.extensions import db
from tests.conftest import FreshUserClient


class ApiClient:
    """A test client without cookies that sends `Authorization: Bearer <token>`."""

    def __init__(self, app, token: str | None, user=None):
        self.client = FreshUserClient(app, app.response_class, use_cookies=False)
        self.token, self.user = token, user

    def open(self, method: str, url: str, headers=None, **kwargs):
        headers = dict(headers or {})
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, url, **kw):
        return self.open("GET", url, **kw)

    def post(self, url, **kw):
        return self.open("POST", url, **kw)

    def patch(self, url, **kw):
        return self.open("PATCH", url, **kw)


@pytest.fixture
def make_token(app):
    """make_token(user, name="test", revoked=False) -> the token (its hash is stored)."""
    from crm.core.timeutil import utcnow

    def make(user, name="test", revoked=False):
        token = "crm_" + secrets.token_urlsafe(32)
        db.session.add(
            ApiToken(
                user_id=user.id,
                name=name,
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                prefix=token[:12],
                revoked_at=utcnow() if revoked else None,
            )
        )
        db.session.commit()
        return token

    return make


@pytest.fixture
def api(app, make_user, make_token):
    """api(role_or_user="admin", **user_fields) -> an ApiClient with that user's token."""

    def make(who="admin", **fields):
        user = make_user(who, **fields) if isinstance(who, str) else who
        return ApiClient(app, make_token(user), user)

    return make


@pytest.fixture
def anonymous(app):
    return ApiClient(app, None)
