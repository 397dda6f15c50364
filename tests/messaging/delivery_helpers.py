"""Helpers of the delivery tests: a real SMTP server (aiosmtpd on 127.0.0.1) whose answers a
test sets per address, a population of contacts written in bulk with the addresses a mailing
to them must reach worked out by hand, mailings made directly (not through the service under
test), and a lock on the database that holds a worker between the server's "accepted" and
its own record of it."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as default_policy

from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, insert, select, text

from crm.core.db import analyze
from crm.core.text import fold
from crm.extensions import db
from crm.messaging.models import (
    Mailing,
    MailingGroup,
    Message,
    MessageTemplate,
    MessageTemplateText,
    Subscriber,
    Suppression,
)
from crm.partners.models import ContactDetail, ContactPerson, Partner

CITY = "Рассылкино"
OTHER_CITY = "Захолустье"


def free_port() -> int:
    # aiosmtpd's Controller cannot take port 0: ask the OS for a free port first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MailServer:
    """aiosmtpd handler keeping every accepted message; per address it can answer 451 at RCPT
    for the first N tries (`temporary`), 550 at RCPT (`refuse`) or 554 after DATA
    (`reject`), and call `on_accept(address)` just before accepting a message."""

    def __init__(self):
        self.lock = threading.Lock()
        self.accepted: list[tuple[str, str, object]] = []  # (rcpt, Message-ID, parsed)
        self.temporary: dict[str, int] = {}
        self.refuse: set[str] = set()
        self.reject: set[str] = set()
        self.tries: Counter = Counter()
        self.on_accept = None
        self.gate: threading.Event | None = None  # DATA waits for it when set

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.tries[address] += 1
            tries = self.tries[address]
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: no such user here"
        if tries <= self.temporary.get(address, 0):
            return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.gate is not None:
            import asyncio

            while not self.gate.is_set():
                await asyncio.sleep(0.01)
        rcpt = envelope.rcpt_tos[0]
        if rcpt in self.reject:
            return "554 5.6.0 Message content rejected"
        parsed = message_from_bytes(envelope.original_content, policy=default_policy)
        if self.on_accept is not None:
            self.on_accept(rcpt)
        with self.lock:
            self.accepted.append((rcpt, str(parsed["Message-ID"]), parsed))
        return "250 2.0.0 Accepted"

    def recipients(self) -> list[str]:
        with self.lock:
            return [rcpt for rcpt, _mid, _msg in self.accepted]

    def count(self) -> int:
        with self.lock:
            return len(self.accepted)

    def message_ids(self, address: str) -> list[str]:
        with self.lock:
            return [mid for rcpt, mid, _msg in self.accepted if rcpt == address]

    def last_to(self, address: str):
        with self.lock:
            found = [msg for rcpt, _mid, msg in self.accepted if rcpt == address]
        return found[-1] if found else None


@contextlib.contextmanager
def running_mail_server(app):
    """Start a MailServer and point the app's SMTP settings at it."""
    handler = MailServer()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=controller.port,
        SMTP_TIMEOUT=10,
        MAIL_FROM="crm@example.test",
        MESSAGING_FROM="Shop <news@shop.example.test>",
        BASE_URL="https://crm.example.test",
    )
    try:
        yield handler
    finally:
        controller.stop()


def worker_settings(app, **extra) -> dict:
    """The settings a worker process needs beside the database and queue: the SMTP server
    and the messaging timings of the test app."""
    names = (
        "SMTP_HOST", "SMTP_PORT", "SMTP_TIMEOUT", "MAIL_FROM", "MESSAGING_FROM", "BASE_URL",
        "MESSAGING_LEASE_SECONDS", "MESSAGING_RETRY_SECONDS", "MESSAGING_MAX_ATTEMPTS",
        "MESSAGING_BATCH", "MESSAGING_PARALLEL", "MESSAGING_RATE_EMAIL",
    )  # fmt: skip
    settings = {name: app.config[name] for name in names}
    settings.update(extra)
    return settings


