"""Analytics and the selections (crm.core.selections): the drill-downs of its reports as
selections of partners — a cell of the customer-stage transitions, a cell, row or column of a
partner ABC/XYZ classification, a KPI client list — and the action "Plan calls" on any
selection (a segment's page, a list), the transition report's batch of calls
(crm.analytics.planned_calls) for the partners the page shows the user.

A drill-down is a segment rule only where the stored classes and stages the rule conditions
read hold the same thing: an ABC/XYZ cell, row or column of partners with the settings of the
class snapshots (default metrics, thresholds and monthly buckets, no scope) over the window of
the latest snapshot is `analytics.class` of that cell (a dynamic segment then follows the
snapshots as they are taken). A move between two month ends, a custom window or threshold, a
scope (a segment classifies its members among themselves) and the KPI lists of a period are
no rule: saved, they are manual segments of their partners."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from crm.analytics import abc_report, bp
from crm.analytics.abc_views import THRESHOLD_FIELDS, AbcFilter, _compute
from crm.analytics.abc_xyz import DEFAULT_XYZ
from crm.analytics.kpi_clients import client_rows
from crm.analytics.kpi_filters import CLIENT_LISTS, ClientsFilter
from crm.analytics.models import ClassSnapshot
from crm.analytics.periods import as_date
from crm.analytics.planned_calls import plan_selection_calls, selection_digest
from crm.analytics.snapshots import class_window
from crm.analytics.stage_labels import stage_title
from crm.analytics.stages import cell_partners
from crm.analytics.transition_views import CellFilter, plan_message
from crm.analytics.transition_views import _compute as _transitions
from crm.core import selections
from crm.core.errors import DomainError
from crm.core.formats import fmt_date
from crm.core.policy import may, requires
from crm.extensions import db
from crm.sales.queries import local_today

TRANSITIONS_CELL = "analytics.transitions_cell"
ABC_XYZ = "analytics.abc_xyz"
KPI_CLIENTS = "analytics.kpi_clients"


def _reader(user):
    return user if user is not None else current_user


def _refused(flt) -> None:
    """A drill-down whose arguments the report refused: what it said, as the page says it."""
    if flt.problems:
        raise selections.SelectionError(" ".join(flt.problems))


# --- a cell of the customer-stage transitions ---------------------------------------------


def _cell(args, user=None) -> CellFilter:
    flt = CellFilter(args, today=local_today(_reader(user)))
    if not flt.source or not flt.target:
        _refused(flt)
    return flt


def transitions_cell_ids(args, user):
    flt = _cell(args, user)
    ids = [m.partner_id for m in cell_partners(_transitions(flt), flt.source, flt.target)]
    seen = abc_report.visible_partner_ids(user, ids)
    return ids if seen is None else [i for i in ids if i in seen]


def transitions_cell_name(args) -> str:
    flt = _cell(args)
    return _(
        "%(source)s → %(target)s, %(start)s–%(end)s",
        source=stage_title(flt.source),
        target=stage_title(flt.target),
        start=fmt_date(flt.from_date),
        end=fmt_date(flt.to_date),
    )


# --- a cell, row or column of a partner ABC/XYZ classification ----------------------------


def _abc(args, user=None) -> AbcFilter:
    flt = AbcFilter(args, today=local_today(_reader(user)))
    flt.fill_choices()
    if flt.of != "partners":
        raise selections.SelectionError(_("Only a classification of partners is a partner list."))
    return flt


def abc_ids(args, user):
    flt = _abc(args, user)
    result, _grid, _stock = _compute(flt)
    if result is None:
        _refused(flt)
        return []
    listing = abc_report.listing(result, flt.cell or abc_report.ALL, user)
    return [r.object_id for r in listing.rows]


def abc_rule(args) -> dict | None:
    """`analytics.class` of the cell, row or column when the report is the latest class
    snapshot's classification (see the module docstring), else None."""
    flt = _abc(args)
    cell = flt.cell or abc_report.ALL
    defaults = (
        flt.bucket == "month"
        and flt.abc_by == "revenue"
        and flt.xyz_by in ("", DEFAULT_XYZ["partners"])
        and all(getattr(flt, name) is None for name in THRESHOLD_FIELDS)
        and all(value is None for value in flt.scope().values())
    )
    if cell == abc_report.ALL or not defaults or flt.problems:
        return None
    latest = db.session.execute(
        select(func.max(ClassSnapshot.month)).where(ClassSnapshot.of == "partners")
    ).scalar()
    if latest is None or (flt.date_from, flt.date_to) != class_window(as_date(latest)):
        return None
    if cell in abc_report.ABC:
        return {"type": "analytics.class", "abc": [cell]}
    if cell in abc_report.XYZ:
        return {"type": "analytics.class", "xyz": [cell]}
    return {"type": "analytics.class", "classes": [cell]}


