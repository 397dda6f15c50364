"""The partner list's filter, search, sort and page, declared as a list filter (crm.core.filters).

Bad values never raise: they are dropped and reported, so a hand-edited URL shows a message
instead of a 500. Higher domains add filters (an analytics class, a stage) with
`register_list_filter` from their blueprint's setup, so the partner package never imports them.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from crm.core.filters import (
    MAX_QUERY,
    ChoiceField,
    ExtraFilter,
    IdField,
    ListFilter,
    PageField,
    SearchField,
)
from crm.core.registry import RegistryKey
from crm.partners.labels import ROLE_TITLES
from crm.partners.models import Partner

# Filters of the partner list added by higher domains; `clause(value)` is a condition on Partner.
LIST_FILTERS: RegistryKey[ExtraFilter] = RegistryKey("crm.partner_list_filters")


def register_list_filter(state_or_app, entry: ExtraFilter) -> None:
    LIST_FILTERS.register(state_or_app, entry)


SORTS = {
    "name": lazy_pgettext("partner field", "Name"),
    "-name": _l("Name (Z–A)"),
    "code": _l("Code"),
    "city": _l("City"),
    "-created": _l("Newest first"),
    "created": _l("Oldest first"),
}


class PartnerFilter(ListFilter):
    extra_filters = LIST_FILTERS
    partner_column = Partner.id

    q = SearchField(_l("Search"), max_length=MAX_QUERY, id="q")
    role = ChoiceField(
        _l("Role"),
        list(ROLE_TITLES.items()),
        id="f-role",
        blank=_l("Any role"),
        message=_l("Unknown role {value} ignored."),
    )
    # a user id, "none" for partners without one, "" for any
    manager = IdField(
        _l("Responsible"),
        keywords=("none",),
        as_text=True,
        id="f-manager",
        message=_l("Unknown responsible manager ignored."),
        fixed=[("", _l("Any responsible")), ("none", _l("Nobody responsible"))],
    )
    tag = IdField(
        _l("Tag"), message=_l("Unknown tag ignored."), id="f-tag", fixed=[("", _l("Any tag"))]
    )
    city = SearchField(
        _l("City"), max_length=120, what=_l("The city"), report_cut=False, id="f-city"
    )
    sort = ChoiceField(
        _l("Sort"),
        SORTS,
        default="name",
        active=False,
        id="f-sort",
        message=_l("Unknown sort order {value} ignored."),
    )
    page = PageField(_l("Page"))

    def query_string(self, **overrides) -> str:
        return urlencode(self.params(**overrides))
