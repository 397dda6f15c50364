"""Reads of segments: the SELECT of a segment's member ids (the rule's for a dynamic segment,
the stored rows otherwise), narrowed to the partners a user may see; the segments a user can
pick in a filter. Lists, reports, exports and the scope filter all start from
`members_select`, so "who is in a segment" is answered in one place."""

from __future__ import annotations

from sqlalchemy import select

from crm.core.policy import rows_clause
from crm.extensions import db
from crm.partners.models import Partner
from crm.segments.models import Segment, SegmentMember
from crm.segments.rules import matching


def members_select(segment: Segment, as_of=None, user=None):
    """SELECT of the ids of the segment's live partners (only those `user` may see when one is
    given). A dynamic segment's rule is compiled here (raises RuleError if it no longer
    holds, e.g. a segment it names was deleted)."""
    if segment.kind == "dynamic":
        stmt = matching(segment.rule, segment.of, as_of)
    else:
        stmt = (
            select(Partner.id)
            .join(SegmentMember, SegmentMember.partner_id == Partner.id)
            .where(SegmentMember.segment_id == segment.id, Partner.merged_into_id.is_(None))
        )
    if user is not None:
        clause = rows_clause(user, Partner)
        if clause is not None:
            stmt = stmt.where(clause)
    return stmt


def all_segments() -> list[Segment]:
    return list(db.session.execute(select(Segment).order_by(Segment.name)).scalars())
