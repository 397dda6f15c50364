"""`flask --app app crm segments create FILE.json | members NAME | refresh NAME`: segments from
the command line, with the same rules as data as the builder and the API (crm.segments.rules).

FILE.json: {"name": "…", "kind": "dynamic|periodic|manual", "rule": {…},
"schedule": "hourly|daily|weekly|monthly" (periodic), "description": "…"}."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup, with_appcontext
from flask_babel import gettext as _

segments_cli = AppGroup("segments", help="Segments: create, list members, refresh.")


def _segment(name: str):
    from crm.segments.services import segment_named

    segment = segment_named(name)
    if segment is None:
        raise click.BadParameter(_("No segment is named %(name)s.", name=name), param_hint="NAME")
    return segment


@segments_cli.command("create")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def create(path: str):
    """Create a segment from a JSON file."""
    from crm.core.errors import DomainError
    from crm.extensions import db
    from crm.segments.services import create_segment

    try:
        with open(path, encoding="utf-8-sig") as f:
            spec = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.BadParameter(
            _("The file is not JSON: %(error)s.", error=str(exc)[:200]), param_hint="FILE"
        ) from None
    if not isinstance(spec, dict):
        raise click.BadParameter(_("The file must hold one JSON object."), param_hint="FILE")
    unknown = sorted(set(spec) - {"name", "kind", "rule", "schedule", "description"})
    if unknown:
        raise click.BadParameter(
            _("Unknown fields: %(fields)s.", fields=", ".join(unknown)), param_hint="FILE"
        )
    try:
        segment = create_segment(
            None,
            spec.get("name"),
            spec.get("kind"),
            spec.get("rule"),
            schedule=spec.get("schedule"),
            description=spec.get("description") or "",
        )
    except DomainError as exc:
        db.session.rollback()
        raise click.BadParameter(exc.message, param_hint="FILE") from None
    db.session.commit()
    click.echo(_("Segment %(name)s created (%(kind)s).", name=segment.name, kind=segment.kind))


@segments_cli.command("members")
@with_appcontext
@click.argument("name")
@click.option("--as-of", "as_of", default=None, help="YYYY-MM-DD: the date a rule is evaluated on.")
def members_command(name: str, as_of: str | None):
    """Print the codes of a segment's members, one per line, sorted."""
    from sqlalchemy import select

    from crm.core.params import BadValue, parse_date
    from crm.extensions import db
    from crm.partners.models import Partner
    from crm.segments.rules import RuleError
    from crm.segments.services import members

    day = None
    if as_of is not None:
        try:
            day = parse_date(as_of)
        except BadValue as exc:
            raise click.BadParameter(str(exc), param_hint="--as-of") from None
    try:
        ids = members(_segment(name), as_of=day)
    except RuleError as exc:
        raise click.BadParameter(exc.message, param_hint="NAME") from None
    codes = []
    for start in range(0, len(ids), 900):
        codes += db.session.execute(
            select(Partner.code).where(Partner.id.in_(ids[start : start + 900]))
        ).scalars()
    for code in sorted(codes):
        click.echo(code)


@segments_cli.command("refresh")
@with_appcontext
@click.argument("name")
def refresh_command(name: str):
    """Recompute a periodic segment's members now."""
    from crm.core.errors import DomainError
    from crm.extensions import db
    from crm.segments.services import refresh

    try:
        record = refresh(_segment(name))
    except DomainError as exc:
        db.session.rollback()
        raise click.BadParameter(exc.message, param_hint="NAME") from None
    db.session.commit()
    click.echo(
        _(
            "%(members)s members: %(entered)s entered, %(left)s left.",
            members=record.members,
            entered=record.entered,
            left=record.left,
        )
    )


def register() -> None:
    from crm.cli import crm_cli

    if segments_cli.name not in crm_cli.commands:
        crm_cli.add_command(segments_cli)
