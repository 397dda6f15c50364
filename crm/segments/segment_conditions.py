"""The condition "member of a segment": a stored segment's members, or a dynamic segment's own
rule compiled in place (a segment that would contain itself, directly or through others, is
refused)."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select

from crm.core.conditions import ConditionType, Param
from crm.extensions import db
from crm.partners.models import Partner
from crm.segments.models import Segment, SegmentMember
from crm.segments.rules import RuleError, compile_rule

# The dynamic segments whose rules are being compiled right now (a cycle guard).
_compiling: ContextVar[tuple[int, ...]] = ContextVar("segments_compiling", default=())


@contextmanager
def compiling_as(segment_id: int | None):
    """Compile a rule as segment `segment_id`'s (a changed rule is checked before it is stored):
    a dynamic segment it names that leads back to this one is refused as a cycle."""
    if segment_id is None:
        yield
        return
    token = _compiling.set((*_compiling.get(), segment_id))
    try:
        yield
    finally:
        _compiling.reset(token)


def _member(values):
    ids = values["segments"]
    found = {
        s.id: s for s in db.session.execute(select(Segment).where(Segment.id.in_(ids))).scalars()
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise RuleError("", _("No segment has the id %(id)s.", id=missing[0]))
    of_products = [s.name for s in found.values() if s.of != "partners"]
    if of_products:
        raise RuleError("", _("%(name)s is a segment of products.", name=of_products[0]))
    parts = []
    for sid in ids:
        segment = found[sid]
        if segment.kind != "dynamic":
            parts.append(
                exists().where(
                    SegmentMember.segment_id == sid, SegmentMember.partner_id == Partner.id
                )
            )
            continue
        stack = _compiling.get()
        if sid in stack:
            raise RuleError("", _("A segment cannot contain itself (%(name)s).", name=segment.name))
        token = _compiling.set((*stack, sid))
        try:
            parts.append(compile_rule(segment.rule, segment.of))
        finally:
            _compiling.reset(token)
    return or_(*parts)


def _segment_options() -> list[tuple[int, str]]:
    return [
        tuple(r)
        for r in db.session.execute(
            select(Segment.id, Segment.name).where(Segment.of == "partners").order_by(Segment.name)
        )
    ]


CONDITIONS = (
    ConditionType(
        "segment.member",
        _l("Member of a segment"),
        (Param("segments", "ids", title=_l("Segments"), options=_segment_options),),
        _member,
        order=90,
    ),
)
