"""Accounts: sign-in with throttling, invitations, passwords, roles and deactivation."""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from crm.access import ROLES
from crm.auth import user_sessions
from crm.auth.models import ApiToken, LoginAttempt, User
from crm.auth.password_feedback import translated
from crm.auth.policy import role_may
from crm.core import audit
from crm.core.errors import DomainError
from crm.core.keys import id_for_key
from crm.core.registry import RegistryKey
from crm.core.text import checked_email, normalise_email
from crm.core.timeutil import utcnow
from crm.extensions import db

# Ten: zxcvbn (below) never scores 8 characters above 2 (10^8 guesses at most), so a lower
# minimum would only promise what the strength check then refuses.
MIN_PASSWORD_LENGTH = 10
INVITE_MAX_AGE = 7 * 24 * 3600
API_TOKEN_PREFIX = "crm_"  # lets secret scanners and people tell a CRM token from others
API_TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)  # last_used_at is a hint, not a log


# What the throttle counts, each with its whole message (a plural of the seconds to wait).
THROTTLE_MESSAGES = {
    "sign-in": lambda n: ngettext(
        "Too many failed sign-in attempts. Try again in %(num)s second.",
        "Too many failed sign-in attempts. Try again in %(num)s seconds.",
        n,
    ),
    "password": lambda n: ngettext(
        "Too many wrong passwords. Try again in %(num)s second.",
        "Too many wrong passwords. Try again in %(num)s seconds.",
        n,
    ),
    "api-token": lambda n: ngettext(
        "Too many failed API token sign-ins from your address. Try again in %(num)s second.",
        "Too many failed API token sign-ins from your address. Try again in %(num)s seconds.",
        n,
    ),
}


class Throttled(DomainError):
    def __init__(self, retry_after: int, what: str = "sign-in"):
        super().__init__(THROTTLE_MESSAGES[what](retry_after))
        self.retry_after = retry_after


# The throttle's key for failed API token sign-ins, counted per address (no "@": no e-mail).
API_TOKEN_KEY = "api-token"


def check_throttle(email: str, ip: str, what: str = "sign-in") -> None:
    """Raise Throttled when this account has too many recent failures from this address."""
    cfg = current_app.config
    window = timedelta(seconds=cfg["LOGIN_FAILURE_WINDOW_SECONDS"])
    since = utcnow() - window
    recent = db.session.execute(
        select(func.count(), func.min(LoginAttempt.at)).where(
            LoginAttempt.email == email, LoginAttempt.ip == ip, LoginAttempt.at > since
        )
    ).one()
    if recent[0] >= cfg["LOGIN_MAX_FAILURES"]:
        retry = int((recent[1] + window - utcnow()).total_seconds()) + 1
        raise Throttled(max(retry, 1), what)


def record_failure(email: str, ip: str) -> None:
    """Count a failed password or token against the pair; committed at once, since the
    request that failed rolls its own work back."""
    db.session.add(LoginAttempt(email=email, ip=ip))
    # Old attempts serve no purpose; drop them while we are here.
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - timedelta(days=1)))
    db.session.commit()


def clear_failures(email: str, ip: str) -> None:
    db.session.execute(
        delete(LoginAttempt).where(LoginAttempt.email == email, LoginAttempt.ip == ip)
    )


def authenticate(email: str, password: str, ip: str) -> User:
    """The active user with these credentials; records failures and enforces the throttle."""
    email = normalise_email(email)
    check_throttle(email, ip)
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is None:
        # Spend the time a real check takes, so timing does not tell which accounts exist.
        check_password_hash(_dummy_hash(), password)
    if user is None or not user.active or not user.check_password(password):
        record_failure(email, ip)
        raise DomainError(_("Wrong e-mail or password, or the account is deactivated."))
    user.last_login_at = utcnow()
    clear_failures(email, ip)
    return user


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


# zxcvbn's score 3: "safely unguessable", 10^8 guesses or more (score 2 only claims to resist
# unthrottled online guessing). Sign-ins are throttled, but a stolen database is attacked
# offline, where the slow password hash and this score are what protect the passwords.
MIN_PASSWORD_SCORE = 3
ZXCVBN_MAX_CHARS = 72  # zxcvbn refuses longer input; characters past it only add strength


