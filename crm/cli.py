"""`flask --app app crm …`: init-db, demo, users create, reindex, reminders."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade

from crm.core.errors import DomainError
from crm.extensions import db

crm_cli = AppGroup("crm", help="CRM administration commands.")
users_cli = AppGroup("users", help="Manage user accounts.")
crm_cli.add_command(users_cli)
report_cli = AppGroup("report", help="Print reports.")
crm_cli.add_command(report_cli)
i18n_cli = AppGroup("i18n", help="Message catalogs (crm/core/catalogs.py).")
crm_cli.add_command(i18n_cli)


@i18n_cli.command("update")
def i18n_update():
    """Extract the strings of the code into every catalog (new ones arrive untranslated)."""
    from crm.core import catalogs

    for path in catalogs.update():
        click.echo(f"updated {path.relative_to(catalogs.ROOT)}")
    for line in catalogs.problems():
        click.echo(line)


@i18n_cli.command("check")
def i18n_check():
    """Fail when a string is missing, untranslated, fuzzy or stale in a catalog."""
    from crm.core import catalogs

    found = catalogs.problems()
    for line in found:
        click.echo(line, err=True)
    if found:
        sys.exit(f"{len(found)} catalog problem(s): run `make messages` and translate.")
    click.echo("Catalogs are complete and current.")


@i18n_cli.command("fill")
@click.argument("domain")
@click.argument("json_file", type=click.File("r", encoding="utf-8"))
def i18n_fill(domain: str, json_file):
    """Set translations from a JSON object {msgid: text, msgid: [plural forms]}."""
    import json

    from crm.core import catalogs

    unknown = catalogs.fill(domain, json.load(json_file))
    for msgid in unknown:
        click.echo(f"not in the {domain} catalog (run `make messages` first): {msgid!r}", err=True)
    if unknown:
        sys.exit(2)


@i18n_cli.command("init")
@click.argument("domain")
def i18n_init(domain: str):
    """Give a domain (a package under crm/) its own catalog."""
    from crm.core import catalogs

    click.echo(f"created {catalogs.init_domain(domain).relative_to(catalogs.ROOT)}")


@crm_cli.command("init-db")
def init_db():
    """Create or upgrade the database schema (applies all migrations)."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    click.echo(f"Database is up to date: {db.engine.url.render_as_string(hide_password=True)}")


@crm_cli.command("demo")
@click.option("--partners", "n_partners", default=300, show_default=True, help="How many partners.")
@click.option("--seed", default=42, show_default=True, help="Random seed (same seed, same data).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has users already.")
@click.option(
    "--language",
    type=click.Choice(["ru", "en"]),
    default="ru",
    show_default=True,
    help="Russian demo data (names, companies, cities, +7 phones) or English.",
)
def demo(n_partners: int, seed: int, if_empty: bool, language: str):
    """Fill the database with realistic demo data and print the logins."""
    from crm.demo import database_is_empty, load_demo

    if if_empty and not database_is_empty():
        click.echo("Demo data not loaded: the database has users already.")
        saved = Path(current_app.instance_path) / "demo_logins.txt"
        if saved.exists():
            click.echo("Demo logins from the first run (instance/demo_logins.txt):")
            for line in saved.read_text().splitlines():
                click.echo(f"  {line}")
        return
    logins = load_demo(n_partners=n_partners, seed=seed, language=language)
    click.echo("Demo data loaded. Sign in with:")
    for email, role, password in logins:
        click.echo(f"  {role:<9} {email:<28} password: {password}")


@users_cli.command("create")
@click.argument("email")
@click.option(
    "--role", type=click.Choice(["admin", "manager", "marketer", "viewer"]), required=True
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default="")
def users_create(email: str, role: str, password: str, name: str):
    """Create a user who can sign in at once."""
    from crm.auth.services import create_user

    try:
        create_user(None, email, role, name=name, password=password)
    except DomainError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"User {email.strip().casefold()} ({role}) is created.")


@crm_cli.command("reindex")
def reindex():
    """Rebuild the partners' normalised search columns (as a background job when Redis is set)."""
    from crm.jobs import enqueue
    from crm.partners.jobs import rebuild_search_index

    run = enqueue(rebuild_search_index)
    click.echo(f"Job {run.id}: {run.status} {run.message}".rstrip())


@crm_cli.command("reminders")
def reminders():
    """Produce due reminders and e-mail them now (for system cron, when no `worker.py --cron`)."""
    from crm.notifications.producers import run_all

    for key, counts in run_all().items():
        click.echo(f"{key}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))


@report_cli.command("receivables")
@click.option("--as-of", "as_of", default="", help="Date YYYY-MM-DD (default: today).")
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv", show_default=True)
def report_receivables(as_of: str, fmt: str):
    """Every partner with debt ≠ 0 as of a date: partner_code,partner_name,debt,overdue."""
    import csv
    import io
    from decimal import Decimal

    from crm.core.params import BadValue, OutOfRange, parse_date
    from crm.exporting import csv_cell
    from crm.sales.queries import local_today, receivable_rows

    try:
        day = parse_date(as_of) if as_of else local_today()
    except OutOfRange as exc:
        raise click.BadParameter(f"{exc}.", param_hint="--as-of") from None
    except BadValue:
        raise click.BadParameter(
            f"{as_of!r} is not a date (use YYYY-MM-DD).", param_hint="--as-of"
        ) from None
    cent = Decimal("0.01")
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["partner_code", "partner_name", "debt", "overdue"])
    for r in receivable_rows(None, day, sort="code"):
        # Through the downloads' cell rule: a partner named "=…" must not run in a spreadsheet.
        cells = [r.code, r.name, Decimal(r.debt).quantize(cent), Decimal(r.overdue).quantize(cent)]
        out.writerow([csv_cell(v) for v in cells])
    click.echo(buf.getvalue(), nl=False)


def init_app(app) -> None:
    from crm.exchange import cli as exchange_cli

    if "import" not in crm_cli.commands:  # the group is module-level: register once
        exchange_cli.register(crm_cli)
    app.cli.add_command(crm_cli)
