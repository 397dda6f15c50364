"""Reads of the deal reports: the funnel of a kind, deal effectiveness per manager and the
probabilistic forecast (definitions: shared/spec/analytics.md, section Deals).

Each report is one or two GROUP BY queries over the deals a user may see (the policy's rows
filter; `user=None` — the CLI — sees every deal); Python only adds up the small aggregated rows.
The forecast's probabilities come from crm.deals.probability, whose components rest on every
closed deal whoever may see it: a manager's forecast weighs his deals by the whole history.

Money stays Decimal and is rounded to 2 places once, at the end; percentages and means are
returned unrounded (the page and the CLI round them for display)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, func, or_, select, union_all

from crm.auth.models import User
from crm.core.policy import visible
from crm.deals.models import Deal, DealKind, DealStage, LossReason
from crm.extensions import db

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
NO_MANAGER = "none"  # the manager filter's keyword for deals nobody is responsible for


def money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def _scoped(stmt, user, kind_id: int | None = None, manager=None, partners=None):
    """`stmt` limited to the deals `user` may see, of a kind and a responsible manager (an id,
    NO_MANAGER, or None for any), and of the partners of `partners` (a SELECT of partner ids:
    a partner scope such as a segment; None for any)."""
    if user is not None:
        stmt = visible(user, Deal, stmt)
    if partners is not None:
        stmt = stmt.where(Deal.partner_id.in_(partners))
    if kind_id is not None:
        stmt = stmt.where(Deal.kind_id == kind_id)
    if manager == NO_MANAGER:
        stmt = stmt.where(Deal.manager_id.is_(None))
    elif manager is not None and manager != "":
        stmt = stmt.where(Deal.manager_id == int(manager))
    return stmt


def kinds() -> list[DealKind]:
    """Deal kinds for the filters: active ones first, then by name."""
    return list(
        db.session.execute(
            select(DealKind).order_by(DealKind.is_active.desc(), DealKind.name)
        ).scalars()
    )


def find_kind(value) -> DealKind | None:
    """A kind by id (digits) or by its exact name."""
    text = str(value).strip()
    if text.isascii() and text.isdigit() and len(text) < 10:
        found = db.session.get(DealKind, int(text))
        if found is not None:
            return found
    return db.session.execute(select(DealKind).where(DealKind.name == text)).scalar()


def percent(part, whole) -> Decimal | None:
    """part / whole × 100 unrounded; None when whole is 0 (undefined)."""
    return Decimal(part) * 100 / Decimal(whole) if whole else None


# --- funnel ---------------------------------------------------------------------------------


@dataclass
class FunnelRow:
    stage: DealStage | None  # None on the `won` row
    reached: int
    amount: Decimal
    conversion_pct: Decimal | None = None  # to the next row; None on `won` and after 0

    @property
    def is_won(self) -> bool:
        return self.stage is None

    @property
    def key(self) -> str:
        return "won" if self.stage is None else self.stage.name


def funnel(
    user, kind: DealKind, date_from: date, date_to: date, manager=None, partners=None
) -> list[FunnelRow]:
    """One row per stage of `kind` in order, then `won`, over the deals created in
    [date_from, date_to]: how many reached it (reached_position ≥ its position; a won deal
    reached every stage), their Σ amount, and the conversion to the next row."""
    stmt = _scoped(
        select(
            Deal.reached_position,
            Deal.status,
            func.count(Deal.id),
            func.coalesce(func.sum(Deal.amount), 0),
        )
        .where(Deal.created_on >= date_from, Deal.created_on <= date_to)
        .group_by(Deal.reached_position, Deal.status),
        user,
        kind.id,
        manager,
        partners,
    )
    groups = db.session.execute(stmt).all()
    rows = []
    for stage in kind.stages:
        inside = [g for g in groups if g[1] == "won" or g[0] >= stage.position]
        rows.append(
            FunnelRow(stage, sum(g[2] for g in inside), money(sum(Decimal(g[3]) for g in inside)))
        )
    won = [g for g in groups if g[1] == "won"]
    rows.append(FunnelRow(None, sum(g[2] for g in won), money(sum(Decimal(g[3]) for g in won))))
    for this, following in zip(rows, rows[1:], strict=False):
        this.conversion_pct = percent(following.reached, this.reached)
    return rows


# --- deal effectiveness ---------------------------------------------------------------------


@dataclass
class EffectivenessRow:
    manager: User | None  # None: the deals nobody is responsible for
    won: int = 0
    lost: int = 0
    open: int = 0
    won_amount: Decimal = ZERO
    lost_amount: Decimal = ZERO
    days_to_close: int = 0  # Σ days from creation to close over the closed deals
    reasons: dict = field(default_factory=dict)  # LossReason (or None) → count

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def win_rate_pct(self) -> Decimal | None:
        return percent(self.won, self.closed)

    @property
    def mean_days_to_close(self) -> Decimal | None:
        return Decimal(self.days_to_close) / self.closed if self.closed else None

    @property
    def email(self) -> str:
        return self.manager.email if self.manager else ""

    @property
    def manager_param(self) -> str:
        return str(self.manager.id) if self.manager else NO_MANAGER


@dataclass
class Effectiveness:
    rows: list[EffectivenessRow]
    total: EffectivenessRow
    reasons: list[tuple[LossReason | None, int]]  # in total, most frequent first


def _days(start, end):
    """end − start in whole days, as SQL (SQLite has no date arithmetic)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.julianday(end) - func.julianday(start)
    return end - start


