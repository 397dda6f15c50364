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
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, or_, select

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

    @property
    def rate(self) -> Decimal | None:
        """The win rate in percent, unrounded; None with no closed deal."""
        return Decimal(self.won) * HUNDRED / self.closed if self.closed else None

    @property
    def used(self) -> bool:
        return self.closed >= self.threshold


@dataclass(frozen=True)
class Probability:
    deal_id: int
    components: tuple[Component, ...]  # the four, in COMPONENTS order
    default: Decimal  # the current stage's default probability (percent; 0 without a stage)

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
        used = self.used
        if not used:
            return self.default
        return sum((c.rate for c in used), Decimal(0)) / len(used)

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
    """{key: [won, lost]} from (key, status, count) rows."""
    found: dict = defaultdict(lambda: [0, 0])
    for key, status, n in rows:
        found[key][0 if status == "won" else 1] += n
    return found


def probabilities(as_of: date, deal_ids: list[int] | None = None) -> dict[int, Probability]:
    """{deal id: Probability} of the deals open as of the date (or of `deal_ids`). Four
    GROUP BY reads of the closed deals and one of the open ones, whatever their number."""
    threshold = min_closed()
    query = select(Deal.id, Deal.kind_id, Deal.manager_id, Deal.partner_id, Deal.stage_id)
    if deal_ids is None:
        query = query.where(*open_as_of(as_of))
    else:
        query = query.where(Deal.id.in_(deal_ids))
    deals = db.session.execute(query).all()
    if not deals:
        return {}
    stages = {
        s.id: (s.position, Decimal(s.probability or 0))
        for s in db.session.execute(select(DealStage.id, DealStage.position, DealStage.probability))
    }
    closed = _closed_by(as_of)

    def grouped(column):
        return _tally(
            db.session.execute(
                select(column, Deal.status, func.count())
                .where(*closed)
                .group_by(column, Deal.status)
            )
        )

    by_manager = grouped(Deal.manager_id)
    by_partner = grouped(Deal.partner_id)
    by_kind = grouped(Deal.kind_id)
    # Per kind and furthest position; "reached position p" is the sum over positions >= p.
    reached_rows = db.session.execute(
        select(Deal.kind_id, Deal.reached_position, Deal.status, func.count())
        .where(*closed)
        .group_by(Deal.kind_id, Deal.reached_position, Deal.status)
    ).all()
    per_kind: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    for kind_id, reached, status, n in reached_rows:
        per_kind[kind_id].append((reached, status, n))

    def reached(kind_id: int, position: int) -> tuple[int, int]:
        won = lost = 0
        for at, status, n in per_kind.get(kind_id, ()):
            if at >= position:
                if status == "won":
                    won += n
                else:
                    lost += n
        return won, lost

    result = {}
    for deal_id, kind_id, manager_id, partner_id, stage_id in deals:
        position, default = stages.get(stage_id, (None, Decimal(0)))
        stage_counts = reached(kind_id, position) if position is not None else (0, 0)
        manager_counts = by_manager.get(manager_id, (0, 0)) if manager_id is not None else (0, 0)
        counts = (
            stage_counts,
            manager_counts,
            by_partner.get(partner_id, (0, 0)),
            by_kind.get(kind_id, (0, 0)),
        )
        result[deal_id] = Probability(
            deal_id,
            tuple(
                Component(key, won, lost, threshold)
                for key, (won, lost) in zip(COMPONENTS, counts, strict=True)
            ),
            default,
        )
    return result


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
