"""RQ worker: `python worker.py [--burst]` serves the queues named in RQ_QUEUES from REDIS_URL.

Jobs run inside one app context. The worker is an RQ SimpleWorker (no fork per job) so the
SQLAlchemy connection pool is never shared between processes.

`python worker.py --cron` is the cron process instead: it enqueues the periodic jobs (the
notification producers, such as interaction reminders, every minute, the periodic jobs of
crm.core.periodic, such as the monthly analytics snapshots, and the sweep that marks the jobs of
dead workers failed) for the workers to run.
Run exactly one: RQ's cron takes no lock, so two would enqueue everything twice.
"""

from __future__ import annotations

import argparse
import sys

from rq import Queue, SimpleWorker

from crm import create_app
from crm.jobs import redis_connection, sweep_dead_jobs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", action="store_true", help="Exit when the queues are empty.")
    parser.add_argument("--cron", action="store_true",
                        help="Run the (single) cron process that enqueues periodic jobs.")  # fmt: skip
    args = parser.parse_args(argv)
    app = create_app()
    with app.app_context():
        connection = redis_connection(app)
        if connection is None:
            print("REDIS_URL is not set: jobs run on threads of the web process, no worker needed.")
            return 1
        if args.cron:
            run_cron(app, connection)
            return 0
        sweep_dead_jobs(force=True)  # what a worker killed before this one left running
        queues = [Queue(name, connection=connection) for name in app.config["RQ_QUEUES"]]
        SimpleWorker(queues, connection=connection).work(burst=args.burst, with_scheduler=True)
    return 0


def run_cron(app, connection) -> None:
    """Enqueue every notification producer and periodic job on the first queue every
    `interval` seconds."""
    from rq.cron import CronScheduler

    from crm.core.periodic import periodic_jobs
    from crm.notifications.producers import producers

    cron = CronScheduler(connection=connection)
    for producer in producers(app):
        # Not run through crm.jobs (no JobRun row a minute). A job nobody picked up within
        # ten intervals is dropped (the next one does the same work); failures are kept a day.
        cron.register(producer.func, queue_name=app.config["RQ_QUEUES"][0],
                      interval=producer.interval, job_timeout=600, ttl=10 * producer.interval,
                      result_ttl=producer.interval, failure_ttl=24 * 3600)  # fmt: skip
    # Other periodic work the domains registered (crm.core.periodic), e.g. the analytics
    # snapshots of the last complete month.
    for periodic in periodic_jobs(app):
        cron.register(periodic.func, queue_name=app.config["RQ_QUEUES"][0],
                      interval=periodic.interval, job_timeout=6 * 3600, ttl=10 * periodic.interval,
                      result_ttl=periodic.interval, failure_ttl=24 * 3600)  # fmt: skip
    # Jobs whose worker died (SIGKILL, a lost machine) are marked failed once their lease ran
    # out, so that the user can run them again (crm.jobs.sweep_dead_jobs).
    every = max(1, int(app.config["JOB_SWEEP_SECONDS"]))
    cron.register(
        sweep_dead_jobs,
        queue_name=app.config["RQ_QUEUES"][0],
        kwargs={"force": True},
        interval=every,
        job_timeout=600,
        ttl=10 * every,
        result_ttl=every,
        failure_ttl=24 * 3600,
    )
    cron.start()


if __name__ == "__main__":
    sys.exit(main())
