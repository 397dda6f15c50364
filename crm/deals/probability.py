"""The probability that an open deal is won (analytics.md, Deals): the mean of up to four win
rates won / (won + lost) of the deals closed on or before the as-of date —

1. *stage*: closed deals of the same kind that reached the deal's current stage;
2. *manager*: closed deals of the same responsible manager (any kind);
3. *partner*: closed deals of the same partner (any kind);
4. *kind*: closed deals of the same kind.

A component resting on fewer than MIN_CLOSED closed deals is left out; with none left, the
stage's default probability is used. A deal without a stage (a kind without stages) or without
a manager has nothing to compare for that component: it rests on 0 deals.

The rates rest on every closed deal, whoever may see them: they are statistics of the team.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask import current_app
from sqlalchemy import case, func, or_, select

from crm.core.timeutil import site_today
from crm.deals.models import CLOSED_STATUSES, Deal, DealStage
from crm.extensions import db

MIN_CLOSED = 5
COMPONENTS = ("stage", "manager", "partner", "kind")
HUNDRED = Decimal(100)


def min_closed() -> int:
    return int(current_app.config.get("DEAL_PROBABILITY_MIN_CLOSED", MIN_CLOSED))


@dataclass(frozen=True)
class Component:
    key: str  # one of COMPONENTS
    won: int
    lost: int
    threshold: int = MIN_CLOSED

    @property
    def closed(self) -> int:
        return self.won + self.lost

    def __post_init__(self):
        # Worked out once: a component serves every open deal of its stage, manager, partner
        # or kind, and a report asks thousands of them (not fields: equality stays the four).
        closed = self.won + self.lost
        object.__setattr__(self, "_rate", Decimal(self.won) * HUNDRED / closed if closed else None)
        object.__setattr__(self, "_used", closed >= self.threshold)

    @property
    def rate(self) -> Decimal | None:
        """The win rate in percent, unrounded; None with no closed deal."""
        return self._rate

    @property
    def used(self) -> bool:
        return self._used


def _mean(components, default: Decimal) -> Decimal:
    rates = [c._rate for c in components if c._used]  # the properties' values, read directly
    if not rates:
        return default
    return sum(rates, Decimal(0)) / len(rates)


@dataclass(frozen=True)
class Probability:
    deal_id: int
    components: tuple[Component, ...]  # the four, in COMPONENTS order
    default: Decimal  # the current stage's default probability (percent; 0 without a stage)
    # The value when the maker worked it out already (`probabilities` does, once for all the
    # deals with the same components); else `value` works it out.
    known: Decimal | None = field(default=None, compare=False, repr=False)

    @property
    def used(self) -> list[Component]:
        return [c for c in self.components if c.used]

    @property
    def fallback(self) -> bool:
        """No component rests on enough deals: the stage's default is the probability."""
        return not self.used

    @property
    def value(self) -> Decimal:
        """The probability in percent, unrounded."""
        return self.known if self.known is not None else _mean(self.components, self.default)

    def component(self, key: str) -> Component:
        return next(c for c in self.components if c.key == key)


def _closed_by(as_of: date):
    return (Deal.status.in_(CLOSED_STATUSES), Deal.closed_on <= as_of)


def open_as_of(as_of: date):
    """Deals open on the date: created by then and not closed by then."""
    return (
        Deal.created_on <= as_of,
        or_(Deal.status == "open", Deal.closed_on > as_of),
    )


def _tally(rows) -> dict:
    """{key: [won, lost]} from (key, status, count) rows (other statuses left out)."""
    found: dict = defaultdict(lambda: [0, 0])
    for key, status, n in rows:
        if status in CLOSED_STATUSES:
            found[key][0 if status == "won" else 1] += n
    return found


