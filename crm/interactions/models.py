"""Interactions (meetings, planned interactions, calls, SMS, e-mails), their participants and
attachments, and the private calendar-feed tokens of users."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.timeutil import utcnow
from crm.core.versioning import Versioned
from crm.extensions import db
from crm.partners.models import ContactPerson, Partner

# Titles in the reader's language (lazy: each use is translated when it is shown).
KINDS = {
    "meeting": _l("Meeting"),
    "planned": _l("Planned interaction"),
    "call": _l("Phone call"),
    "sms": _l("SMS"),
    # A context: "E-mail" alone is also a contact detail's kind (another translation).
    "email": _lp("interaction kind", "E-mail"),
}
STATUSES = {
    "planned": _l("Planned"),
    "in_progress": _l("In progress"),
    "completed": _l("Completed"),
    "deferred": _l("Deferred"),
    "cancelled": _l("Cancelled"),
}
# Statuses that still need someone to act: their start time makes them due.
OPEN_STATUSES = ("planned", "in_progress", "deferred")
DIRECTIONS = {"outgoing": _l("Outgoing"), "incoming": _l("Incoming")}
# Kinds that have a direction and an address (the number dialled, the e-mail address).
DIRECTED_KINDS = ("call", "sms", "email")
# No interaction lasts longer, nor reminds earlier, than a week (in minutes): the calendar
# reads a bounded index range because of it.
MAX_DURATION = 7 * 24 * 60
MAX_REMIND = 7 * 24 * 60


# What a list row or a calendar item shows, from plain values: the calendar builds its items
# from table rows without loading whole objects.


def kind_title(kind: str) -> str:
    return str(KINDS.get(kind, kind))


def status_title(status: str) -> str:
    return str(STATUSES.get(status, status))


def display_title(title: str, kind: str, partner_name: str | None) -> str:
    return title or kind_title(kind) + (f" — {partner_name}" if partner_name else "")


def contact_label(partner_name: str | None, person_name: str | None, contact_text: str) -> str:
    return " · ".join(p for p in (partner_name, person_name, contact_text) if p)


def is_unprocessed(due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and due_at <= now


def is_overdue(status: str, starts_at: datetime, ends_at: datetime | None, now: datetime) -> bool:
    return status in OPEN_STATUSES and (ends_at or starts_at) < now


class Interaction(Versioned, db.Model):
    __tablename__ = "interaction"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="planned")
    # The topic line (an e-mail's subject); the business object is `subject_*` below.
    title: Mapped[str] = mapped_column(String(255), default="")
    responsible_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))
    contact_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_person.id", ondelete="SET NULL")
    )
    contact_text: Mapped[str] = mapped_column(String(255), default="")
    # What the interaction is about: a registered object type (deal, claim, project…) and its
    # id, resolved through `crm.interactions.subjects`, or free text.
    subject_type: Mapped[str] = mapped_column(String(32), default="")
    subject_id: Mapped[int | None]
    subject_text: Mapped[str] = mapped_column(String(255), default="")
    starts_at: Mapped[datetime]  # naive UTC
    duration_minutes: Mapped[int] = mapped_column(default=0)
    ends_at: Mapped[datetime]  # starts_at + duration: calendar overlap queries need it indexed
    follow_up_at: Mapped[datetime | None]  # "needs reply / follow-up" by then (UTC)
    # When the item needs its responsible user: the start of an open item or its follow-up
    # date, whichever is first; NULL when nothing is pending. Kept by services.sync_due, so
    # "unprocessed" is one indexed range: due_at <= now.
    due_at: Mapped[datetime | None]
    # Before the start; None: off. No column default: the ORM would put it in place of None
    # on insert, so "no reminder" could not be saved (the form offers 15 by default).
    remind_minutes: Mapped[int | None]
    direction: Mapped[str] = mapped_column(String(16), default="")
    address: Mapped[str] = mapped_column(String(255), default="")  # phone number / e-mail
    outcome: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # Replies and follow-ups: the parent, and the first interaction of the thread (its own id
    # for a thread's start) so a whole chain is one indexed read.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("interaction.id", ondelete="SET NULL"))
    chain_id: Mapped[int | None]
    search_text: Mapped[str] = mapped_column(Text, default="")  # folded title/contact/text
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    responsible: Mapped[User] = relationship(lazy="joined")
    partner: Mapped[Partner | None] = relationship(lazy="joined")
    contact_person: Mapped[ContactPerson | None] = relationship(lazy="joined")
    parent: Mapped[Interaction | None] = relationship(remote_side=[id])
    participants: Mapped[list[Participant]] = relationship(
        back_populates="interaction", cascade="all, delete-orphan", order_by="Participant.id"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="interaction", cascade="all, delete-orphan", order_by="Attachment.id"
    )

    __table_args__ = (
        # The unprocessed list and the calendar of one user.
        Index("ix_interaction_due", "responsible_id", "due_at"),
        # With ends_at and id, the calendar's period query of one user reads the index only
        # (SQLite keeps the id in every index anyway; PostgreSQL needs it named).
        Index("ix_interaction_calendar", "responsible_id", "starts_at", "ends_at", "id"),
        Index("ix_interaction_starts", "starts_at"),
        Index("ix_interaction_follow_up", "follow_up_at"),
        Index("ix_interaction_partner", "partner_id", "starts_at"),
        Index("ix_interaction_chain", "chain_id", "starts_at"),
        Index("ix_interaction_subject", "subject_type", "subject_id"),
        Index("ix_interaction_parent", "parent_id"),
        Index("ix_interaction_contact_person", "contact_person_id"),
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def kind_title(self) -> str:
        return kind_title(self.kind)

    @property
    def status_title(self) -> str:
        return status_title(self.status)

    @property
    def contact_label(self) -> str:
        return contact_label(
            self.partner.name if self.partner else None,
            self.contact_person.name if self.contact_person else None,
            self.contact_text,
        )

    @property
    def display_title(self) -> str:
        return display_title(self.title, self.kind, self.partner.name if self.partner else None)

    def is_unprocessed(self, now: datetime | None = None) -> bool:
        return is_unprocessed(self.due_at, now or utcnow())

    def is_overdue(self, now: datetime | None = None) -> bool:
        """Open and already past its end (a planned call nobody made)."""
        return is_overdue(self.status, self.starts_at, self.ends_at, now or utcnow())


class Participant(db.Model):
    """A user or a contact taking part, each with a note ("brings the contract")."""

    __tablename__ = "interaction_participant"

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interaction.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    contact_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_person.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(255), default="")  # free text (a guest, a phone)
    note: Mapped[str] = mapped_column(String(500), default="")
    # Copies of the interaction's start and end (kept by services.sync_derived): a
    # participant's calendar is then one index range of this table alone, not a look-up of
    # everything he ever took part in.
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]

    interaction: Mapped[Interaction] = relationship(back_populates="participants")
    user: Mapped[User | None] = relationship(lazy="joined")
    contact_person: Mapped[ContactPerson | None] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_interaction_participant_user", "user_id", "interaction_id"),
        Index(
            "ix_interaction_participant_calendar",
            "user_id",
            "starts_at",
            "ends_at",
            "interaction_id",
        ),
        Index("ix_interaction_participant_interaction", "interaction_id"),
        Index("ix_interaction_participant_person", "contact_person_id"),
    )

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.display_name
        if self.contact_person is not None:
            return self.contact_person.name
        return self.name


class Attachment(db.Model):
    """A file attached to an interaction (an e-mail's attachment); stored under UPLOAD_FOLDER
    by a random name and served only to those who may see the interaction."""

    __tablename__ = "interaction_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interaction.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(127), default="application/octet-stream")
    size: Mapped[int] = mapped_column(default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    interaction: Mapped[Interaction] = relationship(back_populates="attachments")

    __table_args__ = (Index("ix_interaction_attachment_interaction", "interaction_id"),)


class CalendarFeed(db.Model):
    """A user's private iCalendar feed link: only the token's SHA-256 is stored; revoking
    sets revoked_at and the URL answers 404 from then on."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_calendar_feed_user", "user_id"),)
