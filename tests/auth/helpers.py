"""Helpers for the account and access tests: an honest test client, sign-in, reading the DB."""

from __future__ import annotations

import base64
import re
import zlib
from datetime import timedelta
from html import unescape

from sqlalchemy import select, update

from crm.extensions import db
from tests.conftest import DEFAULT_PASSWORD, FreshUserClient, cheap_password_hashing  # noqa: F401


def new_browser(app) -> FreshUserClient:
    """Another other_browser: its own cookies, nobody signed in."""
    return FreshUserClient(app, app.response_class, use_cookies=True)


def sign_in(client, email: str, password: str = DEFAULT_PASSWORD, **kwargs):
    return client.post("/auth/login", data={"email": email, "password": password}, **kwargs)


def is_signed_in(client) -> bool:
    """What the user sees: their account page opens, or they are sent to sign in."""
    response = client.get("/auth/account")
    assert response.status_code in (200, 302), response.status
    return response.status_code == 200


def committed_row(model, row_id: int) -> dict | None:
    """The row as another connection sees it: what is really stored, not the session's view."""
    table = model.__table__
    with db.engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == row_id)).mappings().one_or_none()
    return dict(row) if row is not None else None


def committed_count(model) -> int:
    with db.engine.connect() as conn:
        return len(conn.execute(select(model.__table__.c.id)).all())


def database_snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, read on a connection of its own."""
    with db.engine.connect() as conn:
        return {
            t.name: sorted(tuple(map(repr, row)) for row in conn.execute(select(t)).all())
            for t in db.metadata.sorted_tables
        }


def csrf_from_form(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no csrf_token hidden input on the page"
    return unescape(match.group(1))


def csrf_from_body(html: str) -> str:
    match = re.search(r"<body hx-headers='([^']*)'", html)
    assert match, "no hx-headers on <body>"
    token = re.search(r'"X-CSRFToken":\s*"([^"]+)"', unescape(match.group(1)))
    assert token, "no X-CSRFToken in <body hx-headers>"
    return token.group(1)


def session_cookie_text(client) -> str:
    """What anyone holding the browser's session cookie can read: Flask signs the cookie but
    does not encrypt it (base64 JSON, zlib-compressed when it starts with '.')."""
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    value = cookie.value
    payload = value.lstrip(".").split(".")[0]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if value.startswith("."):
        data = zlib.decompress(data)
    return data.decode()


def copy_cookie(source, target, name: str) -> None:
    """Put a copy of `source`'s cookie `name` into `target` (a cookie stolen or kept)."""
    cookie = source.get_cookie(name)
    assert cookie is not None, f"no {name} cookie to copy"
    target.set_cookie(name, cookie.value)


def age_login_failures(seconds: int) -> None:
    """Move the recorded failures (sign-in, password, token) that far into the past."""
    from crm.auth.models import LoginAttempt

    for attempt in db.session.execute(select(LoginAttempt)).scalars():
        attempt.at -= timedelta(seconds=seconds)
    db.session.commit()


def move_sessions(**changes) -> None:
    """Set columns of every stored sign-in session (e.g. expires_at) as the test needs."""
    from crm.auth.models import UserSession

    db.session.execute(update(UserSession).values(**changes))
    db.session.commit()
