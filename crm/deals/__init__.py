"""Deals with clients: deal kinds and their sales processes, deals and their stage history,
the pipeline board, the funnel, deal effectiveness and the probabilistic forecast."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("deals", __name__, url_prefix="/deals")


def _setup(state):
    from crm.core.registry import register_nav
    from crm.deals import cli, policy

    policy.register(state)
    register_nav(state, "deals.report_funnel", _l("Deal reports"), 35)
    cli.register()


bp.record_once(_setup)


from crm.deals import report_views  # noqa: E402,F401  (routes attach to bp)
