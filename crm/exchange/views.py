"""Import (upload → validation preview → confirm) and export downloads, for admins."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from crm.access import roles_required
from crm.core.models import JobRun
from crm.exchange import bp
from crm.exchange.exporter import export_rows
from crm.exchange.importer import Report
from crm.exchange.jobs import apply_import, rejects_path, stored_path, validate_import
from crm.exchange.kinds import KINDS
from crm.exchange.models import ImportFile
from crm.exchange.readers import BadFile, open_table
from crm.exporting import export_response
from crm.extensions import db
from crm.htmx import render
from crm.jobs import enqueue, job_meta

ALLOWED = (".csv", ".txt", ".xlsx")


def _recent() -> list[ImportFile]:
    return list(db.session.execute(
        select(ImportFile).order_by(ImportFile.id.desc()).limit(20)
    ).scalars())  # fmt: skip


@bp.route("/")
@roles_required("admin")
def index():
    """Upload a file to import; download any kind as CSV or XLSX."""
    return render("exchange/index.html", kinds=KINDS, imports=_recent(), error=None)


@bp.route("/upload", methods=["POST"])
@roles_required("admin")
def upload():
    """Save the upload and validate it (as a background job when Redis is set)."""
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    error = None
    if kind not in KINDS:
        error = "Choose what the file holds (partners, sales, …)."
    elif upload is None or not upload.filename:
        error = "Choose a file to upload."
    elif not upload.filename.lower().endswith(ALLOWED):
        error = "Upload a .csv or .xlsx file."
    if error:
        return render("exchange/index.html", kinds=KINDS, imports=_recent(), error=error,
                      status=422)  # fmt: skip
    stored = uuid.uuid4().hex + (".xlsx" if upload.filename.lower().endswith(".xlsx") else ".csv")
    imp = ImportFile(user_id=current_user.id, kind=kind, filename=upload.filename[-255:],
                     stored_name=stored)  # fmt: skip
    path = stored_path(imp)
    upload.save(path)
    imp.size = path.stat().st_size
    try:
        open_table(path, upload.filename)  # a file that is not what it says fails here, at once
    except BadFile as exc:
        path.unlink(missing_ok=True)
        return render("exchange/index.html", kinds=KINDS, imports=_recent(), error=str(exc),
                      status=422)  # fmt: skip
    db.session.add(imp)
    db.session.commit()
    run = enqueue(validate_import, imp.id, user=current_user)
    imp = db.session.get(ImportFile, imp.id)
    imp.job_run_id = run.id
    db.session.commit()
    return redirect(url_for("exchange.detail", import_id=imp.id))


def _load(import_id: int) -> ImportFile:
    return db.session.get(ImportFile, import_id) or abort(404)


def _status_context(imp: ImportFile) -> dict:
    run = db.session.get(JobRun, imp.job_run_id) if imp.job_run_id else None
    if run is not None and run.status == "failed" and imp.status in ("validating", "importing"):
        imp.status = "failed"
    return {"imp": imp, "report": Report.from_dict(imp.report) if imp.report else None,
            "run": run, "meta": job_meta(run)}  # fmt: skip


@bp.route("/<int:import_id>")
@roles_required("admin")
def detail(import_id: int):
    """The validation preview, or the progress while a job runs (the fragment polls itself)."""
    imp = _load(import_id)
    return render("exchange/detail.html", "exchange/_status.html", **_status_context(imp))


@bp.route("/<int:import_id>/confirm", methods=["POST"])
@roles_required("admin")
def confirm(import_id: int):
    """Write the validated file: all rows, or only the valid ones when asked."""
    imp = _load(import_id)
    report = Report.from_dict(imp.report) if imp.report else None
    valid_only = request.form.get("valid_only") == "1"
    if imp.status != "validated" or report is None:
        flash("This file cannot be imported now.", "warning")
    elif report.error_count and not valid_only:
        flash("The file has errors: fix them, or import the valid rows only.", "warning")
    elif report.rows == report.rejected:
        flash("No row of this file is valid.", "warning")
    else:
        imp.status, imp.valid_only = "importing", valid_only
        db.session.commit()
        run = enqueue(apply_import, imp.id, user=current_user)
        imp = db.session.get(ImportFile, imp.id)
        imp.job_run_id = run.id
        db.session.commit()
    return redirect(url_for("exchange.detail", import_id=import_id))


@bp.route("/<int:import_id>/rejected.csv")
@roles_required("admin")
def rejected(import_id: int):
    """The rejected rows with their errors, to fix and upload again."""
    imp = _load(import_id)
    path = rejects_path(imp)
    if not path.exists():
        abort(404)
    name = imp.filename.rsplit(".", 1)[0] + "-rejected.csv"
    return send_file(path, mimetype="text/csv", as_attachment=True, download_name=name)


@bp.route("/export/<kind>.<fmt>")
@roles_required("admin")
def export(kind: str, fmt: str):
    """Every row of a kind with the import's columns; it re-imports without change."""
    if kind not in KINDS or fmt not in ("csv", "xlsx"):
        abort(404)
    header, rows = export_rows(kind)
    return export_response(fmt, kind, header, rows)
