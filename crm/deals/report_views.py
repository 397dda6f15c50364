"""The deal reports' pages: funnel, deal effectiveness, probabilistic forecast. Each draws a
filter form, a Plotly chart (fetched lazily as a fragment: `?chart=1`), a table whose cells
link to the deal list, and CSV/XLSX downloads of the table (`?format=csv|xlsx`)."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from flask import request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext as _p
from flask_login import current_user
from werkzeug.routing import BuildError

from crm.core.filters import DateField, IdField, ListFilter, WholeNumberField
from crm.core.policy import requires
from crm.core.report_pages import one_place, respond_report
from crm.deals import bp, charts, reports
from crm.deals.models import Deal
from crm.partners import queries as partner_queries
from crm.sales.queries import local_today

MAX_PAST_MONTHS = 60


def deals_url(**params) -> str:
    """The deal list (deals.index, CONTRACTS.md filters) narrowed to `params`. The list is
    another part's page: until its blueprint route exists, the same address is written by
    hand, so the reports' links are right before and after the parts are merged."""
    params = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in params.items()}
    params = {k: v for k, v in params.items() if v not in (None, "")}
    try:
        return url_for("deals.index", **params)
    except BuildError:
        return f"{bp.url_prefix}/?{urlencode(params)}" if params else f"{bp.url_prefix}/"


# --- filters --------------------------------------------------------------------------------


def _manager_field():
    # a user id, "none" for the deals nobody is responsible for, "" for any
    return IdField(
        _l("Manager"),
        keywords=(reports.NO_MANAGER,),
        as_text=True,
        id="f-manager",
        message=_l("Unknown manager ignored."),
        fixed=[("", _l("Any manager")), (reports.NO_MANAGER, _l("Nobody"))],
    )


class ReportFilter(ListFilter):
    """What every deal report filters by: the kind, the responsible manager and the partner
    scopes (a segment: the deals of its members)."""

    partner_column = Deal.partner_id

    kind = IdField(_l("Deal kind"), id="f-kind", message=_l("Unknown deal kind ignored."))
    manager = _manager_field()

    def __init__(self, args=None, today: date | None = None, **kwargs):
        self.today = today or date.today()
        super().__init__(args, **kwargs)

    def fill_choices(self, kinds, any_kind: bool = True) -> None:
        self["kind"].fixed = [("", _l("Any kind"))] if any_kind else []
        self["kind"].options = [(k.id, k.name) for k in kinds]
        self["manager"].options = [
            (u.id, u.display_name) for u in partner_queries.responsible_choices()
        ]


class PeriodFilter(ReportFilter):
    """A period [from, to]: by default from the first of January to today."""

    date_from = DateField(_l("From"), name="from", what=_l("The start of the period"), id="f-from")
    date_to = DateField(_l("To"), name="to", what=_l("The end of the period"), id="f-to")

    def check(self) -> None:
        if self.date_to is None:
            self.date_to = self.today
        if self.date_from is None:
            self.date_from = date(self.date_to.year, 1, 1)
        if self.date_from > self.date_to:
            self.date_from, self.date_to = self.date_to, self.date_from
            self.problems.append(_("The period started after it ended: the dates were swapped."))


class ForecastFilter(ReportFilter):
    as_of = DateField(_l("As of"), name="as_of", what=_l("The as-of date"), id="f-as-of")
    months = WholeNumberField(
        _l("Past months"),
        default=12,
        minimum=1,
        maximum=MAX_PAST_MONTHS,
        id="f-months",
        message=lambda raw: _(
            "Past months must be a whole number from 1 to %(max)s; showing 12.",
            max=MAX_PAST_MONTHS,
        ),
    )

    def check(self) -> None:
        if self.as_of is None:
            self.as_of = self.today


def _filter(cls):
    return cls(request.args, today=local_today(current_user))


def _check_kind(flt, kinds, required: bool):
    """The kind asked for if it exists; for the funnel (`required`) else the first one."""
    known = {k.id: k for k in kinds}
    kind = known.get(flt.kind) if flt.kind else None
    if flt.kind and kind is None:
        flt.problems.append(_("Unknown deal kind ignored."))
    if kind is None and required and kinds:
        kind = kinds[0]
    flt.kind = kind.id if kind else None
    return kind


def _respond(endpoint, page, fragment, flt, chart_of, export_of, **context):
    return respond_report(
        endpoint,
        page,
        fragment,
        flt,
        chart_of,
        export_of,
        deals_url=deals_url,
        today=flt.today,
        **context,
    )


# --- funnel ---------------------------------------------------------------------------------

FUNNEL_COLUMNS = [_l("Stage"), _l("Reached"), _l("Amount"), _l("Conversion to the next (%)")]


@bp.route("/reports/funnel")
@requires("deal.reports")
def report_funnel():
    """The sales funnel of a kind over the deals created in a period."""
    flt = _filter(PeriodFilter)
    all_kinds = reports.kinds()
    kind = _check_kind(flt, all_kinds, required=True)
    flt.fill_choices(all_kinds, any_kind=False)
    rows = (
        reports.funnel(
            current_user,
            kind,
            flt.date_from,
            flt.date_to,
            flt.manager or None,
            flt.partner_ids(),
        )
        if kind
        else []
    )

    def export():
        data = (
            [
                _("Won") if r.is_won else r.stage.name,
                r.reached,
                r.amount,
                one_place(r.conversion_pct),
            ]
            for r in rows
        )
        name = f"deal-funnel-{flt.date_from.isoformat()}-{flt.date_to.isoformat()}"
        return name, FUNNEL_COLUMNS, data

    return _respond(
        "deals.report_funnel",
        "deals/report_funnel.html",
        "deals/_report_funnel_results.html",
        flt,
        lambda: charts.funnel_chart(rows),
        export,
        kind=kind,
        rows=rows,
        title=_("Sales funnel"),
    )


