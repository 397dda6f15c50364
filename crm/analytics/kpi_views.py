"""The KPI dashboard (`analytics.kpi`) and the client lists its counts open
(`analytics.kpi_clients`).

The dashboard's page returns at once with the filter form and a placeholder that fetches the
results as an HTMX fragment on load (a spinner says «Считаю…» meanwhile); without JavaScript the
placeholder's link opens the page with the results in it (`?now=1`). The results are a card per
KPI (value, previous period, change, change %), coloured by whether the change is good news;
the monthly trend charts load when they come into view (`?chart=1`); `?format=csv|xlsx` downloads
the KPIs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.analytics import bp
from crm.analytics.kpi import KPI_NAMES, KpiReport, kpis, overdue_by_day, previous_period
from crm.analytics.kpi_charts import trend_charts
from crm.analytics.kpi_cli import cell
from crm.analytics.kpi_clients import client_rows
from crm.analytics.kpi_filters import CLIENT_LISTS, ClientsFilter, KpiFilter
from crm.core.paging import Page
from crm.core.policy import requires
from crm.core.report_pages import one_place, respond_report
from crm.exporting import EXPORT_FORMATS
from crm.htmx import is_fragment_request
from crm.sales.queries import local_today

LABELS = {
    "revenue": _l("Revenue"),
    "gross_profit": _l("Gross profit"),
    "sales": _l("Number of sales"),
    "average_check": _l("Average check"),
    "active_clients": _l("Active clients"),
    "new_clients": _l("New clients"),
    "retention_pct": _l("Retention"),
    "lost_clients": _l("Lost clients"),
    "overdue_receivables": _l("Overdue receivables"),
}
MONEY = {"revenue", "gross_profit", "average_check", "overdue_receivables"}
PERCENT = {"retention_pct"}
# Less is better for these: a rise is bad news.
DOWN_IS_GOOD = {"lost_clients", "overdue_receivables"}
# The KPI whose count opens a client list, and which list.
CLIENT_LIST_OF = {
    "active_clients": "active",
    "new_clients": "new",
    "lost_clients": "lost",
    "retention_pct": "retained",
}
LOADER_ID = "kpi-loader"  # the placeholder that fetches the results on load
CLIENTS_PAGE_SIZE = 100

KPI_COLUMNS = [
    _l("Code"),
    _l("KPI"),
    _l("Value"),
    _l("Previous period"),
    _l("Change"),
    _l("Change (%)"),
]
CLIENT_COLUMNS = [
    _l("Code"),
    _l("Partner"),
    _l("Manager"),
    _l("Phone"),
    _l("E-mail"),
    _l("Revenue in the period"),
    _l("Revenue in the previous period"),
    _l("Last purchase"),
]


@dataclass(slots=True)
class Card:
    name: str
    label: str
    kind: str  # money, percent, count
    value: object
    previous: object
    change: object
    change_pct: Decimal | None
    tone: str  # good, bad, same
    link: str | None

    @property
    def change_share(self) -> Decimal | None:
        """The change % rounded half up to 1 place, as a share for |percent."""
        return None if self.change_pct is None else one_place(self.change_pct) / 100


def _kind(name: str) -> str:
    return "money" if name in MONEY else "percent" if name in PERCENT else "count"


def _tone(name: str, change) -> str:
    if change is None or change == 0:
        return "same"
    up = change > 0
    return "good" if up != (name in DOWN_IS_GOOD) else "bad"


def _link(name: str, flt: KpiFilter, value) -> str | None:
    if name in CLIENT_LIST_OF:
        return url_for("analytics.kpi_clients", **flt.params(), which=CLIENT_LIST_OF[name])
    if name == "overdue_receivables" and value is not None:
        return url_for(
            "sales.receivables",
            as_of=flt.date_to.isoformat(),
            manager=flt.manager or None,
            sort="-overdue",
            **flt.scope_params(),
        )
    return None


def cards(report, flt: KpiFilter) -> list[Card]:
    """A card per KPI, in the order of KPI_NAMES."""
    out = []
    for name in KPI_NAMES:
        change = report.change(name)
        value = report.current.value(name)
        out.append(
            Card(
                name,
                str(LABELS[name]),
                _kind(name),
                value,
                report.previous.value(name),
                change,
                report.change_pct(name),
                _tone(name, change),
                _link(name, flt, value),
            )
        )
    return out


def _filter(cls):
    flt = cls(request.args, today=local_today(current_user))
    flt.fill_choices()
    return flt


def _report(flt: KpiFilter) -> KpiReport:
    """The KPIs of the period and of the previous one; the trends are the chart's own fetch
    (kpi_report would compute two more that the cards do not show)."""
    p0_start, p0_end = previous_period(flt.date_from, flt.date_to)
    overdue = overdue_by_day([flt.date_to, p0_end], flt.scope)
    return KpiReport(
        current=kpis(flt.date_from, flt.date_to, flt.scope, overdue=overdue),
        previous=kpis(p0_start, p0_end, flt.scope, overdue=overdue),
    )


def _period_name(flt) -> str:
    return f"{flt.date_from.isoformat()}-{flt.date_to.isoformat()}"


@bp.route("/kpi")
@requires("analytics.reports")
def kpi():
    """The KPIs of a period against the previous period of the same length, with trends."""
    flt = _filter(KpiFilter)
    fmt, chart = request.args.get("format", ""), request.args.get("chart")
    # The page itself returns at once; its placeholder fetches the results (HTMX, or ?now=1).
    lazy = not (is_fragment_request() or fmt in EXPORT_FORMATS or chart or request.args.get("now"))
    report = None if lazy else _report(flt)
    previous = report.previous if report else None

    def export():
        rows = (
            [
                c.name,
                c.label,
                cell(c.name, c.value),
                cell(c.name, c.previous),
                cell(c.name, c.change),
                one_place(c.change_pct),
            ]
            for c in cards(report, flt)
        )
        return f"kpi-{_period_name(flt)}", KPI_COLUMNS, rows

    response = respond_report(
        "analytics.kpi",
        "analytics/kpi.html",
        "analytics/_kpi_results.html",
        flt,
        lambda: trend_charts(flt.date_from, flt.date_to, flt.scope, LABELS),
        export,
        lazy=lazy,
        loader_id=LOADER_ID,
        cards=cards(report, flt) if report else [],
        previous=previous,
        title=_("KPI dashboard"),
    )
    if request.headers.get("HX-Trigger") == LOADER_ID:
        # The placeholder's own fetch: the address bar already shows this page.
        response.headers.pop("HX-Push-Url", None)
    return response


@bp.route("/kpi/clients")
@requires("analytics.reports")
def kpi_clients():
    """The clients behind a KPI count: active, new, lost or retained in the period."""
    flt = _filter(ClientsFilter)
    fmt = request.args.get("format", "")
    export_all = fmt in EXPORT_FORMATS and not flt.problems
    rows, total = client_rows(
        current_user,
        flt.which,
        flt.date_from,
        flt.date_to,
        flt.scope,
        page=None if export_all else flt.page,
        per_page=CLIENTS_PAGE_SIZE,
    )
    p0_start, p0_end = previous_period(flt.date_from, flt.date_to)
    pages = max(1, -(-total // CLIENTS_PAGE_SIZE))
    if flt.page > pages and not export_all:
        flt.page = pages
        rows, total = client_rows(
            current_user,
            flt.which,
            flt.date_from,
            flt.date_to,
            flt.scope,
            page=pages,
            per_page=CLIENTS_PAGE_SIZE,
        )

    def export():
        data = (
            [
                r.code,
                r.name,
                r.manager,
                r.phone,
                r.email,
                r.revenue,
                r.previous_revenue,
                r.last_purchase,
            ]
            for r in rows
        )
        return f"kpi-{flt.which}-clients-{_period_name(flt)}", CLIENT_COLUMNS, data

    return respond_report(
        "analytics.kpi_clients",
        "analytics/kpi_clients.html",
        "analytics/_kpi_clients_results.html",
        flt,
        None,
        export,
        clients=Page(rows, total, flt.page, CLIENTS_PAGE_SIZE),
        dashboard_url=url_for("analytics.kpi", **flt.params(which=None, page=None)),
        client_lists=CLIENT_LISTS,
        previous_start=p0_start,
        previous_end=p0_end,
        title=str(CLIENT_LISTS[flt.which]),
    )


@bp.app_template_filter("kpi_one_place")
def one_place_filter(value):
    """`{{ pct|kpi_one_place }}`: half up to 1 place, as the downloads round."""
    return one_place(value)
