"""The query strings of the segment pages: the list of segments and a segment's members."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.core.filters import MAX_QUERY, ChoiceField, ListFilter, PageField, SearchField
from crm.partners.models import Partner
from crm.segments.labels import KIND_TITLES


class SegmentFilter(ListFilter):
    q = SearchField(_l("Search"), max_length=MAX_QUERY, id="q")
    kind = ChoiceField(
        _l("Kind"),
        list(KIND_TITLES.items()),
        id="f-kind",
        blank=_l("Any kind"),
        message=_l("Unknown segment kind {value} ignored."),
    )
    page = PageField(_l("Page"))


class MemberFilter(ListFilter):
    partner_column = Partner.id  # the members also in another segment (the partner scopes)

    q = SearchField(_l("Search"), max_length=MAX_QUERY, id="q")
    page = PageField(_l("Page"))


class ProductMemberFilter(MemberFilter):
    """A product segment's members: no partner to narrow by."""

    partner_column = None


def member_filter(segment) -> type[MemberFilter]:
    return ProductMemberFilter if segment.of == "products" else MemberFilter
