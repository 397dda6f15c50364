"""Imports outside the request and after a crash: a worker or web process killed half-way
(SIGKILL) leaves no rows, its import is marked failed within the lease and can be confirmed
again; the web runs jobs on a background thread with visible progress; two admins confirming
imports of one kind at the same moment: one runs, the other is told why."""

from __future__ import annotations

import html
import io
import re
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

import crm.exchange.importer as importer
from crm.core.models import JobRun
from crm.exchange.models import ImportFile
from crm.exchange.registry import kind_named
from crm.extensions import db
from crm.jobs import process_name
from crm.partners.models import Partner
from tests.conftest import DEFAULT_PASSWORD
from tests.core.helpers import FileGate, kill, run_worker, start_process, wait_until
from tests.exchange import samples
from tests.exchange.helpers import HX, count, csv_bytes, hold_at_gate

LEASE = 2.0
CODES = ["P-001", "P-002", "P-003"]


@pytest.fixture
def short_leases(app, tmp_path):
    """Heartbeats every 0.2 s, leases of 2 s, a sweep on every poll; uploads in tmp_path."""
    app.config.update(
        JOB_HEARTBEAT_SECONDS=0.2,
        JOB_LEASE_SECONDS=LEASE,
        JOB_SWEEP_SECONDS=0,
        UPLOAD_FOLDER=str(tmp_path / "uploads"),
    )
    return app


def _upload(client, data: bytes = csv_bytes(samples.PARTNERS)) -> int:
    response = client.post(
        "/exchange/upload",
        content_type="multipart/form-data",
        data={"kind": "partners", "file": (io.BytesIO(data), "p.csv")},
    )
    assert response.status_code == 302, response.data[:300]
    return int(response.location.rstrip("/").rsplit("/", 1)[1])


def _import(import_id: int) -> ImportFile:
    db.session.expire_all()
    return db.session.get(ImportFile, import_id)


def _page(client, import_id: int) -> str:
    return re.sub(r"\s+", " ", html.unescape(client.get(f"/exchange/{import_id}").text))


def _page_saying(client, import_id: int, text: str) -> str | None:
    page = _page(client, import_id)
    return page if text in page else None


def _codes() -> list[str]:
    db.session.expire_all()
    return list(db.session.execute(select(Partner.code).order_by(Partner.code)).scalars())


def _died(run_id: int) -> str:
    return (
        f"The job stopped because the process running it ended; nothing was written. "
        f"Run it again (reference #{run_id})."
    )


def _assert_swept_in_time(run: JobRun) -> None:
    """Marked failed once its lease ran out (within seconds), not hours later."""
    assert run.status == "failed"
    assert run.finished_at - run.heartbeat_at < timedelta(seconds=LEASE + 20)


def test_a_worker_killed_half_way_leaves_no_rows_and_the_import_runs_again(
    rq_app, short_leases, client, login_as, tmp_path
):
    login_as("admin")
    import_id = _upload(client)
    assert run_worker(rq_app).returncode == 0
    assert _import(import_id).status == "validated"
    client.post(f"/exchange/{import_id}/confirm")
    run_id = _import(import_id).job_run_id
    gate = FileGate(tmp_path)

    worker = start_process(
        rq_app, ["-m", "tests.exchange.gated_process", "worker"], GATE_DIR=tmp_path
    )
    try:
        wait_until(gate.started.exists, what="the worker to write its first batch")
        run = db.session.get(JobRun, run_id)
        assert run.status == "running" and f":{worker.pid}:" in run.worker
    finally:
        kill(worker)

    page = wait_until(
        lambda: _page_saying(client, import_id, _died(run_id)),
        what="the status poll to mark the job failed",
    )
    _assert_swept_in_time(db.session.get(JobRun, run_id))
    assert _import(import_id).status == "failed"
    assert count(Partner) == 0  # the batch written before the kill is gone
    assert "Import 3 rows" in page  # offered again

    client.post(f"/exchange/{import_id}/confirm")
    assert _import(import_id).status == "importing"
    assert run_worker(rq_app).returncode == 0
    assert _import(import_id).status == "done"
    assert _codes() == CODES


def test_a_web_process_killed_half_way_leaves_no_rows_and_the_import_runs_again(
    short_leases, client, login_as, tmp_path
):
    admin = login_as("admin")
    import_id = _upload(client)  # validated inline (JOBS_INLINE in tests)
    assert _import(import_id).status == "validated"
    gate = FileGate(tmp_path)

    # The web process: no Redis, so the confirmed import runs on a thread of that process.
    web = start_process(
        short_leases,
        ["-m", "tests.exchange.gated_process", "web"],
        GATE_DIR=tmp_path,
        IMPORT_ID=import_id,
        ADMIN_EMAIL=admin.email,
        ADMIN_PASSWORD=DEFAULT_PASSWORD,
    )
    try:
        wait_until(gate.started.exists, what="the web process's job to write its first batch")
        imp = _import(import_id)
        run = db.session.get(JobRun, imp.job_run_id)
        assert imp.status == "importing"
        assert run.status == "running" and f":{web.pid}:" in run.worker
    finally:
        output = kill(web)
    assert "login 302 confirm 302" in output  # the request answered at once

    page = wait_until(
        lambda: _page_saying(client, import_id, _died(imp.job_run_id)),
        what="the status poll to mark the job failed",
    )
    _assert_swept_in_time(db.session.get(JobRun, imp.job_run_id))
    assert _import(import_id).status == "failed"
    assert count(Partner) == 0
    assert "Import 3 rows" in page

    client.post(f"/exchange/{import_id}/confirm")  # inline this time
    assert _import(import_id).status == "done"
    assert _codes() == CODES


