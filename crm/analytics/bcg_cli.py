"""`flask --app app crm report bcg --from D --to D [--by products|groups]`: the BCG matrix as
CSV on stdout, one row per product (or product group) in order of revenue descending, then code:
`code,name,revenue,previous_revenue,growth_pct,relative_share,quadrant`. Money with 2 places,
growth with 1 place, the relative share with 3 (a ratio: 0.004 must not print as 0.00), all
half up, `.` decimals; an empty cell where undefined (growth of a new object, the share of an
object alone in its market). quadrant: star, cash_cow, question_mark or dog. A group's code is
its id ("" for the products without a group). Definitions: crm/analytics/bcg.py."""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_UP, Decimal

import click
from flask.cli import with_appcontext

from crm.analytics.cli import _date, pct_text
from crm.exporting import csv_cell

CENT = Decimal("0.01")
THOUSANDTH = Decimal("0.001")
OPTION_OF = {"by": "--by", "date_from": "--from", "date_to": "--to"}


def money_text(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def share_text(value) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(THOUSANDTH, rounding=ROUND_HALF_UP)


HEADER = ["code", "name", "revenue", "previous_revenue", "growth_pct", "relative_share", "quadrant"]


def csv_row(r) -> list:
    return [
        r.code,
        r.name,
        money_text(r.revenue),
        money_text(r.previous_revenue),
        pct_text(r.growth_pct),
        share_text(r.relative_share),
        r.quadrant,
    ]


@click.command("bcg")
@with_appcontext
@click.option("--from", "date_from", required=True, help="First day, YYYY-MM-DD.")
@click.option("--to", "date_to", required=True, help="Last day, YYYY-MM-DD (inclusive).")
@click.option(
    "--by", "by", type=click.Choice(["products", "groups"]), default="products", show_default=True
)
def report_bcg(date_from: str, date_to: str, by: str):
    """The BCG matrix against the previous period of the same length:
    code,name,revenue,previous_revenue,growth_pct,relative_share,quadrant."""
    from crm.analytics.abc_xyz import AnalyticsError
    from crm.analytics.bcg import bcg

    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    try:
        result = bcg(start, end, by)
    except AnalyticsError as exc:
        raise click.BadParameter(exc.message, param_hint=OPTION_OF[exc.field]) from None
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(HEADER)
    for r in result.rows:
        # Through the downloads' cell rule: a name "=…" must not run in a spreadsheet.
        out.writerow([csv_cell(v) for v in csv_row(r)])
    click.echo(buf.getvalue(), nl=False)


def register() -> None:
    """Add the command to `crm report` (a module-level group: once, however many apps)."""
    from crm.cli import report_cli

    if report_bcg.name not in report_cli.commands:
        report_cli.add_command(report_bcg)
