"""In-app notifications: what a user is told (a reminder, a follow-up that came due)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.timeutil import utcnow
from crm.extensions import db


class Notification(db.Model):
    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    # What it is about, unique per user ("interaction:12:start:2026-11-28T09:00"): producing
    # the same notification twice is a no-op, which makes the jobs that produce them idempotent.
    key: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # Set once the e-mail copy went out (NULL: not sent, or no SMTP configured).
    emailed_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_notification_user_key"),
        Index("ix_notification_user", "user_id", "read_at", "created_at"),
        # The e-mail sender's "created in the last 24 h, not e-mailed yet" is a range on this.
        Index("ix_notification_created", "created_at"),
    )
