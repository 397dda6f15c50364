"""Analytics: ABC/XYZ classification of products and partners, the BCG matrix, customer stages
and their transitions, the KPI dashboard (shared/spec/analytics.md is the contract)."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from crm.core.registry import register_nav

bp = Blueprint("analytics", __name__, url_prefix="/analytics")


def _setup(state):
    from crm.analytics import (
        bcg_cli,
        cards,
        cli,
        kpi_cli,
        planned_calls,
        policy,
        snapshot_cli,
        stages_cli,
    )
    from crm.analytics.conditions import CONDITIONS
    from crm.analytics.home import WIDGET
    from crm.analytics.jobs import take_missing_snapshots
    from crm.analytics.snapshots import merge_snapshot_rows
    from crm.core.conditions import register_condition
    from crm.core.periodic import PeriodicJob, register_periodic
    from crm.dashboard.widgets import register_widget
    from crm.partners.services import register_merge_hook

    policy.register(state)
    cards.register(state)
    register_nav(state, "analytics.index", _l("Analytics"), 36)
    cli.register()
    kpi_cli.register()
    stages_cli.register()
    bcg_cli.register()
    snapshot_cli.register()
    register_widget(state, WIDGET)
    register_merge_hook(state, merge_snapshot_rows)
    every = int(state.app.config.get("ANALYTICS_SNAPSHOT_CHECK_SECONDS", 3600))
    register_periodic(state, PeriodicJob("analytics-snapshots", take_missing_snapshots, every))
    register_merge_hook(state, planned_calls.merge_planned_calls)
    # Class and stage as segment conditions (crm.core.conditions; segments combines them).
    for condition in CONDITIONS:
        register_condition(state, condition)
    # The reports' drill-downs as selections, and "plan calls" on any selection
    # (crm/analytics/selections.py, imported below with the routes).
    selections.register(state)


bp.record_once(_setup)

# The routes attach to bp.
from crm.analytics import (  # noqa: E402,F401
    abc_views,
    bcg_views,
    kpi_views,
    selections,
    snapshot_views,
    transition_views,
    views,
)
