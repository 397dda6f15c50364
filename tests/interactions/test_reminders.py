"""Reminders: the responsible user is notified `remind` minutes before an open interaction
starts and when a follow-up date passes, once each however often the job runs; e-mail copies
go through a real SMTP server; the job runs inline, from the badge poll, from the CLI, and in a
real RQ worker process (enqueued directly or by `worker.py --cron`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from crm.core.models import JobRun
from crm.core.registry import Registry
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.interactions import services
from crm.interactions.jobs import send_reminders
from crm.jobs import enqueue
from crm.notifications.models import Notification
from crm.notifications.producers import PRODUCERS, NotificationProducer, producers
from tests.core.helpers import ROOT, run_worker
from tests.notifications import helpers

smtp_inbox = helpers.smtp_inbox

NOW = datetime(2026, 11, 28, 10, 0)  # UTC; 13:00 in Moscow, the users' zone
HTMX = {"HX-Request": "true"}


def at(hh_mm: str, day: int = 28) -> datetime:
    hours, minutes = map(int, hh_mm.split(":"))
    return datetime(2026, 11, day, hours, minutes)


def plan(actor, partner=None, **data):
    """An interaction recorded through the service, as the forms do; committed."""
    values = {
        "kind": "meeting",
        "duration_minutes": 30,
        "remind_minutes": 15,
        "partner_id": partner.id if partner else None,
    }
    values.update(data)
    if values["kind"] in ("call", "sms", "email"):
        values.setdefault("direction", "outgoing")
    i = services.create_interaction(actor, values)
    db.session.commit()
    return i


def notifications() -> set[tuple]:
    db.session.expire_all()
    rows = db.session.execute(
        select(Notification.user_id, Notification.key, Notification.title, Notification.url)
    ).all()
    return {tuple(r) for r in rows}


@pytest.fixture
def manager(make_user):
    return make_user("manager", email="ivanov@example.test", name="Иван Иванов")


@pytest.fixture
def romashka(make_partner, manager):
    return make_partner(name="ООО Ромашка", responsible=manager)


# --- what is due --------------------------------------------------------------------------


def test_reminders_before_the_start_respect_the_window_edges(app, manager, romashka):
    at_lower_edge = plan(manager, romashka, title="Contract renewal", starts_at=at("10:15"))
    plan(manager, romashka, starts_at=at("10:16"))  # reminder due from 10:01
    plan(manager, romashka, starts_at=at("10:00"))  # started: too late to remind
    an_hour_ahead = plan(
        manager, kind="planned", title="Budget review", starts_at=at("10:30"), remind_minutes=60
    )
    at_start = plan(
        manager, kind="call", contact_text="Пётр", starts_at=at("10:00"), remind_minutes=0
    )
    plan(manager, romashka, starts_at=at("09:59"), remind_minutes=0)  # its minute is over
    tomorrow = plan(manager, romashka, starts_at=at("09:00", day=29), remind_minutes=24 * 60)
    plan(manager, romashka, starts_at=at("10:05"), remind_minutes=None)  # reminder off

    result = send_reminders(now=NOW)

    m = manager.id
    assert notifications() == {
        (
            m,
            f"interaction:{at_lower_edge.id}:start:2026-11-28T10:15",
            "Meeting with ООО Ромашка at 13:15",
            f"/interactions/{at_lower_edge.id}",
        ),
        (
            m,
            f"interaction:{an_hour_ahead.id}:start:2026-11-28T10:30",
            "Planned interaction: Budget review at 13:30",
            f"/interactions/{an_hour_ahead.id}",
        ),
        (
            m,
            f"interaction:{at_start.id}:start:2026-11-28T10:00",
            "Phone call with Пётр at 13:00",
            f"/interactions/{at_start.id}",
        ),
        (
            m,
            f"interaction:{tomorrow.id}:start:2026-11-29T09:00",
            "Meeting with ООО Ромашка at 29 Nov 2026, 12:00",
            f"/interactions/{tomorrow.id}",
        ),
    }
    assert result == {"notified": 4, "emailed": 0}


def test_only_open_interactions_are_reminded_of_their_start(app, manager, romashka):
    kept = {}
    for status in ("planned", "in_progress", "deferred", "completed", "cancelled"):
        kept[status] = plan(manager, romashka, status=status, starts_at=at("10:10"))

    send_reminders(now=NOW)

    keys = {key for _, key, _, _ in notifications()}
    assert keys == {
        f"interaction:{kept[s].id}:start:2026-11-28T10:10"
        for s in ("planned", "in_progress", "deferred")
    }


def test_follow_ups_that_passed_within_a_week_are_announced(app, manager, romashka):
    yesterday = at("09:00", day=27)
    called = plan(
        manager,
        romashka,
        kind="call",
        status="completed",
        starts_at=yesterday,
        follow_up_at=at("09:59"),
    )
    plan(manager, romashka, kind="call", status="completed", starts_at=yesterday,
         follow_up_at=at("10:01"))  # not yet  # fmt: skip
    week_ago = plan(
        manager,
        romashka,
        status="completed",
        title="Offer",
        starts_at=yesterday,
        follow_up_at=at("10:00", day=21),
    )
    plan(manager, romashka, status="completed", starts_at=yesterday,
         follow_up_at=at("09:59", day=21))  # a minute too old  # fmt: skip
    plan(manager, romashka, status="cancelled", starts_at=yesterday, follow_up_at=at("09:00"))
    exactly_now = plan(
        manager,
        kind="planned",
        title="Send the price list",
        starts_at=yesterday,
        follow_up_at=NOW,
        remind_minutes=None,
    )

    result = send_reminders(now=NOW)

    m = manager.id
    assert notifications() == {
        (
            m,
            f"interaction:{called.id}:follow-up:2026-11-28T09:59",
            "Follow-up due: Phone call with ООО Ромашка (12:59)",
            f"/interactions/{called.id}",
        ),
        (
            m,
            f"interaction:{week_ago.id}:follow-up:2026-11-21T10:00",
            "Follow-up due: Meeting with ООО Ромашка (21 Nov 2026, 13:00)",
            f"/interactions/{week_ago.id}",
        ),
        (
            m,
            f"interaction:{exactly_now.id}:follow-up:2026-11-28T10:00",
            "Follow-up due: Planned interaction: Send the price list (13:00)",
            f"/interactions/{exactly_now.id}",
        ),
    }
    assert result["notified"] == 3


def test_the_responsible_user_is_notified_in_his_own_zone(app, make_user, make_partner):
    anna = make_user("manager", timezone="Asia/Yekaterinburg")  # UTC+5
    boris = make_user("manager", timezone="Europe/Moscow")
    carl = make_user("manager")
    plan(anna, make_partner(name="Acme", responsible=anna), starts_at=at("10:10"))
    plan(boris, make_partner(name="Beta", responsible=boris), starts_at=at("10:10"))
    plan(carl, make_partner(name="Gamma", responsible=carl), starts_at=at("10:10"))
    carl.active = False  # he left: nobody to remind
    db.session.commit()

    send_reminders(now=NOW)

    assert {(u, title) for u, _, title, _ in notifications()} == {
        (anna.id, "Meeting with Acme at 15:10"),
        (boris.id, "Meeting with Beta at 13:10"),
    }


# --- once only ----------------------------------------------------------------------------


def test_running_twice_creates_nothing_new(app, manager, romashka):
    plan(manager, romashka, starts_at=at("10:15"))
    plan(
        manager,
        romashka,
        kind="call",
        status="completed",
        starts_at=at("09:00", day=27),
        follow_up_at=at("09:30"),
    )

    first = send_reminders(now=NOW)
    after_first = notifications()
    second = send_reminders(now=NOW)
    third = send_reminders(now=NOW + timedelta(minutes=5))

    assert first["notified"] == 2
    assert second == third == {"notified": 0, "emailed": 0}
    assert notifications() == after_first


def test_a_rescheduled_interaction_is_reminded_again(app, manager, romashka):
    i = plan(manager, romashka, starts_at=at("10:10"))
    send_reminders(now=NOW)
    services.reschedule(manager, i, at("10:20"))
    db.session.commit()

    result = send_reminders(now=at("10:06"))

    assert result["notified"] == 1
    assert {(key, title) for _, key, title, _ in notifications()} == {
        (f"interaction:{i.id}:start:2026-11-28T10:10", "Meeting with ООО Ромашка at 13:10"),
        (f"interaction:{i.id}:start:2026-11-28T10:20", "Meeting with ООО Ромашка at 13:20"),
    }


# --- e-mail -------------------------------------------------------------------------------


def test_reminders_are_e_mailed_once_through_smtp(app, manager, romashka, smtp_inbox):
    i = plan(manager, romashka, title="Contract renewal", starts_at=at("10:15"))

    first = send_reminders(now=NOW)
    second = send_reminders(now=NOW)

    assert first == {"notified": 1, "emailed": 1}
    assert second == {"notified": 0, "emailed": 0}
    assert len(smtp_inbox.messages) == 1
    sender, recipients, msg = smtp_inbox.messages[0]
    assert (sender, recipients) == ("crm@example.test", ["ivanov@example.test"])
    assert msg["Subject"] == "Meeting with ООО Ромашка at 13:15"
    # The footer: when the notification was made, in the reader's zone (Moscow, UTC+3) and
    # language (English), written by hand from its stored UTC time.
    made = db.session.execute(select(Notification.created_at)).scalar_one() + timedelta(hours=3)
    assert msg.get_content().replace("\r\n", "\n") == (
        "Meeting with ООО Ромашка at 13:15\n\nContract renewal\n\n"
        f"Open in the CRM: https://crm.example.test/interactions/{i.id}\n\n-- \n"
        f"A CRM notification of {made.day} {made:%b} {made.year}, {made:%H:%M} (Europe/Moscow).\n"
        "All your notifications: https://crm.example.test/notifications/\n"
    )


def test_job_run_records_the_counts(app, manager, romashka, smtp_inbox):
    plan(manager, romashka, starts_at=utcnow() + timedelta(minutes=10))

    run = enqueue(send_reminders)

    assert (run.status, run.message) == ("done", "1 notified, 1 e-mailed")
    assert len(smtp_inbox.messages) == 1


# --- the three ways it runs ---------------------------------------------------------------


def test_flask_crm_reminders_runs_the_job(app, runner, manager, romashka):
    plan(manager, romashka, starts_at=utcnow() + timedelta(minutes=10))

    first = runner.invoke(args=["crm", "reminders"])
    second = runner.invoke(args=["crm", "reminders"])

    assert first.exit_code == 0, first.output
    # A line per producer: other domains (deals) register theirs too.
    assert "interaction-reminders: 1 notified, 0 emailed" in first.output.splitlines()
    assert "interaction-reminders: 0 notified, 0 emailed" in second.output.splitlines()
    assert len(notifications()) == 1


INLINE_AT = "crm.notifications_inline_at"


def test_badge_poll_runs_the_reminders_inline_once_a_minute(
    app, client, login_as, make_partner, monkeypatch
):
    monkeypatch.delitem(app.extensions, INLINE_AT, raising=False)
    me = login_as("manager")
    partner = make_partner(name="ООО Ромашка", responsible=me)
    plan(me, partner, starts_at=utcnow() + timedelta(minutes=10))

    first = client.get("/notifications/badge", headers=HTMX).get_data(as_text=True)
    plan(me, partner, starts_at=utcnow() + timedelta(minutes=5))
    within_a_minute = client.get("/notifications/badge", headers=HTMX).get_data(as_text=True)
    app.extensions[INLINE_AT] -= 61
    a_minute_later = client.get("/notifications/badge", headers=HTMX).get_data(as_text=True)

    assert ">1<span" in first
    assert ">1<span" in within_a_minute
    assert ">2<span" in a_minute_later


def test_a_failing_inline_run_does_not_break_the_badge(app, client, login_as, monkeypatch):
    def broken(run=None, now=None):
        raise RuntimeError("database hiccup")

    monkeypatch.delitem(app.extensions, INLINE_AT, raising=False)
    monkeypatch.setitem(app.extensions, PRODUCERS.name, Registry())
    PRODUCERS.register(app, NotificationProducer("broken", broken))
    login_as("manager")

    response = client.get("/notifications/badge", headers=HTMX)

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Notifications" in body and "badge" not in body  # the link, no unread count


def test_badge_poll_hands_the_reminders_to_a_thread_and_answers_at_once(
    app, client, login_as, make_partner, monkeypatch
):
    """Without JOBS_INLINE (as in production) the poll never waits for the producers: one
    that blocks (an SMTP server that does not answer) does not hold the badge."""
    import threading

    app.config["JOBS_INLINE"] = False
    monkeypatch.delitem(app.extensions, INLINE_AT, raising=False)
    release, finished = threading.Event(), threading.Event()

    def slow(run=None, now=None):
        release.wait(timeout=60)
        send_reminders(now=now)
        finished.set()

    monkeypatch.setitem(app.extensions, PRODUCERS.name, Registry())
    PRODUCERS.register(app, NotificationProducer("slow", slow))
    me = login_as("manager")
    plan(me, make_partner(responsible=me), starts_at=utcnow() + timedelta(minutes=10))
    db.session.commit()

    body = client.get("/notifications/badge", headers=HTMX).get_data(as_text=True)

    assert "Notifications" in body and "badge" not in body  # answered while the job waits
    release.set()
    assert finished.wait(timeout=60)
    db.session.expire_all()
    assert len(notifications()) == 1
    again = client.get("/notifications/badge", headers=HTMX).get_data(as_text=True)
    assert ">1<span" in again


def test_badge_poll_leaves_reminders_to_the_worker_when_redis_is_set(
    rq_app, client, login_as, make_partner, monkeypatch
):
    monkeypatch.delitem(rq_app.extensions, INLINE_AT, raising=False)
    me = login_as("manager")
    plan(me, make_partner(responsible=me), starts_at=utcnow() + timedelta(minutes=10))

    body = client.get("/notifications/badge", headers=HTMX).get_data(as_text=True)

    assert "Notifications" in body and "badge" not in body
    assert notifications() == set()


def test_rq_worker_process_sends_the_reminders(rq_app, manager, romashka):
    i = plan(manager, romashka, starts_at=utcnow() + timedelta(minutes=10))
    expected_key = f"interaction:{i.id}:start:{i.starts_at:%Y-%m-%dT%H:%M}"

    run_id = enqueue(send_reminders).id
    assert notifications() == set()  # queued, not run yet
    result = run_worker(rq_app)

    assert result.returncode == 0, result.stdout + result.stderr
    run = db.session.get(JobRun, run_id)
    assert (run.status, run.message) == ("done", "1 notified, 0 e-mailed")
    assert {(u, key) for u, key, _, _ in notifications()} == {(manager.id, expected_key)}


def _worker_env(app) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        RQ_QUEUES=",".join(app.config["RQ_QUEUES"]),
        SECRET_KEY="worker-test-secret",
        UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"],
    )
    return env


def test_cron_process_enqueues_the_reminders_for_the_worker(rq_app, manager, romashka):
    from redis import Redis
    from rq import Queue

    i = plan(manager, romashka, starts_at=utcnow() + timedelta(minutes=10))
    connection = Redis.from_url(rq_app.config["REDIS_URL"])
    queue = Queue(rq_app.config["RQ_QUEUES"][0], connection=connection)
    cron = subprocess.Popen(
        [sys.executable, "worker.py", "--cron"],
        cwd=ROOT,
        env=_worker_env(rq_app),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        # Each periodic job once: every notification producer (the reminders, other domains'
        # ones), the other periodic jobs (crm.core.periodic) and the sweep of dead workers' jobs.
        from crm.core.periodic import periodic_jobs

        expected = len(producers(rq_app)) + len(periodic_jobs(rq_app)) + 1
        while queue.count < expected and time.monotonic() < deadline and cron.poll() is None:
            time.sleep(0.2)
        job_ids = queue.job_ids
    finally:
        cron.terminate()
        output = cron.communicate(timeout=30)[0]
    assert cron.returncode == 0, output
    jobs = sorted(queue.fetch_job(job_id).func_name for job_id in job_ids)
    assert len(jobs) == expected
    assert {"crm.interactions.jobs.send_reminders", "crm.jobs.sweep_dead_jobs"} <= set(jobs)

    result = run_worker(rq_app)

    assert result.returncode == 0, result.stdout + result.stderr
    assert {key for _, key, _, _ in notifications()} == {
        f"interaction:{i.id}:start:{i.starts_at:%Y-%m-%dT%H:%M}"
    }
    for name in jobs:
        connection.zrem(f"rq:cron_job:{name}:jobs", *job_ids)
    for job_id in job_ids:
        connection.delete(f"rq:job:{job_id}", f"rq:results:{job_id}")
    connection.close()
