"""Accounts, roles, sign-in and user administration."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from crm.core.registry import register_nav

bp = Blueprint("auth", __name__, url_prefix="/auth")
bp.record_once(lambda s: register_nav(s, "auth.user_index", _l("Users"), 900))


def _register_policy(state):
    from crm.auth import policy

    policy.register(state)


bp.record_once(_register_policy)

from crm.auth import views  # noqa: E402,F401  (routes attach to bp)
