"""Interactions (meetings, planned interactions, calls, SMS, e-mails), chains, the event
calendar with its iCalendar feed, and reminders."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from crm.core.registry import register_nav
from crm.demo import register_demo_step

bp = Blueprint("interactions", __name__, url_prefix="/interactions")


def _setup(state):
    from crm.auth.services import on_user_deactivated
    from crm.core.conditions import register_condition
    from crm.dashboard.widgets import register_widget
    from crm.interactions import policy
    from crm.interactions.calendar import CalendarSource, register_calendar_source
    from crm.interactions.calendar_views import calendar_source_items
    from crm.interactions.card import FACT
    from crm.interactions.conditions import CONDITIONS
    from crm.interactions.demo import make_interactions_demo
    from crm.interactions.feeds import revoke_on_deactivation
    from crm.interactions.home import WIDGETS
    from crm.interactions.jobs import send_reminders
    from crm.interactions.views import partner_tab
    from crm.notifications.producers import NotificationProducer, register_producer
    from crm.partners.card import register_fact
    from crm.partners.tabs import PartnerTab, register_tab

    policy.register(state)
    register_nav(state, "interactions.index", _l("Interactions"), 20)
    register_nav(state, "interactions.calendar", _l("Calendar"), 25)
    register_tab(state, PartnerTab("interactions", _l("Interactions"), partner_tab, 25))
    register_calendar_source(
        state, CalendarSource("interactions", _l("Interactions"), calendar_source_items, 10)
    )
    register_demo_step(state, 40, make_interactions_demo)
    for widget in WIDGETS:
        register_widget(state, widget)
    register_fact(state, FACT)
    on_user_deactivated(state, revoke_on_deactivation)
    register_producer(state, NotificationProducer("interaction-reminders", send_reminders, 60, 10))
    # "No contact for N days" as a segment condition (crm.core.conditions).
    for condition in CONDITIONS:
        register_condition(state, condition)


bp.record_once(_setup)

from crm.interactions import calendar_views, feed_views, views  # noqa: E402,F401  (routes attach to bp)
