"""Flask-Login wiring: loading the user from the session, and where anonymous users go."""

from __future__ import annotations

from flask import redirect, request, url_for
from htmx_flask import make_response as htmx_response

from crm.auth.models import User
from crm.extensions import db, login_manager

login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to open this page."
login_manager.login_message_category = "warning"


@login_manager.user_loader
def load_user(user_id: str):
    uid, _, version = user_id.partition(":")
    if not uid.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(uid))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized():
    target = url_for("auth.login", next=request.full_path.rstrip("?"))
    # HTMX would follow a redirect and swap the login form into a table cell; send it away whole.
    if request.headers.get("HX-Request") == "true":
        return htmx_response("", 401, redirect=target)
    if request.method != "GET" or request.accept_mimetypes.best == "application/json":
        return make_plain_401()
    return redirect(target)


def make_plain_401():
    return ("Sign in required.", 401, {"Content-Type": "text/plain; charset=utf-8"})
