"""The segments' block of My day (crm/dashboard/widgets.py): who entered and who left the
periodic segments the day's user owns over the last week — per segment the totals, the refreshes
that changed it (their pages list everyone) and the first few partners by name (only those the
reader may see). The owner is also notified once per refresh (crm/segments/jobs.py,
`_tell_owner`); this block gathers the week in one place. Nothing to tell: the block is hidden.

Whose: the day's user's segments; the team's day shows the reader's own (a segment has one
owner; "the team's segments" would be every periodic segment, which the segment list shows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from crm.core.policy import rows_clause
from crm.dashboard.widgets import Day, HomeWidget
from crm.extensions import db
from crm.partners.models import Partner
from crm.segments.models import Segment, SegmentChange, SegmentRefresh

WEEK = 7
SEGMENT_LIMIT = 5  # segments the block lists, the latest changed first
NAME_LIMIT = 3  # partner names per segment and direction
REFRESH_LINKS = 3  # refreshes linked per segment, the latest first


@dataclass
class SegmentWeek:
    segment: Segment
    entered: int = 0
    left: int = 0
    refreshes: list[SegmentRefresh] = field(default_factory=list)  # with changes, latest first
    entered_names: list[tuple[int, str]] = field(default_factory=list)  # (partner id, name)
    left_names: list[tuple[int, str]] = field(default_factory=list)


def owned_changes(owner_id: int, since) -> list[SegmentWeek]:
    """The owner's periodic segments that someone entered or left since `since`, the latest
    changed first, with their totals and refreshes."""
    rows = db.session.execute(
        select(SegmentRefresh, Segment)
        .join(Segment, Segment.id == SegmentRefresh.segment_id)
        .where(
            Segment.owner_id == owner_id,
            Segment.kind == "periodic",
            SegmentRefresh.at >= since,
            or_(SegmentRefresh.entered > 0, SegmentRefresh.left > 0),
        )
        .order_by(SegmentRefresh.at.desc(), SegmentRefresh.id.desc())
    ).all()
    weeks: dict[int, SegmentWeek] = {}
    for record, segment in rows:
        week = weeks.setdefault(segment.id, SegmentWeek(segment))
        week.entered += record.entered
        week.left += record.left
        week.refreshes.append(record)
    return list(weeks.values())


def first_names(reader, refresh_ids: list[int], change: str, limit: int = NAME_LIMIT):
    """(id, name) of the first partners the reader may see who entered (or left) at these
    refreshes: the latest refresh first, then by name."""
    stmt = (
        select(Partner.id, Partner.name)
        .join(SegmentChange, SegmentChange.partner_id == Partner.id)
        .join(SegmentRefresh, SegmentRefresh.id == SegmentChange.refresh_id)
        .where(SegmentChange.refresh_id.in_(refresh_ids), SegmentChange.change == change)
        .order_by(SegmentRefresh.at.desc(), Partner.name, Partner.id)
        .limit(limit)
    )
    clause = rows_clause(reader, Partner)
    if clause is not None:
        stmt = stmt.where(clause)
    return [(pid, name) for pid, name in db.session.execute(stmt)]


def segment_changes(day: Day) -> str:
    """The block; empty (hidden) when none of the owner's periodic segments changed."""
    owner_id = day.user_id if day.user_id is not None else day.reader.id
    weeks = owned_changes(owner_id, day.now - timedelta(days=WEEK))
    if not weeks:
        return ""
    shown = weeks[:SEGMENT_LIMIT]
    for week in shown:
        ids = [r.id for r in week.refreshes]
        if week.entered:
            week.entered_names = first_names(day.reader, ids, "entered")
        if week.left:
            week.left_names = first_names(day.reader, ids, "left")
    return render_template(
        "segments/_home_changes.html",
        weeks=shown,
        more=len(weeks) - len(shown),
        links=REFRESH_LINKS,
        days=WEEK,
    )


WIDGET = HomeWidget("segment-changes", _l("Segments: who entered and left"), segment_changes, 65)
