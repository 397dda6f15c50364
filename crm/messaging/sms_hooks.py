"""The SMS gateway's hooks (no sign-in, no CSRF token: the gateway proves itself with the
shared secret SMS_WEBHOOK_TOKEN, sent as ``X-Webhook-Token: <token>`` or
``Authorization: Bearer <token>``). With no token set the hooks do not exist (404).

- ``POST /m/sms/inbound`` ``{"from": "+79161234567", "text": "СТОП"}``: a reply. STOP (also
  СТОП, ОТПИСКА, UNSUBSCRIBE, in any case, with punctuation) suppresses the number and withdraws
  its consent; another text goes into the history of the partner owning the number.
  Answers 200 ``{"action": "stopped" | "recorded" | "ignored", "changed": true | false}``
  (a repeated STOP: stopped, nothing changed).
- ``POST /m/sms/status`` ``{"id": "<gateway's id>", "status": "delivered" | "failed" |
  "undeliverable", "error": "…"}``: a delivery report. 200 ``{"id", "state"}``; 404 for an id
  no sent SMS has; 409 for a message not recorded as sent yet (report again later).

Malformed JSON or fields: 400 ``{"error": "…"}``, nothing changed. The answers are for the
gateway's logs, in English. Repeating a hook is harmless."""

from __future__ import annotations

import hmac

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from crm.access import public
from crm.errors import json_error
from crm.extensions import csrf, db
from crm.messaging import sms_inbound
from crm.messaging.backends.sms import check_settings

sms_hooks_bp = Blueprint("messaging_sms", __name__)
# No cookie is trusted here, only the shared secret: nothing a forged browser request could use.
csrf.exempt(sms_hooks_bp)

BODY_LIMIT = 64 * 1024  # a hook is a few hundred bytes


def _check_settings(state) -> None:
    # Every process (web, worker, command line) builds the app: a typo in SMS_BACKEND stops it
    # at start with the setting named, instead of failing each SMS later.
    check_settings(state.app.config)


sms_hooks_bp.record_once(_check_settings)


def _presented_token() -> str:
    token = request.headers.get("X-Webhook-Token", "")
    if token:
        return token
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@sms_hooks_bp.before_request
def _authenticate():
    secret = current_app.config.get("SMS_WEBHOOK_TOKEN") or ""
    if not secret:
        return json_error(404, "Not found.")
    # WSGI gives header bytes as latin-1 text: compared as the bytes sent, so a secret with
    # non-ASCII characters works too (and compare_digest never meets non-ASCII text).
    presented = _presented_token().encode("latin-1", errors="replace")
    if not presented or not hmac.compare_digest(presented, secret.encode()):
        return json_error(403, "Wrong or missing webhook token.")
    request.max_content_length = BODY_LIMIT
    return None


@sms_hooks_bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    return json_error(413, f"The request is larger than {BODY_LIMIT // 1024} KB.")


def _document() -> dict | None:
    document = request.get_json(force=True, silent=True)
    return document if isinstance(document, dict) else None


def _text_field(document: dict, name: str, *, required: bool = True) -> str | None:
    """The field's string; None when it is missing (and required) or not a string."""
    value = document.get(name)
    if value is None and not required:
        return ""
    return value if isinstance(value, str) else None


@sms_hooks_bp.post("/m/sms/inbound")
@public
def inbound():
    """A reply to an SMS: STOP suppresses the number, other texts go into the partner's history."""
    document = _document()
    if document is None:
        return json_error(400, 'Send a JSON object: {"from": "+79…", "text": "…"}.')
    sender, text = _text_field(document, "from"), _text_field(document, "text")
    if sender is None or text is None:
        return json_error(400, '"from" (the phone number) and "text" must be strings.')
    norm = sms_inbound.phone_norm(sender)
    if len(norm.lstrip("+")) < 3:
        return json_error(400, f'"from" is not a phone number: {sender[:40]!r}.')
    if sms_inbound.is_stop(text):
        changed = sms_inbound.stop(sender.strip(), norm)
        db.session.commit()
        return jsonify(action="stopped", changed=changed)
    recorded = sms_inbound.record_reply(sender.strip(), norm, text)
    db.session.commit()
    return jsonify(action="recorded" if recorded else "ignored", changed=bool(recorded))


@sms_hooks_bp.post("/m/sms/status")
@public
def status():
    """A delivery report of a sent SMS."""
    document = _document()
    if document is None:
        return json_error(400, 'Send a JSON object: {"id": "…", "status": "delivered"}.')
    provider_id = document.get("id")
    if isinstance(provider_id, int) and not isinstance(provider_id, bool):
        provider_id = str(provider_id)
    if not isinstance(provider_id, str) or not provider_id.strip() or len(provider_id) > 120:
        return json_error(400, '"id" must be the gateway\'s message id (1 to 120 characters).')
    state = document.get("status")
    if not isinstance(state, str) or state.strip().lower() not in sms_inbound.STATUSES:
        return json_error(
            400, f'"status" must be one of: {", ".join(sms_inbound.STATUSES)} (got {state!r:.40}).'
        )
    error = _text_field(document, "error", required=False)
    if error is None:
        return json_error(400, '"error" must be a string.')
    try:
        message = sms_inbound.report(
            provider_id.strip(), state.strip().lower(), " ".join(error.split())
        )
    except sms_inbound.NotSentYet as exc:
        db.session.rollback()
        return json_error(409, f"The message is {exc.args[0]}, not sent yet; report again later.")
    if message is None:
        return json_error(404, "No SMS was sent with this id.")
    db.session.commit()
    return jsonify(id=message.provider_id, state=message.state)
