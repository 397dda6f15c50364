"""Background work of sales: summing again the months whose lines changed (crm.sales.summaries),
as a periodic job (crm.core.periodic: `worker.py --cron`, or the web process without Redis)
and as `flask --app app crm sales-summaries` for system cron."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from crm.sales.summaries import refresh_months


def refresh_summaries() -> int:
    """The periodic job: every marked month summed again (each committed on its own); returns
    how many. Nothing marked is one small query."""
    return refresh_months()


@click.command("sales-summaries")
@with_appcontext
def sales_summaries_command():
    """Sum again the months of sales whose lines changed (the analytics' monthly summaries)."""
    click.echo(f"months summed: {refresh_summaries()}")


def register_cli() -> None:
    from crm.cli import crm_cli

    if sales_summaries_command.name not in crm_cli.commands:
        crm_cli.add_command(sales_summaries_command)
