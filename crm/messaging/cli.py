"""`flask --app app crm messaging dispatch | purge`: the delivery's periodic work from system
cron, for installations that run no `worker.py --cron` (crm.messaging.jobs)."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext
from flask_babel import gettext as _

messaging_cli = AppGroup("messaging", help="Mailings: dispatch due messages, purge old bodies.")


@messaging_cli.command("dispatch")
@with_appcontext
def dispatch_command():
    """Start due mailings and send due messages (here, without Redis; by the workers with)."""
    from crm.messaging.jobs import dispatch

    counts = dispatch(inline=True)
    click.echo(
        _(
            "Mailings started: %(started)s, finished: %(closed)s; messages sent here: "
            "%(sent)s, cancelled: %(cancelled)s, failed: %(failed)s.",
            **counts,
        )
    )


@messaging_cli.command("purge")
@with_appcontext
def purge_command():
    """Empty the bodies of processed messages older than MESSAGING_RETENTION_DAYS."""
    from crm.messaging.jobs import purge_bodies

    click.echo(_("Message bodies emptied: %(count)s.", count=purge_bodies()))


def register() -> None:
    from crm.cli import crm_cli

    if messaging_cli.name not in crm_cli.commands:
        crm_cli.add_command(messaging_cli)
