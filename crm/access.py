"""Who may open what: every view needs a signed-in user unless marked public; viewers never write.

The gate runs before every request, so a new route is protected without anyone remembering to.
Views add finer checks with `roles_required` and the domain's object-access queries.
"""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app, request
from flask_login import current_user

from crm.extensions import login_manager

ROLES = ("admin", "manager", "marketer", "viewer")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def public(view):
    """Mark a view as open to anonymous users (login, invite acceptance)."""
    view.crm_public = True
    return view


def viewer_may_post(view):
    """Mark a write that concerns only the viewer's own session or account (logout, password)."""
    view.crm_viewer_may_post = True
    return view


def roles_required(*roles: str):
    """Allow only users with one of `roles`; others get 403."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _gate():
    if request.endpoint is None:
        return None  # no such route: the 404 handler answers
    view = current_app.view_functions.get(request.endpoint)
    if request.endpoint == "static" or getattr(view, "crm_public", False):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if (
        request.method not in SAFE_METHODS
        and current_user.role == "viewer"
        and not getattr(view, "crm_viewer_may_post", False)
    ):
        abort(403)
    return None


def init_app(app) -> None:
    app.before_request(_gate)
