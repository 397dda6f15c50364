"""Customer stages at a month end and the transition report between two month ends, computed
on the fly from the sales lines (shared/spec/analytics.md, section Customer stages).

SQL groups the documents' summaries (crm.sales.summaries: each document's Σ of its lines and
its number of purchase lines) per partner × month and finds each partner's last purchase; pandas decides the stages on those small frames.

A snapshot date T stands for its whole month: any day is taken as the last day of its month
(partners created, and purchases made, up to that day count).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import case, func, select

from crm.core.db import driver_rows
from crm.core.periods_sql import as_date
from crm.extensions import db
from crm.partners.models import ContactDetail, Partner
from crm.sales.models import SalesDocument
from crm.sales.summaries import partner_months

NEW, POTENTIAL, ONE_TIME, LOST = "new", "potential", "one-time", "lost"
REGULAR_X, REGULAR_Y, REGULAR_Z = "regular-x", "regular-y", "regular-z"
# The order rows and columns are shown in: from the newest relation to the oldest, the regular
# ones from the steadiest. `new` is only ever a source (a row), never a column.
STAGES = (NEW, POTENTIAL, ONE_TIME, REGULAR_X, REGULAR_Y, REGULAR_Z, LOST)
TARGET_STAGES = STAGES[1:]
RANK = {REGULAR_X: 5, REGULAR_Y: 4, REGULAR_Z: 3, ONE_TIME: 2, LOST: 1}
ZERO = Decimal("0")


@dataclass(frozen=True)
class Settings:
    window: int = 12  # W: months the one-time/regular rule and the XYZ look at
    lost_after: int = 6  # L: months without a purchase after which a client is lost
    x_max: float = 50.0  # partner XYZ: X if CV ≤ this
    y_max: float = 100.0  # … Y if CV ≤ this, else Z


def settings() -> Settings:
    cfg = current_app.config
    return Settings(
        window=int(cfg.get("ANALYTICS_STAGE_WINDOW_MONTHS", 12)),
        lost_after=int(cfg.get("ANALYTICS_LOST_AFTER_MONTHS", 6)),
        x_max=float(cfg.get("XYZ_PARTNER_X_PCT", 50)),
        y_max=float(cfg.get("XYZ_PARTNER_Y_PCT", 100)),
    )


def month_index(day: date) -> int:
    """Months since year 0: consecutive months differ by one."""
    return day.year * 12 + day.month - 1


def month_first(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def is_decline(source: str, target: str) -> bool:
    """A move from rank ≥ 2 to a lower rank (potential and new have no rank)."""
    a, b = RANK.get(source), RANK.get(target)
    return a is not None and b is not None and a >= 2 and b < a


def decline_colour(source: str, target: str) -> str | None:
    """`red` for a decline ending in lost, `yellow` for another decline, None otherwise."""
    if not is_decline(source, target):
        return None
    return "red" if target == LOST else "yellow"


# --- SQL: the small grouped frames -----------------------------------------------------------


def _clients(partners=None) -> pd.DataFrame:
    """Live partners with role client: id, code, name, created_on (all, `new` ones included);
    only those of `partners` (a SELECT of partner ids) when given."""
    stmt = select(Partner.id, Partner.code, Partner.name, Partner.created_on).where(
        Partner.is_client.is_(True), Partner.merged_into_id.is_(None)
    )
    if partners is not None:
        stmt = stmt.where(Partner.id.in_(partners))
    rows = [(r[0], r[1], r[2], as_date(r[3])) for r in driver_rows(stmt)]
    names = ["partner_id", "code", "name", "created_on"]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    frame = pd.DataFrame(dict(zip(names, columns, strict=True)))
    frame["partner_id"] = frame["partner_id"].astype(int)
    return frame.set_index("partner_id")


def _monthly(first_month: int, last_day: date) -> pd.DataFrame:
    """Per partner × month from `first_month` to `last_day`: purchase lines and net revenue in
    integer cents, from the partner × month summary (crm.sales.summaries; 20,000 rows a month at
    most)."""
    index: dict[date, int] = {}  # a few months, each turned into its index once
    rows = [
        (r[0], index.get(r[1]) or index.setdefault(r[1], month_index(r[1])), r[6], r[2])
        for r in partner_months(month_first(first_month), last_day)
    ]
    # Columns from plain tuples: pandas inspects Row objects one by one (slow for 200,000).
    names = ["partner_id", "month", "buys", "revenue"]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    frame = pd.DataFrame(dict(zip(names, columns, strict=True)))
    frame["partner_id"] = frame["partner_id"].astype(int)
    frame["month"] = frame["month"].astype(int)
    frame["buys"] = frame["buys"].astype(int)
    frame["revenue"] = frame["revenue"].astype("int64")  # exact cents
    return frame


def _money(cents) -> Decimal:
    return Decimal(int(cents)).scaleb(-2)


def _last_purchases(*days: date) -> list[pd.Series]:
    """For each day, partner_id → the date of its last purchase (a line with amount > 0) on or
    before it: one pass over the documents' purchase index for every day."""
    doc = SalesDocument
    latest = max(days)
    rows = db.session.execute(
        select(
            doc.partner_id,
            *(func.max(case((doc.date <= day, doc.date), else_=None)) for day in days),
        )
        .where(doc.purchase_lines > 0, doc.date <= latest)
        .group_by(doc.partner_id)
    ).all()
    out = []
    for k in range(len(days)):
        found = {}
        for row in rows:
            d = row[1 + k]
            if d is not None:
                found[row[0]] = d if isinstance(d, date) else date.fromisoformat(str(d))
        out.append(pd.Series(found, dtype=object))
    return out


