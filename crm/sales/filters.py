"""The receivables report's filter (as-of date, manager, sort, page), declared as a list filter
(crm.core.filters).

Bad values never raise: they are replaced by the default and reported, so a hand-edited URL
shows a message instead of a 500.
"""

from __future__ import annotations

from datetime import date

from crm.core.filters import ChoiceField, DateField, IdField, ListFilter, PageField

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


def _not_a_date(raw: str) -> str:
    shown = f"“{raw[:40]}”" if raw.isprintable() else "The as-of date"
    return f"{shown} is not a date (use YYYY-MM-DD): showing today."


class ReceivablesFilter(ListFilter):
    # None: today (then left out of links); a date from the URL is kept in them
    as_of_date = DateField(
        "As of",
        name="as_of",
        what="The as-of date",
        id="f-as-of",
        bad=_not_a_date,
        out_of_range=lambda raw, error: f"{error}: showing today.",
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
    sort = ChoiceField(
        "Sort",
        SORTS,
        default=DEFAULT_SORT,
        id="f-sort",
        active=False,
        message="Unknown sort order ignored.",
    )
    page = PageField("Page", quiet=True)  # the CSV ignores it: no message to refuse it

    def __init__(self, args=None, today: date | None = None, **kwargs):
        super().__init__(args, **kwargs)
        self.today = today or date.today()

    @property
    def as_of(self) -> date:
        return self.as_of_date or self.today

    def sorted_by(self, field_name: str) -> str:
        """The sort a column header links to: largest first, or the reverse when it is on."""
        return field_name if self.sort == f"-{field_name}" else f"-{field_name}"
