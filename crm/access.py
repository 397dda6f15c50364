"""Who may open what: every view needs a signed-in user unless marked public; viewers never write.

The gate runs before every request, so a new route is protected without anyone remembering to.
Views add finer checks through the permission policy (crm/core/policy.py): `@requires(action)`,
`may(user, action, obj)`, `load_or_403`.
"""

from __future__ import annotations

from flask import abort, current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.core.policy import may
from crm.extensions import login_manager

ROLES = ("admin", "manager", "marketer", "viewer")
# What pages call the roles (translated when shown).
ROLE_TITLES = {
    "admin": _l("Administrator"),
    "manager": _l("Manager"),
    "marketer": _l("Marketer"),
    "viewer": _l("Viewer"),
}


def role_title(role: str) -> str:
    return str(ROLE_TITLES.get(role, role))


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def public(view):
    """Mark a view as open to anonymous users (login, invite acceptance)."""
    view.crm_public = True
    return view


def viewer_may_post(view):
    """Mark a write that concerns only the viewer's own session or account (logout, password),
    or a POST that writes nothing (the API's count of a rule sent in the body)."""
    view.crm_viewer_may_post = True
    return view


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
        and not may(current_user, "app.write")
        and not getattr(view, "crm_viewer_may_post", False)
    ):
        abort(403)
    return None


def init_app(app) -> None:
    app.before_request(_gate)