# --- stages ----------------------------------------------------------------------------------


def _decide(
    clients: pd.DataFrame, monthly: pd.DataFrame, last: pd.Series, at: date, s: Settings
) -> pd.Series:
    """partner_id → stage at the month end `at`, from frames covering at least its W months.
    Vectorized: a partners × W matrix of monthly revenue (zeros where nothing was sold)."""
    t = month_index(at)
    first = t - s.window + 1
    ids = clients.index
    window = monthly[(monthly["month"] >= first) & (monthly["month"] <= t)]
    window = window[window["partner_id"].isin(ids)]
    rows = ids.get_indexer(window["partner_id"])
    cols = (window["month"] - first).to_numpy()
    revenue = np.zeros((len(ids), s.window))
    revenue[rows, cols] = window["revenue"].astype(float).to_numpy()
    bought = np.zeros((len(ids), s.window), dtype=bool)
    bought[rows, cols] = (window["buys"] > 0).to_numpy()
    months = bought.sum(axis=1)
    mu = revenue.mean(axis=1)
    sigma = revenue.std(axis=1)  # numpy's std is the population σ
    cv = np.divide(sigma * 100, mu, out=np.full(len(ids), np.inf), where=mu > 0)
    regular = np.where(cv <= s.x_max, REGULAR_X, np.where(cv <= s.y_max, REGULAR_Y, REGULAR_Z))
    last_month = pd.Series(
        {pid: month_index(day) for pid, day in last.items()}, dtype=float
    ).reindex(ids)
    stage = np.select(
        [
            (clients["created_on"] > at).to_numpy(),
            last_month.isna().to_numpy(),
            (last_month <= t - s.lost_after).to_numpy(),
            months == 0,  # only when L > W: no purchase in the window, yet not lost
            months == 1,
        ],
        [NEW, POTENTIAL, LOST, LOST, ONE_TIME],
        default=regular,
    )
    return pd.Series(stage, index=ids, dtype=object)


def stages_at(at: date) -> pd.DataFrame:
    """Every client's stage at the end of `at`'s month, ordered by code: columns partner_id,
    code, name, stage (`new` for partners created after that day)."""
    s = settings()
    at = month_end(at)
    clients = _clients()
    monthly = _monthly(month_index(at) - s.window + 1, at)
    stages = _decide(clients, monthly, _last_purchases(at)[0], at, s)
    out = clients.assign(stage=stages.reindex(clients.index)).reset_index()
    return out.sort_values("code", kind="stable").reset_index(drop=True)[
        ["partner_id", "code", "name", "stage"]
    ]


# --- transitions -----------------------------------------------------------------------------


@dataclass
class Cell:
    source: str
    target: str
    partners: int
    row_pct: float  # unrounded
    colour: str | None  # red / yellow on declines
    lost_revenue: Decimal | None  # Σ over its partners, unrounded; None unless a decline


@dataclass
class Transitions:
    start: date  # month ends
    end: date
    cells: list[Cell]  # non-empty cells, rows in STAGES order, columns in TARGET_STAGES order
    row_totals: dict[str, int]
    intensity: dict[str, float]  # changed / row × 100, unrounded
    lost_revenue: Decimal  # over every declining partner
    partners: pd.DataFrame = field(repr=False)  # one row per partner: the detail behind cells

    def cell(self, source: str, target: str) -> Cell | None:
        return next((c for c in self.cells if (c.source, c.target) == (source, target)), None)


