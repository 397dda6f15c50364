"""The partner list's filter, search, sort and page, declared as a list filter (crm.core.filters).

Bad values never raise: they are dropped and reported, so a hand-edited URL shows a message
instead of a 500.
"""

from __future__ import annotations

from urllib.parse import urlencode

from crm.core.filters import (
    MAX_QUERY,
    ChoiceField,
    IdField,
    ListFilter,
    PageField,
    SearchField,
)
from crm.partners.models import PARTNER_ROLES

SORTS = {
    "name": "Name",
    "-name": "Name (Z–A)",
    "code": "Code",
    "city": "City",
    "-created": "Newest first",
    "created": "Oldest first",
}


class PartnerFilter(ListFilter):
    q = SearchField("Search", max_length=MAX_QUERY, id="q")
    role = ChoiceField(
        "Role",
        [(r, r.capitalize()) for r in PARTNER_ROLES],
        id="f-role",
        blank="Any role",
        message="Unknown role {value} ignored.",
    )
    # a user id, "none" for partners without one, "" for any
    manager = IdField(
        "Manager",
        keywords=("none",),
        as_text=True,
        id="f-manager",
        message="Unknown manager ignored.",
        fixed=[("", "Any manager"), ("none", "Nobody")],
    )
    tag = IdField("Tag", message="Unknown tag ignored.", id="f-tag", fixed=[("", "Any tag")])
    city = SearchField("City", max_length=120, what="The city", report_cut=False, id="f-city")
    sort = ChoiceField(
        "Sort",
        SORTS,
        default="name",
        active=False,
        id="f-sort",
        message="Unknown sort order {value} ignored.",
    )
    page = PageField("Page")

    def query_string(self, **overrides) -> str:
        return urlencode(self.params(**overrides))
