"""Deals with clients: deal kinds and their sales processes, deals and their stage history,
the pipeline board, the funnel, deal effectiveness and the probabilistic forecast."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from crm.core.registry import register_nav

bp = Blueprint("deals", __name__, url_prefix="/deals")


def _setup(state):
    from crm.deals import policy

    policy.register(state)
    # An admin item (the view requires "deal.classifiers"): the menu shows it to admins only,
    # beside the other admin items (data exchange 850, users 900).
    register_nav(state, "deals.kinds", _l("Deal settings"), 870)


bp.record_once(_setup)

from crm.deals import classifier_views  # noqa: E402,F401  (routes attach to bp)
