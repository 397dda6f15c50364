"""Every sent message is an interaction in its partner's history (the "journal of
interactions"): kind "email" or "sms", outgoing, completed at the moment it went out, titled
with its subject (an SMS: its first words), the contact person it went to as a participant,
and linked back from the message (Message.interaction_id).

Written with plain INSERTs in the send's own transaction (delivery.py commits both at once;
on PostgreSQL in the very statement that marks the message sent), not through
crm.interactions.services: that path validates a form and records an audit entry
per interaction, a flood for a mailing of 10,000 whose record is the message itself. The
columns the interactions service derives (ends_at, due_at, chain_id, search_text) are filled
here the same way.

The interaction's responsible user is the partner's manager, else the mailing's author when he
may own records, else the first active user who may (an interaction needs one); a message
without a partner (an address typed by hand) is not journaled."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import insert, select, text, update

from crm.auth.models import User
from crm.auth.policy import responsible_users_clause
from crm.core.text import fold
from crm.extensions import db
from crm.interactions.models import Interaction, Participant
from crm.messaging.models import Mailing
from crm.partners.models import ContactPerson, Partner

SMS_TITLE_WORDS = 8
TITLE_MAX = 255


def sms_title(text: str) -> str:
    """An SMS's first words, as the title of its interaction."""
    words = (text or "").split()
    title = " ".join(words[:SMS_TITLE_WORDS])
    if len(words) > SMS_TITLE_WORDS:
        title += " …"
    return title[:TITLE_MAX]


@dataclass
class Context:
    """What the interactions of one batch need, read once for the batch."""

    partners: dict[int, tuple[str, int | None]] = field(default_factory=dict)  # name, manager
    persons: dict[int, str] = field(default_factory=dict)
    mailings: dict[int, tuple[str, int | None]] = field(default_factory=dict)  # name, author
    admin_id: int | None = None
    ids: list[int] = field(default_factory=list)  # reserved interaction ids (PostgreSQL)


def context_for(messages: Iterable) -> Context:
    """Names and responsible users of the partners, contact persons and mailings of a batch
    (three or four small queries, whatever its size)."""
    messages = list(messages)
    ctx = Context()
    partner_ids = sorted({m.partner_id for m in messages if m.partner_id})
    person_ids = sorted({m.contact_person_id for m in messages if m.contact_person_id})
    mailing_ids = sorted({m.mailing_id for m in messages if m.mailing_id})
    if partner_ids:
        rows = db.session.execute(
            select(Partner.id, Partner.name, Partner.responsible_id).where(
                Partner.id.in_(partner_ids)
            )
        )
        ctx.partners = {pid: (name, manager) for pid, name, manager in rows}
    if person_ids:
        rows = db.session.execute(
            select(ContactPerson.id, ContactPerson.name).where(ContactPerson.id.in_(person_ids))
        )
        ctx.persons = dict(rows.all())
    if mailing_ids:
        rows = db.session.execute(
            select(Mailing.id, Mailing.name, Mailing.created_by_id).where(
                Mailing.id.in_(mailing_ids)
            )
        ).all()
        # The author answers for the interaction only if he may own records (a marketer
        # may not: then the fallback below does).
        authors = {author for _mid, _name, author in rows if author}
        owners = set()
        if authors:
            owners = set(
                db.session.execute(
                    select(User.id).where(
                        User.id.in_(authors), User.active.is_(True), responsible_users_clause()
                    )
                ).scalars()
            )
        ctx.mailings = {
            mid: (name, author if author in owners else None) for mid, name, author in rows
        }
    # Nobody else: the first user who may own records (the install's first admin, usually).
    ctx.admin_id = db.session.execute(
        select(User.id)
        .where(User.active.is_(True), responsible_users_clause())
        .order_by(User.id)
        .limit(1)
    ).scalar()
    return ctx


def rows(message, sent_at, ctx: Context) -> tuple[dict, dict | None] | None:
    """The interaction (and its participant) of a sent message (claims.Outgoing) as column
    values; None when it has no partner or nobody could be responsible. The interaction's
    id and chain are the caller's to add."""
    partner = ctx.partners.get(message.partner_id) if message.partner_id else None
    if partner is None:
        return None
    partner_name, manager_id = partner
    mailing_name, author_id = ctx.mailings.get(message.mailing_id, ("", None))
    responsible_id = manager_id or author_id or ctx.admin_id
    if responsible_id is None:
        return None
    if message.channel == "email":
        kind, title = "email", (message.subject or "")[:TITLE_MAX]
    else:
        kind, title = "sms", sms_title(message.body_text)
    person_id = message.contact_person_id if message.contact_person_id in ctx.persons else None
    person_name = ctx.persons.get(person_id, "")
    subject_text = (mailing_name or "")[:TITLE_MAX]
    address = (message.address or "")[:255]
    search = fold(
        " ".join(p for p in (title, subject_text, address, partner_name, person_name) if p)
    )
    interaction = {
        "kind": kind,
        "status": "completed",
        "title": title,
        "responsible_id": responsible_id,
        "partner_id": message.partner_id,
        "contact_person_id": person_id,
        "contact_text": "",
        "subject_type": "",
        "subject_id": None,
        "subject_text": subject_text,
        "starts_at": sent_at,
        "duration_minutes": 0,
        "ends_at": sent_at,
        "follow_up_at": None,
        "due_at": None,  # completed: nothing pending
        "remind_minutes": None,
        "direction": "outgoing",
        "address": address,
        "outcome": "",
        "description": "",
        "parent_id": None,
        "search_text": search[:4000],
        "completed_at": sent_at,
        "created_at": sent_at,
        "updated_at": sent_at,
        "version": 1,
    }
    participant = None
    if person_id is not None:
        participant = {
            "user_id": None,
            "contact_person_id": person_id,
            "name": "",
            "note": "",
            "starts_at": sent_at,
            "ends_at": sent_at,
        }
    return interaction, participant


def reserve_ids(ctx: Context, count: int) -> None:
    """PostgreSQL: draw the ids of a batch's interactions in one query, so that each is
    written with its id and chain known (one statement per sent message, see
    delivery._record_sent). Ids a batch does not use are gaps, as a rolled-back insert's."""
    if db.session.get_bind().dialect.name != "postgresql" or count <= 0:
        return
    ctx.ids = list(
        db.session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence('interaction', 'id')) "
                "FROM generate_series(1, :n)"
            ),
            {"n": count},
        ).scalars()
    )


def insert_statements(values: dict, participant: dict | None, interaction_id: int):
    """The INSERTs of an interaction whose id is known (its chain is itself: a thread of its
    own, as crm.interactions.services._attach_to_chain makes it)."""
    stmts = [
        insert(Interaction.__table__).values(id=interaction_id, chain_id=interaction_id, **values)
    ]
    if participant is not None:
        stmts.append(
            insert(Participant.__table__).values(interaction_id=interaction_id, **participant)
        )
    return stmts


def record(conn, values: dict, participant: dict | None) -> int:
    """Write an interaction whose id is not known beforehand (SQLite) on `conn`; its id."""
    table = Interaction.__table__
    interaction_id = conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one()
    conn.execute(update(table).where(table.c.id == interaction_id).values(chain_id=interaction_id))
    if participant is not None:
        conn.execute(
            insert(Participant.__table__).values(interaction_id=interaction_id, **participant)
        )
    return interaction_id
