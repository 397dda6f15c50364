"""Deals with clients: deal kinds and their sales processes, deals and their stage history,
the pipeline board, the funnel, deal effectiveness and the probabilistic forecast."""

from flask import Blueprint

bp = Blueprint("deals", __name__, url_prefix="/deals")


def _setup(state):
    from crm.deals import policy
    from crm.deals.exchange import DEAL_STAGES, DEALS
    from crm.exchange.registry import register_kind

    policy.register(state)
    for kind in (DEAL_STAGES, DEALS):
        register_kind(state, kind)


bp.record_once(_setup)
