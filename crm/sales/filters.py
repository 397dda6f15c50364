"""The receivables report's filter (as-of date, manager, sort, page) parsed from the query string.

Bad values never raise: they are replaced by the default and reported, so a hand-edited URL
shows a message instead of a 500.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from crm.partners.filters import whole_number

SORTS = {
    "-debt": "Debt, largest first",
    "debt": "Debt, smallest first",
    "-overdue": "Overdue, largest first",
    "overdue": "Overdue, smallest first",
    "oldest": "Oldest overdue first",
    "code": "Code",
    "name": "Name",
}
DEFAULT_SORT = "-debt"
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DOTTED = re.compile(r"^\d{2}\.\d{2}\.\d{4}$")


def parse_date(raw: str) -> date | None:
    """`YYYY-MM-DD` or `DD.MM.YYYY` (as the exchange files write dates); None otherwise."""
    raw = raw.strip()
    try:
        if _ISO.match(raw):
            return date.fromisoformat(raw)
        if _DOTTED.match(raw):
            return datetime.strptime(raw, "%d.%m.%Y").date()
    except ValueError:
        return None
    return None


@dataclass(frozen=True)
class ReceivablesFilter:
    as_of: date
    manager: str = ""  # a user id, "none" for partners without one, "" for any
    sort: str = DEFAULT_SORT
    page: int = 1
    as_of_given: bool = False  # the date came from the URL (kept in links), not today's default
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args, today: date) -> ReceivablesFilter:
        problems: list[str] = []
        raw = (args.get("as_of") or "").strip()
        as_of, given = today, False
        if raw:
            parsed = parse_date(raw)
            if parsed is None:
                shown = f"“{raw[:40]}”" if raw.isprintable() else "The as-of date"
                problems.append(f"{shown} is not a date (use YYYY-MM-DD): showing today.")
            else:
                as_of, given = parsed, True
        manager = args.get("manager") or ""
        if manager and manager != "none" and whole_number(manager) is None:
            problems.append("Unknown manager ignored.")
            manager = ""
        sort = args.get("sort") or DEFAULT_SORT
        if sort not in SORTS:
            problems.append("Unknown sort order ignored.")
            sort = DEFAULT_SORT
        page = whole_number(args.get("page") or "1", 6) or 1
        return cls(as_of, manager, sort, page, given, tuple(problems))

    def params(self, **changes) -> dict:
        """Query-string arguments of this filter (defaults left out) for url_for."""
        f = replace(self, **changes)
        out = {}
        if f.as_of_given:
            out["as_of"] = f.as_of.isoformat()
        if f.manager:
            out["manager"] = f.manager
        if f.sort != DEFAULT_SORT:
            out["sort"] = f.sort
        if f.page > 1:
            out["page"] = f.page
        return out

    def sorted_by(self, field_name: str) -> str:
        """The sort a column header links to: largest first, or the reverse when it is on."""
        return field_name if self.sort == f"-{field_name}" else f"-{field_name}"
