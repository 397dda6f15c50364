"""The partner scope "segment" (crm.core.partner_scope): every list and report with a partner
dimension gets a "Segment" filter, `?segment=<id>`, narrowing it to the segment's members the
user may see (`queries.members_select` with the user: a manager's scope is the part of the
segment his segment page shows him, on company-wide reports too).

An unknown id, a product segment, or a dynamic segment whose rule no longer compiles (a
segment it names was deleted) is dropped with a message, as a bad value of any filter is."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.core.filters import IdField, Ignored
from crm.core.partner_scope import PartnerScope
from crm.extensions import db
from crm.segments.models import Segment
from crm.segments.queries import members_select
from crm.segments.rules import RuleError

KEY = "segment"


class SegmentField(IdField):
    """The segment picker: its options (the partner segments by name) are read when it is
    drawn, so a list that does not draw its filters reads no segment."""

    def iter_choices(self):
        if not self.options:
            self.options = [
                tuple(row)
                for row in db.session.execute(
                    select(Segment.id, Segment.name)
                    .where(Segment.of == "partners")
                    .order_by(Segment.name)
                )
            ]
        return super().iter_choices()


def segment_field() -> SegmentField:
    return SegmentField(
        _l("Segment"),
        id="f-segment",
        message=_l("Unknown segment ignored."),
        fixed=[("", _l("Any segment"))],
    )


def partner_ids(value: int, user):
    """SELECT of the ids of segment `value`'s members `user` may see (all without a user)."""
    segment = db.session.get(Segment, value)
    if segment is None or segment.of != "partners":
        raise Ignored(_("Unknown segment ignored."))
    try:
        return members_select(segment, user=user)
    except RuleError as exc:
        raise Ignored(
            _(
                "The segment %(name)s cannot be used as a filter: %(error)s",
                name=segment.name,
                error=exc.message,
            )
        ) from None


def rule(value: int) -> dict:
    return {"type": "segment.member", "segments": [value]}


SCOPE = PartnerScope(KEY, segment_field(), partner_ids, 200, rule=rule)
