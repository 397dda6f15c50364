"""Deals with clients ("Сделки с клиентами"): deal kinds and their sales processes (stages),
participant roles, loss reasons, the deals themselves with their contacts, participants, stage
history and the sales documents that realised them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_pgettext as _lp
from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.timeutil import utcnow
from crm.core.versioning import Versioned
from crm.extensions import db
from crm.partners.models import ContactPerson, Partner

# A context: "Open" alone is also a button ("Открыть"); a deal's status is "Открыта".
STATUSES = {
    "open": _lp("deal status", "Open"),
    "won": _lp("deal status", "Won"),
    "lost": _lp("deal status", "Lost"),
}
CLOSED_STATUSES = ("won", "lost")
# A won deal passed every stage: in "reached" comparisons its position counts as this.
WON_POSITION = 1_000_000


def status_title(status: str) -> str:
    return str(STATUSES.get(status, status))


class DealKind(db.Model):
    """A kind of deal and its sales process. A process kind's stages go strictly in order; a
    non-process kind's stages move freely, or it has none and only the result is recorded."""

    __tablename__ = "deal_kind"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    is_process: Mapped[bool] = mapped_column(default=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    stages: Mapped[list[DealStage]] = relationship(
        back_populates="kind", order_by="DealStage.position", cascade="all, delete-orphan"
    )


class DealStage(db.Model):
    """One stage of a kind's process, at `position` 1, 2, 3…, with its default probability
    (percent) used when a deal's probability has no component to rest on."""

    __tablename__ = "deal_stage"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind_id: Mapped[int] = mapped_column(ForeignKey("deal_kind.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(255))
    probability: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0))

    kind: Mapped[DealKind] = relationship(back_populates="stages")

    __table_args__ = (
        UniqueConstraint("kind_id", "position", name="uq_deal_stage_position"),
        UniqueConstraint("kind_id", "name", name="uq_deal_stage_name"),
    )


class DealRole(db.Model):
    """A participant's role in a deal: decision maker (ЛПР), influencer, user…"""

    __tablename__ = "deal_role"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)


class LossReason(db.Model):
    __tablename__ = "deal_loss_reason"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)


class Deal(Versioned, db.Model):
    __tablename__ = "deal"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_no: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    kind_id: Mapped[int] = mapped_column(ForeignKey("deal_kind.id"))
    # The current stage; for a lost deal the stage it was lost at. NULL for a kind without
    # stages, and possible for a won deal (imported won deals need not name one).
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("deal_stage.id"))
    # The furthest stage position the deal has been at (kept by the services): "reached" in
    # the funnel and in the probability's stage component is one comparison on this column.
    # For a process kind it equals the current stage's; a won deal counts as WON_POSITION.
    reached_position: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(8), default="open")
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    created_on: Mapped[date]
    expected_close: Mapped[date | None]
    closed_on: Mapped[date | None]
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    loss_reason_id: Mapped[int | None] = mapped_column(ForeignKey("deal_loss_reason.id"))
    loss_comment: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # When the current stage was entered (naive UTC): the board's "days in stage" without
    # reading the history.
    stage_entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    partner: Mapped[Partner] = relationship(lazy="joined")
    kind: Mapped[DealKind] = relationship(lazy="joined")
    stage: Mapped[DealStage | None] = relationship(lazy="joined")
    manager: Mapped[User | None] = relationship(lazy="joined")
    loss_reason: Mapped[LossReason | None] = relationship(lazy="joined")
    contacts: Mapped[list[DealContact]] = relationship(
        back_populates="deal", cascade="all, delete-orphan", order_by="DealContact.id"
    )
    participants: Mapped[list[DealParticipant]] = relationship(
        back_populates="deal", cascade="all, delete-orphan", order_by="DealParticipant.id"
    )
    history: Mapped[list[DealStageEntry]] = relationship(
        back_populates="deal",
        cascade="all, delete-orphan",
        order_by="(DealStageEntry.entered_at, DealStageEntry.id)",
    )
    documents: Mapped[list[DealDocument]] = relationship(
        back_populates="deal", cascade="all, delete-orphan", order_by="DealDocument.id"
    )

    __table_args__ = (
        # The board: open deals of a kind per stage, oldest in stage first; with the amount
        # its column totals (count, Σ amount per stage) read the index alone.
        Index("ix_deal_board", "kind_id", "status", "stage_id", "stage_entered_at", "amount"),
        # With closed_on and created_on the probability's manager win rates (the card's one
        # manager, the forecast's all of them in index order) and the effectiveness report's
        # deals open at a date per manager read the index alone.
        Index(
            "ix_deal_manager", "manager_id", "status", "expected_close", "closed_on", "created_on"
        ),
        # The partner's win rate (the card's one partner, the forecast's all of them).
        Index("ix_deal_partner", "partner_id", "status", "closed_on"),
        # The probability's stage, kind and manager win rates: closed deals of a kind that
        # reached a position (the card), counted per kind, position and manager in one walk
        # (the forecast), from the index alone.
        Index(
            "ix_deal_kind_reached",
            "kind_id",
            "status",
            "reached_position",
            "manager_id",
            "closed_on",
        ),
        # Deals won or lost in a period (effectiveness per manager and loss reason, the
        # forecast's won amounts per day), from the index alone. Status first: SQLite, which
        # plans without statistics here, prefers an index with an equality on its first
        # column, and took ix_deal_expected_close's for `status = 'won'`, reading every won
        # deal of all time from the table.
        Index(
            "ix_deal_status_closed",
            "status",
            "closed_on",
            "manager_id",
            "loss_reason_id",
            "amount",
            "created_on",
            "id",
        ),
        # The forecast and "closing this week": open deals by expected close date.
        Index("ix_deal_expected_close", "status", "expected_close"),
        # The funnel reads deals created in a window; deals open at a date are those not
        # closed by then.
        Index("ix_deal_kind_created", "kind_id", "created_on"),
        Index("ix_deal_closed", "closed_on", "status"),
    )

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def status_title(self) -> str:
        return status_title(self.status)

    @property
    def label(self) -> str:
        return f"{self.deal_no} — {self.title}" if self.title else self.deal_no


