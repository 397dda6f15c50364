"""Mailings and notifications to clients (issue 14): message templates, mailing groups, what is
known of each address (consent, language, opt-outs, suppression), marketing mailings and the
messages they and the event notifications produce.

A Message row is the source of truth of a delivery: its state moves queued → sending (claimed
by a worker under a lease) → sent / failed / bounced (→ delivered, opened, clicked as reports
arrive). Jobs only move states, so running one twice, or after a worker died, never sends a
message twice (see crm/messaging/delivery.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.timeutil import utcnow
from crm.core.versioning import Versioned
from crm.extensions import db

CHANNELS = ("email", "sms")
# The contact-detail kind that holds each channel's address (crm.partners' ContactDetail.kind).
ADDRESS_KINDS = {"email": "email", "sms": "phone"}
GROUP_KINDS = ("advertising", "service")  # advertising needs prior consent (38-FZ, art. 18)
MAILING_STATES = ("draft", "scheduled", "sending", "done", "cancelled")
# queued: waiting (maybe until next_attempt_at after a temporary error); sending: claimed by a
# worker until lease_until; the rest are final for delivery (delivered/opened/clicked are
# recorded in their own columns on a sent message, so that the state stays "how it went out").
MESSAGE_STATES = ("queued", "sending", "sent", "delivered", "failed", "bounced", "cancelled")
FINAL_STATES = ("sent", "delivered", "failed", "bounced", "cancelled")
SUPPRESSION_REASONS = ("bounced", "unsubscribed", "stop", "complaint", "manual")


class MessageTemplate(Versioned, db.Model):
    """A reusable message: e-mail (subject, HTML and text body) or SMS (text), one text per
    language (MessageTemplateText); placeholders are rendered in a sandbox (rendering.py)."""

    __tablename__ = "message_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    texts: Mapped[list[MessageTemplateText]] = relationship(
        back_populates="template",
        cascade="all, delete-orphan",
        order_by="MessageTemplateText.language.desc()",  # "ru" before "en"
    )

    def text_for(self, language: str | None) -> MessageTemplateText | None:
        """The text in `language`, else the Russian one, else any."""
        by_language = {t.language: t for t in self.texts}
        return (
            by_language.get(language or "") or by_language.get("ru") or next(iter(self.texts), None)
        )


class MessageTemplateText(db.Model):
    __tablename__ = "message_template_text"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("message_template.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8), default="ru")
    subject: Mapped[str] = mapped_column(String(500), default="")  # e-mail only
    body_html: Mapped[str] = mapped_column(Text, default="")  # e-mail only
    body_text: Mapped[str] = mapped_column(Text, default="")  # e-mail's plain part; the SMS

    template: Mapped[MessageTemplate] = relationship(back_populates="texts")

    __table_args__ = (
        UniqueConstraint("template_id", "language", name="uq_message_template_text_language"),
    )


class MailingGroup(Versioned, db.Model):
    """A topic ("Promotions", "Service notices") a recipient can opt out of on its own;
    advertising groups need the recipient's prior consent, service ones do not."""

    __tablename__ = "mailing_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="advertising")
    description: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Subscriber(db.Model):
    """What is known of one address of one channel: the consent to advertising (with its date
    and source, and its withdrawal), the language messages to it are written in, and whose
    address it is. An address without a row has no consent and gets Russian."""

    __tablename__ = "messaging_subscriber"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(320))
    # crm.messaging.addresses.normalise: lower-case e-mail, E.164 phone.
    address_norm: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(8), default="")
    consent: Mapped[bool] = mapped_column(default=False)
    consent_at: Mapped[datetime | None]
    consent_source: Mapped[str] = mapped_column(String(200), default="")
    withdrawn_at: Mapped[datetime | None]
    withdrawn_source: Mapped[str] = mapped_column(String(200), default="")
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id", ondelete="SET NULL"))
    contact_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_person.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("channel", "address_norm", name="uq_messaging_subscriber_address"),
        Index("ix_messaging_subscriber_partner", "partner_id"),
    )


class GroupOptOut(db.Model):
    """An address that asked not to get one group's messages (the unsubscribe link's usual
    answer); other groups still reach it."""

    __tablename__ = "messaging_group_opt_out"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("mailing_group.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    address_norm: Mapped[str] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("group_id", "channel", "address_norm", name="uq_messaging_opt_out"),
    )


class Suppression(db.Model):
    """The global suppression list: an address here (bounced, unsubscribed from everything,
    SMS STOP, a complaint, added by hand) is never sent anything again."""

    __tablename__ = "messaging_suppression"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    address_norm: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(500), default="")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("channel", "address_norm", name="uq_messaging_suppression_address"),
    )