def start_unsent(app, mailing, user):
    """Start a mailing (its messages made and stored; the start job runs here under
    JOBS_INLINE) with no sending thread kicked (`sending_here`, as the dispatch command
    does), so that the test then drives the sending loop itself."""
    from crm.messaging.jobs import start_mailing_now
    from crm.messaging.runners import sending_here

    with sending_here():
        run = start_mailing_now(mailing, user)
    assert run.status == "done", run.message
    return run


# --- data ----------------------------------------------------------------------------------


def new_template(channel="email", subject="Autumn offer", html=None, text="Hello!",
                  name=None) -> MessageTemplate:  # fmt: skip
    template = MessageTemplate(name=name or f"{channel} template", channel=channel)
    template.texts.append(
        MessageTemplateText(
            language="ru",
            subject=subject if channel == "email" else "",
            body_html=(
                html
                if html is not None
                else '<html><body><p>Hello!</p><a href="https://shop.example.test/a">Sale</a>'
                "</body></html>"
            )
            if channel == "email"
            else "",
            body_text=text,
        )
    )
    db.session.add(template)
    db.session.flush()
    return template


def new_group(kind="advertising", name=None) -> MailingGroup:
    group = MailingGroup(name=name or f"{kind} group", kind=kind)
    db.session.add(group)
    db.session.flush()
    return group


def make_mailing(template, group, *, segment_id=None, partners=(), state="scheduled",
                 tracking=False, created_by=None, name="Autumn") -> Mailing:  # fmt: skip
    from crm.messaging.models import MailingPartner

    mailing = Mailing(
        name=name,
        channel=template.channel,
        template_id=template.id,
        group_id=group.id if group else None,
        state=state,
        scope_key="segment" if segment_id else "",
        scope_value=str(segment_id) if segment_id else "",
        tracking=tracking,
        created_by_id=created_by.id if created_by else None,
    )
    db.session.add(mailing)
    db.session.flush()
    for partner in partners:
        db.session.add(MailingPartner(mailing_id=mailing.id, partner_id=partner.id))
    db.session.commit()
    return mailing


def consent(address: str, channel="email", given=True) -> None:
    db.session.add(
        Subscriber(
            channel=channel,
            address=address,
            address_norm=address.casefold(),
            consent=given,
            consent_source="test",
        )
    )


@dataclass
class Population:
    """Contacts written in bulk; `expected` are the addresses a mailing of an advertising
    group to the segment (the partners of CITY) must reach, worked out from the rules the
    data were made by (not by the code under test)."""

    partner_ids: list[int]
    expected: set[str] = field(default_factory=set)
    skipped: dict[str, int] = field(default_factory=dict)
    segment_id: int | None = None