def abc_name(args) -> str:
    flt = _abc(args)
    cell = flt.cell or abc_report.ALL
    what = _("all partners") if cell == abc_report.ALL else cell
    return _(
        "ABC/XYZ %(cell)s, %(start)s–%(end)s",
        cell=what,
        start=fmt_date(flt.date_from),
        end=fmt_date(flt.date_to),
    )


# --- a KPI client list ----------------------------------------------------------------------


def _clients(args, user=None) -> ClientsFilter:
    flt = ClientsFilter(args, today=local_today(_reader(user)))
    flt.fill_choices()
    return flt


def kpi_client_ids(args, user):
    flt = _clients(args, user)
    rows, _total = client_rows(user, flt.which, flt.date_from, flt.date_to, flt.scope)
    return [r.partner_id for r in rows]


def kpi_clients_name(args) -> str:
    flt = _clients(args)
    return _(
        "%(list)s, %(start)s–%(end)s",
        list=CLIENT_LISTS[flt.which],
        start=fmt_date(flt.date_from),
        end=fmt_date(flt.date_to),
    )


def _readers(user) -> bool:
    return may(user, "analytics.reports")


SOURCES = (
    selections.SelectionSource(
        TRANSITIONS_CELL, transitions_cell_ids, transitions_cell_name, visible=_readers
    ),
    selections.SelectionSource(ABC_XYZ, abc_ids, abc_name, abc_rule, visible=_readers),
    selections.SelectionSource(KPI_CLIENTS, kpi_client_ids, kpi_clients_name, visible=_readers),
)


# --- the action: plan calls -----------------------------------------------------------------


def _may_plan(user) -> bool:
    return may(user, "analytics.plan_calls")


def _not_a_cell(source_key: str) -> bool:
    # A transitions cell has its own button: its calls are keyed by the move, and their
    # title and description say what the move was.
    return source_key != TRANSITIONS_CELL


ACTION = selections.SelectionAction(
    "analytics.plan_calls",
    _l("Plan calls"),
    "analytics.plan_selection_calls",
    _may_plan,
    20,
    _not_a_cell,
)


@bp.route("/selection/plan-calls", endpoint="plan_selection_calls", methods=["POST"])
@requires("analytics.plan_calls")
def plan_selection_calls_view():
    """Plan a call to each partner of a selection (a segment, a list) for his manager, once
    per partner, selection and day."""
    back = selections.back(request.form, url_for("analytics.index"))
    try:
        chosen = selections.posted(request.form, current_user)
        ids = chosen.ids(current_user)
        digest = selection_digest(chosen.source.key, selections.args_text(chosen.args))
        result = plan_selection_calls(
            current_user, digest, chosen.name(), ids, local_today(current_user)
        )
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(back, code=303)
    db.session.commit()
    flash(plan_message(result, per_move=False), "success" if result.created else "info")
    return redirect(back, code=303)


def register(state) -> None:
    for source in SOURCES:
        selections.register_source(state, source)
    selections.register_action(state, ACTION)
