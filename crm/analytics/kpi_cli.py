"""`flask --app app crm report kpi --from D --to D`: the KPIs of a period as CSV on stdout.

Columns `kpi,value`, one row per KPI in the order of `crm.analytics.kpi.KPI_NAMES`: revenue,
gross_profit, sales, average_check, active_clients, new_clients, retention_pct, lost_clients,
overdue_receivables. `.` decimals, money with 2 places, percentages with 1, counts as integers,
an empty value where undefined (no sales: average_check; nobody bought in the previous period:
retention_pct). Every sale counts (no user: no rows filter, no scope)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _

from crm.exporting import csv_cell

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
MONEY = {"revenue", "gross_profit", "average_check", "overdue_receivables"}
PERCENT = {"retention_pct"}


def _date(raw: str, option: str) -> date:
    from crm.core.params import BadValue, parse_date

    try:
        return parse_date(raw)
    except BadValue as exc:  # says what was wrong: not a date, no such day, out of range
        raise click.BadParameter(f"{exc}.", param_hint=option) from None


def cell(name: str, value):
    """A KPI's value as its CSV cell (rounded half up only here)."""
    if value is None:
        return None
    if name in MONEY:
        return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    if name in PERCENT:
        return Decimal(value).quantize(TENTH, rounding=ROUND_HALF_UP)
    return int(value)


@click.command("kpi")
@with_appcontext
@click.option("--from", "date_from", required=True, help="First day, YYYY-MM-DD.")
@click.option("--to", "date_to", required=True, help="Last day, YYYY-MM-DD (inclusive).")
def report_kpi(date_from: str, date_to: str):
    """The KPIs of a period (against the previous period of the same length): kpi,value."""
    from crm.analytics.kpi import KPI_NAMES, kpis

    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    if start > end:
        raise click.BadParameter(
            _("The period starts after it ends (%(start)s > %(end)s).", start=start, end=end),
            param_hint="--from",
        )
    values = kpis(start, end)
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["kpi", "value"])
    for name in KPI_NAMES:
        out.writerow([name, csv_cell(cell(name, values.value(name)))])
    click.echo(buf.getvalue(), nl=False)


def register() -> None:
    """Add the command to `crm report` (a module-level group: once, however many apps)."""
    from crm.cli import report_cli

    if report_kpi.name not in report_cli.commands:
        report_cli.add_command(report_kpi)
