"""Delivery by real `worker.py` processes on Redis, to a real SMTP server: two workers share
a mailing to a 2,000-contact segment and reach every consenting contact once; a worker killed
(SIGKILL) in the instant between the server's acceptance and its own record is replaced, and
every contact is reached with exactly that one message repeated, under the same Message-ID;
sending resumes when Redis lost its queue; the rate limit counts every worker's messages."""

from __future__ import annotations

import time
from collections import Counter

from sqlalchemy import select

from crm.core.models import JobRun
from crm.extensions import db
from crm.messaging import jobs, rate_limit, runners
from crm.messaging.jobs import start_mailing_now
from crm.messaging.models import Mailing, Message
from tests.core.helpers import kill, start_process, wait_until
from tests.messaging.delivery_helpers import (
    RecordLock,
    make_mailing,
    make_population,
    new_group,
    new_template,
    states,
    worker_settings,
)


def _mailing_state(mailing_id: int) -> str:
    return db.session.execute(select(Mailing.state).where(Mailing.id == mailing_id)).scalar_one()


def _setup(app, make_user, contacts: int):
    marketer = make_user("marketer")
    pop = make_population(contacts)
    mailing = make_mailing(
        new_template(), new_group(), segment_id=pop.segment_id, created_by=marketer
    )
    return marketer, pop, mailing


def _output(processes) -> str:
    return "\n".join(kill(p)[-3000:] for p in processes)


def test_two_workers_deliver_a_segment_mailing_to_each_consenting_contact_once(
    rq_app, make_user, mail_server
):
    rq_app.config.update(MESSAGING_LEASE_SECONDS=30)
    marketer, pop, mailing = _setup(rq_app, make_user, 2000)
    workers = [start_process(rq_app, ["worker.py"], **worker_settings(rq_app)) for _ in range(2)]
    try:
        run = start_mailing_now(mailing, marketer)
        assert run.rq_job_id  # queued on RQ for the workers
        wait_until(lambda: _mailing_state(mailing.id) == "done", timeout=150, what="done")
    except AssertionError:
        raise AssertionError(_output(workers)) from None
    finally:
        output = _output(workers)
    received = Counter(mail_server.recipients())
    assert set(received) == pop.expected, output
    assert max(received.values()) == 1
    assert states(mailing.id) == {"sent": len(pop.expected)}
    # Both workers sent part of it.
    senders = db.session.execute(
        select(Message.claimed_by).where(Message.mailing_id == mailing.id).distinct()
    ).scalars()
    assert len({name.rsplit(":", 1)[0] for name in senders}) == 2


def test_a_worker_killed_between_acceptance_and_record_is_replaced_with_one_repeat(
    rq_app, make_user, mail_server
):
    # Short leases: what the killed worker held is taken again within seconds.
    rq_app.config.update(MESSAGING_LEASE_SECONDS=3)
    marketer, pop, mailing = _setup(rq_app, make_user, 2000)
    # The message half-way through (claims go in the order the messages were made, which is
    # the partners' order: c00000…, then the contact persons' p… addresses).
    victim = sorted(a for a in pop.expected if a.startswith("c"))[len(pop.expected) // 2]
    lock = RecordLock(rq_app, victim)
    mail_server.on_accept = lock
    settings = worker_settings(rq_app)
    first = start_process(rq_app, ["worker.py"], **settings)
    processes = [first]
    try:
        start_mailing_now(mailing, marketer)
        assert lock.taken.wait(150), _output(processes)
        # The server has accepted the victim; its worker waits to record it: killed now.
        kill(first)
    finally:
        lock.release()
    try:
        sent_before = mail_server.count()
        assert 0 < sent_before < len(pop.expected)
        assert states(mailing.id)["sending"] >= 1  # what the dead worker held
        processes.append(start_process(rq_app, ["worker.py"], **settings))
        last = [0.0]

        def finished():
            if time.monotonic() - last[0] > 1:  # the dispatcher's round, as cron runs it
                jobs.dispatch()
                last[0] = time.monotonic()
            return _mailing_state(mailing.id) == "done"

        wait_until(finished, timeout=150, what="the mailing to finish")
    except AssertionError:
        raise AssertionError(_output(processes)) from None
    finally:
        _output(processes)
    received = Counter(mail_server.recipients())
    assert set(received) == pop.expected
    # Exactly one repeat: the message in flight when its worker was killed, same Message-ID.
    assert [a for a, n in received.items() if n > 1] == [victim]
    assert received[victim] == 2
    ids = mail_server.message_ids(victim)
    stored = db.session.execute(
        select(Message.rfc_message_id).where(Message.address_norm == victim)
    ).scalar_one()
    assert ids == [stored, stored]
    assert states(mailing.id) == {"sent": len(pop.expected)}


def test_sending_resumes_after_redis_lost_the_queued_send_jobs(rq_app, make_user, mail_server):
    from redis import Redis

    marketer, pop, mailing = _setup(rq_app, make_user, 200)
    # The start job, run here: it stores the messages and queues send jobs on RQ.
    jobs.start_mailing(mailing.id, run=JobRun(name=jobs.START_JOB, args=[mailing.id]))
    queue = rq_app.config["RQ_QUEUES"][0]
    connection = Redis.from_url(rq_app.config["REDIS_URL"])
    assert connection.llen(f"rq:queue:{queue}") >= 1
    # Redis restarts empty: the queue, the jobs and the slots are gone.
    for key in list(connection.scan_iter(match=f"*{queue}*", count=1000)):
        connection.delete(key)
    assert states(mailing.id) == {"queued": len(pop.expected)}

    worker = start_process(rq_app, ["worker.py"], **worker_settings(rq_app))
    try:
        jobs.dispatch()  # the cron's next round finds the due messages and queues their jobs
        wait_until(lambda: _mailing_state(mailing.id) == "done", timeout=90, what="done")
    except AssertionError:
        raise AssertionError(_output([worker])) from None
    finally:
        _output([worker])
        connection.close()
    received = Counter(mail_server.recipients())
    assert set(received) == pop.expected and max(received.values()) == 1


def test_kick_queues_no_more_send_jobs_than_the_work_needs(rq_app, make_user, mail_server):
    from redis import Redis

    rq_app.config.update(MESSAGING_BATCH=50, MESSAGING_PARALLEL=3)
    _marketer, pop, mailing = _setup(rq_app, make_user, 80)
    jobs.start_mailing(mailing.id, run=JobRun(name=jobs.START_JOB, args=[mailing.id]))
    for _ in range(5):
        runners.kick()
    queue = rq_app.config["RQ_QUEUES"][0]
    connection = Redis.from_url(rq_app.config["REDIS_URL"])
    try:
        assert 50 < len(pop.expected) <= 100  # two batches' worth: two jobs, not three
        assert connection.llen(f"rq:queue:{queue}") == 2
    finally:
        connection.close()


def test_the_rate_limit_counts_the_messages_of_every_worker(rq_app):
    from redis import Redis

    rq_app.config.update(MESSAGING_RATE_EMAIL=5)
    connection = Redis.from_url(rq_app.config["REDIS_URL"])
    try:
        # Other workers have sent this second's five already (as their counter in Redis
        # says): this one waits for the next second.
        while True:
            now = time.time()
            if now % 1 < 0.5:  # room to set the counter before the second ends
                break
            time.sleep(0.05)
        window = int(now)
        connection.set(f"{rate_limit.redis_namespace()}:rate:email:{window}", 5, ex=5)
        rate_limit.wait_for_rate("email")
        assert time.time() >= window + 1
    finally:
        connection.close()
