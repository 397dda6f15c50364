"""Analytics: ABC/XYZ classification of products and partners, the BCG matrix, customer stages
and their transitions, the KPI dashboard (shared/spec/analytics.md is the contract)."""

from flask import Blueprint

bp = Blueprint("analytics", __name__, url_prefix="/analytics")


def _setup(state):
    from crm.analytics import cli, kpi_cli, stages_cli

    cli.register()
    kpi_cli.register()
    stages_cli.register()


bp.record_once(_setup)
