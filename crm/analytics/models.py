"""Stored analytics: the monthly snapshots of every client's stage and of the ABC/XYZ classes of
products and partners, kept so that their history can be shown (partner and product cards,
"moved down" on My day), and a row per computed snapshot saying when it was taken."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.timeutil import utcnow
from crm.extensions import db

SNAPSHOT_KINDS = ("stages", "classes")


class StageSnapshot(db.Model):
    """A client's stage (crm.analytics.stages) at a month end `at`; one row per partner that
    existed at `at`. `revenue_window` is R: the net revenue of the W months ending with `at`'s
    month (the lost-revenue rule's R1 when this snapshot is a transition's source)."""

    __tablename__ = "analytics_stage_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[date]
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(16))
    revenue_window: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal("0"))
    last_purchase: Mapped[date | None]

    __table_args__ = (
        UniqueConstraint("at", "partner_id", name="uq_analytics_stage_snapshot"),
        Index("ix_analytics_stage_snapshot_partner", "partner_id", "at"),
        Index("ix_analytics_stage_snapshot_at_stage", "at", "stage"),
    )


class ClassSnapshot(db.Model):
    """The ABC/XYZ class of a product or partner (`of`) for the window of months ending with
    `month` (its first day), with the default metrics and settings. `object_id` is a product's
    or a partner's id, as `of` says (a partner merge moves or drops its rows)."""

    __tablename__ = "analytics_class_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    of: Mapped[str] = mapped_column(String(10))  # "products" | "partners"
    month: Mapped[date]
    object_id: Mapped[int]
    abc: Mapped[str] = mapped_column(String(1))
    xyz: Mapped[str] = mapped_column(String(1))
    abc_metric: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    cv_pct: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))

    __table_args__ = (
        UniqueConstraint("of", "month", "object_id", name="uq_analytics_class_snapshot"),
        Index("ix_analytics_class_snapshot_object", "of", "object_id", "month"),
        Index("ix_analytics_class_snapshot_month_class", "of", "month", "abc", "xyz"),
    )


class SnapshotRun(db.Model):
    """That the snapshot of `kind` for `period` (a month end for stages, a month's first day for
    classes) was computed, when and with how many rows: a snapshot of no rows still exists."""

    __tablename__ = "analytics_snapshot_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # SNAPSHOT_KINDS
    period: Mapped[date]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    rows: Mapped[int] = mapped_column(default=0)

    __table_args__ = (UniqueConstraint("kind", "period", name="uq_analytics_snapshot_run"),)


class PlannedCall(db.Model):
    """That a call to a client was planned from a cell of the transition report: the move
    (month ends `from_date` → `to_date`, stage `source` → `target`) and the interaction made
    for it. The unique key makes the batch idempotent: pressing "plan calls" again, or twice
    at once, plans nothing new for a client already planned for that move. The row stays when
    its interaction is deleted (someone decided against that call; a new batch does not bring
    it back)."""

    __tablename__ = "analytics_planned_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_date: Mapped[date]
    to_date: Mapped[date]
    source: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interaction.id", ondelete="SET NULL")
    )
    planned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint(
            "from_date",
            "to_date",
            "source",
            "target",
            "partner_id",
            name="uq_analytics_planned_call",
        ),
        Index("ix_analytics_planned_call_partner", "partner_id"),
        Index("ix_analytics_planned_call_interaction", "interaction_id"),
    )


class SelectionCall(db.Model):
    """That a call to a client was planned from a selection (a segment's page, a filtered list,
    a report's drill-down: crm.core.selections) on a day: `selection` is the SHA-256 of the
    source and its query string. The unique key makes the batch idempotent: pressing "plan
    calls" again the same day, or twice at once, plans nothing new for a client already
    planned from that selection that day. The row stays when its interaction is deleted."""

    __tablename__ = "analytics_selection_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    selection: Mapped[str] = mapped_column(String(64))
    planned_on: Mapped[date]  # the planner's local day
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interaction.id", ondelete="SET NULL")
    )
    planned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint(
            "selection", "planned_on", "partner_id", name="uq_analytics_selection_call"
        ),
        Index("ix_analytics_selection_call_partner", "partner_id"),
        Index("ix_analytics_selection_call_interaction", "interaction_id"),
    )
