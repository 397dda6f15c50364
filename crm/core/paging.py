"""Pages of a long list whose matches are counted only up to a limit ("1,000+")."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select

from crm.core.formats import fmt_number
from crm.extensions import db

# A filtered list counts its matches up to here and then says "1,000+": counting every match
# of a common word means reading every row, which a page of 25 rows does not need.
COUNT_LIMIT = 1000


@dataclass
class Page:
    items: list
    total: int  # the number of matches; with `more`, how many were counted before stopping
    page: int
    per_page: int
    more: bool = False  # the count stopped at `total`: there are more matches
    next_exists: bool = False  # a row after this page was seen

    @property
    def pages(self) -> int:
        """The number of pages; with `more`, the number known to exist."""
        pages = max(1, -(-self.total // self.per_page))
        if self.more:
            pages = max(pages, self.page + (1 if self.next_exists else 0))
        return pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def total_text(self) -> str:
        text = fmt_number(self.total, 0)
        return text + "+" if self.more else text

    @property
    def pages_text(self) -> str:
        text = fmt_number(self.pages, 0)
        return text + "+" if self.more and self.next_exists else text


def capped_page(ids_stmt: Select, page: int, per_page: int, limit: int | None = None) -> Page:
    """The ids of one page of `ids_stmt` (a select of ids in list order), counted up to `limit`.

    One index read of the ids up to the limit (or up to this page, if it lies beyond) gives
    both the total and the page, instead of a count over every match and a second read for
    the page. A page past the end (an old link, an edited URL) becomes the last page."""
    limit = COUNT_LIMIT if limit is None else limit
    offset = (page - 1) * per_page
    upto = max(limit + 1, offset + per_page + 1)
    ids = list(db.session.execute(ids_stmt.limit(upto)).scalars())
    more = len(ids) > limit and len(ids) == upto
    total = min(len(ids), limit) if more else len(ids)
    if not more:
        last = max(1, -(-total // per_page))
        if page > last:
            offset = (last - 1) * per_page
    page_ids = ids[offset : offset + per_page + 1]
    next_exists = len(page_ids) > per_page
    return Page(page_ids[:per_page], total, offset // per_page + 1, per_page, more, next_exists)
