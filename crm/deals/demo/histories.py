"""One demo deal's way, drawn from the step's `rng`: its stage history (a process deal passes
its stages one by one, a non-process deal wanders between them), when it closed, won or lost
(and why), its amount, title, contacts and number. Managers differ: each has a knack (how
likely a deal of his goes on to the next stage), so their win rates differ in the effectiveness
report. Nothing is written here (crm/deals/demo/rows.py inserts the plans)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from crm.deals.demo.classifiers import Kind
from crm.deals.models import Deal
from crm.deals.services import NUMBER_PREFIX
from crm.extensions import db

YEARS_DAYS = 730
# Chance that a process deal goes on from each stage (from the last: that it is won), for an
# average manager; a manager's knack adds to it.
GOES_ON = (0.70, 0.78, 0.74, 0.80, 0.85)
KNACKS = (0.12, 0.0, -0.09, 0.05)  # per manager, in the order of the demo users
# Loss reasons by how far the deal got (indices into "reasons"): early deals go quiet or have
# no budget, late ones lose on price or to a competitor.
EARLY_REASONS = (10, 15, 30, 35, 10)
LATE_REASONS = (35, 35, 10, 5, 15)


@dataclass(eq=False)
class Plan:
    kind: Kind
    partner_id: int
    manager_id: int
    created_on: date
    status: str
    stays: list[tuple[int, datetime]]  # (stage index, entered at)
    closed_at: datetime | None = None
    expected_close: date | None = None
    amount: Decimal = Decimal(0)
    reason: int | None = None  # index into the reasons
    comment: str = ""
    title: str = ""
    source: str = ""
    contacts: list[tuple[int, int]] = field(default_factory=list)  # (person id, role index)
    participant: int | None = None
    deal_no: str = ""
    id: int = 0


def _stay(rng, kind: Kind, index: int) -> int:
    return max(1, round(rng.lognormvariate(math.log(kind.days[index]), 0.55)))


def _path(rng, kind: Kind, goes_on, *, stop_at: int | None = None) -> tuple[list[int], str]:
    """Stage indices the deal stayed at, and how it ended ("won", "lost"; "open" when it
    stops at `stop_at` stays). A process deal goes one stage on at a time; a non-process one
    starts at the first or second stage and jumps ahead or back."""
    last = len(kind.stages) - 1
    index = 0 if kind.is_process or rng.random() < 0.75 else 1
    path = [index]
    while True:
        if stop_at is not None and len(path) >= stop_at:
            return path, "open"
        if rng.random() > goes_on(index):
            return path, "lost"
        if index == last or len(path) >= 7:
            return path, "won"
        if kind.is_process:
            index += 1
        else:
            step = rng.choices((1, 2, -1), (70, 20, 10))[0] if index > 0 else 1
            index = min(last, index + step)
        path.append(index)


def _moments(rng, day: date, stays: list[int]) -> list[datetime]:
    """Entering each stay: days apart as drawn, in Moscow working hours (06–15 UTC)."""
    out = []
    for days in [0, *stays]:
        day += timedelta(days=days)
        out.append(datetime.combine(day, time(rng.randint(6, 14), rng.choice((0, 15, 30, 45)))))
    return out


def closed_deal(rng, kind: Kind, today: date, known_since: date, bonus: float) -> Plan | None:
    """A deal opened in the last two years (not before the partner was known) that went
    through its stages and ended won or lost before today; None when it does not fit."""

    def goes_on(index: int) -> float:
        base = GOES_ON[min(index, len(GOES_ON) - 1)] if kind.is_process else 0.8
        return min(0.97, base + bonus)

    path, result = _path(rng, kind, goes_on)
    stays = [_stay(rng, kind, i) for i in path]
    span = sum(stays)
    latest = today - timedelta(days=span + 1)
    first = max(today - timedelta(days=YEARS_DAYS), known_since)
    if latest < first:
        return None
    created_on = first + timedelta(days=rng.randint(0, (latest - first).days))
    moments = _moments(rng, created_on, stays)
    plan = Plan(
        kind=kind,
        partner_id=0,
        manager_id=0,
        created_on=created_on,
        status=result,
        stays=list(zip(path, moments[:-1], strict=True)),
        closed_at=moments[-1],
    )
    plan.expected_close = created_on + timedelta(days=max(7, round(span * rng.uniform(0.7, 1.3))))
    return plan


def open_deal(rng, kind: Kind, today: date) -> Plan:
    """An open deal at a stage drawn to thin out further on; one in eight is stale (it has sat
    three to five typical stays at its stage)."""
    weights = [max(1, 30 - 6 * n) for n in range(len(kind.stages))]
    depth = rng.choices(range(1, len(kind.stages) + 1), weights)[0]
    path, _ = _path(rng, kind, lambda i: 1.0, stop_at=depth)
    stays = [_stay(rng, kind, i) for i in path[:-1]]
    typical = kind.days[path[-1]]
    if rng.random() < 0.125:
        current = round(typical * rng.uniform(3.0, 5.0)) + 1
    else:
        current = rng.randint(1, typical)
    # The current stay began `current` days ago: yesterday at the latest, so its working hour
    # (UTC) is past whatever the hour now.
    created_on = today - timedelta(days=sum(stays) + current)
    moments = _moments(rng, created_on, stays)
    plan = Plan(kind, 0, 0, created_on, "open", list(zip(path, moments, strict=True)))
    if rng.random() < 0.18:  # its expected close date passed already
        expected = today - timedelta(days=rng.randint(1, 20))
    else:
        expected = today + timedelta(days=rng.randint(0, 75))
    plan.expected_close = max(expected, created_on)
    return plan


def _amount(rng, kind: Kind) -> Decimal:
    middle, low, high = (
        (1_200_000, 150_000, 25_000_000) if kind.is_process else (300_000, 40_000, 3_000_000)
    )
    rub = min(high, max(low, rng.lognormvariate(math.log(middle), 0.8)))
    return Decimal(round(rub, -3))


def details(rng, plan: Plan, texts, persons: list[int], managers: list[int]) -> None:
    kind = plan.kind
    plan.amount = _amount(rng, kind)
    plan.title = rng.choice(texts["supply"] if kind.is_process else texts["service_titles"])
    plan.source = rng.choice(texts["sources"])
    if plan.status == "lost":
        late = plan.stays[-1][0] >= len(kind.stages) // 2
        plan.reason = rng.choices(range(5), LATE_REASONS if late else EARLY_REASONS)[0]
        plan.comment = rng.choice(texts["comments"]) if rng.random() < 0.3 else ""
    if persons and rng.random() < 0.55:
        chosen = rng.sample(persons, k=min(len(persons), rng.choice((1, 1, 2, 3))))
        plan.contacts = [(p, 0 if n == 0 else rng.choice((1, 2))) for n, p in enumerate(chosen)]
    others = [m for m in managers if m != plan.manager_id]
    if others and rng.random() < 0.2:
        plan.participant = rng.choice(others)


def number(plans: list[Plan]) -> None:
    """CRM-000001… in the order the deals opened, after the numbers taken."""
    query = select(Deal.deal_no).where(Deal.deal_no.like(NUMBER_PREFIX + "%"))
    taken = (n[len(NUMBER_PREFIX) :] for n in db.session.execute(query).scalars())
    last = max((int(n) for n in taken if n.isdigit()), default=0)
    for n, plan in enumerate(plans, start=last + 1):
        plan.deal_no = f"{NUMBER_PREFIX}{n:06d}"
