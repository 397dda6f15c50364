"""The receivables report's filter (as-of date, manager, sort, page) parsed from the query string.

Bad values never raise: they are replaced by the default and reported, so a hand-edited URL
shows a message instead of a 500.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from crm.core.params import BadValue, OutOfRange, id_or_none, page_or_first, parse_date

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
            try:
                as_of, given = parse_date(raw, label="The as-of date"), True
            except OutOfRange as exc:
                problems.append(f"{exc}: showing today.")
            except BadValue:
                shown = f"“{raw[:40]}”" if raw.isprintable() else "The as-of date"
                problems.append(f"{shown} is not a date (use YYYY-MM-DD): showing today.")
        manager = args.get("manager") or ""
        if manager and manager != "none" and id_or_none(manager) is None:
            problems.append("Unknown manager ignored.")
            manager = ""
        sort = args.get("sort") or DEFAULT_SORT
        if sort not in SORTS:
            problems.append("Unknown sort order ignored.")
            sort = DEFAULT_SORT
        page = page_or_first(args.get("page"))  # the CSV ignores it: no message to refuse it
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
