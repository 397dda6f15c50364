"""The rate limit per channel: at most MESSAGING_RATE_<CHANNEL> messages a second over all
workers (a counter per window in Redis), or per process without Redis. Also the namespace of
the messaging's keys in Redis (the windows here, the send jobs' slots in
crm.messaging.runners)."""

from __future__ import annotations

import math
import threading
import time

from flask import current_app

from crm.jobs import redis_connection

# Without Redis: the count of the current window of each channel, this process only.
_local_windows: dict[tuple, int] = {}
_local_lock = threading.Lock()


def _window(rate: float) -> tuple[int, int]:
    """(window in seconds, messages per window) for `rate` messages a second (0.5: one in 2 s)."""
    seconds = 1 if rate >= 1 else math.ceil(1 / rate)
    return seconds, max(1, int(rate * seconds))


def redis_namespace() -> str:
    """The prefix of the messaging's keys in Redis: apps (or test runs) sharing a Redis keep
    their keys apart by their queue's name."""
    return f"crm:messaging:{current_app.config['RQ_QUEUES'][0]}"


def wait_for_rate(channel: str) -> None:
    """Block until one more message of `channel` may go: MESSAGING_RATE_<CHANNEL> a second
    over all workers (a counter per window in Redis), or per process without Redis."""
    rate = float(current_app.config[f"MESSAGING_RATE_{channel.upper()}"] or 0)
    if rate <= 0:
        return
    seconds, allowed = _window(rate)
    conn = redis_connection()
    while True:
        now = time.time()
        window = int(now // seconds)
        if conn is not None:
            key = f"{redis_namespace()}:rate:{channel}:{window}"
            pipe = conn.pipeline()
            pipe.incr(key)
            pipe.expire(key, seconds + 1)
            count = pipe.execute()[0]
        else:
            with _local_lock:
                for old in [k for k in _local_windows if k[0] == channel and k[1] < window]:
                    del _local_windows[old]
                count = _local_windows[channel, window] = (
                    _local_windows.get((channel, window), 0) + 1
                )
        if count <= allowed:
            return
        time.sleep(max(0.001, (window + 1) * seconds - now))