class DealContact(db.Model):
    """A contact person of the client taking part in the deal, with his role (ЛПР…)."""

    __tablename__ = "deal_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"))
    contact_person_id: Mapped[int] = mapped_column(
        ForeignKey("contact_person.id", ondelete="CASCADE")
    )
    role_id: Mapped[int | None] = mapped_column(ForeignKey("deal_role.id"))

    deal: Mapped[Deal] = relationship(back_populates="contacts")
    contact_person: Mapped[ContactPerson] = relationship(lazy="joined")
    role: Mapped[DealRole | None] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("deal_id", "contact_person_id", name="uq_deal_contact"),
        Index("ix_deal_contact_person", "contact_person_id"),
    )


class DealParticipant(db.Model):
    """A user working on the deal besides the responsible manager: he sees it and moves it."""

    __tablename__ = "deal_participant"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    role_id: Mapped[int | None] = mapped_column(ForeignKey("deal_role.id"))

    deal: Mapped[Deal] = relationship(back_populates="participants")
    user: Mapped[User] = relationship(lazy="joined")
    role: Mapped[DealRole | None] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("deal_id", "user_id", name="uq_deal_participant"),
        Index("ix_deal_participant_user", "user_id", "deal_id"),
    )


class DealStageEntry(db.Model):
    """One stay of a deal in a stage: entered, left (NULL while it is there), by whom. Closing a
    deal ends its current stay; the result itself is on the deal (status, closed_on)."""

    __tablename__ = "deal_stage_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"))
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("deal_stage.id", ondelete="SET NULL"))
    entered_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    deal: Mapped[Deal] = relationship(back_populates="history")
    stage: Mapped[DealStage | None] = relationship(lazy="joined")
    user: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (Index("ix_deal_stage_history_deal", "deal_id", "entered_at"),)


class DealDocument(db.Model):
    """A sales document (an order, a shipment) that realised the deal."""

    __tablename__ = "deal_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(ForeignKey("sales_document.id", ondelete="CASCADE"))

    deal: Mapped[Deal] = relationship(back_populates="documents")

    __table_args__ = (
        UniqueConstraint("deal_id", "document_id", name="uq_deal_document"),
        Index("ix_deal_document_document", "document_id"),
    )
