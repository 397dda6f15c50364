"""Background jobs of an import: validate the uploaded file, then write it. Both are
idempotent: validating again gives the same report; writing again changes nothing (upsert).
When either fails or its process dies, the import leaves its running state ("failed"), so the
admin can confirm it again."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from crm.auth.models import User
from crm.core.i18n import in_language
from crm.core.timeutil import utcnow
from crm.exchange.importer import Report, validate, write
from crm.exchange.models import WRITING, ImportFile
from crm.extensions import db
from crm.jobs import job, live_progress


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

            live_progress(rows)  # written by the job's heartbeat (no Redis needed)
            rq_job = get_current_job()
            if rq_job is not None:
                rq_job.meta["rows"] = rows
                rq_job.save_meta()
            return
        run.progress = rows
        db.session.commit()

    return report


def _language(imp: ImportFile) -> str | None:
    """The importing user's language: the report's messages are written in it."""
    user = db.session.get(User, imp.user_id) if imp.user_id else None
    return user.locale if user is not None else None


def _failed_when(state: str):
    def on_failure(import_id: int, *, run) -> None:
        imp = db.session.get(ImportFile, import_id)
        if imp is not None and imp.status == state:
            imp.status, imp.finished_at = "failed", utcnow()

    return on_failure


@job(on_failure=_failed_when("validating"))
def validate_import(import_id: int, *, run) -> None:
    imp = db.session.get(ImportFile, import_id)
    progress = _progress(run)
    with in_language(_language(imp)):
        report = validate(
            stored_path(imp),
            imp.kind,
            filename=imp.filename,
            rejects_path=rejects_path(imp),
            progress=progress,
        )
    imp = db.session.get(ImportFile, import_id)
    imp.report = report.as_dict()
    imp.status = "rejected" if report.file_errors else "validated"
    run.total = run.progress = report.rows
    db.session.commit()


@job(on_failure=_failed_when(WRITING))
def apply_import(import_id: int, *, run) -> None:
    imp = db.session.get(ImportFile, import_id)
    report = Report.from_dict(imp.report)
    actor = db.session.get(User, imp.user_id) if imp.user_id else None
    progress = _progress(run)
    # The rows and the "done" state commit together: a process killed in between leaves
    # neither, and the import can simply be confirmed again.
    with in_language(actor.locale if actor is not None else None):
        write(
            stored_path(imp),
            imp.kind,
            report,
            actor=actor,
            filename=imp.filename,
            progress=lambda n: progress(n, writing=True),
            commit=False,
        )
    imp = db.session.get(ImportFile, import_id)
    imp.report, imp.status, imp.finished_at = report.as_dict(), "done", utcnow()
    db.session.commit()