def test_the_web_hands_jobs_to_a_thread_and_shows_their_progress(
    short_leases, client, login_as, tmp_path, monkeypatch
):
    short_leases.config["JOBS_INLINE"] = False
    login_as("admin")
    monkeypatch.setattr(importer, "BATCH", 1)
    gate = FileGate(tmp_path)
    # Validation waits while looking up its second row, after reporting the first.
    hold_at_gate(
        kind_named("partners"), "existing", gate, after_calls=2, setattr=monkeypatch.setattr
    )
    try:
        import_id = _upload(client)  # answers while the job waits

        wait_until(gate.started.exists, what="the validation to reach its second row")
        imp = _import(import_id)
        assert imp.status == "validating"
        fragment = client.get(f"/exchange/{import_id}", headers=HX).text
        assert "Checking the file… 1 row so far." in re.sub(r"\s+", " ", fragment)
        assert 'hx-trigger="every 1s"' in fragment
        run = db.session.get(JobRun, imp.job_run_id)
        assert (run.status, run.progress) == ("running", 1)
    finally:
        gate.open()
    wait_until(lambda: _import(import_id).status == "validated", what="the validation")

    response = client.post(f"/exchange/{import_id}/confirm")

    assert response.status_code == 302
    wait_until(
        lambda: db.session.get(JobRun, _import(import_id).job_run_id).status == "done",
        what="the import",
    )
    assert _import(import_id).status == "done"
    runs = db.session.execute(select(JobRun.name, JobRun.status).order_by(JobRun.id)).all()
    assert [tuple(r) for r in runs] == [
        ("crm.exchange.jobs.validate_import", "done"),
        ("crm.exchange.jobs.apply_import", "done"),
    ]
    assert _codes() == CODES


def test_an_import_of_a_kind_being_written_refuses_a_second_one(app, client, login_as, tmp_path):
    app.config.update(UPLOAD_FOLDER=str(tmp_path / "uploads"))
    login_as("admin", name="Anna Admin")
    first, second = _upload(client), _upload(client)
    run = JobRun(
        name="crm.exchange.jobs.apply_import",
        args=[first],
        status="running",
        worker=process_name(),
        started_at=datetime(2026, 12, 1, 9, 30),
    )
    db.session.add(run)
    db.session.flush()
    writing = _import(first)
    writing.status, writing.job_run_id = "importing", run.id
    db.session.commit()

    page = re.sub(
        r"\s+",
        " ",
        html.unescape(client.post(f"/exchange/{second}/confirm", follow_redirects=True).text),
    )

    # 09:30 UTC is 12:30 in Moscow, the user's zone.
    assert (
        "An import of Partners is already running (started by Anna Admin at "
        "1 Dec 2026, 12:30); try again when it finishes."
    ) in page
    assert _import(second).status == "validated"
    assert count(Partner) == 0


def test_two_admins_confirming_imports_of_one_kind_at_once_run_one(
    app, make_user, tmp_path, monkeypatch
):
    if app.config["CRM_BACKEND"] != "postgresql":
        pytest.skip("SQLite has one writer at a time: the race is PostgreSQL's")
    app.config.update(UPLOAD_FOLDER=str(tmp_path / "uploads"))
    admins = [make_user("admin", name=f"Admin {n}") for n in (1, 2)]
    clients = [app.test_client() for _ in admins]
    for admin, client in zip(admins, clients, strict=True):
        response = client.post(
            "/auth/login", data={"email": admin.email, "password": DEFAULT_PASSWORD}
        )
        assert response.status_code == 302
    other = csv_bytes([samples.PARTNERS[0], ["Beta", "P-004"]])
    ids = [_upload(clients[0]), _upload(clients[1], other)]  # validated inline
    assert [_import(i).status for i in ids] == ["validated", "validated"]
    app.config["JOBS_INLINE"] = False  # the winner's import waits at the gate on a thread
    gate = FileGate(tmp_path)
    hold_at_gate(kind_named("partners"), "write", gate, after_calls=1, setattr=monkeypatch.setattr)
    barrier, answers = threading.Barrier(2), {}

    def confirm(n: int) -> None:
        with app.app_context():  # a session and connection of its own
            barrier.wait()
            answers[n] = clients[n].post(f"/exchange/{ids[n]}/confirm").status_code

    threads = [threading.Thread(target=confirm, args=(n,)) for n in (0, 1)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert answers == {0: 302, 1: 302}
        statuses = [_import(i).status for i in ids]
        assert sorted(statuses) == ["importing", "validated"]
        winner, loser = (0, 1) if statuses[0] == "importing" else (1, 0)
        page = _page(clients[loser], ids[loser])
        assert re.search(
            rf"An import of Partners is already running \(started by Admin {winner + 1} at "
            r"\d{1,2} \w{3} \d{4}, \d\d:\d\d\); try again when it finishes\.",
            page,
        )
    finally:
        gate.open()
    wait_until(lambda: _import(ids[winner]).status == "done", what="the winner's import")

    clients[loser].post(f"/exchange/{ids[loser]}/confirm")  # now it may run

    wait_until(lambda: _import(ids[loser]).status == "done", what="the second import")
    assert _codes() == CODES + ["P-004"]
