"""Deals with clients: deal kinds and their sales processes, deals and their stage history,
the pipeline board, the funnel, deal effectiveness and the probabilistic forecast."""

from flask import Blueprint

bp = Blueprint("deals", __name__, url_prefix="/deals")


def _setup(state):
    from crm.deals import policy
    from crm.deals.demo import make_deals_demo
    from crm.deals.jobs import send_deal_notices
    from crm.demo import register_demo_step
    from crm.notifications.producers import NotificationProducer, register_producer

    policy.register(state)
    # Day-sized events (a date that passed, days in a stage): every 10 minutes is plenty.
    register_producer(state, NotificationProducer("deal-notices", send_deal_notices, 600, 20))
    register_demo_step(state, 50, make_deals_demo)


bp.record_once(_setup)
