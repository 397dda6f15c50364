"""The analytics start page: the reports, each with what it answers."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from crm.analytics import bp
from crm.core.policy import may_open, requires
from crm.htmx import render

# (endpoint, title, what it answers) in the order shown.
REPORTS = (
    (
        "analytics.kpi",
        _l("KPI dashboard"),
        _l("Revenue, profit, clients and receivables against the previous period."),
    ),
    (
        "analytics.abc_xyz",
        _l("ABC/XYZ analysis"),
        _l("Which products and clients bring the money, and how steadily."),
    ),
    (
        "analytics.bcg",
        _l("BCG matrix"),
        _l("Stars, cash cows, question marks and dogs among products."),
    ),
    (
        "analytics.transitions",
        _l("Customer stages"),
        _l("Stable sales on a regular customer base: who moved where, and whom to call."),
    ),
    (
        "analytics.snapshots",
        _l("Stored snapshots"),
        _l("The monthly client stages and ABC/XYZ classes kept for their history."),
    ),
)


@bp.route("/")
@requires("analytics.reports")
def index():
    """The list of the analytics reports."""
    reports = [
        (endpoint, title, text)
        for endpoint, title, text in REPORTS
        if endpoint in current_app.view_functions and may_open(endpoint)
    ]
    return render("analytics/index.html", reports=reports)
