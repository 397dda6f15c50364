"""Users and sign-in attempts."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from crm.core.timeutil import utcnow
from crm.extensions import db


def _default_locale() -> str:
    return current_app.config["DEFAULT_LOCALE"] if has_app_context() else "ru"


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored case-folded
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="manager")
    active: Mapped[bool] = mapped_column(default=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    # The interface language ("ru", "en"); new users get the site's DEFAULT_LOCALE.
    locale: Mapped[str] = mapped_column(String(8), default=_default_locale, server_default="ru")
    # Bumped when the password is set or the account deactivated: an invitation link carries
    # it, so a used or withdrawn link stops working (sessions themselves are UserSession rows).
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def display_name(self) -> str:
        return self.name or self.email

    # The key of the sign-in session this object was loaded for (crm/auth/user_sessions.py):
    # what Flask-Login keeps in the session cookie and the remember-me cookie.
    session_key = None  # str, set per request; not a column

    def get_id(self) -> str:
        if not self.session_key:
            raise RuntimeError("start a session (user_sessions.start) before login_user")
        return self.session_key

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)


class UserSession(db.Model):
    """A sign-in session on the server: the cookies carry its random key, only the key's
    SHA-256 is stored. Signing out deletes the row, so copies of the cookies stop working."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    remember: Mapped[bool] = mapped_column(default=False)
    # For the user's list of his sessions only ("Firefox on Linux, 10.0.0.5").
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")

    user = relationship(User, lazy="joined")

    __table_args__ = (
        Index("ix_user_session_user", "user_id"),
        Index("ix_user_session_expires", "expires_at"),
    )


class LoginAttempt(db.Model):
    """A failed sign-in, kept briefly for throttling."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_login_attempt_key", "email", "ip", "at"),)


class ApiToken(db.Model):
    """A personal API token: only its SHA-256 is stored; the token is shown once at creation."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # the first characters, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user = relationship(User, lazy="joined")
