"""The partner list's filter, search, sort and page, parsed from the query string.

Bad values never raise: they are dropped and reported, so a hand-edited URL shows a message
instead of a 500.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from crm.core.params import id_or_none, page_or_first
from crm.core.text import CONTROL_CHARS
from crm.partners.models import PARTNER_ROLES

SORTS = {
    "name": "Name",
    "-name": "Name (Z–A)",
    "code": "Code",
    "city": "City",
    "-created": "Newest first",
    "created": "Oldest first",
}
MAX_QUERY = 200


def _without_control(value: str, label: str, problems: list[str]) -> str:
    if CONTROL_CHARS.search(value):
        problems.append(f"{label} had control characters; they were removed.")
        return CONTROL_CHARS.sub(" ", value).strip()
    return value


@dataclass(frozen=True)
class PartnerFilter:
    q: str = ""
    role: str = ""
    manager: str = ""  # a user id, "none" for partners without one, "" for any
    tag: int | None = None
    city: str = ""
    sort: str = "name"
    page: int = 1
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args) -> PartnerFilter:
        problems: list[str] = []
        q = _without_control((args.get("q") or "").strip(), "The search text", problems)
        if len(q) > MAX_QUERY:
            q = q[:MAX_QUERY]
            problems.append(f"The search text was cut to {MAX_QUERY} characters.")
        role = args.get("role") or ""
        if role and role not in PARTNER_ROLES:
            problems.append(f"Unknown role {role!r} ignored.")
            role = ""
        manager = args.get("manager") or ""
        if manager and manager != "none" and id_or_none(manager) is None:
            problems.append("Unknown manager ignored.")
            manager = ""
        tag_raw = args.get("tag") or ""
        tag = id_or_none(tag_raw)
        if tag_raw and tag is None:
            problems.append("Unknown tag ignored.")
        city = _without_control((args.get("city") or "").strip(), "The city", problems)[:120]
        sort = args.get("sort") or "name"
        if sort not in SORTS:
            problems.append(f"Unknown sort order {sort!r} ignored.")
            sort = "name"
        page = page_or_first(args.get("page"), problems)
        return cls(q, role, manager, tag, city, sort, page, tuple(problems))

    def params(self, **overrides) -> dict[str, str]:
        """Query-string parameters of this filter (defaults omitted), with `overrides` applied."""
        f = replace(self, **overrides)
        raw = {
            "q": f.q,
            "role": f.role,
            "manager": f.manager,
            "tag": f.tag or "",
            "city": f.city,
            "sort": "" if f.sort == "name" else f.sort,
            "page": "" if f.page == 1 else f.page,
        }
        return {k: str(v) for k, v in raw.items() if v not in ("", None)}

    def query_string(self, **overrides) -> str:
        return urlencode(self.params(**overrides))

    @property
    def active(self) -> bool:
        return bool(self.q or self.role or self.manager or self.tag or self.city)
