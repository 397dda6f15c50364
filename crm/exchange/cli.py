"""`flask --app app crm import|export …`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app, has_app_context
from flask.cli import ScriptInfo

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
        for line in report.file_errors + report.error_lines:
            click.echo(line, err=True)
        if report.error_count > len(report.errors):
            click.echo(f"… and {report.error_count - len(report.errors)} more errors", err=True)
        for line in report.warnings:
            click.echo(f"warning: {line}", err=True)
        summary = (
            f"{report.rows} rows: {report.new} new, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.rejected} rejected"
        )
        if report.done:
            click.echo(f"Imported {kind}: {summary}.")
        elif dry_run and not report.file_errors:
            click.echo(f"Dry run, nothing written. {summary}.")
        else:
            click.echo(f"Nothing imported. {summary}.", err=True)
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
        click.echo(f"Exported {n} {kind} rows to {output}.")


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