def validate_password(password: str, *, email: str = "", name: str = "") -> None:
    """Refuse a password that is short, contains the user's e-mail (or its name part), or that
    zxcvbn estimates easy to guess (common passwords, words, dates, keyboard patterns, the
    user's own name and address); the message says why and how to do better."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise _weak(
            ngettext(
                "The password must have at least %(num)s character.",
                "The password must have at least %(num)s characters.",
                MIN_PASSWORD_LENGTH,
            ),
            ngettext(
                "At least %(num)s character.", "At least %(num)s characters.", MIN_PASSWORD_LENGTH
            ),
        )
    email = normalise_email(email or "")
    local = email.partition("@")[0]
    folded = password.casefold()
    if email and (email in folded or (len(local) >= 4 and local in folded)):
        raise _weak(_("The password must not contain your e-mail address or its name part."))
    user_inputs = [email, local, *email.replace("@", ".").split("."), name, *name.split()]
    result = zxcvbn(password[:ZXCVBN_MAX_CHARS], user_inputs=[i for i in user_inputs if i])
    if result["score"] < MIN_PASSWORD_SCORE:
        feedback = result["feedback"]
        hints = " ".join(
            translated(x) for x in [feedback.get("warning"), *feedback.get("suggestions", [])] if x
        )
        hint = hints or _("Add another word or two; uncommon words are better.")
        raise _weak(_("This password is too easy to guess. %(hint)s", hint=hint))


def _weak(message: str, field_message: str | None = None) -> DomainError:
    return DomainError(message, {"password": [field_message or message]})


def get_user_by_email(email: str) -> User | None:
    return db.session.execute(
        select(User).where(User.email == normalise_email(email))
    ).scalar_one_or_none()


def user_ids_by_email() -> dict[str, int]:
    """Every user's id by (stored, casefolded) e-mail: an import's manager column reads it."""
    return dict(db.session.execute(select(User.email, User.id)).all())


def ensure_user(email: str) -> int:
    """The id of the user with this e-mail; an unknown one is created inactive, as a manager
    with no name and no password, until an admin invites him (data-exchange.md)."""
    return id_for_key(User, {"email": email.casefold()}, role="manager", active=False, name="")


def create_user(
    actor, email: str, role: str, *, name: str = "", password: str | None = None, active=True
) -> User:
    """A new account; without a password it waits for its invite link to be used."""
    try:
        email = normalise_email(checked_email(email))
    except ValueError as exc:
        raise DomainError(str(exc), {"email": [str(exc)]}) from exc
    if role not in ROLES:
        raise DomainError(
            _("Unknown role %(role)s.", role=repr(role)),
            {"role": [_("Choose a role from the list.")]},
        )
    if get_user_by_email(email):
        raise DomainError(
            _("A user with this e-mail exists."), {"email": [_("Already registered.")]}
        )
    user = User(email=email, role=role, name=name.strip(), active=active)
    user.timezone = current_app.config["DEFAULT_TIMEZONE"]
    if password is not None:
        validate_password(password, email=email, name=name)
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "create", user, summary=f"user {email} ({role})")
    return user


def update_user(actor, user: User, *, role: str, active: bool, name: str) -> User:
    """Change role, name or active flag; an admin cannot lock himself out."""
    if role not in ROLES:
        raise DomainError(
            _("Unknown role %(role)s.", role=repr(role)),
            {"role": [_("Choose a role from the list.")]},
        )
    if user.id == actor.id and (not role_may(role, "users.manage") or not active):
        raise DomainError(_("You cannot remove your own admin role or deactivate yourself."))
    before = {"role": user.role, "active": user.active, "name": user.name}
    user.role, user.active, user.name = role, active, name.strip()
    db.session.flush()
    audit.record(
        actor,
        "update",
        user,
        changes=audit.diff(before, {"role": role, "active": active, "name": user.name}),
    )
    if not active:
        end_access(actor, user)
    return user


DEACTIVATION_HOOKS: RegistryKey[Callable] = RegistryKey("crm.user_deactivated")


def on_user_deactivated(state_or_app, func) -> None:
    """Register `func(actor, user)`: revoke what the domain gave the user (e.g. calendar feed
    links), so reactivating the account does not bring it back. Called from a blueprint's
    `record_once`; the function flushes and audits, the request commits."""
    DEACTIVATION_HOOKS.register(state_or_app, func)


def end_access(actor, user: User) -> None:
    """A deactivated user's every way in ends: sessions, API tokens, invitation link, and what
    other domains registered (idempotent: running it again revokes nothing more)."""
    user.session_version += 1  # withdraws an unused invitation link
    user_sessions.end_all(user)
    now = utcnow()
    live = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    for row in db.session.execute(live).scalars():
        row.revoked_at = now
        audit.record(
            actor,
            "update",
            row,
            root=user,
            changes={"revoked": [False, True]},
            summary=f"API token {row.name!r} ({row.prefix}…) revoked: user deactivated",
        )
    db.session.flush()
    for hook in DEACTIVATION_HOOKS.of():
        hook(actor, user)


def change_password(user: User, current: str, new: str, *, ip: str) -> None:
    """Change one's own password; throttled like sign-in (per account and address), and every
    other session of the user ends (the current one, in `user.session_key`, stays)."""
    check_throttle(user.email, ip, "password")
    if not user.check_password(current):
        record_failure(user.email, ip)
        raise DomainError(_("The current password is wrong."), {"current": [_("Wrong password.")]})
    clear_failures(user.email, ip)
    validate_password(new, email=user.email, name=user.name)
    user.set_password(new)
    user_sessions.end_all(user, keep_key=user.session_key)
    db.session.flush()
    audit.record(user, "update", user, changes={"password": ["***", "***"]})


def update_settings(user: User, *, name: str, locale: str, timezone: str) -> None:
    """The user's own display name, interface language and time zone."""
    from zoneinfo import available_timezones

    from crm.core.i18n import LANGUAGES

    errors = {}
    if locale not in LANGUAGES:
        errors["locale"] = [_("Choose a language from the list.")]
    if timezone not in available_timezones():
        errors["timezone"] = [_("Choose a time zone from the list.")]
    if len(name.strip()) > 200:
        errors["name"] = [_("At most 200 characters.")]
    if errors:
        raise DomainError(_("The settings were not saved."), errors)
    changes = {}
    for key, value in (("name", name.strip()), ("locale", locale), ("timezone", timezone)):
        if getattr(user, key) != value:
            changes[key] = [getattr(user, key), value]
            setattr(user, key, value)
    if changes:
        db.session.flush()
        audit.record(user, "update", user, changes=changes)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="crm.invite")


