"""`flask --app app crm import|export …`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app, has_app_context
from flask.cli import ScriptInfo
from flask_babel import gettext as _
from flask_babel import ngettext

from crm.exchange.registry import kinds
from crm.exporting import csv_chunks, xlsx_workbook


class KindName(click.ParamType):
    """One of the app's registered kinds (known once the app is loaded, not at import)."""

    name = "kind"

    def convert(self, value, param, ctx):
        app = current_app if has_app_context() else ctx.ensure_object(ScriptInfo).load_app()
        return click.Choice(sorted(kinds(app))).convert(value, param, ctx)


def register(group) -> None:
    @group.command("import")
    @click.argument("kind", type=KindName())
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Check the file and say what would change.")
    @click.option("--valid-only", is_flag=True, help="Import the valid rows, skip the bad ones.")
    def import_command(kind: str, file: str, dry_run: bool, valid_only: bool):
        """Import a CSV or XLSX file of KIND (exit 1 when the file is rejected)."""
        from crm.exchange.importer import run_import

        report = run_import(file, kind, valid_only=valid_only, dry_run=dry_run)
        # Messages for the person at the terminal, in DEFAULT_LOCALE; the row lines keep the
        # spec's `row N, column C: …` form (scripts read them), their messages translated.
        for line in report.file_errors + report.error_lines:
            click.echo(line, err=True)
        if report.error_count > len(report.errors):
            more = report.error_count - len(report.errors)
            click.echo(
                ngettext("… and %(num)s more error", "… and %(num)s more errors", more),
                err=True,
            )
        for line in report.warnings:
            click.echo(_("warning: %(message)s", message=line), err=True)
        summary = ngettext(
            "%(num)s row: %(new)s new, %(updated)s updated, %(unchanged)s unchanged, "
            "%(rejected)s rejected",
            "%(num)s rows: %(new)s new, %(updated)s updated, %(unchanged)s unchanged, "
            "%(rejected)s rejected",
            report.rows,
            new=report.new,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=report.rejected,
        )
        if report.done:
            click.echo(_("Imported %(kind)s: %(summary)s.", kind=kind, summary=summary))
        elif dry_run and not report.file_errors:
            click.echo(_("Dry run, nothing written. %(summary)s.", summary=summary))
        else:
            click.echo(_("Nothing imported. %(summary)s.", summary=summary), err=True)
        rejected = bool(report.file_errors) or (report.error_count and not valid_only)
        sys.exit(1 if rejected else 0)

    @group.command("export")
    @click.argument("kind", type=KindName())
    @click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
    @click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
    def export_command(kind: str, fmt: str, output: str):
        """Export KIND with the import's columns (it re-imports without change)."""
        from crm.exchange.exporter import export_rows

        header, rows = export_rows(kind)
        n = write_file(Path(output), fmt, header, rows)
        click.echo(
            ngettext(
                "Exported %(num)s %(kind)s row to %(file)s.",
                "Exported %(num)s %(kind)s rows to %(file)s.",
                n,
                kind=kind,
                file=output,
            )
        )


def write_file(path: Path, fmt: str, header, rows) -> int:
    """The rows written as the web export writes them (formula-like text escaped); how many."""
    n = 0

    def counted():
        nonlocal n
        for row in rows:
            n += 1
            yield row

    if fmt == "xlsx":
        xlsx_workbook("data", header, counted()).save(path)
        return n
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for chunk in csv_chunks(header, counted(), bom=False):
            fh.write(chunk)
    return n
