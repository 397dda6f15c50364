"""The start page, "My day": a manager's overdue and coming interactions, follow-ups due, his
partners' overdue debt — each block a widget that a domain registers (crm/dashboard/widgets.py) and
that loads as its own HTMX fragment, so a slow one never holds the page."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


def _setup(state):
    from crm.core.registry import register_nav
    from crm.dashboard import policy

    policy.register(state)
    register_nav(state, "home", _l("My day"), 5)


bp.record_once(_setup)

from crm.dashboard import views  # noqa: E402,F401  (routes attach to bp)
