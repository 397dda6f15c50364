"""The scheduled client notifications (overdue debt, deal won, meeting reminders, and those
later domains register): a periodic job (crm.core.periodic: `worker.py --cron` enqueues it
every MESSAGING_NOTIFY_SECONDS; without Redis the web process runs it) and
`flask --app app crm messaging notify` for system cron. Running it again, or twice at once,
notifies nothing twice."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from crm.messaging.notification_services import kick, produce_scheduled


def produce_notifications() -> dict[str, int]:
    """The periodic job: every scheduled kind that is on, its new messages committed and the
    delivery woken; returns {kind: messages written}."""
    counts = produce_scheduled()
    if any(counts.values()):
        kick()
    return counts


@click.command("notify")
@with_appcontext
def notify_command():
    """Write the due client notifications now (overdue debt, deal won, reminders …)."""
    counts = produce_notifications()
    if not counts:
        click.echo("no scheduled notification is on")
    for kind, written in counts.items():
        click.echo(f"{kind}: {written} message(s)")


def register_cli() -> None:
    """`crm messaging notify`; the messaging group is made by the first part that needs it."""
    from crm.cli import crm_cli

    group = crm_cli.commands.get("messaging")
    if group is None:
        group = AppGroup("messaging", help="Mailings and client notifications.")
        crm_cli.add_command(group)
    if notify_command.name not in group.commands:
        group.add_command(notify_command)
