"""Segments of partners and of products: rules over the data every domain registers conditions
for (crm.core.conditions), dynamic, periodically refreshed and manual segments (issue 13): the
rule compiler and builder, the partner-field conditions, storage and refresh, the pages, the
CLI, the partner card's tab and My day's block."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from crm.core.registry import register_nav
from crm.demo import register_demo_step

bp = Blueprint("segments", __name__, url_prefix="/segments")


def _setup(state):
    from crm.core.conditions import register_condition
    from crm.core.periodic import PeriodicJob, register_periodic
    from crm.partners.services import register_merge_hook
    from crm.segments import cli, policy
    from crm.segments.jobs import refresh_due_segments
    from crm.segments.partner_conditions import CONDITIONS
    from crm.segments.segment_conditions import CONDITIONS as SEGMENT_CONDITIONS
    from crm.segments.services import merge_segment_rows

    for condition in (*CONDITIONS, *SEGMENT_CONDITIONS):
        register_condition(state, condition)
    from crm.segments.demo import make_segments_demo

    policy.register(state)
    # After partners (10), sales (30), interactions (40) and deals (50): the rules use them.
    register_demo_step(state, 60, make_segments_demo)
    register_nav(state, "segments.index", _l("Segments"), 45)
    register_merge_hook(state, merge_segment_rows)
    # Hourly is the finest schedule: looking every 5 minutes keeps each within minutes of due.
    register_periodic(state, PeriodicJob("segments-refresh", refresh_due_segments, 300, 30))
    cli.register()
    # The partner card's Segments tab and My day's "who entered and left" block.
    from crm.dashboard.widgets import register_widget
    from crm.partners.tabs import register_tab
    from crm.segments.home import WIDGET
    from crm.segments.partner_tab import TAB

    register_tab(state, TAB)
    register_widget(state, WIDGET)
    # The "segment" filter of every partner list and report, and the selections' actions
    # (crm/segments/selections.py, imported below with the routes).
    selections.register(state)


bp.record_once(_setup)

from crm.segments import builder_views, selections, views  # noqa: E402,F401  (routes on bp)
