"""Fixtures shared by the whole suite.

Every test that uses `app` runs twice: on SQLite and on PostgreSQL (TEST_DATABASE_URL). Redis
tests use TEST_REDIS_URL. A part whose service is not configured is skipped, and the run's
summary says so.
"""

from __future__ import annotations

import itertools
import os
import re
from functools import partial

import pytest
from flask import g
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.security import generate_password_hash

from crm import create_app
from crm.extensions import db

pytest_plugins = ["tests.browser.fixtures"]

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
BACKENDS = ["sqlite", "postgresql"]
SKIPPED_PARTS: set[str] = set()


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def postgres_url_for_worker() -> str:
    """A database of this xdist worker's own on the test server (created when missing)."""
    from crm.config import normalise_database_url

    url = make_url(normalise_database_url(TEST_DATABASE_URL))
    # CRM_TEST_DB_TAG keeps concurrent runs (several developers on one machine) apart.
    tag = os.environ.get("CRM_TEST_DB_TAG", "")
    name = re.sub(r"\W", "_", f"{url.database}_crm{tag}_{worker_id()}")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists.scalar() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


class FreshUserClient(FlaskClient):
    """A test client whose every request finds the signed-in user from its own cookies.

    The `app` fixture keeps one app context pushed for the whole test, so all requests share
    `g`, where Flask-Login caches the user (flask-login#704). Without this, a second other_browser,
    a logout or an ended session would still see the previous request's user.
    """

    def open(self, *args, **kwargs):
        g.pop("_login_user", None)
        return super().open(*args, **kwargs)


def cheap_password_hashing(monkeypatch) -> None:
    """A fast hash method for the test accounts: scrypt's 0.3 s per sign-in would make these
    tests take minutes; checking reads the method from the stored hash, so nothing else changes."""
    import crm.auth.models

    monkeypatch.setattr(
        crm.auth.models,
        "generate_password_hash",
        partial(generate_password_hash, method="pbkdf2:sha256:1000"),
    )


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch):
    cheap_password_hashing(monkeypatch)


def base_config(database_url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": None,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        # Jobs run in the test's thread; tests of the background thread runner turn this off.
        "JOBS_INLINE": True,
        # Most tests read the English strings the code is written in; tests of the Russian
        # interface (tests/core/test_i18n.py and others) switch the user or this setting.
        "DEFAULT_LOCALE": "en",
    }


@pytest.fixture(scope="session", params=BACKENDS)
def _session_app(request, tmp_path_factory):
    """One app (and schema) per backend per worker; tests clean the tables after themselves."""
    if request.param == "postgresql":
        if not TEST_DATABASE_URL:
            SKIPPED_PARTS.add("PostgreSQL (set TEST_DATABASE_URL)")
            pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
        url = postgres_url_for_worker()
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(base_config(url), instance_path=str(instance))
    app.config["CRM_BACKEND"] = request.param
    app.test_client_class = FreshUserClient
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _clean_tables(app) -> None:
    """Empty every table and restart ids at 1 — as TRUNCATE … RESTART IDENTITY would, but
    DELETE is a tenth of its time on PostgreSQL (TRUNCATE rewrites every table file)."""
    with app.app_context():
        db.session.remove()
        tables = db.metadata.sorted_tables
        with db.engine.begin() as conn:
            for table in reversed(tables):
                conn.execute(table.delete())
            if db.engine.dialect.name == "postgresql":
                names = [t.name for t in tables if "id" in t.columns]
                conn.execute(
                    text(
                        "SELECT setval(s, 1, false) FROM (SELECT pg_get_serial_sequence("
                        "quote_ident(t), 'id') AS s FROM unnest(CAST(:names AS text[])) AS t) "
                        "AS q WHERE s IS NOT NULL"
                    ),
                    {"names": names},
                )
            elif conn.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")
            ).scalar():
                conn.execute(text("DELETE FROM sqlite_sequence"))


