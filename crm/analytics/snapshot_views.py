"""The stored snapshots page: which monthly stage and class snapshots exist and when they were
taken, and (for those who may recompute) a button per kind and month that takes one again as a
background job whose progress the page polls."""

from __future__ import annotations

from datetime import date

from flask import abort, current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.analytics import bp
from crm.analytics.jobs import take_snapshot
from crm.analytics.snapshot_queries import recent_snapshot_jobs, snapshot_job, snapshot_months
from crm.analytics.snapshots import CLASSES_KIND, STAGES_KIND, check_month
from crm.core.errors import DomainError
from crm.core.params import id_or_none
from crm.core.policy import requires
from crm.htmx import render
from crm.jobs import enqueue, job_meta, sweep_dead_jobs

KINDS = (STAGES_KIND, CLASSES_KIND, "all")
KIND_TITLES = {
    STAGES_KIND: _l("Client stages"),
    CLASSES_KIND: _l("ABC/XYZ classes"),
    "all": _l("Stages and classes"),
}
STATUS_TITLES = {
    "queued": _l("waiting"),
    "running": _l("running"),
    "done": _l("done"),
    "failed": _l("failed"),
}


def _job_month(run) -> date:
    """The month a snapshot job was asked for (its second argument, an ISO date)."""
    return date.fromisoformat(run.args[1])


def _page(error: str | None = None, status: int = 200, run=None):
    """The page; for HTMX the job's status alone (the fragment that polls itself)."""
    return render(
        "analytics/snapshots.html",
        "analytics/_snapshot_run.html" if run is not None else None,
        status=status,
        months=snapshot_months(),
        jobs=recent_snapshot_jobs(),
        error=error,
        run=run,
        meta=job_meta(run),
        kind_titles=KIND_TITLES,
        status_titles=STATUS_TITLES,
        job_month=_job_month,
        class_window_months=current_app.config.get("ANALYTICS_CLASS_WINDOW_MONTHS", 12),
    )


@bp.route("/snapshots")
@requires("analytics.reports")
def snapshots():
    """The stored snapshots by month, and the latest recompute jobs."""
    sweep_dead_jobs()  # throttled: a job whose worker died shows as failed
    return _page()


def _month(raw: str) -> date:
    """A month from the form: YYYY-MM (an <input type=month>) or a date in it."""
    raw = (raw or "").strip()
    try:
        return date.fromisoformat(raw if len(raw) > 7 else f"{raw}-01")
    except ValueError:
        raise DomainError(_("%(value)s is not a month: choose one.", value=repr(raw))) from None


@bp.route("/snapshots/take", methods=["POST"])
@requires("analytics.recompute")
def snapshots_take():
    """Take (again) the snapshot of a kind for a month as a background job."""
    kind = request.form.get("kind", "")
    try:
        if kind not in KINDS:
            raise DomainError(_("Choose the stages, the classes or both."))
        month = check_month(_month(request.form.get("month", "")))
    except DomainError as exc:
        return _page(error=exc.message, status=400)
    run = enqueue(take_snapshot, kind, month.isoformat(), user=current_user)
    return redirect(url_for("analytics.snapshot_run", run_id=run.id))


@bp.route("/snapshots/runs/<run_id>")
@requires("analytics.reports")
def snapshot_run(run_id: str):
    """One recompute job: its progress (the fragment polls itself while it runs)."""
    sweep_dead_jobs()
    found = id_or_none(run_id)
    run = snapshot_job(found) if found else None
    if run is None:
        abort(404)
    return _page(run=run)
