"""RQ worker: `python worker.py [--burst]` serves the queues named in RQ_QUEUES from REDIS_URL.

Jobs run inside one app context. The worker is an RQ SimpleWorker (no fork per job) so the
SQLAlchemy connection pool is never shared between processes.
"""

from __future__ import annotations

import argparse
import sys

from rq import Queue, SimpleWorker

from crm import create_app
from crm.jobs import redis_connection


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", action="store_true", help="Exit when the queues are empty.")
    args = parser.parse_args(argv)
    app = create_app()
    with app.app_context():
        connection = redis_connection(app)
        if connection is None:
            print("REDIS_URL is not set: jobs run inline in the web process, no worker needed.")
            return 1
        queues = [Queue(name, connection=connection) for name in app.config["RQ_QUEUES"]]
        SimpleWorker(queues, connection=connection).work(burst=args.burst, with_scheduler=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
