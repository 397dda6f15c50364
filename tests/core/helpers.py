"""Helpers of the job tests: RQ worker and web processes on the test app's database, gates a
job waits at (so a test can kill its process half-way, deterministically), and waiting for a
condition."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from crm.extensions import db
from crm.jobs import job

ROOT = Path(__file__).resolve().parents[2]


def process_env(app, **extra) -> dict:
    """The environment of a worker or web process on the test app's database, queue, upload
    folder, job lease settings and default language."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        RQ_QUEUES=",".join(app.config["RQ_QUEUES"]),
        SECRET_KEY="worker-test-secret",
        UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"],
        JOB_HEARTBEAT_SECONDS=str(app.config["JOB_HEARTBEAT_SECONDS"]),
        JOB_LEASE_SECONDS=str(app.config["JOB_LEASE_SECONDS"]),
        PYTHONPATH=str(ROOT),
        # The test app's language (English: the tests' texts), for a job without a user.
        DEFAULT_LOCALE=app.config["DEFAULT_LOCALE"],
    )
    if app.config.get("REDIS_URL"):
        env["REDIS_URL"] = app.config["REDIS_URL"]
    else:
        env.pop("REDIS_URL", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_worker(app) -> subprocess.CompletedProcess:
    """`python worker.py --burst` on the test app's database and queue."""
    db.session.commit()  # ends this session's transaction: the worker writes next
    result = subprocess.run(
        [sys.executable, "worker.py", "--burst"],
        cwd=ROOT,
        env=process_env(app),
        capture_output=True,
        text=True,
        timeout=120,
    )
    db.session.expire_all()
    return result


def start_process(app, args: list[str], **env) -> subprocess.Popen:
    """A Python process (`args` after the interpreter) in the repository, output to files."""
    db.session.commit()
    # A session of its own: RQ's worker starts a scheduler process beside it, killed with it.
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=process_env(app, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def kill(process: subprocess.Popen) -> str:
    """SIGKILL to the process and its children, as the OOM killer or a lost machine would;
    reaped; returns its output."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    output, _ = process.communicate(timeout=30)
    return output or ""


def wait_until(condition, *, timeout: float = 60, what: str = "the condition"):
    """Poll `condition` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()  # see other connections' commits
        db.session.expire_all()
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class FileGate:
    """A job waits at the gate: it creates `started`, then waits until `go` exists. Works
    across processes (the job may run in a worker the test started)."""

    def __init__(self, folder: Path):
        self.started, self.go = Path(folder) / "started", Path(folder) / "go"

    def wait(self, timeout: float = 300) -> None:
        self.started.touch()
        deadline = time.monotonic() + timeout
        while not self.go.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the test never opened the gate")
            time.sleep(0.02)

    def open(self) -> None:
        self.go.touch()


def _released(partner_id: int, gate_dir: str, *, run) -> None:
    from crm.partners.models import Partner

    db.session.get(Partner, partner_id).notes = f"released by run {run.id}"


@job(on_failure=_released)
def gated_job(partner_id: int, gate_dir: str, *, run) -> None:
    """A job that changes a partner, waits at a gate, then commits; its on_failure hook notes
    the release on the partner."""
    from crm.partners.models import Partner

    db.session.get(Partner, partner_id).city = "Gated"
    db.session.flush()
    FileGate(Path(gate_dir)).wait()
    db.session.commit()


def refusing_job(*, run) -> None:
    """A job that fails with a message meant for the user."""
    from crm.core.errors import DomainError

    raise DomainError("There is nothing to rebuild.")
