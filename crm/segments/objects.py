"""What a segment holds: partners or products. One machinery serves both — the rule compiler
(conditions registered with `of="partners"` or `of="products"`), the stored members and the
changes at a refresh — and this table says, for each, which table the members come from and
where they are stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.partners.models import Partner
from crm.sales.models import Product
from crm.segments.models import (
    Segment,
    SegmentChange,
    SegmentMember,
    SegmentProduct,
    SegmentProductChange,
)


@dataclass(frozen=True)
class Objects:
    of: str
    model: Any  # Partner | Product
    member: Any  # the stored-member model
    change: Any  # the entered/left model
    key: str  # the member's and change's column naming the object

    @property
    def id(self):
        return self.model.id

    def live(self) -> list:
        """Conditions on the object's rows that keep only live ones (a merged partner is a
        pointer, not a member)."""
        return [Partner.merged_into_id.is_(None)] if self.model is Partner else []

    def member_key(self):
        return getattr(self.member, self.key)

    def change_key(self):
        return getattr(self.change, self.key)


OBJECTS = {
    "partners": Objects("partners", Partner, SegmentMember, SegmentChange, "partner_id"),
    "products": Objects("products", Product, SegmentProduct, SegmentProductChange, "product_id"),
}


def objects_of(segment_or_of: Segment | str) -> Objects:
    of = segment_or_of if isinstance(segment_or_of, str) else segment_or_of.of
    return OBJECTS[of or "partners"]
