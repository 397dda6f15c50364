"""Retention: the bodies of processed messages older than MESSAGING_RETENTION_DAYS are
emptied by the periodic job (and `flask crm messaging purge`), their state record kept; the
delivery's periodic jobs are registered for `worker.py --cron`."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import select

from crm.core.periodic import periodic_jobs
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.messaging.jobs import dispatch, purge_bodies
from crm.messaging.models import Message

_n = itertools.count()


def _message(state: str, days_old: float) -> int:
    n = next(_n)
    created = utcnow() - timedelta(days=days_old)
    message = Message(
        channel="email",
        address=f"m{n}@example.test",
        address_norm=f"m{n}@example.test",
        subject=f"Subject {n}",
        body_html=f"<p>Body {n}</p>",
        body_text=f"Body {n}",
        rfc_message_id=f"<k{n}@example.test>",
        state=state,
        created_at=created,
        sent_at=created if state == "sent" else None,
        open_count=2 if state == "sent" else 0,
    )
    db.session.add(message)
    db.session.commit()
    return message.id


def test_old_processed_messages_lose_their_bodies_and_keep_their_state(app):
    app.config["MESSAGING_RETENTION_DAYS"] = 30
    old = {state: _message(state, 31) for state in ("sent", "failed", "bounced", "cancelled")}
    old_queued = _message("queued", 40)  # not processed yet: its body is still needed
    recent = _message("sent", 29)

    assert purge_bodies() == 4
    db.session.expire_all()
    for state, message_id in old.items():
        m = db.session.get(Message, message_id)
        assert (m.state, m.body_html, m.body_text) == (state, "", "")
        assert m.purged_at is not None and m.subject.startswith("Subject")
    sent = db.session.get(Message, old["sent"])
    assert sent.sent_at is not None and sent.open_count == 2
    for message_id in (old_queued, recent):
        m = db.session.get(Message, message_id)
        assert m.body_text.startswith("Body") and m.purged_at is None
    assert purge_bodies() == 0  # twice changes nothing


def test_the_purge_command_reports_what_it_emptied(app, runner):
    app.config["MESSAGING_RETENTION_DAYS"] = 7
    _message("sent", 8)
    _message("sent", 1)
    result = runner.invoke(args=["crm", "messaging", "purge"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Message bodies emptied: 1."
    bodies = db.session.execute(select(Message.body_text).order_by(Message.id)).scalars()
    assert [b[:4] for b in bodies] == ["", "Body"]


def test_the_dispatcher_and_the_purge_run_periodically(app):
    registered = {job.key: job for job in periodic_jobs(app)}
    assert registered["messaging-dispatch"].func is dispatch
    assert registered["messaging-dispatch"].interval == app.config["MESSAGING_DISPATCH_SECONDS"]
    assert registered["messaging-purge"].func is purge_bodies
