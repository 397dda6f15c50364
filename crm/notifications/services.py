"""Writes and reads of in-app notifications: producing one at most once per (user, key),
the unread count, marking read, and a user's list. Other domains call `notify`; they never
write Notification rows themselves."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.notifications.models import Notification


def notify(
    user_id: int, key: str, title: str, body: str = "", url: str = ""
) -> Notification | None:
    """Create the notification `key` for the user, or return None when it exists already."""
    exists = select(Notification.id).where(Notification.user_id == user_id, Notification.key == key)
    if db.session.execute(exists).first() is not None:
        return None
    notification = Notification(
        user_id=user_id, key=key[:200], title=title[:255], body=body or "", url=(url or "")[:500]
    )
    # Another process may insert the same key between our check and our insert (two workers,
    # a cron run beside an inline one): the unique constraint decides, and only the savepoint
    # is rolled back, not the caller's transaction.
    try:
        with db.session.begin_nested():
            db.session.add(notification)
    except IntegrityError:
        return None
    return notification


def existing(pairs: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of these (user id, key) notifications exist already: a query per user (a range of
    the (user_id, key) unique index), so a producer that runs every minute does not ask once
    per candidate."""
    by_user: dict[int, list[str]] = {}
    for user_id, key in pairs:
        by_user.setdefault(user_id, []).append(key)
    found: set[tuple[int, str]] = set()
    for user_id, keys in by_user.items():
        for n in range(0, len(keys), 500):
            stmt = select(Notification.key).where(
                Notification.user_id == user_id, Notification.key.in_(keys[n : n + 500])
            )
            found.update((user_id, key) for key in db.session.execute(stmt).scalars())
    return found


def unread_count(user) -> int:
    stmt = select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    return db.session.execute(stmt).scalar_one()


def mark_read(user, ids: list[int] | str) -> int:
    """Mark the user's notifications `ids` (or "all") read; returns how many changed."""
    stmt = update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if ids != "all":
        ids = [int(i) for i in ids]
        if not ids:
            return 0
        stmt = stmt.where(Notification.id.in_(ids))
    result = db.session.execute(
        stmt.values(read_at=utcnow()).execution_options(synchronize_session=False)
    )
    return result.rowcount


def get_own(user, notification_id: int) -> Notification | None:
    """The user's notification, or None (someone else's is as good as missing)."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        return None
    return notification


@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]
    page: int
    has_next: bool


def list_for(user, page: int = 1, size: int = 25) -> NotificationPage:
    """One page of the user's notifications, newest first."""
    page = max(page, 1)
    stmt = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * size)
        .limit(size + 1)
    )
    rows = list(db.session.execute(stmt).scalars())
    return NotificationPage(rows[:size], page, len(rows) > size)
