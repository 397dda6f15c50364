"""Pages of a long list whose matches are counted only up to a limit ("1,000+")."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select

from crm.core.formats import fmt_number
from crm.extensions import db

# A filtered list counts its matches up to here and then says "1,000+": counting every match
# of a common word means reading every row, which a page of 25 rows does not need.
COUNT_LIMIT = 1000
# An unfiltered list is counted exactly up to here (an index-only count of 20,000 ids takes a
# few ms). Above it PostgreSQL shows its planner's estimate, marked "≈": the exact count is a
# scan of every visible row (~150 ms at 1,000,000 partners) for a number nobody reads to the
# last unit. SQLite has no estimate and counts exactly (cheap at the sizes it serves).
EXACT_COUNT_UPTO = 20_000


@dataclass
class Page:
    items: list
    total: int  # the number of matches; with `more`, how many were counted before stopping
    page: int
    per_page: int
    more: bool = False  # the count stopped at `total`: there are more matches
    next_exists: bool = False  # a row after this page was seen
    approximate: bool = False  # `total` is an estimate (rounded), not a count

    @property
    def pages(self) -> int:
        """The number of pages; with `more`, the number known to exist."""
        pages = max(1, -(-self.total // self.per_page))
        if self.more or self.approximate:
            pages = max(pages, self.page + (1 if self.next_exists else 0))
        return pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        if self.approximate:
            return self.next_exists  # the estimate may be off; the row after this page is not
        return self.page < self.pages

    @property
    def total_text(self) -> str:
        text = fmt_number(self.total, 0)
        if self.approximate:
            return "≈\N{NO-BREAK SPACE}" + text
        return text + "+" if self.more else text

    @property
    def pages_text(self) -> str:
        text = fmt_number(self.pages, 0)
        if self.approximate:
            return "≈\N{NO-BREAK SPACE}" + text
        return text + "+" if self.more and self.next_exists else text


def planner_estimate(stmt: Select) -> int | None:
    """PostgreSQL's estimate of the rows `stmt` returns, from its statistics (no row is read,
    ~0.3 ms), rounded to three significant digits so it does not look like a count; None on
    other databases or when the planner has no statistics yet."""
    conn = db.session.connection()
    if conn.dialect.name != "postgresql":
        return None
    compiled = stmt.compile(dialect=conn.dialect)
    plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params).scalar()
    rows = int(plan[0]["Plan"]["Plan Rows"])
    if rows <= 1:
        return None  # never analysed: PostgreSQL guesses, a count is better
    digits = len(str(rows)) - 3
    return round(rows, -digits) if digits > 0 else rows


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
