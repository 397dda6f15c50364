"""The customer stages transition page (shared/spec/analytics.md, Customer stages): two month
ends, the clients' stage counts at both, the matrix of moves (counts, share of the row,
intensity, declines in yellow and red with their lost revenue), a Sankey diagram, each count
opening the list of those clients (`transitions_cell`: printable, CSV/XLSX), and the button
that turns a list into planned calls (`plan_calls`).

The page returns at once; its results come as an HTMX fragment loaded on `load` with a
spinner («Считаю…»); without JavaScript a link asks for the page with its results
(`?now=1`)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from crm.analytics import bp
from crm.analytics.planned_calls import only_own_clients, planned_for
from crm.analytics.planned_calls import plan_calls as plan_cell_calls
from crm.analytics.stage_labels import stage_title
from crm.analytics.stages import (
    NEW,
    STAGES,
    TARGET_STAGES,
    cell_partners,
    month_end,
    month_index,
    transitions,
)
from crm.analytics.transition_charts import sankey_chart
from crm.auth.models import User
from crm.core.filters import OWN_NARROWING, ChoiceField, DateField, ListFilter, PageField
from crm.core.paging import Page
from crm.core.policy import requires, visible
from crm.core.report_pages import one_place, respond_report, two_places
from crm.extensions import db
from crm.htmx import is_fragment_request, render
from crm.partners.models import Partner
from crm.sales.queries import local_today

PER_PAGE = 200  # clients on a page of a cell (the downloads hold them all)


def latest_month_end(today: date) -> date:
    """The last day of the last complete month before `today`'s."""
    return today.replace(day=1) - timedelta(days=1)


class TransitionsFilter(ListFilter):
    """Two month ends T1 < T2 (any day stands for its month's end); by default the two latest
    complete months; the partner scopes (a segment) keep their clients only."""

    partner_column = OWN_NARROWING

    from_date = DateField(
        _l("First snapshot"), name="from_date", what=_l("The first snapshot"), id="f-from-date"
    )
    to_date = DateField(
        _l("Second snapshot"), name="to_date", what=_l("The second snapshot"), id="f-to-date"
    )

    def __init__(self, args=None, today: date | None = None, **kwargs):
        self.today = today or date.today()
        super().__init__(args, **kwargs)

    def check(self) -> None:
        latest = latest_month_end(self.today)
        if self.to_date is None:
            after_from = self.from_date is None or month_index(latest) > month_index(self.from_date)
            self.to_date = latest if after_from else month_end(self.from_date + timedelta(days=31))
        self.to_date = month_end(self.to_date)
        if self.from_date is None:
            self.from_date = latest_month_end(self.to_date)
        self.from_date = month_end(self.from_date)
        if month_index(self.to_date) < month_index(self.from_date):
            self.from_date, self.to_date = self.to_date, self.from_date
            self.problems.append(
                _("The first snapshot was after the second: the dates were swapped.")
            )
        elif month_index(self.to_date) == month_index(self.from_date):
            self.from_date = latest_month_end(self.to_date)
            self.problems.append(
                _("Both snapshots fall in one month; compared with the month before instead.")
            )


def _stage_choices(stages):
    return [(code, stage_title(code)) for code in stages]


class CellFilter(TransitionsFilter):
    """One cell of the matrix: the stage at T1 (`source`) and at T2 (`target`), and a page."""

    source = ChoiceField(
        _l("Stage at the first snapshot"),
        _stage_choices(STAGES),
        message=_l("Unknown stage {value}."),
        cut=30,
        id="f-source",
    )
    target = ChoiceField(
        _l("Stage at the second snapshot"),
        _stage_choices(TARGET_STAGES),
        message=_l("Unknown stage {value}."),
        cut=30,
        id="f-target",
    )
    page = PageField()

    def check(self) -> None:
        super().check()
        if not self.source or not self.target:
            self.problems.append(_("Choose the stages of the cell (source and target)."))


def _filter(cls):
    return cls(request.args, today=local_today(current_user))


def _compute(flt):
    return transitions(flt.from_date, flt.to_date, flt.partner_ids())


def share(pct) -> Decimal | None:
    """A percentage rounded half up to 2 places (analytics.md), as a share for |percent(2)."""
    return None if pct is None else two_places(pct) / 100


def _column_totals(report) -> dict[str, int]:
    totals = dict.fromkeys(TARGET_STAGES, 0)
    for c in report.cells:
        totals[c.target] += c.partners
    return totals


MATRIX_COLUMNS = [
    _l("Stage at the first snapshot"),
    _l("Stage at the second snapshot"),
    _l("Clients"),
    _l("Share of the row (%)"),
    _l("Lost revenue"),
]


@bp.route("/transitions", endpoint="transitions")
@requires("analytics.reports")
def transitions_page():
    """Customer stages at two month ends and the moves between them."""
    flt = _filter(TransitionsFilter)
    wants_results = (
        is_fragment_request()
        or request.args.get("now")
        or request.args.get("format")
        or request.args.get("chart")
    )
    if not wants_results:
        # The page at once; the results fragment loads itself (hx-trigger="load").
        return render(
            "analytics/transitions.html",
            flt=flt,
            endpoint="analytics.transitions",
            report=None,
            results_url=url_for("analytics.transitions", now=1, **flt.params()),
        )
    report = _compute(flt)

    def export():
        rows = (
            [
                stage_title(c.source),
                stage_title(c.target),
                c.partners,
                one_place(c.row_pct),
                two_places(c.lost_revenue),
            ]
            for c in report.cells
        )
        name = f"stage-transitions-{flt.from_date.isoformat()}-{flt.to_date.isoformat()}"
        return name, MATRIX_COLUMNS, rows

    response = respond_report(
        "analytics.transitions",
        "analytics/transitions.html",
        "analytics/_transitions_results.html",
        flt,
        lambda: sankey_chart(report),
        export,
        report=report,
        column_totals=_column_totals(report),
        new_clients=report.row_totals.get(NEW, 0),
        stages=STAGES,
        target_stages=TARGET_STAGES,
        stage_title=stage_title,
        share=share,
        title=_("Customer stages"),
    )
    if request.args.get("now") and "HX-Push-Url" in response.headers:
        # The page's own lazy load: the address gets the dates in force without a second
        # history entry (Back would land on the page that loads and pushes again).
        response.headers["HX-Replace-Url"] = response.headers.pop("HX-Push-Url")
    return response