def transitions(start: date, end: date, partners=None) -> Transitions:
    """The transition report between the month ends of `start` and `end` (start's month must be
    earlier). Partners created after `end` are left out; those created after `start` come
    from `new`. `partners` (a SELECT of partner ids, a partner scope such as a segment) keeps
    only those clients: a client's stage depends on his own purchases alone, so the narrowed
    report is the whole one's rows for them."""
    s = settings()
    t1, t2 = month_end(start), month_end(end)
    if t2 <= t1:
        raise ValueError("the second snapshot must be in a later month than the first")
    i1, i2 = month_index(t1), month_index(t2)
    clients = _clients(partners)
    clients = clients[clients["created_on"] <= t2]
    monthly = _monthly(i1 - s.window + 1, t2)
    last1, last2 = _last_purchases(t1, t2)
    first = _decide(clients, monthly[monthly["month"] <= i1], last1, t1, s)
    second = _decide(clients, monthly, last2, t2, s)

    # R1: revenue in the W months ending with T1's month; R2: after T1 up to T2.
    before = monthly["month"] <= i1
    r1 = monthly[before].groupby("partner_id")["revenue"].sum()
    r2 = monthly[~before].groupby("partner_id")["revenue"].sum()
    months = Decimal(i2 - i1)
    frame = clients.assign(
        source=first.reindex(clients.index), target=second.reindex(clients.index)
    )
    frame["last_purchase"] = [last2.get(pid) for pid in frame.index]
    lost = []
    for pid, a, b in zip(frame.index, frame["source"], frame["target"], strict=True):
        if is_decline(a, b):
            expected = _money(r1.get(pid, 0)) / s.window * months
            lost.append(max(ZERO, expected - _money(r2.get(pid, 0))))
        else:
            lost.append(None)
    frame["lost_revenue"] = lost
    frame = frame.reset_index().sort_values("code", kind="stable").reset_index(drop=True)

    counts = frame.groupby(["source", "target"]).size()
    rows = frame.groupby("source").size()
    cells = []
    for a in STAGES:
        for b in TARGET_STAGES:
            n = int(counts.get((a, b), 0))
            if not n:
                continue
            in_cell = frame[(frame["source"] == a) & (frame["target"] == b)]
            declining = is_decline(a, b)
            cells.append(
                Cell(
                    source=a,
                    target=b,
                    partners=n,
                    row_pct=n / int(rows[a]) * 100,
                    colour=decline_colour(a, b),
                    lost_revenue=sum(in_cell["lost_revenue"], ZERO) if declining else None,
                )
            )
    row_totals = {a: int(rows.get(a, 0)) for a in STAGES if rows.get(a, 0)}
    intensity = {
        a: int(((frame["source"] == a) & (frame["target"] != a)).sum()) / n * 100
        for a, n in row_totals.items()
    }
    total_lost = sum((c.lost_revenue for c in cells if c.lost_revenue is not None), ZERO)
    return Transitions(t1, t2, cells, row_totals, intensity, total_lost, frame)


@dataclass
class CellPartner:
    partner_id: int
    code: str
    name: str
    phone: str | None
    email: str | None
    last_purchase: date | None  # on or before the second snapshot
    lost_revenue: Decimal | None  # unrounded; None unless the cell is a decline


def cell_partners(report: Transitions, source: str, target: str) -> list[CellPartner]:
    """The partners of one cell by code, with the partner's main phone and e-mail."""
    rows = report.partners[
        (report.partners["source"] == source) & (report.partners["target"] == target)
    ]
    ids = [int(pid) for pid in rows["partner_id"]]
    details: dict[tuple[int, str], str] = {}
    if ids:
        found = db.session.execute(
            select(ContactDetail.partner_id, ContactDetail.kind, ContactDetail.value)
            .where(ContactDetail.partner_id.in_(ids), ContactDetail.kind.in_(("phone", "email")))
            .order_by(ContactDetail.partner_id, ContactDetail.is_main.desc(), ContactDetail.id)
        ).all()
        for pid, kind, value in found:
            details.setdefault((pid, kind), value)  # the main one, else the first
    return [
        CellPartner(
            partner_id=int(r.partner_id),
            code=r.code,
            name=r.name,
            phone=details.get((int(r.partner_id), "phone")),
            email=details.get((int(r.partner_id), "email")),
            last_purchase=r.last_purchase,
            lost_revenue=r.lost_revenue,
        )
        for r in rows.itertuples()
    ]
