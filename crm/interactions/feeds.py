"""Private calendar-feed links: a user's secret URL that calendar programs (Google Calendar,
Outlook, Thunderbird) poll for his items. Only the token's SHA-256 is stored; a user has at most
one live link, and making a new one revokes the old."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict

from flask import current_app
from sqlalchemy import select

from crm.auth.models import User
from crm.core import audit
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.interactions.models import CalendarFeed

# token_urlsafe(32) gives 43 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 100


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _live_feeds(user: User) -> list[CalendarFeed]:
    return list(
        db.session.execute(
            select(CalendarFeed)
            .where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
            .order_by(CalendarFeed.id)
        ).scalars()
    )


def active_feed(user: User) -> CalendarFeed | None:
    """The user's live feed link (its row: when made, when last read), if any."""
    feeds = _live_feeds(user)
    return feeds[-1] if feeds else None


def create_feed(user: User) -> str:
    """A new feed link of `user`; returns the token itself, which is never stored. Any earlier
    link of his stops working."""
    _revoke_all(user, summary="calendar feed link replaced")
    token = secrets.token_urlsafe(32)
    row = CalendarFeed(user_id=user.id, token_hash=hash_token(token))
    db.session.add(row)
    db.session.flush()
    audit.record(user, "create", row, root=user, summary="calendar feed link created")
    return token


def revoke_feed(user: User) -> int:
    """Revoke the user's feed link(s); returns how many were live (0: nothing to revoke)."""
    return _revoke_all(user, summary="calendar feed link revoked")


def revoke_on_deactivation(actor, user: User) -> None:
    """Registered with auth's on_user_deactivated: a deactivated user's feed link dies, so
    reactivating the account does not bring it back."""
    _revoke_all(user, summary="calendar feed link revoked: user deactivated", actor=actor)


def _revoke_all(user: User, summary: str, actor=None) -> int:
    feeds = _live_feeds(user)
    now = utcnow()
    for row in feeds:
        row.revoked_at = now
        audit.record(
            actor or user,
            "update",
            row,
            root=user,
            changes={"revoked": [False, True]},
            summary=summary,
        )
    db.session.flush()
    return len(feeds)


def user_for_token(token: str | None) -> User | None:
    """The active user whose live feed link carries `token`, else None (unknown, revoked,
    deactivated account). Marks the link as used; the caller commits."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = db.session.execute(
        select(CalendarFeed).where(CalendarFeed.token_hash == hash_token(token))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = utcnow()
    db.session.flush()
    return user


# --- built feeds, kept per process ----------------------------------------------------------

FEEDS_KEPT = 32  # the last feeds built by this process, per app (a few MB at most)
_built_lock = threading.Lock()


def _built() -> OrderedDict[int, tuple[str, bytes]]:
    return current_app.extensions.setdefault("crm.built_feeds", OrderedDict())


def feed_version(user: User, day, count: int, latest, host: str) -> str:
    """What a feed's content depends on, hashed: its ETag and the key of the kept copy."""
    key = f"{user.id}|{user.display_name}|{day}|{count}|{latest}|{host}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def cached_feed(user_id: int, version: str) -> bytes | None:
    with _built_lock:
        built = _built()
        kept = built.get(user_id)
        if kept is None or kept[0] != version:
            return None
        built.move_to_end(user_id)
        return kept[1]


def keep_feed(user_id: int, version: str, body: bytes) -> None:
    with _built_lock:
        built = _built()
        built[user_id] = (version, body)
        built.move_to_end(user_id)
        while len(built) > FEEDS_KEPT:
            built.popitem(last=False)
