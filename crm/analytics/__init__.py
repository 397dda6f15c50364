"""Analytics: ABC/XYZ classification of products and partners, the BCG matrix, customer stages
and their transitions, the KPI dashboard (shared/spec/analytics.md is the contract)."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from crm.core.registry import register_nav

bp = Blueprint("analytics", __name__, url_prefix="/analytics")


def _setup(state):
    from crm.analytics import cards, cli, kpi_cli, policy, stages_cli

    policy.register(state)
    cards.register(state)
    register_nav(state, "analytics.index", _l("Analytics"), 36)
    cli.register()
    kpi_cli.register()
    stages_cli.register()


bp.record_once(_setup)

# The routes attach to bp.
from crm.analytics import views  # noqa: E402,F401