@pytest.fixture
def app(_session_app):
    """The app with an app context pushed; config changes and rows are undone afterwards."""
    saved = dict(_session_app.config)
    ctx = _session_app.app_context()
    ctx.push()
    try:
        yield _session_app
    finally:
        db.session.rollback()
        ctx.pop()
        _session_app.config.clear()
        _session_app.config.update(saved)
        _clean_tables(_session_app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_counter = itertools.count(1)

DEFAULT_PASSWORD = "correct-horse-battery"


@pytest.fixture
def make_user(app):
    """make_user(role="manager", email=None, password=DEFAULT_PASSWORD, **fields) -> User."""
    from crm.auth.models import User

    def make(role="manager", email=None, password=DEFAULT_PASSWORD, **fields):
        n = next(_counter)
        user = User(
            email=email or f"{role}{n}@example.test",
            role=role,
            name=fields.pop("name", f"{role.capitalize()} {n}"),
            **fields,
        )
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def login_as(client, make_user):
    """login_as(role_or_user) signs the test client in and returns the user."""

    def login(who="manager", **fields):
        user = make_user(who, **fields) if isinstance(who, str) else who
        client.post("/auth/logout")  # a signed-in client would otherwise keep its old user
        response = client.post(
            "/auth/login", data={"email": user.email, "password": DEFAULT_PASSWORD}
        )
        assert response.status_code == 302, response.data[:500]
        return user

    return login


@pytest.fixture
def make_partner(app):
    """make_partner(name=None, responsible=None, emails=(), phones=(), **fields) -> Partner."""
    from tests.factories import create_partner

    return create_partner


@pytest.fixture
def redis_url():
    if not TEST_REDIS_URL:
        SKIPPED_PARTS.add("Redis and the RQ worker (set TEST_REDIS_URL)")
        pytest.skip("TEST_REDIS_URL is not set: Redis tests skipped")
    return TEST_REDIS_URL


@pytest.fixture
def rq_app(app, redis_url, monkeypatch):
    """The test app sending jobs to a queue of its own on the shared test Redis; the queue's
    keys and its jobs' keys are deleted afterwards (never FLUSHDB: others use this db)."""
    import uuid

    from redis import Redis
    from sqlalchemy import select

    from crm.core.models import JobRun

    queue = f"crm-test-{uuid.uuid4().hex[:12]}"
    connection = Redis.from_url(redis_url)
    app.config.update(REDIS_URL=redis_url, RQ_QUEUES=[queue])
    monkeypatch.setitem(app.extensions, "crm.redis", connection)
    yield app
    db.session.rollback()
    job_ids = db.session.execute(select(JobRun.rq_job_id)).scalars()
    patterns = [f"*{queue}*"] + [f"*{job_id}*" for job_id in job_ids if job_id]
    for pattern in patterns:
        keys = list(connection.scan_iter(match=pattern, count=1000))
        if keys:
            connection.delete(*keys)
    connection.srem("rq:queues", f"rq:queue:{queue}")
    for key in connection.scan_iter(match="rq:worker:*", count=1000):  # they expire in 60 s
        if connection.type(key) == b"hash" and connection.hget(key, "queues") == queue.encode():
            connection.delete(key)
    connection.close()


def pytest_terminal_summary(terminalreporter):
    skipped = set(SKIPPED_PARTS)
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
        if "TEST_DATABASE_URL" in reason:
            skipped.add("PostgreSQL (set TEST_DATABASE_URL)")
        elif "TEST_REDIS_URL" in reason:
            skipped.add("Redis and the RQ worker (set TEST_REDIS_URL)")
        elif "Chromium" in reason:
            skipped.add("browser tests (install Debian's chromium)")
    if skipped:
        terminalreporter.write_sep("=", "parts skipped", yellow=True)
        for part in sorted(skipped):
            terminalreporter.write_line(f"SKIPPED: {part}")


@pytest.fixture
def make_interaction(app):
    """make_interaction(responsible, kind="call", starts_at=None, partner=None, parent=None,
    participants=(), **fields) -> Interaction."""
    from tests.factories import create_interaction

    return create_interaction


@pytest.fixture
def make_deal_kind(app):
    """make_deal_kind(name=None, stages=("Qualification", "Proposal", "Contract"),
    process=True, probabilities=None) -> DealKind."""
    from tests.factories import create_deal_kind

    return create_deal_kind


@pytest.fixture
def make_deal(app):
    """make_deal(partner, kind, manager=None, stage=None, status="open", amount="1000",
    created_on=None, expected_close=None, closed_on=None, loss_reason=None, reached=None,
    participants=(), **fields) -> Deal."""
    from tests.factories import create_deal

    return create_deal
