"""Segments of partners (and products): rules over the data every domain registers conditions
for (crm.core.conditions), dynamic, periodically refreshed and manual segments (issue 13; the
rule compiler and the partner-field conditions so far)."""

from flask import Blueprint

bp = Blueprint("segments", __name__, url_prefix="/segments")


def _setup(state):
    from crm.core.conditions import register_condition
    from crm.segments.partner_conditions import CONDITIONS

    for condition in CONDITIONS:
        register_condition(state, condition)


bp.record_once(_setup)
