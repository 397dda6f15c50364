"""Helpers shared by tests of several areas: what a browser would post from a page's form, a
second signed-in browser, and writers run at the same moment (threads with a database session
and connection each, and a meeting point that holds every thread at one place in the real code
until all arrive, so a race is run the same way every time instead of by luck)."""

from __future__ import annotations

import contextlib
import html
import os
import re
import threading
from collections.abc import Iterator
from html.parser import HTMLParser

from crm.extensions import db
from tests.conftest import DEFAULT_PASSWORD, TEST_DATABASE_URL, worker_id


class _FormFields(HTMLParser):
    """The fields of the form whose action is `action`, as a browser submits them."""

    def __init__(self, action: str):
        super().__init__(convert_charrefs=True)
        self.action, self.inside = action, False
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            # A form without an action posts to its page's URL, which callers pass then.
            self.inside = a.get("action", self.action).split("?")[0] == self.action
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and a.get("name"):
            self.select, self.options = a["name"], []
        elif tag == "option" and self.select:
            self.options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and a.get("name"):
            self.textarea, self.text = a["name"], ""

    def handle_data(self, data):
        if self.textarea:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            chosen = [v for v, sel in self.options if sel] or [v for v, _ in self.options[:1]]
            self.fields += [(self.select, v) for v in chosen]
            self.select = None
        elif tag == "textarea" and self.textarea:
            self.fields.append((self.textarea, self.text.removeprefix("\r").removeprefix("\n")))
            self.textarea = None


def form_fields(page: str, action: str) -> dict:
    """{name: value, or a list for a repeated name} of the form posting to `action`."""
    parser = _FormFields(action)
    parser.feed(page)
    found: dict = {}
    for name, value in parser.fields:
        if name in found:
            found[name] = (
                [*found[name], value] if isinstance(found[name], list) else [found[name], value]
            )
        else:
            found[name] = value
    return found


def hidden_version(page: str) -> int | None:
    """The version a page's form carries (the first one)."""
    match = re.search(r'<input[^>]*name="version"[^>]*value="(\d+)"', page) or re.search(
        r'<input[^>]*value="(\d+)"[^>]*name="version"', page
    )
    return int(match[1]) if match else None


def signed_in_client(app, user):
    """A second browser: its own test client signed in as `user`."""
    other = app.test_client()
    response = other.post("/auth/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.data[:300]
    return other


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


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


@contextlib.contextmanager
def empty_database(backend: str, folder, label: str) -> Iterator[str]:
    """The URL of a database with nothing in it, dropped afterwards: a new SQLite file in
    `folder`, or a PostgreSQL database on the test server named after `label`, the run's
    CRM_TEST_DB_TAG and the xdist worker (so concurrent runs never share one)."""
    if backend == "sqlite":
        yield "sqlite:///" + str(folder / f"{label}.sqlite3")
        return
    import pytest
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from crm.config import normalise_database_url

    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    server = make_url(normalise_database_url(TEST_DATABASE_URL))
    tag = os.environ.get("CRM_TEST_DB_TAG", "")
    name = re.sub(r"\W", "_", f"{server.database}_crm{tag}_{label}_{worker_id()}")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def sync_documents(docs) -> None:
    """Documents written through the ORM in a test (not through crm.sales.services): their
    summaries and the product × month marks, as the sales services keep them."""
    from crm.sales.summaries import mark_months, recompute_documents

    db.session.flush()
    recompute_documents([d.id for d in docs])
    mark_months([d.date for d in docs])
