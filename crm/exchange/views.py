"""Import (upload → validation preview → confirm) and export downloads, for admins."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from crm.auth.models import User
from crm.core.formats import fmt_datetime
from crm.core.models import JobRun
from crm.core.policy import requires
from crm.exchange import bp
from crm.exchange.exporter import export_rows
from crm.exchange.importer import Report
from crm.exchange.jobs import apply_import, rejects_path, stored_path, validate_import
from crm.exchange.models import STATUS_TITLES, WRITING, ImportFile
from crm.exchange.readers import BadFile, open_table
from crm.exchange.registry import kind_named, kinds
from crm.exchange.templates import template_response
from crm.exporting import export_response
from crm.extensions import db
from crm.htmx import render
from crm.jobs import enqueue, job_meta, sweep_dead_jobs

ALLOWED = (".csv", ".txt", ".xlsx")


def _recent() -> list[ImportFile]:
    return list(
        db.session.execute(select(ImportFile).order_by(ImportFile.id.desc()).limit(20)).scalars()
    )


@bp.context_processor
def _titles():
    return {"status_titles": STATUS_TITLES}


@bp.route("/")
@requires("exchange.use")
def index():
    """Upload a file to import; download any kind as CSV or XLSX."""
    return render("exchange/index.html", kinds=kinds(), imports=_recent(), error=None)


@bp.route("/upload", methods=["POST"])
@requires("exchange.use")
def upload():
    """Save the upload and validate it (as a background job when Redis is set)."""
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    error = None
    if kind not in kinds():
        error = _("Choose what the file holds (partners, sales, …).")
    elif upload is None or not upload.filename:
        error = _("Choose a file to upload.")
    elif not upload.filename.lower().endswith(ALLOWED):
        error = _("Upload a .csv or .xlsx file.")
    if error:
        return render(
            "exchange/index.html", kinds=kinds(), imports=_recent(), error=error, status=422
        )
    stored = uuid.uuid4().hex + (".xlsx" if upload.filename.lower().endswith(".xlsx") else ".csv")
    imp = ImportFile(
        user_id=current_user.id, kind=kind, filename=upload.filename[-255:], stored_name=stored
    )
    path = stored_path(imp)
    upload.save(path)
    imp.size = path.stat().st_size
    try:
        open_table(path, upload.filename)  # a file that is not what it says fails here, at once
    except BadFile as exc:
        path.unlink(missing_ok=True)
        return render(
            "exchange/index.html", kinds=kinds(), imports=_recent(), error=str(exc), status=422
        )
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
    return {
        "imp": imp,
        "report": Report.from_dict(imp.report) if imp.report else None,
        "run": run,
        "meta": job_meta(run),
        "kinds": kinds(),
    }


@bp.route("/<int:import_id>")
@requires("exchange.use")
def detail(import_id: int):
    """The validation preview, or the progress while a job runs (the fragment polls itself)."""
    sweep_dead_jobs()  # cheap and throttled: a job whose process died shows as failed
    imp = _load(import_id)
    return render("exchange/detail.html", "exchange/_status.html", **_status_context(imp))


@bp.route("/<int:import_id>/confirm", methods=["POST"])
@requires("exchange.use")
def confirm(import_id: int):
    """Write the validated file: all rows, or only the valid ones when asked."""
    sweep_dead_jobs(force=True)  # an import of this kind that died no longer holds the kind
    imp = _load(import_id)
    report = Report.from_dict(imp.report) if imp.report else None
    valid_only = request.form.get("valid_only") == "1"
    if imp.status not in CONFIRMABLE or report is None or report.file_errors:
        flash(_("This file cannot be imported now."), "warning")
    elif report.error_count and not valid_only:
        flash(_("The file has errors: fix them, or import the valid rows only."), "warning")
    elif report.rows == report.rejected:
        flash(_("No row of this file is valid."), "warning")
    elif (busy := _claim(imp, valid_only)) is not None:
        flash(busy, "warning")
    else:
        try:
            run = enqueue(apply_import, imp.id, user=current_user)
        except Exception:
            db.session.rollback()
            db.session.execute(
                update(ImportFile).where(ImportFile.id == import_id).values(status="failed")
            )
            db.session.commit()
            raise
        db.session.execute(
            update(ImportFile).where(ImportFile.id == import_id).values(job_run_id=run.id)
        )
        db.session.commit()
    return redirect(url_for("exchange.detail", import_id=import_id))


# A file can be written once validated, and again after a write that failed or died.
CONFIRMABLE = ("validated", "failed")


def _claim(imp: ImportFile, valid_only: bool) -> str | None:
    """Move the file to "importing" if no other import of its kind is writing; else say why
    not. Race-free: the state changes only from a confirmable one, and the database refuses a
    second import of a kind in "importing" (uq_import_file_kind_writing)."""
    import_id, kind = imp.id, imp.kind
    try:
        claimed = db.session.execute(
            update(ImportFile)
            .where(ImportFile.id == import_id, ImportFile.status.in_(CONFIRMABLE))
            .values(status=WRITING, valid_only=valid_only, finished_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _busy_message(kind)
    except OperationalError:
        # SQLite: an import being written holds the only write lock longer than we wait.
        db.session.rollback()
        return _("Another import is being written; try again when it finishes.")
    return None if claimed else _("This file cannot be imported now.")


def _busy_message(kind: str) -> str:
    other = db.session.execute(
        select(ImportFile).where(ImportFile.kind == kind, ImportFile.status == WRITING)
    ).scalar()
    label = found.label if (found := kind_named(kind)) else kind
    if other is None:  # it finished in the meantime
        return _("An import of %(kind)s was running; try again.", kind=label)
    user = db.session.get(User, other.user_id) if other.user_id else None
    run = db.session.get(JobRun, other.job_run_id) if other.job_run_id else None
    since = (run.started_at or run.created_at) if run else other.created_at
    if user is None:
        return _(
            "An import of %(kind)s is already running (started at %(at)s); "
            "try again when it finishes.",
            kind=label,
            at=fmt_datetime(since),
        )
    return _(
        "An import of %(kind)s is already running (started by %(who)s at %(at)s); "
        "try again when it finishes.",
        kind=label,
        who=user.name or user.email,
        at=fmt_datetime(since),
    )


@bp.route("/<int:import_id>/rejected.csv")
@requires("exchange.use")
def rejected(import_id: int):
    """The rejected rows with their errors, to fix and upload again."""
    imp = _load(import_id)
    path = rejects_path(imp)
    if not path.exists():
        abort(404)
    name = imp.filename.rsplit(".", 1)[0] + "-rejected.csv"
    return send_file(path, mimetype="text/csv", as_attachment=True, download_name=name)


@bp.route("/export/<kind>.<fmt>")
@requires("exchange.use")
def export(kind: str, fmt: str):
    """Every row of a kind with the import's columns; it re-imports without change."""
    found = kind_named(kind)
    if found is None or not found.exportable or fmt not in ("csv", "xlsx"):
        abort(404)
    header, rows = export_rows(kind)
    return export_response(fmt, kind, header, rows)


@bp.route("/template/<kind>.<fmt>")
@requires("exchange.use")
def template(kind: str, fmt: str):
    """An empty file of a kind to fill in: the columns, one example row that imports as it
    is, and (XLSX) a sheet describing each column."""
    found = kind_named(kind)
    if found is None or fmt not in ("csv", "xlsx"):
        abort(404)
    return template_response(found, fmt)