def funnel_link(flt, row) -> str:
    """The deals counted in a funnel row: those created in the period that reached the stage
    (of any status), or were won."""
    common = {
        "kind": flt.kind,
        "manager": flt.manager,
        "created_from": flt.date_from,
        "created_to": flt.date_to,
        **flt.scope_params(),
    }
    if row.is_won:
        return deals_url(**common, status="won")
    return deals_url(**common, reached=row.stage.position, status="all")


# --- deal effectiveness ---------------------------------------------------------------------

EFFECTIVENESS_COLUMNS = [
    _l("Manager"),
    _l("E-mail"),
    _l("Won"),
    _l("Lost"),
    _l("Open at the end"),
    _l("Won amount"),
    _l("Lost amount"),
    _l("Win rate (%)"),
    _l("Mean days to close"),
    _l("Loss reasons"),
]


def reasons_text(reasons) -> str:
    return "; ".join(f"{r.name if r else _('No reason')}: {n}" for r, n in reasons)


@bp.route("/reports/effectiveness")
@requires("deal.reports")
def report_effectiveness():
    """Deal effectiveness per manager: won, lost, open, win rate, days to close, loss reasons."""
    flt = _filter(PeriodFilter)
    all_kinds = reports.kinds()
    _check_kind(flt, all_kinds, required=False)
    flt.fill_choices(all_kinds)
    eff = reports.effectiveness(
        current_user, flt.date_from, flt.date_to, flt.kind, flt.manager or None, flt.partner_ids()
    )

    def export():
        data = (
            [
                _p("report row", "Total")
                if r is eff.total
                else r.manager.display_name
                if r.manager
                else _("No manager"),
                r.email,
                r.won,
                r.lost,
                r.open,
                r.won_amount,
                r.lost_amount,
                one_place(r.win_rate_pct),
                one_place(r.mean_days_to_close),
                reasons_text(eff.reasons if r is eff.total else r.reasons.items()),
            ]
            for r in [*eff.rows, eff.total]
        )
        name = f"deal-effectiveness-{flt.date_from.isoformat()}-{flt.date_to.isoformat()}"
        return name, EFFECTIVENESS_COLUMNS, data

    return _respond(
        "deals.report_effectiveness",
        "deals/report_effectiveness.html",
        "deals/_report_effectiveness_results.html",
        flt,
        lambda: charts.effectiveness_chart(eff),
        export,
        eff=eff,
        title=_("Deal effectiveness"),
    )


def effectiveness_link(flt, row, status: str, reason=None) -> str:
    """The deals of a cell: won or lost in the period, or open (the list shows today's)."""
    params = {
        "kind": flt.kind,
        "manager": row.manager.id if row.manager else None,
        **flt.scope_params(),
    }
    if status == "open":
        return deals_url(**params, status="open", created_to=flt.date_to)
    if reason is not None:
        params["reason"] = reason.id
    return deals_url(**params, status=status, closed_from=flt.date_from, closed_to=flt.date_to)


# --- probabilistic forecast -----------------------------------------------------------------

FORECAST_COLUMNS = [
    _l("Month"),
    _l("Deals"),
    _l("Amount"),
    _l("Weighted amount"),
    _l("Won"),
]


@bp.route("/reports/forecast")
@requires("deal.reports")
def report_forecast():
    """Open deals by month of expected close, weighted by their probability, beside the amounts
    won in the past months."""
    flt = _filter(ForecastFilter)
    all_kinds = reports.kinds()
    _check_kind(flt, all_kinds, required=False)
    flt.fill_choices(all_kinds)
    fc = reports.forecast(
        current_user, flt.as_of, flt.months, flt.kind, flt.manager or None, flt.partner_ids()
    )

    def export():
        data = (
            [
                r.month_text,
                r.deals or None,
                r.amount if r.deals else None,
                r.weighted_amount if r.deals else None,
                r.won_amount,
            ]
            for r in fc.rows
        )
        return f"deal-forecast-{flt.as_of.isoformat()}", FORECAST_COLUMNS, data

    return _respond(
        "deals.report_forecast",
        "deals/report_forecast.html",
        "deals/_report_forecast_results.html",
        flt,
        lambda: charts.forecast_chart(fc),
        export,
        fc=fc,
        title=_("Probabilistic forecast"),
    )


def forecast_link(flt, row) -> str:
    """The open deals expected to close in a month (the list shows those open today)."""
    params = {"kind": flt.kind, "manager": flt.manager, "status": "open", **flt.scope_params()}
    if row.month is None:
        return deals_url(**params)
    return deals_url(**params, expected_from=row.month, expected_to=reports.month_end(row.month))


def won_link(flt, row) -> str:
    """The deals won in a past month."""
    return deals_url(
        kind=flt.kind,
        manager=flt.manager,
        status="won",
        closed_from=row.month,
        closed_to=reports.month_end(row.month),
        **flt.scope_params(),
    )


@bp.app_template_filter("deal_one_place")
def one_place_filter(value):
    """`{{ mean|deal_one_place|number(1) }}`: half up, as the downloads and the CLI round."""
    return one_place(value)


@bp.app_template_filter("deal_pct_share")
def pct_share(value):
    """`{{ pct|deal_pct_share|percent }}`: a percentage rounded to 1 place as a share for |percent."""
    return None if value is None else one_place(value) / 100


@bp.app_template_global("deal_report_link")
def deal_report_link(what: str, *args, **kwargs) -> str:
    """Drill-down links for the report templates."""
    return {
        "funnel": funnel_link,
        "effectiveness": effectiveness_link,
        "forecast": forecast_link,
        "won": won_link,
    }[what](*args, **kwargs)
