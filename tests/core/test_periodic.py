"""Periodic jobs run by the web process itself when there is no worker (crm.core.periodic):
each when its interval has passed, a failure logged and rolled back, never the others'."""

from __future__ import annotations

from crm.core.periodic import PERIODIC_JOBS, PeriodicJob, periodic_jobs, run_due

CALLS: list[str] = []


def ticking():
    CALLS.append("tick")


def failing():
    CALLS.append("fail")
    raise RuntimeError("boom")


def _ours(keys: list[str]) -> list[str]:
    return [key for key in keys if key.startswith("test-")]


def test_due_jobs_run_once_per_interval_and_a_failure_does_not_stop_the_others(app, caplog):
    saved = app.extensions.get(PERIODIC_JOBS.name)
    app.extensions[PERIODIC_JOBS.name] = PERIODIC_JOBS.of(app).copy()
    app.extensions.pop("crm.periodic_last_run", None)
    try:
        registry = PERIODIC_JOBS.of(app)
        registry.add(PeriodicJob("test-fail", failing, 60, order=1))
        registry.add(PeriodicJob("test-tick", ticking, 100, order=2))
        keys = [job.key for job in periodic_jobs(app)]
        CALLS.clear()
        assert {"test-fail", "test-tick"} <= set(run_due(app, now=1000.0))
        assert CALLS == ["fail", "tick"]
        assert "periodic job test-fail failed" in caplog.text
        # 50 s later neither is due; 70 s later the 60 s one is, the 100 s one not yet (the
        # domains' own jobs may run more often, e.g. the mailings' dispatcher every 30 s).
        CALLS.clear()
        assert _ours(run_due(app, now=1050.0)) == []
        assert _ours(run_due(app, now=1070.0)) == ["test-fail"]
        assert _ours(run_due(app, now=1101.0)) == ["test-tick"]
        assert CALLS == ["fail", "tick"]
        # Every domain's periodic job is in the registry the cron and run_due read.
        assert {"analytics-snapshots", "sales-summaries"} <= set(keys)
    finally:
        if saved is None:
            app.extensions.pop(PERIODIC_JOBS.name, None)
        else:
            app.extensions[PERIODIC_JOBS.name] = saved
        app.extensions.pop("crm.periodic_last_run", None)
