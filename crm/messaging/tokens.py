"""Signed links of a message, followed without signing in: unsubscribe, the open pixel and
tracked clicks, at fixed short paths (crm/messaging/links.py builds them, the public views
serve them).

A token is the message's key (the random local part of its Message-ID, known before the row is
written, so a message is rendered with its links before it is stored) signed with the app's
SECRET_KEY under the purpose's salt: a token for one purpose opens nothing else, and none can
be made up or changed (an unsubscribe link of one address cannot unsubscribe another). They
never expire: a link in an old e-mail keeps working."""

from __future__ import annotations

import secrets

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

PURPOSES = ("unsubscribe", "open", "click")


def new_key() -> str:
    """A message's key: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def rfc_message_id(key: str) -> str:
    """The Message-ID header of the message with this key ("<key@host>")."""
    domain = current_app.config.get("MESSAGING_FROM") or current_app.config.get("MAIL_FROM", "")
    host = domain.rpartition("@")[2].strip(" >") or "crm.localhost"
    return f"<{key}@{host}>"


def key_of(rfc_message_id: str) -> str:
    return rfc_message_id.strip("<>").partition("@")[0]


def _serializer(purpose: str) -> URLSafeSerializer:
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"crm.messaging.{purpose}")


def make(purpose: str, key: str, extra=None) -> str:
    """The token of `purpose` for the message `key` (and an extra value: a click's URL)."""
    return _serializer(purpose).dumps([key, extra] if extra is not None else key)


def read(purpose: str, token: str) -> tuple[str, object] | None:
    """(message key, extra or None), or None when the token is not one of ours."""
    try:
        value = _serializer(purpose).loads(token)
    except BadSignature:
        return None
    if isinstance(value, str):
        return value, None
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        return value[0], value[1]
    return None