def make_population(n: int, *, manager_id=None, outsiders: int = 20) -> Population:
    """`n` partners in CITY (the segment) and `outsiders` consenting ones elsewhere. Partner i
    has the e-mail c{i}@example.test, with consent, except:
    - i % 100 == 11: no e-mail at all (no address);
    - i % 10 == 1 (other than above): no consent; i % 10 == 2: consent withdrawn;
    - i % 25 == 3: marked "do not e-mail";
    - i % 40 == 5: the address is on the suppression list;
    - i % 50 == 7: the e-mail of partner i − 7 (a plain one): a duplicate;
    - i % 100 == 9: also a contact person with a consenting e-mail p{i}@example.test."""
    from crm.segments.services import create_segment

    partners, details, persons = [], [], []
    subscribers, suppressed = {}, []
    pop = Population([])
    skipped = Counter()
    for i in range(n + outsiders):
        inside = i < n
        city = CITY if inside else OTHER_CITY
        code = f"M{i:05d}"
        email = f"c{i:05d}@example.test"
        row = {
            "code": code,
            "name": f"Клиент {i}",
            "city": city,
            "city_norm": fold(city),
            "name_norm": fold(f"Клиент {i}"),
            "responsible_id": manager_id if i % 3 == 0 else None,
            "do_not_email": inside and i % 25 == 3,
        }
        partners.append(row)
        if not inside:
            details.append((code, email))
            subscribers[email] = True
            continue
        if i % 100 == 11:
            skipped["no_address"] += 1
            continue
        if i % 50 == 7:
            details.append((code, f"c{i - 7:05d}@example.test"))
            skipped["duplicate"] += 1
            continue
        details.append((code, email))
        if i % 10 == 1:
            pass  # no Subscriber row: no consent
        elif i % 10 == 2:
            subscribers[email] = False
        else:
            subscribers[email] = True
        if i % 40 == 5:
            suppressed.append(email)
        if i % 25 == 3:
            skipped["do_not_contact"] += 1
        elif i % 40 == 5:
            skipped["suppressed"] += 1
        elif i % 10 in (1, 2):
            skipped["no_consent"] += 1
        else:
            pop.expected.add(email)
        if i % 100 == 9:
            persons.append((code, f"Контакт {i}", f"p{i:05d}@example.test"))
            subscribers[f"p{i:05d}@example.test"] = True
            if i % 25 != 3:  # a "do not e-mail" partner's persons are not mailed either
                pop.expected.add(f"p{i:05d}@example.test")
            else:
                skipped["do_not_contact"] += 1
    conn = db.session.connection()
    conn.execute(insert(Partner.__table__), partners)
    ids = dict(db.session.execute(select(Partner.code, Partner.id)).all())
    conn.execute(
        insert(ContactDetail.__table__),
        [
            {"partner_id": ids[code], "kind": "email", "value": e, "value_norm": e, "is_main": True}
            for code, e in details
        ],
    )
    if persons:
        conn.execute(
            insert(ContactPerson.__table__),
            [
                {"partner_id": ids[c], "name": name, "name_norm": fold(name)}
                for c, name, _e in persons
            ],
        )
        person_ids = dict(db.session.execute(select(ContactPerson.name, ContactPerson.id)).all())
        conn.execute(
            insert(ContactDetail.__table__),
            [
                {
                    "contact_person_id": person_ids[name],
                    "kind": "email",
                    "value": e,
                    "value_norm": e,
                    "is_main": True,
                }
                for _c, name, e in persons
            ],  # fmt: skip
        )
    conn.execute(
        insert(Subscriber.__table__),
        [
            {
                "channel": "email",
                "address": a,
                "address_norm": a,
                "consent": given,
                "consent_source": "test",
                "language": "ru",
            }
            for a, given in subscribers.items()
        ],  # fmt: skip
    )
    if suppressed:
        conn.execute(
            insert(Suppression.__table__),
            [{"channel": "email", "address_norm": a, "reason": "unsubscribed"} for a in suppressed],
        )
    segment = create_segment(
        None, f"Жители {CITY}", "dynamic", {"type": "partner.city", "cities": [CITY]}
    )
    # As the app's bulk writers do: a table that grew from nothing looks empty to
    # PostgreSQL's planner until autovacuum comes by (a nested loop over 2,000 × 2,000 rows).
    analyze(conn, ["partner", "contact_detail", "contact_person", "messaging_subscriber",
                   "messaging_suppression"])  # fmt: skip
    db.session.commit()
    pop.partner_ids = [ids[row["code"]] for row in partners[:n]]
    pop.segment_id = segment.id
    pop.skipped = dict(skipped)
    return pop


def states(mailing_id: int | None = None) -> Counter:
    stmt = select(Message.state)
    if mailing_id is not None:
        stmt = stmt.where(Message.mailing_id == mailing_id)
    return Counter(db.session.execute(stmt).scalars())


# --- a lock that holds a worker between "accepted" and its record -------------------------


class RecordLock:
    """Taken from the SMTP server's thread the moment it accepts the message to `address`,
    before it answers 250: the worker then cannot record the message (its UPDATE waits), so a
    test can kill it in exactly the window where a repeat is possible. PostgreSQL: a row lock
    on that message; SQLite: the database's write lock."""

    def __init__(self, app, address: str):
        self.address = address
        self.engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        self.conn = None
        self.taken = threading.Event()

    def __call__(self, rcpt: str) -> None:  # MailServer.on_accept
        if rcpt != self.address or self.taken.is_set():
            return
        self.conn = self.engine.connect()
        if self.engine.dialect.name == "postgresql":
            self.conn.execute(
                text("SELECT id FROM message WHERE address_norm = :a FOR UPDATE"),
                {"a": self.address},
            )
        else:
            self.conn.exec_driver_sql("BEGIN IMMEDIATE")
        self.taken.set()

    def release(self) -> None:
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()
        self.engine.dispose()