def effectiveness(
    user,
    date_from: date,
    date_to: date,
    kind_id: int | None = None,
    manager=None,
    partners=None,
) -> Effectiveness:
    """Per responsible manager over [date_from, date_to]: deals won and lost (closed in the
    period: counts, Σ amounts, Σ days to close), deals open at `date_to` (created on or before
    it, not closed by then), loss reasons. Rows by manager e-mail, the deals without a manager
    last."""
    by_manager: dict[int | None, EffectivenessRow] = {}

    def row(manager_id):
        if manager_id not in by_manager:
            by_manager[manager_id] = EffectivenessRow(None)
        return by_manager[manager_id]

    # One pass over the period's closed deals: per manager, result and loss reason.
    closed = _scoped(
        select(
            Deal.manager_id,
            Deal.status,
            Deal.loss_reason_id,
            func.count(Deal.id),
            func.coalesce(func.sum(Deal.amount), 0),
            func.coalesce(func.sum(_days(Deal.created_on, Deal.closed_on)), 0),
        )
        .where(
            Deal.status.in_(("won", "lost")),
            Deal.closed_on >= date_from,
            Deal.closed_on <= date_to,
        )
        .group_by(Deal.manager_id, Deal.status, Deal.loss_reason_id),
        user,
        kind_id,
        manager,
        partners,
    )
    closed_rows = db.session.execute(closed).all()
    reason_ids = {g[2] for g in closed_rows if g[1] == "lost" and g[2] is not None}
    reason_by_id = {
        r.id: r
        for r in db.session.execute(
            select(LossReason).where(LossReason.id.in_(reason_ids))
        ).scalars()
    }
    totals: dict = defaultdict(int)
    for manager_id, status, reason_id, count, amount, days in closed_rows:
        r = row(manager_id)
        if status == "won":
            r.won += count
            r.won_amount += money(amount)
        else:
            r.lost += count
            r.lost_amount += money(amount)
            reason = reason_by_id.get(reason_id)
            r.reasons[reason] = r.reasons.get(reason, 0) + count
            totals[reason] += count
        r.days_to_close += round(days)
    # Open at the end: still open, or closed after it. Two index reads (open deals by status,
    # later closes by date) instead of one OR over every deal created by then: SQLite scans
    # the whole table for the OR (1.1 s against 0.13 s with 200,000 deals).
    still_open = select(Deal.manager_id).where(Deal.status == "open", Deal.created_on <= date_to)
    closed_later = select(Deal.manager_id).where(
        Deal.closed_on > date_to, Deal.created_on <= date_to, Deal.status != "open"
    )
    both = union_all(
        *(_scoped(part, user, kind_id, manager, partners) for part in (still_open, closed_later))
    ).subquery()
    for manager_id, count in db.session.execute(
        select(both.c.manager_id, func.count()).group_by(both.c.manager_id)
    ):
        row(manager_id).open = count
    users = {
        u.id: u
        for u in db.session.execute(
            select(User).where(User.id.in_([i for i in by_manager if i is not None]))
        ).scalars()
    }
    for manager_id, r in by_manager.items():
        r.manager = users.get(manager_id)
        r.reasons = dict(_by_count(r.reasons.items()))
    rows = sorted(
        by_manager.values(), key=lambda r: (r.manager is None, r.email.casefold(), r.email)
    )
    total = EffectivenessRow(None)
    for r in rows:
        total.won += r.won
        total.lost += r.lost
        total.open += r.open
        total.won_amount += r.won_amount
        total.lost_amount += r.lost_amount
        total.days_to_close += r.days_to_close
    return Effectiveness(rows, total, _by_count(totals.items()))


def _by_count(items) -> list:
    """(reason, count) pairs, most frequent first, then by name (no reason last)."""
    return sorted(items, key=lambda rc: (-rc[1], rc[0] is None, rc[0].name if rc[0] else ""))


# --- probabilistic forecast -----------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


@dataclass
class ForecastRow:
    month: date | None  # the first day of the month of expected close; None: no date given
    deals: int = 0
    amount: Decimal = ZERO
    weighted_amount: Decimal = ZERO
    won_amount: Decimal | None = None  # past months (before the as-of month) only

    @property
    def month_text(self) -> str:
        return self.month.strftime("%Y-%m") if self.month else ""


