"""`flask --app app crm analytics snapshot [--month YYYY-MM] [--kind stages|classes|all]`: take
the stored monthly snapshots now, in this process (for system cron without `worker.py --cron`,
or to fill past months); by default the last complete month, both kinds."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup, with_appcontext
from flask_babel import gettext as _

analytics_cli = AppGroup("analytics", help="Analytics: stored snapshots.")


def _month(raw: str | None) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(f"{raw.strip()}-01")
    except ValueError:
        raise click.BadParameter(
            _("%(value)s is not a month: write it as YYYY-MM.", value=repr(raw)),
            param_hint="--month",
        ) from None


@analytics_cli.command("snapshot")
@with_appcontext
@click.option("--month", "month", default=None, help="YYYY-MM; default: the last complete month.")
@click.option(
    "--kind",
    "kind",
    type=click.Choice(["stages", "classes", "all"]),
    default="all",
    show_default=True,
)
def snapshot(month: str | None, kind: str):
    """Take (or take again) the stage and/or class snapshots of a month."""
    from crm.analytics.snapshots import TAKERS, last_complete_month, period_of
    from crm.core.errors import DomainError
    from crm.extensions import db

    day = _month(month) or last_complete_month()
    for k in TAKERS if kind == "all" else (kind,):
        try:
            rows = TAKERS[k](day)
        except DomainError as exc:
            db.session.rollback()
            raise click.BadParameter(exc.message, param_hint="--month") from None
        db.session.commit()
        click.echo(f"{k} {period_of(k, day).isoformat()}: {rows}")


def register() -> None:
    """Add the group to `crm` (a module-level group: once, however many apps)."""
    from crm.cli import crm_cli

    if analytics_cli.name not in crm_cli.commands:
        crm_cli.add_command(analytics_cli)
