"""Server-side sign-in sessions: start one at sign-in, find the user of a session key, end one,
all, or all but the current one.

Flask's session cookie and Flask-Login's remember-me cookie are signed but live in the browser;
on their own they stay valid until they expire, whatever the server does. So they carry only
a random key, and the session is a `UserSession` row: deleting the row (sign-out, "sign out
everywhere", a password change, deactivation) makes every copy of either cookie worthless.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, delete, select, update

from crm.auth.models import User, UserSession
from crm.core.timeutil import utcnow
from crm.extensions import db

TOUCH_INTERVAL = timedelta(minutes=1)  # last_seen_at is a hint for the user's list, not a log
MAX_KEY_LENGTH = 100  # token_urlsafe(32) gives 43 characters


# Read on every request: the user and what decides whether his session is live, in one query
# built once (no UserSession object is made; its compiled SQL comes from the cache).
_SESSION_USER = (
    select(User, UserSession.id, UserSession.expires_at, UserSession.last_seen_at)
    .join(UserSession, UserSession.user_id == User.id)
    .where(UserSession.key_hash == bindparam("key_hash"))
)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def lifetime() -> timedelta:
    """How long a session lasts at most after sign-in (remembered or not)."""
    return timedelta(days=current_app.config["SESSION_LIFETIME_DAYS"])


def start(user: User, *, remember: bool, user_agent: str = "", ip: str = "") -> str:
    """A new session of `user`; returns its key (never stored) and sets it on `user`, so that
    `login_user(user)` puts it into the cookies."""
    now = utcnow()
    # Expired rows serve no purpose; drop them while we are here (indexed on expires_at).
    db.session.execute(delete(UserSession).where(UserSession.expires_at <= now))
    key = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            user_id=user.id,
            key_hash=_hash(key),
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime(),
            remember=remember,
            user_agent=(user_agent or "")[:255],
            ip=(ip or "")[:64],
        )
    )
    db.session.flush()
    user.session_key = key
    return key


def user_for_key(key: str | None) -> User | None:
    """The active user of the live session `key`, else None (signed out, expired, unknown,
    deactivated). Notes the time of use at most once a minute."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    row = db.session.execute(_SESSION_USER, {"key_hash": _hash(key)}).one_or_none()
    if row is None:
        return None
    user, session_id, expires_at, last_seen_at = row
    now = utcnow()
    if expires_at <= now or not user.active:
        return None
    if now - last_seen_at >= TOUCH_INTERVAL:
        # Committed at once, before the request does anything: a GET never commits.
        db.session.execute(
            update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now)
        )
        db.session.commit()
    user.session_key = key
    return user


def current_session_id(user: User) -> int | None:
    """The id of the session the signed-in `user` object was loaded for."""
    if not getattr(user, "session_key", None):
        return None
    return db.session.execute(
        select(UserSession.id).where(UserSession.key_hash == _hash(user.session_key))
    ).scalar_one_or_none()


def end(key: str | None) -> None:
    """End one session (sign-out); an unknown or ended key changes nothing."""
    if key:
        db.session.execute(delete(UserSession).where(UserSession.key_hash == _hash(key)))


def end_all(user: User, *, keep_key: str | None = None) -> int:
    """End every session of `user`, except the one of `keep_key`; returns how many ended."""
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if keep_key:
        query = query.where(UserSession.key_hash != _hash(keep_key))
    return db.session.execute(query).rowcount or 0


def end_one(user: User, session_id: int) -> bool:
    """End one session of `user` by its id (from his list); False when there is none."""
    result = db.session.execute(
        delete(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id)
    )
    return bool(result.rowcount)


def live_sessions(user: User) -> list[UserSession]:
    """The user's sessions that have not expired, most recently used first."""
    return list(
        db.session.execute(
            select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.expires_at > utcnow())
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        ).scalars()
    )