class WinRates:
    """The win rates of the deals closed on or before `as_of`, read once: three GROUP BY
    walks of the closed deals, whatever their number. `components(...)` gives an open deal's
    four components and `value(...)` its probability from its kind, stage, manager and
    partner; each is worked out once per distinct stage, manager, partner, kind and
    combination of them (20,000 open deals share a few thousand), so a report that reads its
    open deals itself needs no Probability per deal."""

    def __init__(self, as_of: date):
        self.threshold = min_closed()
        self.stages = {
            s.id: (s.position, Decimal(s.probability or 0))
            for s in db.session.execute(
                select(DealStage.id, DealStage.position, DealStage.probability)
            )
        }

        # Each read walks an index that holds its columns in GROUP BY order, counting as it
        # goes: ix_deal_kind_reached gives the kind, reached-stage and manager counts at
        # once, ix_deal_partner the partner counts. The condition is `closed_on <= as_of`
        # alone (an open deal has no closed_on; only won and lost are counted): with
        # `status IN (…)` besides, SQLite (without statistics) reads the status index and
        # looks every closed deal up in the table — at 200,000 deals ~0.9 s of CPU for the
        # four reads that were, ~50 ms for these two.
        # Plain rows (Core, not the ORM's result): thousands of them.
        def grouped(column, *more):
            """(column, status, *more, count) rows, grouped in that (the index's) order."""
            return db.session.connection().execute(
                select(column, Deal.status, *more, func.count())
                .where(Deal.closed_on <= as_of)
                .group_by(column, Deal.status, *more)
            )

        # One row per partner: won and lost counted by the walk itself.
        won = func.sum(case((Deal.status == "won", 1), else_=0))
        lost = func.sum(case((Deal.status == "lost", 1), else_=0))
        by_partner = {
            partner_id: (w, n)
            for partner_id, w, n in db.session.connection().execute(
                select(Deal.partner_id, won, lost)
                .where(Deal.closed_on <= as_of)
                .group_by(Deal.partner_id)
            )
        }
        # Per kind and furthest position; "reached position p" is the sum over positions
        # >= p and the kind's rate the sum over all of them; a manager's over all kinds.
        reached: dict[tuple, int] = defaultdict(int)
        kind_rows, manager_rows = [], []
        for kind_id, status, reached_at, manager_id, n in grouped(
            Deal.kind_id, Deal.reached_position, Deal.manager_id
        ):
            if status in CLOSED_STATUSES:
                reached[kind_id, reached_at, status] += n
                kind_rows.append((kind_id, status, n))
                if manager_id is not None:  # without a manager, nothing to compare with
                    manager_rows.append((manager_id, status, n))
        self._reached: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
        for (kind_id, reached_at, status), n in reached.items():
            self._reached[kind_id].append((reached_at, status, n))
        by_manager = _tally(manager_rows)

        def made(key: str, tallies: dict) -> dict:
            return {
                of: Component(key, won, lost, self.threshold) for of, (won, lost) in tallies.items()
            }

        self._manager = made("manager", by_manager)
        self._partner = made("partner", by_partner)
        self._kind = made("kind", _tally(kind_rows))
        self._stage: dict[tuple, Component] = {}
        self._values: dict[tuple, Decimal] = {}
        self._heads: dict[tuple, tuple[Decimal, int]] = {}  # by (kind, stage, manager)
        self._nothing = {key: Component(key, 0, 0, self.threshold) for key in COMPONENTS}

    def _stage_component(self, kind_id: int, stage_id: int | None) -> Component:
        found = self._stage.get((kind_id, stage_id))
        if found is None:
            position = self.stages.get(stage_id, (None,))[0]
            won = lost = 0
            if position is not None:
                for at, status, n in self._reached.get(kind_id, ()):
                    if at >= position:
                        if status == "won":
                            won += n
                        else:
                            lost += n
            found = self._stage[kind_id, stage_id] = Component("stage", won, lost, self.threshold)
        return found

    def default(self, stage_id: int | None) -> Decimal:
        """The stage's default probability (0 without a stage)."""
        return self.stages.get(stage_id, (None, Decimal(0)))[1]

    def components(self, kind_id, stage_id, manager_id, partner_id) -> tuple[Component, ...]:
        nothing = self._nothing
        return (
            self._stage_component(kind_id, stage_id),
            self._manager.get(manager_id) or nothing["manager"],
            self._partner.get(partner_id) or nothing["partner"],
            self._kind.get(kind_id) or nothing["kind"],
        )

    def value(self, kind_id, stage_id, manager_id, partner_id) -> Decimal:
        """The probability in percent, unrounded, of an open deal with these: the same sums
        as `_mean` over the four components in order, with the stage's and manager's part
        kept per (kind, stage, manager) — a report asks this for every open deal. Nothing
        is kept per deal: objects that outlive their use make the garbage collector's full
        passes come sooner."""
        head = self._heads.get((kind_id, stage_id, manager_id))
        if head is None:
            total, n = Decimal(0), 0
            for c in (
                self._stage_component(kind_id, stage_id),
                self._manager.get(manager_id) or self._nothing["manager"],
            ):
                if c._used:
                    total, n = total + c._rate, n + 1
            head = self._heads[kind_id, stage_id, manager_id] = (total, n)
        total, n = head
        for c in (self._partner.get(partner_id), self._kind.get(kind_id)):
            if c is not None and c._used:
                total, n = total + c._rate, n + 1
        return total / n if n else self.default(stage_id)

    def _value(self, parts: tuple[Component, ...], stage_id) -> Decimal:
        key = (stage_id, *map(id, parts))  # the components are shared: their identities
        found = self._values.get(key)
        if found is None:
            found = self._values[key] = _mean(parts, self.default(stage_id))
        return found

    def probability(self, deal_id, kind_id, stage_id, manager_id, partner_id) -> Probability:
        parts = self.components(kind_id, stage_id, manager_id, partner_id)
        return Probability(deal_id, parts, self.default(stage_id), self._value(parts, stage_id))


def probabilities(as_of: date, deal_ids: list[int] | None = None) -> dict[int, Probability]:
    """{deal id: Probability} of the deals open as of the date (or of `deal_ids`): the win
    rates (WinRates) and one read of the open deals."""
    query = select(Deal.id, Deal.kind_id, Deal.stage_id, Deal.manager_id, Deal.partner_id)
    if deal_ids is None:
        query = query.where(*open_as_of(as_of))
    else:
        query = query.where(Deal.id.in_(deal_ids))
    deals = db.session.execute(query).all()
    if not deals:
        return {}
    rates = WinRates(as_of)
    return {row[0]: rates.probability(*row) for row in deals}


def probability_of(deal: Deal, as_of: date | None = None) -> Probability:
    """One deal's probability and its components (the deal card), with reads bounded by the
    deal's kind, manager and partner."""
    as_of = as_of or site_today()
    threshold = min_closed()
    closed = _closed_by(as_of)

    def counts(*where) -> tuple[int, int]:
        rows = db.session.execute(
            select(Deal.status, func.count()).where(*closed, *where).group_by(Deal.status)
        ).all()
        tally = dict(rows)
        return tally.get("won", 0), tally.get("lost", 0)

    stage = deal.stage
    found = {
        "stage": counts(Deal.kind_id == deal.kind_id, Deal.reached_position >= stage.position)
        if stage is not None
        else (0, 0),
        "manager": counts(Deal.manager_id == deal.manager_id) if deal.manager_id else (0, 0),
        "partner": counts(Deal.partner_id == deal.partner_id),
        "kind": counts(Deal.kind_id == deal.kind_id),
    }
    return Probability(
        deal.id,
        tuple(Component(key, *found[key], threshold) for key in COMPONENTS),
        Decimal(stage.probability or 0) if stage is not None else Decimal(0),
    )
