"""`flask --app app crm report abc-xyz`: the ABC/XYZ classification as CSV on stdout, one row
per object in rank order: `code,name,abc_metric,share_pct,cum_pct,abc,cv_pct,xyz`. Numbers with
`.` decimals; money (revenue, profit) with 2 places, quantity with 3 (the places it is kept
with), the number of sales as an integer; percentages with 1 place (half up); an empty cell
where a value is undefined (share when no object has M > 0, CV when μ ≤ 0)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import click
from flask.cli import with_appcontext

from crm.analytics.periods import BUCKETS, DEFAULT_BUCKET
from crm.exporting import csv_cell

PLACES = {"revenue": Decimal("0.01"), "profit": Decimal("0.01"), "quantity": Decimal("0.001")}
TENTH = Decimal("0.1")
METRIC_CHOICE = click.Choice(["revenue", "profit", "quantity", "sales"])


def metric_text(value, metric: str):
    """A metric as the CSV shows it (money 2 places, quantity 3, sales an integer)."""
    if metric == "sales":
        return int(value)
    return Decimal(value).quantize(PLACES[metric], rounding=ROUND_HALF_UP)


def pct_text(value) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(TENTH, rounding=ROUND_HALF_UP)


def _date(raw: str, option: str) -> date:
    from crm.core.params import BadValue, parse_date

    try:
        return parse_date(raw)
    except BadValue as exc:  # says what was wrong: not a date, no such day, out of range
        raise click.BadParameter(f"{exc}.", param_hint=option) from None


OPTION_OF = {
    "of": "--of",
    "abc_by": "--abc-by",
    "xyz_by": "--xyz-by",
    "bucket": "--bucket",
    "date_from": "--from",
    "date_to": "--to",
    "a_pct": "--a-pct",
    "b_pct": "--b-pct",
    "x_pct": "--x-pct",
    "y_pct": "--y-pct",
}


@click.command("abc-xyz")
@with_appcontext
@click.option("--of", "of", type=click.Choice(["products", "partners"]), required=True)
@click.option("--from", "date_from", required=True, help="Window from, YYYY-MM-DD.")
@click.option("--to", "date_to", required=True, help="Window to, YYYY-MM-DD (inclusive).")
@click.option("--abc-by", "abc_by", type=METRIC_CHOICE, default="revenue", show_default=True)
@click.option(
    "--xyz-by",
    "xyz_by",
    type=METRIC_CHOICE,
    default=None,
    help="Default: quantity for products, revenue for partners.",
)
@click.option(
    "--bucket", "bucket", type=click.Choice(BUCKETS), default=DEFAULT_BUCKET, show_default=True
)
@click.option("--a-pct", "a_pct", type=float, default=None, help="A limit, %; default: ABC_A_PCT.")
@click.option("--b-pct", "b_pct", type=float, default=None, help="B limit, %; default: ABC_B_PCT.")
@click.option(
    "--x-pct", "x_pct", type=float, default=None, help="X: CV limit, %; default: setting."
)
@click.option(
    "--y-pct", "y_pct", type=float, default=None, help="Y: CV limit, %; default: setting."
)
def report_abc_xyz(
    of: str, date_from: str, date_to: str, abc_by: str, xyz_by, bucket: str, **limits
):
    """ABC/XYZ of products or partners over a window:
    code,name,abc_metric,share_pct,cum_pct,abc,cv_pct,xyz."""
    from crm.analytics.abc_xyz import AnalyticsError, Thresholds, abc_xyz, default_thresholds

    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    defaults = default_thresholds(of)
    thresholds = Thresholds(
        **{k: Decimal(str(v)) if v is not None else getattr(defaults, k) for k, v in limits.items()}
    )
    try:
        result = abc_xyz(
            of, start, end, abc_by=abc_by, xyz_by=xyz_by, bucket=bucket, thresholds=thresholds
        )
    except AnalyticsError as exc:
        raise click.BadParameter(exc.message, param_hint=OPTION_OF[exc.field]) from None
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["code", "name", "abc_metric", "share_pct", "cum_pct", "abc", "cv_pct", "xyz"])
    for r in result.rows:
        cells = [
            r.code,
            r.name,
            metric_text(r.abc_metric, abc_by),
            pct_text(r.share_pct),
            pct_text(r.cum_pct),
            r.abc,
            pct_text(r.cv_pct),
            r.xyz,
        ]
        # Through the downloads' cell rule: a name "=…" must not run in a spreadsheet.
        out.writerow([csv_cell(v) for v in cells])
    click.echo(buf.getvalue(), nl=False)


COMMANDS = (report_abc_xyz,)


def register() -> None:
    """Add the commands to `crm report` (a module-level group: once, however many apps)."""
    from crm.cli import report_cli

    for command in COMMANDS:
        if command.name not in report_cli.commands:
            report_cli.add_command(command)
