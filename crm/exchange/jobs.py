"""Background jobs of an import: validate the uploaded file, then write it. Both are
idempotent: validating again gives the same report; writing again changes nothing (upsert)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from crm.auth.models import User
from crm.core.timeutil import utcnow
from crm.exchange.importer import Report, validate, write
from crm.exchange.models import ImportFile
from crm.extensions import db


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_FOLDER"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_path(imp: ImportFile) -> Path:
    return upload_dir() / imp.stored_name


def rejects_path(imp: ImportFile) -> Path:
    return upload_dir() / f"{imp.stored_name}.rejected.csv"


def _progress(run):
    """Rows done so far, for the page's progress bar. While validating nothing is being
    written, so the count is committed; while writing (one transaction) it goes to the RQ
    job's meta in Redis instead, when there is one."""

    def report(rows: int, *, writing: bool = False) -> None:
        if writing:
            from rq import get_current_job

            job = get_current_job()
            if job is not None:
                job.meta["rows"] = rows
                job.save_meta()
            return
        run.progress = rows
        db.session.commit()

    return report


def validate_import(import_id: int, *, run) -> None:
    imp = db.session.get(ImportFile, import_id)
    progress = _progress(run)
    report = validate(stored_path(imp), imp.kind, filename=imp.filename,
                      rejects_path=rejects_path(imp), progress=progress)  # fmt: skip
    imp = db.session.get(ImportFile, import_id)
    imp.report = report.as_dict()
    imp.status = "rejected" if report.file_errors else "validated"
    run.total = run.progress = report.rows
    db.session.commit()


def apply_import(import_id: int, *, run) -> None:
    imp = db.session.get(ImportFile, import_id)
    report = Report.from_dict(imp.report)
    actor = db.session.get(User, imp.user_id) if imp.user_id else None
    progress = _progress(run)
    try:
        write(stored_path(imp), imp.kind, report, actor=actor, filename=imp.filename,
              progress=lambda n: progress(n, writing=True))  # fmt: skip
    except Exception:
        imp = db.session.get(ImportFile, import_id)
        imp.status = "failed"
        db.session.commit()
        raise
    imp = db.session.get(ImportFile, import_id)
    imp.report, imp.status, imp.finished_at = report.as_dict(), "done", utcnow()
    db.session.commit()
