"""Deals with clients: deal kinds and their sales processes, deals and their stage history,
the pipeline board, the funnel, deal effectiveness and the probabilistic forecast."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from crm.core.registry import register_nav

bp = Blueprint("deals", __name__, url_prefix="/deals")


def _setup(state):
    from crm.deals import policy

    policy.register(state)
    register_nav(state, "deals.board", _l("Pipeline"), 21)


bp.record_once(_setup)

from crm.deals import board_views  # noqa: E402,F401  (routes attach to bp)
