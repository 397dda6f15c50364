"""`flask --app app crm report funnel|deal-probabilities|forecast|deal-effectiveness`: the deal
reports as CSV on stdout, in the output contract of shared/spec/analytics.md (section Deals):
`.` decimals, money with 2 places, percentages and means with 1, an empty cell where a value
is undefined. They read every deal (no user: no rows filter)."""

from __future__ import annotations

import csv
import io
from datetime import date

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _

from crm.core.report_pages import one_place
from crm.exporting import csv_cell


def _date(raw: str, option: str, default: date | None = None) -> date:
    from crm.core.params import BadValue, parse_date

    if not raw:
        if default is None:
            raise click.BadParameter(_("A date is required (YYYY-MM-DD)."), param_hint=option)
        return default
    try:
        return parse_date(raw)
    except BadValue as exc:  # says what was wrong: not a date, no such day, out of range
        raise click.BadParameter(f"{exc}.", param_hint=option) from None


def _period(date_from: str, date_to: str) -> tuple[date, date]:
    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    if start > end:
        raise click.BadParameter(
            _("The period starts after it ends (%(start)s > %(end)s).", start=start, end=end),
            param_hint="--from",
        )
    return start, end


def _today() -> date:
    from crm.sales.queries import local_today

    return local_today()


def _echo(header: list[str], rows) -> None:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(header)
    for row in rows:
        # Through the downloads' cell rule: a stage named "=…" must not run in a spreadsheet.
        out.writerow([csv_cell(v) for v in row])
    click.echo(buf.getvalue(), nl=False)


@click.command("funnel")
@with_appcontext
@click.option("--kind", "kind", required=True, help="Deal kind: its id or its exact name.")
@click.option("--from", "date_from", required=True, help="Created from, YYYY-MM-DD.")
@click.option("--to", "date_to", required=True, help="Created to, YYYY-MM-DD (inclusive).")
def report_funnel(kind: str, date_from: str, date_to: str):
    """The funnel of a kind over the deals created in a period: stage,reached,amount,conversion_pct."""
    from crm.deals import reports

    start, end = _period(date_from, date_to)
    found = reports.find_kind(kind)
    if found is None:
        raise click.BadParameter(
            _("No deal kind %(kind)s (give its id or its exact name).", kind=repr(kind)),
            param_hint="--kind",
        )
    rows = reports.funnel(None, found, start, end)
    _echo(
        ["stage", "reached", "amount", "conversion_pct"],
        (
            ["won" if r.is_won else r.stage.name, r.reached, r.amount, one_place(r.conversion_pct)]
            for r in rows
        ),
    )


@click.command("deal-probabilities")
@with_appcontext
@click.option("--as-of", "as_of", default="", help="Date YYYY-MM-DD (default: today).")
def report_deal_probabilities(as_of: str):
    """Each deal open on the date with its probability components (empty: fewer than 5 closed
    deals): deal_no,stage_pct,manager_pct,partner_pct,kind_pct,probability_pct."""
    from crm.deals import reports

    day = _date(as_of, "--as-of", _today())
    _echo(
        ["deal_no", "stage_pct", "manager_pct", "partner_pct", "kind_pct", "probability_pct"],
        (
            [d.deal_no, *(one_place(rate) for _key, rate, _n in d.components), one_place(d.value)]
            for d in reports.deal_probabilities(None, day)
        ),
    )


@click.command("forecast")
@with_appcontext
@click.option("--as-of", "as_of", default="", help="Date YYYY-MM-DD (default: today).")
def report_forecast(as_of: str):
    """Deals open on the date by month of expected close: month,deals,amount,weighted_amount
    (the deals without an expected close date last, with an empty month)."""
    from crm.deals import reports

    day = _date(as_of, "--as-of", _today())
    fc = reports.forecast(None, day, past_months=0)
    _echo(
        ["month", "deals", "amount", "weighted_amount"],
        ([r.month_text, r.deals, r.amount, r.weighted_amount] for r in fc.open_rows),
    )


@click.command("deal-effectiveness")
@with_appcontext
@click.option("--from", "date_from", required=True, help="Period from, YYYY-MM-DD.")
@click.option("--to", "date_to", required=True, help="Period to, YYYY-MM-DD (inclusive).")
def report_deal_effectiveness(date_from: str, date_to: str):
    """Per responsible manager (by e-mail; the deals without one last, with an empty manager):
    manager,won,lost,open,won_amount,lost_amount,win_rate_pct,mean_days_to_close."""
    from crm.deals import reports

    start, end = _period(date_from, date_to)
    eff = reports.effectiveness(None, start, end)
    _echo(
        [
            "manager",
            "won",
            "lost",
            "open",
            "won_amount",
            "lost_amount",
            "win_rate_pct",
            "mean_days_to_close",
        ],
        (
            [
                r.email,
                r.won,
                r.lost,
                r.open,
                r.won_amount,
                r.lost_amount,
                one_place(r.win_rate_pct),
                one_place(r.mean_days_to_close),
            ]
            for r in eff.rows
        ),
    )


COMMANDS = (report_funnel, report_deal_probabilities, report_forecast, report_deal_effectiveness)


def register() -> None:
    """Add the commands to `crm report` (a module-level group: once, however many apps)."""
    from crm.cli import report_cli

    for command in COMMANDS:
        if command.name not in report_cli.commands:
            report_cli.add_command(command)
