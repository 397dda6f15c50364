"""Deals with clients: deal kinds and their sales processes, deals and their stage history,
the pipeline board, the funnel, deal effectiveness and the probabilistic forecast."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from crm.core.registry import register_nav

bp = Blueprint("deals", __name__, url_prefix="/deals")


def _setup(state):
    from crm.deals import policy
    from crm.deals.subjects import SUBJECT
    from crm.interactions.subjects import register_subject_type

    policy.register(state)
    register_subject_type(state, SUBJECT)
    register_nav(state, "deals.index", _l("Deals"), 22)


bp.record_once(_setup)

from crm.deals import views  # noqa: E402,F401  (routes attach to bp)
