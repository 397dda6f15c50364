"""Segments: named sets of partners — dynamic (only the rule is stored; members computed when
used), periodic (members stored, recomputed on a schedule, each refresh records who entered and
left) and manual (members added and removed by hand, optionally pre-filled from a rule)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.timeutil import utcnow
from crm.core.versioning import Versioned
from crm.extensions import db

KINDS = ("dynamic", "periodic", "manual")
OBJECTS = ("partners", "products")  # what a segment holds
SCHEDULES = ("hourly", "daily", "weekly", "monthly")


class Segment(Versioned, db.Model):
    __tablename__ = "segment"
    version_label = _l("segment")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    of: Mapped[str] = mapped_column(String(16), default="partners")
    kind: Mapped[str] = mapped_column(String(16))  # KINDS
    rule: Mapped[dict | None] = mapped_column(JSON)  # crm.segments.rules; None: manual only
    schedule: Mapped[str | None] = mapped_column(String(16))  # SCHEDULES, periodic only
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    refreshed_at: Mapped[datetime | None]


class SegmentMember(db.Model):
    """A stored member of a periodic or manual segment."""

    __tablename__ = "segment_member"

    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segment.id", ondelete="CASCADE"), primary_key=True
    )
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_segment_member_partner", "partner_id", "segment_id"),)


class SegmentRefresh(db.Model):
    """One recomputation of a periodic segment: when, how many members, entered and left."""

    __tablename__ = "segment_refresh"

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    members: Mapped[int] = mapped_column(default=0)
    entered: Mapped[int] = mapped_column(default=0)
    left: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_segment_refresh_segment", "segment_id", "at"),)


class SegmentChange(db.Model):
    """A partner who entered or left a periodic segment at a refresh."""

    __tablename__ = "segment_change"

    refresh_id: Mapped[int] = mapped_column(
        ForeignKey("segment_refresh.id", ondelete="CASCADE"), primary_key=True
    )
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True
    )
    change: Mapped[str] = mapped_column(String(8))  # "entered" | "left"


class SegmentProduct(db.Model):
    """A stored member of a periodic or manual segment of products."""

    __tablename__ = "segment_product"

    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segment.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), primary_key=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_segment_product_product", "product_id", "segment_id"),)


class SegmentProductChange(db.Model):
    """A product that entered or left a periodic segment of products at a refresh."""

    __tablename__ = "segment_product_change"

    refresh_id: Mapped[int] = mapped_column(
        ForeignKey("segment_refresh.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), primary_key=True
    )
    change: Mapped[str] = mapped_column(String(8))  # "entered" | "left"
