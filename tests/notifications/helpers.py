"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives, and the app
configured to send through it; notification rows made directly (not through the service)."""

from __future__ import annotations

import socket
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.notifications.models import Notification


class Inbox:
    """aiosmtpd handler: every accepted message as (envelope sender, recipients, parsed)."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.original_content, policy=default_policy)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def free_port() -> int:
    # aiosmtpd's Controller cannot take port 0: ask the OS for a free port first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_inbox(app):
    """Start an SMTP server and point SMTP_HOST/SMTP_PORT at it; yields its Inbox."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=controller.port,
        SMTP_TIMEOUT=5,
        MAIL_FROM="crm@example.test",
        BASE_URL="https://crm.example.test",
    )
    try:
        yield inbox
    finally:
        controller.stop()


def add(user, key, title, minutes_ago=0, read=False, url="", body="", emailed=False):
    """A notification row built directly (not through the service under test)."""
    at = utcnow() - timedelta(minutes=minutes_ago)
    n = Notification(
        user_id=user.id,
        key=key,
        title=title,
        body=body,
        url=url,
        created_at=at,
        read_at=at if read else None,
        emailed_at=at if emailed else None,
    )
    db.session.add(n)
    db.session.commit()
    return n
