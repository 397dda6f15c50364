"""Deals with clients: deal kinds and their sales processes, deals and their stage history,
the pipeline board, the funnel, deal effectiveness and the probabilistic forecast."""

from flask import Blueprint

bp = Blueprint("deals", __name__, url_prefix="/deals")


def _setup(state):
    from crm.deals import policy

    policy.register(state)


bp.record_once(_setup)
