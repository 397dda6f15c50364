"""Who runs the sending loop (crm.messaging.delivery.run_until_idle): `kick()` makes sure
somebody runs it soon, never the caller.

With Redis: plain RQ jobs on the app's queue (`send_job`, run by `worker.py`), up to
MESSAGING_PARALLEL per channel, each holding a slot key in Redis while queued or running.
Without Redis: one daemon thread of the process (never the request that called kick()).
The periodic dispatcher (crm.messaging.jobs.dispatch) kicks whenever messages are due, which
is what resumes sending after a worker died or Redis restarted."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import uuid

from flask import current_app

from crm.extensions import db
from crm.jobs import redis_connection
from crm.messaging.claims import claimable
from crm.messaging.delivery import ready_channels, run_until_idle
from crm.messaging.rate_limit import redis_namespace

log = logging.getLogger(__name__)

# A send job hands over to a fresh one after this long, so that other jobs on the queue (an
# import, a report) get their turn on a worker during a long mailing.
JOB_BUDGET_SECONDS = 300
# How long a queued send job holds its slot (a running one renews it for a lease): a job
# lost from the queue frees its slot at the latest then.
QUEUED_SLOT_SECONDS = 24 * 3600


_here = threading.local()


@contextlib.contextmanager
def sending_here():
    """Within it (the CLI's dispatch without Redis), kick() starts no thread: the caller sends
    what is due itself afterwards (a thread would die with the command's process)."""
    previous = getattr(_here, "active", False)
    _here.active = True
    try:
        yield
    finally:
        _here.active = previous


def kick() -> None:
    """Make sure the due messages get sent soon, never in the caller: RQ send jobs with
    Redis, the process's sending thread without. Call it after committing the messages (a
    send job may start at once); it writes nothing in the caller's session."""
    if redis_connection() is None:
        if not getattr(_here, "active", False):
            _kick_thread(current_app._get_current_object())
        return
    try:
        _kick_rq()
    except Exception:  # Redis down: the dispatcher kicks again; the caller's work stands
        log.exception("messaging: send jobs not queued")


# With Redis: slots. Slot n of a channel is a key holding the id of the RQ job that serves
# it; set (NX) before the job is queued, renewed by the running job, deleted when it ends.


def _slot_key(channel: str, slot: int) -> str:
    return f"{redis_namespace()}:slot:{channel}:{slot}"


_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
return 0
"""


def _job_alive(conn, job_id: bytes) -> bool:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        status = Job.fetch(job_id.decode(), connection=conn).get_status(refresh=False)
    except NoSuchJobError:
        return False
    return str(getattr(status, "value", status)) in ("queued", "started", "deferred", "scheduled")


def _kick_rq() -> None:
    from crm.jobs import get_queue

    conn = redis_connection()
    batch, parallel = (
        current_app.config["MESSAGING_BATCH"],
        current_app.config["MESSAGING_PARALLEL"],
    )
    for channel in ready_channels():
        due = claimable(channel, batch * parallel)
        wanted = min(parallel, math.ceil(due / batch))
        for slot in range(wanted):
            key = _slot_key(channel, slot)
            current = conn.get(key)
            if current is not None:
                if _job_alive(conn, current):
                    continue
                conn.eval(_RELEASE, 1, key, current)  # a job lost with its queue: free it
            # The job's id names the queue: a test run's cleanup finds its jobs by it.
            token = f"{redis_namespace().replace(':', '-')}-send-{uuid.uuid4().hex}"
            if conn.set(key, token, nx=True, ex=QUEUED_SLOT_SECONDS):
                get_queue().enqueue(
                    send_job,
                    channel,
                    slot,
                    token,
                    job_id=token,
                    job_timeout=JOB_BUDGET_SECONDS + 3600,
                    result_ttl=60,
                    failure_ttl=24 * 3600,
                )


def send_job(channel: str, slot: int, token: str) -> int:
    """The RQ job of one slot: send `channel`'s due messages until there are none (or the
    job's time is up: a fresh job then takes over); returns how many were processed."""
    conn = redis_connection()
    key = _slot_key(channel, slot)
    ttl = max(10, int(current_app.config["MESSAGING_LEASE_SECONDS"]))
    if not conn.eval(_RENEW, 1, key, token, ttl):
        return 0  # the slot was freed and given to another job meanwhile

    def renew():
        conn.eval(_RENEW, 1, key, token, ttl)

    started = time.monotonic()
    done = 0
    while True:
        left = JOB_BUDGET_SECONDS - (time.monotonic() - started)
        try:
            done += run_until_idle([channel], budget=max(0.0, left), on_renew=renew)
        finally:
            conn.eval(_RELEASE, 1, key, token)
        if time.monotonic() - started >= JOB_BUDGET_SECONDS:
            kick()  # hand over to a fresh job at the back of the queue
            return done
        # Messages stored after the last empty claim but before the release found the slot
        # taken and did not queue a job: take the slot back for them.
        if not claimable(channel, 1) or not conn.set(key, token, nx=True, ex=ttl):
            db.session.commit()
            return done


# Without Redis: one daemon thread per process (per app), with an app context of its own.


class _ThreadState:
    def __init__(self):
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.again = False


_states_lock = threading.Lock()


def _thread_state(app) -> _ThreadState:
    with _states_lock:
        return app.extensions.setdefault("crm.messaging.sender", _ThreadState())


def _kick_thread(app) -> None:
    state = _thread_state(app)
    with state.lock:
        state.again = True
        if state.thread is not None and state.thread.is_alive():
            return
        state.thread = threading.Thread(
            target=_thread_main, args=(app, state), name="crm-messaging-sender", daemon=True
        )
        state.thread.start()


def _thread_main(app, state: _ThreadState) -> None:
    with app.app_context():
        try:
            while True:
                with state.lock:
                    state.again = False
                run_until_idle()
                with state.lock:
                    if not state.again:
                        state.thread = None
                        return
        except Exception:
            log.exception("messaging: the sending thread stopped")
            with state.lock:
                state.thread = None
        finally:
            db.session.remove()


def wait_for_sending_thread(app=None, timeout: float = 60) -> bool:
    """Wait until this process's sending thread (no Redis) has nothing left; True when it
    ended in time. For the CLI and tests."""
    state = _thread_state(app or current_app._get_current_object())
    deadline = time.monotonic() + timeout
    while True:
        with state.lock:
            thread = state.thread
        if thread is None:
            return True
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            return False
