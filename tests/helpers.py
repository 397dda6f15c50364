"""Running writers at the same moment: threads with a database session and connection each,
and a meeting point that holds every thread at one place in the real code until all arrive
(so a race is run the same way every time instead of by luck)."""

from __future__ import annotations

import threading

from crm.extensions import db

TIMEOUT = 60  # seconds a thread may wait for the others: far beyond any real run


def run_together(app, n: int, work) -> list:
    """Call work(i) for i in 0..n-1 in n threads that start together, each inside an app
    context of its own (so its own session and connection); the results in order. An
    exception in a thread fails the test."""
    results: list = [None] * n
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def run(i: int) -> None:
        with app.app_context():
            try:
                start.wait(timeout=TIMEOUT)
                results[i] = work(i)
            except BaseException as exc:  # noqa: BLE001  (re-raised in the test's thread)
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=TIMEOUT * 2)
    assert not any(t.is_alive() for t in threads), "a writer thread hung"
    if errors:
        raise errors[0]
    return results


def meet_before(monkeypatch, owner, name: str, parties: int) -> None:
    """Hold the first call of `owner.name` in each thread until `parties` threads have
    reached it; then every call goes on to the real function."""
    real = getattr(owner, name)
    barrier = threading.Barrier(parties)
    local = threading.local()

    def wrapper(*args, **kwargs):
        if not getattr(local, "met", False):
            local.met = True
            barrier.wait(timeout=TIMEOUT)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
