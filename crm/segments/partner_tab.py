"""The partner card's Segments tab (crm/partners/tabs.py): the segments a partner is in — the
stored members of periodic and manual segments (since when), and each dynamic segment's rule
evaluated for this one partner — with adding the partner to, and removing him from, the manual
segments the user may edit (through the segment pages' own add and remove actions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from crm.core.policy import may
from crm.extensions import db
from crm.partners.models import Partner
from crm.partners.tabs import PartnerTab
from crm.segments.labels import KIND_TITLES
from crm.segments.models import Segment, SegmentMember
from crm.segments.rules import RuleError, matching

# Dynamic segments have no stored members: each rule is evaluated for the partner. A small
# team has a few dozen; past this many the tab says how many it did not check.
DYNAMIC_LIMIT = 200
# The rules checked by one query (one EXISTS column each): one round trip for a few dozen.
CHUNK = 40
# Manual segments offered in the "add to segment" list.
CHOICES_LIMIT = 100


@dataclass(frozen=True)
class Membership:
    segment: Segment
    since: datetime | None  # stored members: when the partner was added or entered
    removable: bool  # a manual segment the user may edit


@dataclass
class DynamicCheck:
    found: list[Segment]
    broken: list[Segment]  # rules that no longer compile (a segment they name was deleted)
    unchecked: int  # dynamic segments past DYNAMIC_LIMIT


def stored_memberships(partner_id: int) -> list[tuple[Segment, datetime]]:
    """The periodic and manual segments holding the partner, with the moment he came in."""
    rows = db.session.execute(
        select(Segment, SegmentMember.added_at)
        .join(SegmentMember, SegmentMember.segment_id == Segment.id)
        .where(SegmentMember.partner_id == partner_id, Segment.kind != "dynamic")
        .order_by(Segment.name, Segment.id)
    ).all()
    return [(segment, added_at) for segment, added_at in rows]


def dynamic_memberships(partner_id: int, limit: int = DYNAMIC_LIMIT) -> DynamicCheck:
    """The dynamic segments whose rule the partner meets now (by name). A rule that no longer
    compiles is set aside, not an error of the card."""
    segments = list(
        db.session.execute(
            select(Segment)
            .where(Segment.kind == "dynamic", Segment.of == "partners")
            .order_by(Segment.name, Segment.id)
            .limit(limit + 1)
        ).scalars()
    )
    unchecked = 0
    if len(segments) > limit:
        total = db.session.execute(
            select(func.count())
            .select_from(Segment)
            .where(Segment.kind == "dynamic", Segment.of == "partners")
        ).scalar_one()
        segments, unchecked = segments[:limit], total - limit
    checks, broken = [], []
    for segment in segments:
        try:
            stmt = matching(segment.rule, segment.of).where(Partner.id == partner_id)
        except RuleError:
            broken.append(segment)
            continue
        checks.append((segment, stmt.exists()))
    found = []
    for start in range(0, len(checks), CHUNK):
        part = checks[start : start + CHUNK]
        row = db.session.execute(
            select(*(check.label(f"s{i}") for i, (_, check) in enumerate(part)))
        ).one()
        found += [segment for (segment, _), hit in zip(part, row, strict=True) if hit]
    return DynamicCheck(found, broken, unchecked)


def editable_manual_segments(user, exclude: set[int]) -> list[Segment]:
    """The manual segments `user` may fill by hand, by name, but those in `exclude`."""
    stmt = (
        select(Segment)
        .where(Segment.kind == "manual", Segment.of == "partners")
        .order_by(Segment.name, Segment.id)
    )
    if exclude:
        stmt = stmt.where(Segment.id.not_in(sorted(exclude)))
    found = db.session.execute(stmt.limit(CHOICES_LIMIT)).scalars()
    return [s for s in found if may(user, "segments.edit", s)]


def segments_tab(partner) -> str:
    """The Segments tab: each segment the partner is in, its kind and since when."""
    stored = stored_memberships(partner.id)
    dynamic = dynamic_memberships(partner.id)
    rows = [
        Membership(
            segment,
            since,
            segment.kind == "manual" and may(current_user, "segments.edit", segment),
        )
        for segment, since in stored
    ]
    rows += [Membership(segment, None, False) for segment in dynamic.found]
    rows.sort(key=lambda m: (m.segment.name.casefold(), m.segment.id))
    in_manual = {m.segment.id for m in rows if m.segment.kind == "manual"}
    return render_template(
        "segments/_tab_partner.html",
        partner=partner,
        rows=rows,
        broken=dynamic.broken,
        unchecked=dynamic.unchecked,
        kinds=KIND_TITLES,
        choices=editable_manual_segments(current_user, in_manual),
        back=url_for("partners.detail", partner_id=partner.id, tab="segments"),
    )


TAB = PartnerTab(
    "segments",
    _l("Segments"),
    segments_tab,
    62,
    lambda user: may(user, "segments.view"),
)
