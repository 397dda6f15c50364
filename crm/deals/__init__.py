"""Deals with clients: deal kinds and their sales processes, deals and their stage history,
the pipeline board, the funnel, deal effectiveness and the probabilistic forecast."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from crm.core.registry import register_nav

bp = Blueprint("deals", __name__, url_prefix="/deals")


def _setup(state):
    from crm.core.conditions import register_condition
    from crm.dashboard.widgets import register_widget
    from crm.deals import cli, policy
    from crm.deals.calendar import SOURCE
    from crm.deals.conditions import CONDITIONS
    from crm.deals.demo import make_deals_demo
    from crm.deals.exchange import DEAL_STAGES, DEALS
    from crm.deals.home import WIDGETS
    from crm.deals.jobs import send_deal_notices
    from crm.deals.partner import FACT, TAB
    from crm.deals.subjects import SUBJECT
    from crm.demo import register_demo_step
    from crm.exchange.registry import register_kind
    from crm.interactions.calendar import register_calendar_source
    from crm.interactions.subjects import register_subject_type
    from crm.notifications.producers import NotificationProducer, register_producer
    from crm.partners.card import register_fact
    from crm.partners.tabs import register_tab

    policy.register(state)
    register_nav(state, "deals.index", _l("Deals"), 22)
    # An admin item (the view requires "deal.classifiers"): the menu shows it to admins only,
    # beside the other admin items (data exchange 850, users 900).
    register_nav(state, "deals.kinds", _l("Deal settings"), 870)
    # Deals in the lower domains' registries (crm/deals/subjects.py, partner.py, calendar.py,
    # home.py).
    register_subject_type(state, SUBJECT)
    register_tab(state, TAB)
    register_fact(state, FACT)
    register_calendar_source(state, SOURCE)
    from crm.core.selections import register_source
    from crm.deals import selection

    register_source(state, selection.SOURCE)  # the deal list's partners (a funnel stage's)
    for widget in WIDGETS:
        register_widget(state, widget)
    for kind in (DEAL_STAGES, DEALS):
        register_kind(state, kind)
    # Day-sized events (a date that passed, days in a stage): every 10 minutes is plenty.
    register_producer(state, NotificationProducer("deal-notices", send_deal_notices, 600, 20))
    register_demo_step(state, 50, make_deals_demo)
    register_nav(state, "deals.board", _l("Pipeline"), 21)
    register_nav(state, "deals.report_funnel", _l("Deal reports"), 35)
    cli.register()
    # Deals as segment conditions (crm.core.conditions; segments combines them).
    for condition in CONDITIONS:
        register_condition(state, condition)


bp.record_once(_setup)

# The routes attach to bp.
from crm.deals import (  # noqa: E402,F401
    board_views,
    calendar_moves,
    classifier_views,
    form_views,
    report_views,
    views,
)