# --- a cell's clients -----------------------------------------------------------------------

CELL_COLUMNS = [
    _l("Code"),
    _l("Client"),
    _l("Manager"),
    _l("Phone"),
    _l("E-mail"),
    _l("Last purchase"),
    _l("Lost revenue"),
]


def visible_cell(report, source: str, target: str):
    """The cell's clients the signed-in user may see (by code), with their managers' names,
    and the number of clients in the whole cell."""
    members = cell_partners(report, source, target)
    ids = [m.partner_id for m in members]
    managers: dict[int, str | None] = {}
    if ids:
        stmt = (
            select(Partner.id, User.name)
            .outerjoin(User, User.id == Partner.responsible_id)
            .where(Partner.id.in_(ids))
        )
        managers = dict(db.session.execute(visible(current_user, Partner, stmt)).all())
    shown = [m for m in members if m.partner_id in managers]
    return shown, managers, len(members)


@bp.route("/transitions/cell", endpoint="transitions_cell")
@requires("analytics.reports")
def transitions_cell():
    """The clients of one cell of the transition matrix: contacts, last purchase, lost
    revenue; printable, downloadable, and turned into planned calls by a button."""
    flt = _filter(CellFilter)
    if not flt.source or not flt.target:
        return render(
            "analytics/transitions_cell.html",
            status=400,
            flt=flt,
            endpoint="analytics.transitions_cell",
            members=None,
            title=_("Clients of a cell"),
        )
    report = _compute(flt)
    members, managers, in_cell = visible_cell(report, flt.source, flt.target)
    cell = report.cell(flt.source, flt.target)

    def export():
        rows = (
            [
                m.code,
                m.name,
                managers.get(m.partner_id),
                m.phone,
                m.email,
                m.last_purchase,
                two_places(m.lost_revenue),
            ]
            for m in members
        )
        name = (
            f"stage-transitions-{flt.source}-{flt.target}-"
            f"{flt.from_date.isoformat()}-{flt.to_date.isoformat()}"
        )
        return name, CELL_COLUMNS, rows

    start = (flt.page - 1) * PER_PAGE
    page = Page(members[start : start + PER_PAGE], len(members), flt.page, PER_PAGE)
    return respond_report(
        "analytics.transitions_cell",
        "analytics/transitions_cell.html",
        "analytics/_transitions_cell_results.html",
        flt,
        None,
        export,
        report=report,
        cell=cell,
        members=members,
        cell_page=page,
        planned=planned_for(report, flt.source, flt.target, (m.partner_id for m in page.items)),
        managers=managers,
        in_cell=in_cell,
        shown_lost=sum(
            (m.lost_revenue for m in members if m.lost_revenue is not None), Decimal("0")
        )
        if cell is not None and cell.lost_revenue is not None
        else None,
        own_only=only_own_clients(current_user),
        stage_title=stage_title,
        title=_(
            "%(source)s → %(target)s",
            source=stage_title(flt.source),
            target=stage_title(flt.target),
        ),
    )


@bp.route("/transitions/plan-calls", endpoint="plan_calls", methods=["POST"])
@requires("analytics.plan_calls")
def plan_calls():
    """Turn a cell's clients into planned calls for their managers (once per client)."""
    flt = CellFilter(request.form, today=local_today(current_user))
    if flt.problems:
        return render(
            "analytics/transitions_cell.html",
            status=400,
            flt=flt,
            endpoint="analytics.transitions_cell",
            members=None,
            title=_("Clients of a cell"),
        )
    report = _compute(flt)
    result = plan_cell_calls(current_user, report, flt.source, flt.target)
    db.session.commit()
    flash(plan_message(result), "success" if result.created else "info")
    return redirect(url_for("analytics.transitions_cell", **flt.params(page=1)), code=303)


def plan_message(result, per_move: bool = True) -> str:
    """What a batch did, in one sentence per kind of outcome (`per_move`: a transition cell's
    batch, else a selection's)."""
    parts = [ngettext("%(num)s call planned.", "%(num)s calls planned.", result.created)]
    if result.already and per_move:
        parts.append(
            ngettext(
                "%(num)s client already had a call planned for this move.",
                "%(num)s clients already had a call planned for this move.",
                result.already,
            )
        )
    elif result.already:
        parts.append(
            ngettext(
                "%(num)s client already had a call planned from this list today.",
                "%(num)s clients already had a call planned from this list today.",
                result.already,
            )
        )
    if result.no_manager:
        parts.append(
            ngettext(
                "%(num)s client has no active manager: nobody to call.",
                "%(num)s clients have no active manager: nobody to call.",
                result.no_manager,
            )
        )
    if result.failed:
        parts.append(
            ngettext(
                "%(num)s call could not be planned.",
                "%(num)s calls could not be planned.",
                result.failed,
            )
        )
    return " ".join(parts)
