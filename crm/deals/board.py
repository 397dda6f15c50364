"""Reads of the pipeline board: one kind's open deals in a column per stage, each column's
count and total amount, its first cards (oldest in stage first) and the next ones on demand.

Columns are read in a bounded number of queries whatever the number of deals: the counts and
totals of every column by one GROUP BY, the cards of each column by one query with a LIMIT
along the board's index (kind, status, stage, entered), then the shown deals themselves in one
query. The medians behind the stale flag are over every open deal of a stage (crm.deals.stale),
whatever the filters and the user's visible rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from crm.core.filters import DateField, IdField, ListFilter
from crm.core.policy import may, rows_clause, visible
from crm.deals.models import Deal, DealKind, DealStage, LossReason
from crm.deals.stale import days_in_stage, is_stale, stage_medians
from crm.extensions import db
from crm.partners.models import Partner

# Cards a column shows at first and per "load more". Oldest in stage first: the deals that have
# waited longest (the stale ones) are the ones to act on, and the order follows the board's
# index, so a column of thousands reads only its first rows.
PAGE_SIZE = 30
# The column of open deals without a stage (a kind without stages, or deals imported so).
NO_STAGE = "none"


class BoardFilter(ListFilter):
    partner_column = Deal.partner_id

    # Which board, not a narrowing of it: not counted on the "Filters (n)" button.
    kind = IdField(
        _l("Kind of deal"), message=_l("Unknown kind of deal ignored."), id="f-kind", active=False
    )
    manager = IdField(
        _l("Manager"),
        keywords=("me",),
        as_text=True,
        id="f-manager",
        message=_l("Unknown manager ignored."),
        fixed=[("", _l("Any manager")), ("me", _l("Me"))],
    )
    partner = IdField(_l("Partner"), message=_l("Unknown partner ignored."), id="f-partner")
    created_from = DateField(
        _l("Created from"),
        id="f-created-from",
        what=_l("The start date"),
        bad=lambda raw: _(
            "The start date %(value)s is not a date (YYYY-MM-DD); ignored.", value=repr(raw[:20])
        ),
    )
    created_to = DateField(
        _l("Created to"),
        id="f-created-to",
        what=_l("The end date"),
        bad=lambda raw: _(
            "The end date %(value)s is not a date (YYYY-MM-DD); ignored.", value=repr(raw[:20])
        ),
    )

    def check(self) -> None:
        if self.created_from and self.created_to and self.created_from > self.created_to:
            self.problems.append(_("The period ends before it starts; the dates were swapped."))
            self.created_from, self.created_to = self.created_to, self.created_from


@dataclass
class Card:
    deal: Deal
    days: int
    stale: bool
    movable: bool
    pinned: bool = False  # just moved here: shown first whatever its place in the order


@dataclass
class Column:
    key: str  # the stage id as text, or NO_STAGE
    stage: DealStage | None
    count: int = 0
    total: Decimal = Decimal(0)
    cards: list[Card] = field(default_factory=list)
    more: bool = False  # cards after the shown ones
    after: str = ""  # the keyset of the last shown card ("load more" continues after it)

    @property
    def stage_id(self) -> int | None:
        return self.stage.id if self.stage is not None else None

    @property
    def title(self) -> str:
        return self.stage.name if self.stage is not None else _("No stage")


@dataclass
class Board:
    kind: DealKind | None
    columns: list[Column]
    kinds: list[DealKind]
    reasons: list[LossReason]

    @property
    def count(self) -> int:
        return sum(c.count for c in self.columns)

    @property
    def total(self) -> Decimal:
        return sum((c.total for c in self.columns), Decimal(0))


# --- the kind and the filters ---------------------------------------------------------------


def kinds_for_select(chosen: DealKind | None) -> list[DealKind]:
    """The active kinds by name, and the chosen one even when it is inactive."""
    kinds = list(
        db.session.execute(
            select(DealKind).where(DealKind.is_active.is_(True)).order_by(DealKind.name)
        ).scalars()
    )
    if chosen is not None and chosen not in kinds:
        kinds.append(chosen)
    return kinds


def default_kind(user, kinds: list[DealKind]) -> DealKind | None:
    """The first active kind (by name) with open deals the user sees, else the first one."""
    with_deals = set(
        db.session.execute(
            visible(user, Deal, select(Deal.kind_id).where(Deal.status == "open")).group_by(
                Deal.kind_id
            )
        ).scalars()
    )
    active = [k for k in kinds if k.is_active]
    return next((k for k in active if k.id in with_deals), active[0] if active else None)


def choose_kind(user, flt: BoardFilter) -> tuple[DealKind | None, list[DealKind]]:
    chosen = db.session.get(DealKind, flt.kind) if flt.kind else None
    if flt.kind and chosen is None:
        flt.problems.append(_("Unknown kind of deal ignored."))
    kinds = kinds_for_select(chosen)
    if chosen is None:
        chosen = default_kind(user, kinds)
    return chosen, kinds


def _filtered(user, flt: BoardFilter, kind_id: int, stmt):
    """`stmt` on the open deals of the kind the user sees, narrowed by the filters."""
    stmt = stmt.where(Deal.kind_id == kind_id, Deal.status == "open")
    if flt.manager == "me":
        stmt = stmt.where(Deal.manager_id == user.id)
    elif flt.manager:
        stmt = stmt.where(Deal.manager_id == int(flt.manager))
    if flt.partner:
        stmt = stmt.where(Deal.partner_id == flt.partner)
    if flt.created_from:
        stmt = stmt.where(Deal.created_on >= flt.created_from)
    if flt.created_to:
        stmt = stmt.where(Deal.created_on <= flt.created_to)
    for clause in flt.extra_clauses():  # the partner scopes ("segment") on partner_id
        stmt = stmt.where(clause)
    return visible(user, Deal, stmt)


def _stage_clause(stage_id: int | None):
    return Deal.stage_id.is_(None) if stage_id is None else Deal.stage_id == stage_id


# --- the keyset of a column ------------------------------------------------------------------


def keyset(entered_at: datetime, deal_id: int) -> str:
    return f"{entered_at.isoformat(timespec='microseconds')}_{deal_id}"


def parse_keyset(raw: str | None) -> tuple[datetime, int] | None:
    """(entered_at, id) of a card, or None for anything else (the column starts over)."""
    text = (raw or "").strip()[:60]
    stamp, _sep, number = text.rpartition("_")
    if not (number.isascii() and number.isdigit() and len(number) <= 10):
        return None
    try:
        return datetime.fromisoformat(stamp), int(number)
    except ValueError:
        return None


# --- reads ---------------------------------------------------------------------------------


def column_medians(
    kind_id: int, now: datetime, counts: dict[int | None, int] | None = None
) -> dict[int | None, float]:
    """{stage_id: median days in stage} of every open deal of the kind (crm.deals.stale);
    `counts`: {stage_id: open deals} when the board already counted the whole stages."""
    keyed = None if counts is None else {(kind_id, stage): n for stage, n in counts.items()}
    return {stage: m for (_kind, stage), m in stage_medians([kind_id], now, keyed).items()}


def column_totals(user, flt: BoardFilter, kind_id: int) -> dict[int | None, tuple[int, Decimal]]:
    """{stage_id: (count, Σ amount)} of the filtered open deals of the kind: one GROUP BY."""
    stmt = select(Deal.stage_id, func.count(Deal.id), func.coalesce(func.sum(Deal.amount), 0))
    rows = db.session.execute(_filtered(user, flt, kind_id, stmt).group_by(Deal.stage_id))
    return {stage_id: (count, Decimal(str(total))) for stage_id, count, total in rows}


def column_ids(
    user,
    flt: BoardFilter,
    kind_id: int,
    stage_id: int | None,
    *,
    after: tuple[datetime, int] | None = None,
    skip: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[tuple[int, datetime]]:
    """(id, entered_at) of a column's next `limit` + 1 cards (the extra one says there are
    more), oldest in stage first, after the keyset `after`; `skip` a deal shown pinned."""
    stmt = select(Deal.id, Deal.stage_entered_at).where(_stage_clause(stage_id))
    stmt = _filtered(user, flt, kind_id, stmt)
    if after is not None:
        entered, last_id = after
        # The first condition bounds the index range; the second breaks ties by id.
        stmt = stmt.where(
            Deal.stage_entered_at >= entered,
            or_(Deal.stage_entered_at > entered, Deal.id > last_id),
        )
    if skip:
        stmt = stmt.where(Deal.id != skip)
    stmt = stmt.order_by(Deal.stage_entered_at, Deal.id).limit(limit + 1)
    return [(row[0], row[1]) for row in db.session.execute(stmt)]


def load_deals(ids: list[int]) -> dict[int, Deal]:
    """The shown deals with their partner, manager and participants (the move permission asks
    who takes part), in one query and one for the participants."""
    if not ids:
        return {}
    stmt = (
        select(Deal)
        .where(Deal.id.in_(ids))
        .options(
            # The partner's name only: its responsible user (joined by default) is not shown.
            joinedload(Deal.partner).load_only(Partner.id, Partner.name).lazyload("*"),
            lazyload(Deal.kind),
            lazyload(Deal.stage),
            lazyload(Deal.loss_reason),
            selectinload(Deal.participants),
        )
    )
    return {d.id: d for d in db.session.execute(stmt).unique().scalars()}


def _cards(user, ids, deals, medians, stage_id, now, pinned_id=None) -> list[Card]:
    cards = []
    for deal_id in ids:
        deal = deals.get(deal_id)
        if deal is None:
            continue
        days = days_in_stage(deal.stage_entered_at, now)
        cards.append(
            Card(
                deal=deal,
                days=days,
                stale=is_stale(days, medians.get(stage_id)),
                movable=may(user, "deal.move", deal),
                pinned=deal_id == pinned_id,
            )
        )
    return cards


def board(user, flt: BoardFilter, now: datetime, *, pinned: int | None = None) -> Board:
    """The board of the filter's kind (or the default one) for `user`. `pinned`: a deal just
    moved, shown first in its column even when older cards fill the column's first page."""
    kind, kinds = choose_kind(user, flt)
    reasons = active_reasons()
    if kind is None:
        return Board(None, [], kinds, reasons)
    totals = column_totals(user, flt, kind.id)
    stages: list[DealStage | None] = list(kind.stages)
    # Open deals without a stage in a kind that has stages (imported so): a column of their own.
    if not stages or None in totals:
        stages.insert(0, None)
    # Unfiltered and every row visible, the columns' counts are the whole stages' counts.
    whole = not flt.active and rows_clause(user, Deal) is None
    medians = column_medians(kind.id, now, {k: v[0] for k, v in totals.items()} if whole else None)
    columns, shown = [], {}
    pinned_at = None
    if pinned:
        found = db.session.execute(
            _filtered(user, flt, kind.id, select(Deal.stage_id).where(Deal.id == pinned))
        ).first()
        pinned_at = (found[0],) if found is not None else None
    for stage in stages:
        stage_id = stage.id if stage is not None else None
        count, total = totals.get(stage_id, (0, Decimal(0)))
        column = Column(key=str(stage_id) if stage_id else NO_STAGE, stage=stage)
        column.count, column.total = count, total
        if count:
            skip = pinned if pinned_at == (stage_id,) else None
            rows = column_ids(user, flt, kind.id, stage_id, skip=skip)
            column.more = len(rows) > PAGE_SIZE
            rows = rows[:PAGE_SIZE]
            if rows:
                column.after = keyset(rows[-1][1], rows[-1][0])
            shown[column.key] = ([pinned] if skip else []) + [r[0] for r in rows]
        columns.append(column)
    deals = load_deals([i for ids in shown.values() for i in ids])
    for column in columns:
        column.cards = _cards(
            user, shown.get(column.key, []), deals, medians, column.stage_id, now, pinned
        )
    return Board(kind, columns, kinds, reasons)