class Mailing(Versioned, db.Model):
    """A marketing mailing: a template to a group's recipients on one channel, now or at a
    time. Recipients are the partners of a partner scope (a segment, resolved when sending
    starts) and/or partners picked by hand (MailingPartner)."""

    __tablename__ = "mailing"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(8))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("message_template.id", ondelete="RESTRICT")
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailing_group.id", ondelete="RESTRICT")
    )
    state: Mapped[str] = mapped_column(String(16), default="draft")
    # A registered partner scope (crm.core.partner_scope: "segment") and its value ("12"):
    # messaging names no peer domain's table.
    scope_key: Mapped[str] = mapped_column(String(32), default="")
    scope_value: Mapped[str] = mapped_column(String(64), default="")
    scheduled_at: Mapped[datetime | None]  # UTC; None with state scheduled: as soon as possible
    tracking: Mapped[bool] = mapped_column(default=False)  # open pixel and redirecting links
    # Counted when the recipients are resolved: {"no_consent": n, "no_address": n, ...}.
    skipped: Mapped[dict] = mapped_column(JSON, default=dict)
    total: Mapped[int] = mapped_column(default=0)  # messages made
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    template: Mapped[MessageTemplate | None] = relationship()
    group: Mapped[MailingGroup | None] = relationship()

    __table_args__ = (Index("ix_mailing_state", "state", "scheduled_at"),)


class MailingPartner(db.Model):
    """A partner added to a mailing by hand (with those of its scope, de-duplicated)."""

    __tablename__ = "mailing_partner"

    mailing_id: Mapped[int] = mapped_column(
        ForeignKey("mailing.id", ondelete="CASCADE"), primary_key=True
    )
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True
    )


class NotificationSetting(db.Model):
    """A kind of event notification to clients (registered in crm.messaging.events): whether
    it is on, its template and group, and its parameters (days after due, repeat every …)."""

    __tablename__ = "messaging_notification_setting"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), unique=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("message_template.id", ondelete="SET NULL")
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailing_group.id", ondelete="SET NULL")
    )
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    # Events before this moment are not notified (switching a kind on does not mail the past).
    enabled_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    template: Mapped[MessageTemplate | None] = relationship()
    group: Mapped[MailingGroup | None] = relationship()


class Message(db.Model):
    """One message to one address: of a mailing, or of an event notification (kind and
    event_key, unique per address, so an event is never notified twice)."""

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int | None] = mapped_column(ForeignKey("mailing.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64), default="")  # notification kind; "" mailing
    event_key: Mapped[str | None] = mapped_column(String(200))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailing_group.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(320))
    address_norm: Mapped[str] = mapped_column(String(320))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id", ondelete="SET NULL"))
    contact_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_person.id", ondelete="SET NULL")
    )
    language: Mapped[str] = mapped_column(String(8), default="ru")
    # Rendered when the message is made; emptied by the retention job (purged_at set).
    subject: Mapped[str] = mapped_column(String(500), default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    # The RFC 5322 Message-ID, fixed when the message is made: a resend after a crash carries
    # the same one, so receiving servers can drop the duplicate.
    rfc_message_id: Mapped[str] = mapped_column(String(255), unique=True)
    # The message's key (tokens.new_key: the Message-ID's local part, which its signed links
    # carry), kept apart so that a link finds its message by an index on both databases: a
    # LIKE '<key@%' on rfc_message_id uses no index on PostgreSQL unless the collation is C,
    # and the host part changes with MAIL_FROM. Empty (NULL) only on rows written by hand.
    key: Mapped[str | None] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_by: Mapped[str] = mapped_column(String(120), default="")
    lease_until: Mapped[datetime | None]
    error: Mapped[str] = mapped_column(String(500), default="")
    provider_id: Mapped[str] = mapped_column(String(120), default="")  # the SMS gateway's id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    clicked_at: Mapped[datetime | None]
    open_count: Mapped[int] = mapped_column(default=0)
    click_count: Mapped[int] = mapped_column(default=0)
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interaction.id", ondelete="SET NULL")
    )
    purged_at: Mapped[datetime | None]

    mailing: Mapped[Mailing | None] = relationship()

    __table_args__ = (
        # One message per address and mailing, and per address and event: making them again
        # (a job run twice, resumed) inserts nothing.
        UniqueConstraint("mailing_id", "channel", "address_norm", name="uq_message_mailing"),
        UniqueConstraint("event_key", "channel", "address_norm", name="uq_message_event"),
        # The workers' claim: due queued messages, and expired leases.
        Index("ix_message_claim", "state", "next_attempt_at"),
        Index("ix_message_mailing_state", "mailing_id", "state"),
        Index("ix_message_partner", "partner_id", "created_at"),
        # The notifications page's count per kind over the last 30 days (notification_queries).
        Index("ix_message_kind_created", "kind", "created_at"),
        # The retention job: processed messages older than N days whose bodies remain.
        Index("ix_message_retention", "purged_at", "created_at"),
        # The SMS gateway's delivery reports name a message by the gateway's id.
        Index("ix_message_provider", "provider_id"),
    )
