"""Signed links of a message, followed without signing in: unsubscribe, the open pixel and
tracked clicks. Each is the message's id signed with the app's SECRET_KEY under its own salt,
so a token for one purpose opens nothing else, and none can be made up or changed (an
unsubscribe link of one address cannot unsubscribe another). They never expire: a link in an
old e-mail keeps working."""

from __future__ import annotations

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

PURPOSES = ("unsubscribe", "open", "click")


def _serializer(purpose: str) -> URLSafeSerializer:
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"crm.messaging.{purpose}")


def make(purpose: str, message_id: int, extra=None) -> str:
    """The token of `purpose` for the message (and an extra value, e.g. a click's URL)."""
    return _serializer(purpose).dumps([message_id, extra] if extra is not None else message_id)


def read(purpose: str, token: str):
    """(message id, extra or None), or None when the token is not one of ours."""
    try:
        value = _serializer(purpose).loads(token)
    except BadSignature:
        return None
    if isinstance(value, int):
        return value, None
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], int):
        return value[0], value[1]
    return None


def absolute_url(endpoint: str, **values) -> str:
    """A link for an e-mail, on BASE_URL ("https://crm.example.com"): a worker has no request
    to take the host from. Without BASE_URL, the current request's host (a preview), else a
    path alone."""
    from flask import has_request_context

    base = current_app.config.get("BASE_URL") or ""
    if not base and has_request_context():
        return url_for(endpoint, _external=True, **values)
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return base + path
