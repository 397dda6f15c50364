"""Flask-Login wiring: loading the user from the session, and where anonymous users go."""

from __future__ import annotations

from flask import g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from htmx_flask import make_response as htmx_response

from crm.auth import user_sessions
from crm.core.urls import current_path
from crm.errors import is_api_request, json_error
from crm.extensions import login_manager

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to open this page.")
login_manager.login_message_category = "warning"


@login_manager.user_loader
def load_user(session_key: str):
    """The user of a live server-side session (the cookies carry its key, see User.get_id)."""
    if is_api_request():
        return None  # the API is CSRF-exempt: a browser's cookies must never sign its calls
    return user_sessions.user_for_key(session_key)


@login_manager.request_loader
def load_api_user(req):
    """The user of the request's bearer token, on API paths only (pages use the session)."""
    from crm.auth.services import TokenRefused, user_for_api_token

    g.pop("api_token", None)
    g.pop("api_auth_error", None)
    if not is_api_request():
        return None
    try:
        user, token = user_for_api_token(req.headers.get("Authorization"), client_ip())
    except TokenRefused as exc:
        g.api_auth_error = exc
        return None
    g.api_token = token
    return user


def client_ip() -> str:
    """The client's address (behind a proxy set PROXY_COUNT so it is not the proxy's)."""
    return request.remote_addr or "unknown"


def use_bearer_token_only() -> None:
    """On API paths take the user from the bearer token alone, before anything reads
    current_user: Flask-Login would try a remember-me cookie first and skip the request loader
    (and write the session while at it)."""
    if is_api_request():
        login_manager._update_request_context_with_user(load_api_user(request))


@login_manager.unauthorized_handler
def unauthorized():
    if is_api_request():
        refused = g.get("api_auth_error")
        message = refused.message if refused else "Send your API token as a bearer token."
        if refused is not None and refused.retry_after:
            return json_error(429, message, {"Retry-After": str(refused.retry_after)})
        challenge = 'Bearer realm="crm"'
        if refused is not None and refused.presented:
            challenge += ', error="invalid_token"'
        return json_error(401, message, {"WWW-Authenticate": challenge})
    target = url_for("auth.login", next=current_path())
    # HTMX would follow a redirect and swap the login form into a table cell; send it away whole.
    if request.headers.get("HX-Request") == "true":
        return htmx_response("", 401, redirect=target)
    if request.method != "GET" or request.accept_mimetypes.best == "application/json":
        return make_plain_401()
    return redirect(target)


def make_plain_401():
    return (_("Sign in required."), 401, {"Content-Type": "text/plain; charset=utf-8"})
