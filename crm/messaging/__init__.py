"""Mailings and notifications to clients (issue 14): message templates rendered in a sandbox,
mailing groups, consent and opt-outs, the suppression list, marketing mailings to a segment or
to partners picked by hand, event notifications (order status, overdue debt, deal won,
interaction reminders, and those later domains register), delivery by RQ workers through SMTP
and an SMS gateway with retries and a rate limit, tracking, and retention of message bodies."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from crm.core.registry import register_nav

bp = Blueprint("messaging", __name__, url_prefix="/messaging")


def _setup(state):
    from crm.core.policy import may_open
    from crm.messaging import policy
    from crm.messaging.sections import Section, register_section, sections

    policy.register(state)
    register_nav(state, "messaging.index", _l("Mailings"), 48)
    register_section(state, Section("messaging.index", _l("Mailings"), 10))
    state.app.jinja_env.globals.update(messaging_sections=sections, may_open=may_open)


bp.record_once(_setup)

# Routes on bp, and the parts' own setup (each registers with bp.record_once).
from crm.messaging import (  # noqa: E402,F401
    group_views,
    jobs,
    mailing_form_views,
    notification_views,
    partner_tab,
    suppression_views,
    template_views,
    views,
)