def column_page(
    user,
    flt: BoardFilter,
    kind: DealKind,
    stage: DealStage | None,
    now: datetime,
    *,
    after: tuple[datetime, int] | None,
    skip: int | None = None,
) -> Column:
    """The next cards of one column after the keyset `after` ("load more"), with its count and
    total (the page without JavaScript shows them)."""
    stage_id = stage.id if stage is not None else None
    column = Column(key=str(stage_id) if stage_id else NO_STAGE, stage=stage)
    column.count, column.total = column_totals(user, flt, kind.id).get(stage_id, (0, Decimal(0)))
    rows = column_ids(user, flt, kind.id, stage_id, after=after, skip=skip)
    column.more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if rows:
        column.after = keyset(rows[-1][1], rows[-1][0])
    deals = load_deals([r[0] for r in rows])
    medians = column_medians(kind.id, now)
    column.cards = _cards(user, [r[0] for r in rows], deals, medians, stage_id, now)
    return column


def next_stages(kind: DealKind) -> dict[int | None, DealStage | None]:
    """{stage_id: the stage after it} of a process kind (None: the first stage)."""
    stages = list(kind.stages)
    found: dict[int | None, DealStage | None] = {None: stages[0] if stages else None}
    for n, here in enumerate(stages):
        found[here.id] = stages[n + 1] if n + 1 < len(stages) else None
    return found


def active_reasons() -> list[LossReason]:
    return list(
        db.session.execute(
            select(LossReason).where(LossReason.is_active.is_(True)).order_by(LossReason.name)
        ).scalars()
    )
