"""`flask --app app crm report stages|transitions`: customer stages at a month end and the
transitions between two month ends as CSV on stdout (shared/spec/analytics.md, Customer stages).

- `stages --at D` → `partner_code,stage`, one row per client existing at D, by partner_code.
- `transitions --from-date T1 --to-date T2` → `from_stage,to_stage,partners,row_pct,
  lost_revenue`: the non-empty cells, rows in the order new, potential, one-time, regular-x,
  regular-y, regular-z, lost (from_stage first, then to_stage); row_pct with 1 place;
  lost_revenue with 2 places on declining cells, empty on the others.

A date stands for its month: it is taken as the last day of its month.
"""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_UP, Decimal

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _

from crm.exporting import csv_cell


def _date(raw: str, option: str):
    from crm.core.params import BadValue, parse_date

    try:
        return parse_date(raw)
    except BadValue as exc:  # says what was wrong: not a date, no such day, out of range
        raise click.BadParameter(f"{exc}.", param_hint=option) from None


def _echo(header: list[str], rows) -> None:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(header)
    for row in rows:
        out.writerow([csv_cell(v) for v in row])
    click.echo(buf.getvalue(), nl=False)


def _places(value, places: str) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value) if isinstance(value, float) else value).quantize(
        Decimal(places), rounding=ROUND_HALF_UP
    )


@click.command("stages")
@with_appcontext
@click.option("--at", "at", required=True, help="Snapshot date YYYY-MM-DD (its month's end).")
def report_stages(at: str):
    """Each client's stage at the end of a month: partner_code,stage."""
    from crm.analytics.stages import NEW, stages_at

    frame = stages_at(_date(at, "--at"))
    frame = frame[frame["stage"] != NEW]
    _echo(["partner_code", "stage"], zip(frame["code"], frame["stage"], strict=True))


@click.command("transitions")
@with_appcontext
@click.option("--from-date", "from_date", required=True, help="First snapshot, YYYY-MM-DD.")
@click.option("--to-date", "to_date", required=True, help="Second snapshot, YYYY-MM-DD.")
def report_transitions(from_date: str, to_date: str):
    """Clients moving between stages from one month end to a later one:
    from_stage,to_stage,partners,row_pct,lost_revenue."""
    from crm.analytics.stages import month_index, transitions

    start, end = _date(from_date, "--from-date"), _date(to_date, "--to-date")
    if month_index(end) <= month_index(start):
        raise click.BadParameter(
            _(
                "The second snapshot must be in a later month than the first (%(start)s, %(end)s).",
                start=start,
                end=end,
            ),
            param_hint="--to-date",
        )
    report = transitions(start, end)
    _echo(
        ["from_stage", "to_stage", "partners", "row_pct", "lost_revenue"],
        (
            [
                c.source,
                c.target,
                c.partners,
                _places(c.row_pct, "0.1"),
                _places(c.lost_revenue, "0.01"),
            ]
            for c in report.cells
        ),
    )


def register() -> None:
    """Add the commands to `crm report` (a module-level group: once, however many apps)."""
    from crm.cli import report_cli

    for command in (report_stages, report_transitions):
        if command.name not in report_cli.commands:
            report_cli.add_command(command)