def invite_token(user: User) -> str:
    """A link token that works until the password is set (it is bound to the password state)."""
    return _serializer().dumps({"u": user.id, "v": user.session_version})


def user_for_invite(token: str) -> User:
    try:
        data = _serializer().loads(token, max_age=INVITE_MAX_AGE)
    except SignatureExpired as exc:
        raise DomainError(_("This invitation has expired; ask an admin for a new one.")) from exc
    except BadSignature as exc:
        raise DomainError(_("This invitation link is not valid.")) from exc
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or user.session_version != data.get("v") or not user.active:
        raise DomainError(_("This invitation link has been used or withdrawn."))
    return user


def accept_invite(user: User, password: str) -> None:
    validate_password(password, email=user.email, name=user.name)
    user.set_password(password)
    db.session.flush()
    audit.record(user, "update", user, changes={"password": ["(invited)", "***"]})


def random_password() -> str:
    return secrets.token_urlsafe(12)


# --- API tokens ---------------------------------------------------------------------------


class TokenRefused(DomainError):
    """The request's bearer token does not sign anyone in; the message says why."""

    retry_after: int | None = None  # set when refused because the address is throttled

    def __init__(self, message: str, presented: bool = True):
        super().__init__(message)
        self.presented = presented  # a token was sent (RFC 6750: error="invalid_token")


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token of `user`; returns the row and the token itself, which is never stored."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Name the token."), {"name": [_("Say what the token is for.")]})
    if len(name) > 100:
        raise DomainError(_("The name is too long."), {"name": [_("At most 100 characters.")]})
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=hash_api_token(token), prefix=token[:12])
    db.session.add(row)
    db.session.flush()
    audit.record(user, "create", row, root=user, summary=f"API token {name!r} ({row.prefix}…)")
    return row, token


def api_tokens(user: User) -> list[ApiToken]:
    """The user's tokens, live ones first, newest first."""
    return list(
        db.session.execute(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(
                ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc()
            )
        ).scalars()
    )


def revoke_api_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens (revoking twice changes nothing)."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise DomainError("There is no such token.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.flush()
        audit.record(
            user,
            "update",
            row,
            root=user,
            changes={"revoked": [False, True]},
            summary=f"API token {row.name!r} ({row.prefix}…) revoked",
        )
    return row


def user_for_api_token(authorization: str | None, ip: str = "unknown") -> tuple[User, ApiToken]:
    """The active user whose live token is in an `Authorization: Bearer …` header value.

    Tokens refused (unknown, revoked, deactivated account) count against the client's address
    like failed sign-ins; while the address is throttled every token from it is refused
    unchecked, a valid one too — otherwise guessing would go on and a hit would still work."""
    if not authorization or not authorization.strip():
        raise TokenRefused(
            "Send your API token in the header 'Authorization: Bearer <token>'.", presented=False
        )
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise TokenRefused("The Authorization header must be 'Bearer <token>'.")
    try:
        check_throttle(API_TOKEN_KEY, ip, "api-token")
    except Throttled as exc:
        refused = TokenRefused(exc.message)
        refused.retry_after = exc.retry_after
        raise refused from None
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_api_token(token))
    ).scalar_one_or_none()
    problem = None
    if row is None:
        problem = "This API token is not valid."
    elif row.revoked_at is not None:
        problem = "This API token has been revoked."
    elif not row.user.active:
        problem = "The account of this API token is deactivated."
    if problem:
        record_failure(API_TOKEN_KEY, ip)
        raise TokenRefused(problem)
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= API_TOKEN_TOUCH_INTERVAL:
        # Committed at once, before the request does anything: a GET never commits, and a
        # write that fails must not take the sign of use with it.
        row.last_used_at = now
        db.session.commit()
    return row.user, row