@dataclass
class Forecast:
    as_of: date
    rows: list[ForecastRow]  # months in order, the deals without an expected close last

    @property
    def open_rows(self) -> list[ForecastRow]:
        return [r for r in self.rows if r.deals]

    @property
    def totals(self) -> ForecastRow:
        total = ForecastRow(None, won_amount=ZERO)
        for r in self.rows:
            total.deals += r.deals
            total.amount += r.amount
            total.weighted_amount += r.weighted_amount
            total.won_amount += r.won_amount or ZERO
        return total


def open_deals(user, as_of: date, kind_id: int | None = None, manager=None, partners=None):
    """Deals open as of the date: created on or before it and not closed by then."""
    return _scoped(
        select(Deal.id, Deal.deal_no, Deal.expected_close, Deal.amount).where(
            Deal.created_on <= as_of,
            or_(Deal.status == "open", and_(Deal.closed_on.is_not(None), Deal.closed_on > as_of)),
        ),
        user,
        kind_id,
        manager,
        partners,
    )


def forecast(
    user,
    as_of: date,
    past_months: int = 12,
    kind_id: int | None = None,
    manager=None,
    partners=None,
) -> Forecast:
    """Deals open as of `as_of` by month of expected close (count, Σ amount, Σ amount ×
    probability / 100), and beside them, for the `past_months` months before the as-of month,
    the Σ amount of the deals won in each."""
    from crm.deals.probability import WinRates

    # The win rates read once, then one pass over the open deals with what their probability
    # depends on: no second read of the same deals, no Probability object per deal and no
    # list of 20,000 rows kept while they are summed (bench/deals_bench.py: 1.5 s → ~0.3 s).
    rates = WinRates(as_of)
    deals = db.session.connection().execute(  # plain rows: 20,000 of them
        open_deals(user, as_of, kind_id, manager, partners).with_only_columns(
            Deal.expected_close,
            Deal.amount,
            Deal.kind_id,
            Deal.stage_id,
            Deal.manager_id,
            Deal.partner_id,
        )
    )
    by_month: dict[date | None, list] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for expected_close, amount, kind, stage, manager_id, partner_id in deals:
        bucket = by_month[month_start(expected_close) if expected_close else None]
        amount = Decimal(amount)
        bucket[0] += 1
        bucket[1] += amount
        # unrounded: money is rounded once, per month
        bucket[2] += amount * rates.value(kind, stage, manager_id, partner_id) / 100
    this_month = month_start(as_of)
    first = add_months(this_month, -past_months)
    won = _scoped(
        select(Deal.closed_on, func.coalesce(func.sum(Deal.amount), 0))
        .where(Deal.status == "won", Deal.closed_on >= first, Deal.closed_on < this_month)
        .group_by(Deal.closed_on),
        user,
        kind_id,
        manager,
        partners,
    )
    won_by_month: dict[date, Decimal] = defaultdict(Decimal)
    for day, amount in db.session.execute(won):
        won_by_month[month_start(day)] += Decimal(amount)
    months = {add_months(first, i) for i in range(past_months)}
    months |= {m for m in by_month if m is not None}
    rows = []
    for month in sorted(months):
        count, amount, weighted = by_month.get(month, (0, 0, 0))
        past = month < this_month and month >= first
        rows.append(
            ForecastRow(
                month,
                count,
                money(amount),
                money(weighted),
                money(won_by_month.get(month, 0)) if past else None,
            )
        )
    if None in by_month:
        count, amount, weighted = by_month[None]
        rows.append(ForecastRow(None, count, money(amount), money(weighted)))
    return Forecast(as_of, rows)


# Up to this many deals the probabilities are read for their ids; beyond, for every deal open
# on the date (the same reads, without an IN list of thousands of parameters).
IDS_LIMIT = 1000


def _chances(probabilities, as_of: date, deals) -> dict:
    ids = [d.id for d in deals]
    return probabilities(as_of, ids if len(ids) <= IDS_LIMIT else None)


@dataclass
class DealProbability:
    deal_no: str
    components: list  # (key, rate or None when left out, closed deals it rests on)
    value: Decimal


def deal_probabilities(user, as_of: date) -> list[DealProbability]:
    """Each deal open as of the date with its four probability components, by deal_no."""
    from crm.deals.probability import probabilities

    deals = db.session.execute(open_deals(user, as_of)).all()
    chances = _chances(probabilities, as_of, deals)
    out = []
    for d in sorted(deals, key=lambda d: d.deal_no):
        chance = chances.get(d.id)
        if chance is None:
            continue
        components = [(c.key, c.rate if c.used else None, c.closed) for c in chance.components]
        out.append(DealProbability(d.deal_no, components, chance.value))
    return out
