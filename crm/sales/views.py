"""The receivables report and the partner card's Purchases tab with its monthly chart."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.charts import plotly_js_tag, plotly_js_url
from crm.core.paging import Page
from crm.core.policy import load_or_403
from crm.exporting import EXPORT_FORMATS, export_response
from crm.htmx import is_fragment_request, render
from crm.partners import queries as partner_queries
from crm.sales import bp, charts, queries
from crm.sales.filters import ReceivablesFilter
from crm.sales.receivables import partner_balance

REPORT_PAGE_SIZE = 100
# The report's downloads are for people (not the data-exchange files): headers in their language.
EXPORT_COLUMNS = [
    _l("Code"),
    _l("Partner"),
    _l("Manager"),
    _l("Debt"),
    _l("Overdue"),
    _l("Oldest overdue due date"),
]


@bp.route("/receivables")
def receivables():
    """Partners with debt as of a date, with overdue debt; filter, sort, CSV/XLSX."""
    flt = ReceivablesFilter.from_args(request.args, queries.local_today(current_user))
    fmt = request.args.get("format", "")
    if fmt in EXPORT_FORMATS and flt.problems:
        fmt = ""  # a download of something else than was asked for helps nobody: say why
        status = 400
    else:
        status = 200
    rows = queries.receivable_rows(
        current_user, flt.as_of, flt.manager, flt.sort, flt.extra_clauses()
    )
    if fmt in EXPORT_FORMATS:
        data = ([r.code, r.name, r.manager, r.debt, r.overdue, r.oldest_overdue] for r in rows)
        header = [str(c) for c in EXPORT_COLUMNS]
        return export_response(fmt, f"receivables-{flt.as_of.isoformat()}", header, data)
    total = len(rows)
    page_no = min(flt.page, max(1, -(-total // REPORT_PAGE_SIZE)))
    start = (page_no - 1) * REPORT_PAGE_SIZE
    page = Page(rows[start : start + REPORT_PAGE_SIZE], total, page_no, REPORT_PAGE_SIZE)
    debt, overdue = queries.totals(rows)
    managers = partner_queries.responsible_choices()
    flt["manager"].options = [(u.id, u.display_name) for u in managers]
    response = render(
        "sales/receivables.html",
        "sales/_receivables_results.html",
        flt=flt,
        page=page,
        total_debt=debt,
        total_overdue=overdue,
        status=status,
    )
    if is_fragment_request():
        # The address bar gets the filter's own URL, not the raw form (empty fields, bad values).
        response.headers["HX-Push-Url"] = url_for("sales.receivables", **flt.params())
    return response


def purchases_tab(partner) -> str:
    """The Purchases tab: debt today, last documents, and a placeholder for the chart."""
    today = queries.local_today(current_user)
    return render_template(
        "sales/_tab_purchases.html",
        partner=partner,
        today=today,
        balance=partner_balance(partner.id, today),
        documents=queries.last_documents(partner.id),
        plotly_src=plotly_js_url(),
        months=queries.CHART_MONTHS,
    )


@bp.route("/partners/<int:partner_id>/purchases-chart")
def purchases_chart(partner_id: int):
    """Totals by month for the last 24 months: the chart (HTMX) or a page with it and a table."""
    partner = load_or_403(partner_queries.get_partner, partner_id, "partner.view")
    months = queries.monthly_totals(partner.id, queries.local_today(current_user))
    return render(
        "sales/purchases_chart.html",
        "sales/_purchases_chart.html",
        partner=partner,
        months=months,
        chart=charts.monthly_totals_chart(months),
        plotly_tag=plotly_js_tag(),
    )
