"""Background jobs: a JobRun row records each run; inline without Redis, a real RQ worker
process (`python worker.py --burst`) with it."""

from __future__ import annotations

from sqlalchemy import select, update

from crm.core.models import JobRun
from crm.extensions import db
from crm.jobs import enqueue
from crm.partners.jobs import rebuild_search_index
from crm.partners.models import Partner
from tests.core.helpers import run_worker


def failing_job(partner_id: int, *, run) -> None:
    """A job that changes a partner, then breaks: nothing it wrote may stay."""
    partner = db.session.get(Partner, partner_id)
    partner.city = "Half-written"
    db.session.flush()
    raise ValueError(f"cannot process partner {partner_id}")


def _seed(make_partner, manager):
    make_partner(
        name="ООО Ромашка",
        responsible=manager,
        emails=["Info@Romashka.example"],
        phones=["+7 (495) 123-45-67"],
        city="Москва",
    )
    make_partner(name="Acme Trading", responsible=manager, inn="7701234567")
    make_partner(name="Иванов Пётр", responsible=manager, kind="person")


def _search_texts() -> dict[str, str]:
    db.session.expire_all()
    rows = db.session.execute(select(Partner.name, Partner.search_text)).all()
    return dict(rows)


def _blank_search_text() -> None:
    db.session.execute(update(Partner).values(search_text="", name_norm=""))
    db.session.commit()


def _partner_names_found(client, q: str) -> str:
    response = client.get("/partners/", query_string={"q": q}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


# --- inline (no Redis) ----------------------------------------------------------------


def test_rebuild_search_index_inline_restores_search(app, client, login_as, make_partner):
    manager = login_as("manager")
    manager_id = manager.id
    _seed(make_partner, manager)
    expected = _search_texts()
    assert "romashka.example" in expected["ООО Ромашка"]  # the factory filled it
    _blank_search_text()
    assert "ООО Ромашка" not in _partner_names_found(client, "ромашка")

    run = enqueue(rebuild_search_index, user=manager)

    assert (run.status, run.progress, run.total, run.message) == ("done", 3, 3, "")
    assert run.percent == 100
    assert run.started_at is not None and run.finished_at is not None
    assert run.user_id == manager_id
    assert _search_texts() == expected
    # The signed-in user still works after the job (its session did not detach ours).
    found = _partner_names_found(client, "ромашка")
    assert "ООО Ромашка" in found and "Acme" not in found
    assert "Acme Trading" in _partner_names_found(client, "7701234567")
    assert "ООО Ромашка" in _partner_names_found(client, "4951234567")


def test_rebuild_search_index_twice_gives_same_result(app, make_partner, make_user):
    _seed(make_partner, make_user("manager"))
    expected = _search_texts()
    _blank_search_text()

    first = enqueue(rebuild_search_index).id
    after_first = _search_texts()
    second = enqueue(rebuild_search_index).id

    assert after_first == expected
    assert _search_texts() == expected
    runs = [db.session.get(JobRun, i) for i in (first, second)]
    assert [(r.status, r.progress, r.total) for r in runs] == [("done", 3, 3)] * 2


def test_failing_job_is_recorded_as_failed_and_rolled_back(app, make_partner, caplog):
    partner = make_partner(name="Broken Ltd", city="Kazan")

    run_id = enqueue(failing_job, partner.id).id

    db.session.expire_all()
    run = db.session.get(JobRun, run_id)
    assert run.status == "failed"
    assert run.message == (
        "The job failed because of an internal error; nothing was written. "
        f"The error is logged (reference #{run_id})."
    )
    assert f"cannot process partner {partner.id}" in caplog.text  # the details: log only
    assert run.finished_at is not None
    assert run.args == [partner.id]
    assert db.session.get(Partner, partner.id).city == "Kazan"


# --- a real RQ worker process -----------------------------------------------------------


def test_rq_worker_process_rebuilds_search_index(rq_app, client, login_as, make_partner):
    manager = login_as("manager")
    _seed(make_partner, manager)
    expected = _search_texts()
    _blank_search_text()

    run_id = enqueue(rebuild_search_index, user=manager).id

    run = db.session.get(JobRun, run_id)
    assert run.status == "queued" and run.rq_job_id  # waits for the worker
    assert _search_texts()["ООО Ромашка"] == ""
    result = run_worker(rq_app)
    assert result.returncode == 0, result.stdout + result.stderr
    run = db.session.get(JobRun, run_id)
    assert (run.status, run.progress, run.total, run.message) == ("done", 3, 3, "")
    assert _search_texts() == expected
    assert "ООО Ромашка" in _partner_names_found(client, "ромашка")


def test_rq_worker_process_records_a_failing_job(rq_app, make_partner):
    partner_id = make_partner(name="Broken Ltd", city="Kazan").id

    run_id = enqueue(failing_job, partner_id).id
    result = run_worker(rq_app)

    assert result.returncode == 0, result.stdout + result.stderr
    run = db.session.get(JobRun, run_id)
    assert run.status == "failed"
    assert run.message == (
        "The job failed because of an internal error; nothing was written. "
        f"The error is logged (reference #{run_id})."
    )
    assert f"cannot process partner {partner_id}" in result.stderr  # the worker's log
    assert db.session.get(Partner, partner_id).city == "Kazan"


def test_a_failed_job_says_so_in_the_language_of_its_user(app, make_partner, make_user):
    partner = make_partner(name="Broken Ltd", city="Kazan")
    russian = make_user("manager", locale="ru")

    run_id = enqueue(failing_job, partner.id, user=russian).id

    db.session.expire_all()
    assert db.session.get(JobRun, run_id).message == (
        "Задание не выполнено из-за внутренней ошибки; ничего не записано. "
        f"Ошибка записана в журнал (номер #{run_id})."
    )
