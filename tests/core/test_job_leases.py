"""Jobs outside the request: a background thread of the web process when there is no Redis,
leases renewed by a heartbeat, and the sweep that marks the jobs of dead processes failed."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta

from crm.core.models import JobRun
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.jobs import DIED_MESSAGE, enqueue, process_name, sweep_dead_jobs
from crm.partners.models import Partner
from tests.core.helpers import FileGate, gated_job, refusing_job, wait_until


def _run(run_id: int) -> JobRun:
    db.session.expire_all()
    return db.session.get(JobRun, run_id)


def test_a_background_job_runs_on_a_thread_while_the_caller_goes_on(app, make_partner, tmp_path):
    app.config.update(JOB_HEARTBEAT_SECONDS=0.1, JOB_LEASE_SECONDS=0.5)
    partner_id = make_partner(name="Gate Ltd", city="Kazan").id
    gate = FileGate(tmp_path)
    try:
        run_id = enqueue(gated_job, partner_id, str(tmp_path), background=True).id

        wait_until(gate.started.exists, what="the job to reach its gate")
        run = _run(run_id)
        assert run.status == "running" and run.worker == process_name()
        assert db.session.get(Partner, partner_id).city == "Kazan"  # not committed yet
        first_beat = run.heartbeat_at
        if app.config["CRM_BACKEND"] == "postgresql":
            # The lease is renewed while the job works.
            wait_until(lambda: _run(run_id).heartbeat_at > first_beat, what="a heartbeat")
            assert _run(run_id).lease_until > utcnow()
        else:
            # SQLite: the job holds the write lock, so no heartbeat gets written and the
            # lease runs out; the sweep sees the process alive and leaves the job alone.
            wait_until(lambda: _run(run_id).lease_until < utcnow(), what="the lease to end")
            assert sweep_dead_jobs(force=True) == 0
            assert _run(run_id).status == "running"
    finally:
        gate.open()
    wait_until(lambda: _run(run_id).status == "done", what="the job to finish")
    assert db.session.get(Partner, partner_id).city == "Gated"


def _stale_run(worker: str, *, partner_id: int, status="running", lease=-1.0, **fields) -> int:
    now = utcnow()
    run = JobRun(
        name="tests.core.helpers.gated_job",
        args=[partner_id, "-"],
        status=status,
        worker=worker,
        started_at=now - timedelta(minutes=10),
        lease_until=now + timedelta(seconds=lease) if lease is not None else None,
        **fields,
    )
    db.session.add(run)
    db.session.commit()
    return run.id


def _dead_pid_here() -> str:
    """The worker name of a process of this host that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open(f"/proc/{child.pid}/stat") as fh:
        started = fh.read().rpartition(")")[2].split()[19]
    child.kill()
    child.wait()
    return f"{socket.gethostname()}:{child.pid}:{started}"


def test_the_sweep_fails_jobs_whose_process_died_and_releases_what_they_held(app, make_partner):
    partner = make_partner(name="Held Ltd")
    pid = partner.id
    host = socket.gethostname()
    dead_here = _stale_run(_dead_pid_here(), partner_id=pid)
    other_host = _stale_run("other-host:4242:99", partner_id=pid)
    never_started = _stale_run("other-host:4242:99", partner_id=pid, status="queued")
    before_leases = _stale_run("", partner_id=pid, lease=None)
    alive_here = _stale_run(process_name(), partner_id=pid)  # SQLite: busy writing, no beat
    leased = _stale_run("other-host:4242:99", partner_id=pid, lease=60)
    finished = _stale_run(f"{host}:1:1", partner_id=pid, status="done")

    assert sweep_dead_jobs(force=True) == 4

    statuses = {
        i: _run(i).status
        for i in (dead_here, other_host, never_started, before_leases, alive_here, leased, finished)
    }
    assert statuses == {
        dead_here: "failed",
        other_host: "failed",
        never_started: "failed",
        before_leases: "failed",
        alive_here: "running",
        leased: "running",
        finished: "done",
    }
    run = _run(dead_here)
    assert run.message == (
        "The job stopped because the process running it ended; nothing was written. "
        f"Run it again (reference #{dead_here})."
    )
    assert run.finished_at is not None and run.lease_until is None
    # The job's on_failure hook ran (for the last one swept) and was committed.
    db.session.expire_all()
    assert db.session.get(Partner, pid).notes == f"released by run {before_leases}"
    assert sweep_dead_jobs(force=True) == 0  # nothing twice
    assert DIED_MESSAGE.format(id=1).startswith("The job stopped")


def test_the_sweep_runs_at_most_once_per_interval_unless_forced(app, make_partner):
    pid = make_partner(name="Often Ltd").id
    app.config["JOB_SWEEP_SECONDS"] = 3600
    sweep_dead_jobs(force=True)
    run_id = _stale_run("other-host:1:1", partner_id=pid)

    assert sweep_dead_jobs() == 0
    assert _run(run_id).status == "running"
    assert sweep_dead_jobs(force=True) == 1


def test_a_job_refusing_with_a_domain_error_shows_that_message(app):
    run_id = enqueue(refusing_job).id

    run = _run(run_id)
    assert (run.status, run.message) == ("failed", "There is nothing to rebuild.")
