"""Reads: the BCG matrix (growth–share matrix) of products or of product groups over a period
P = [from, to] against the previous period of the same length P0 (the days just before P).

Definitions, in the terms of shared/spec/analytics.md (Common: revenue = Σ amount of the sales
lines in the period and scope, returns included; money Decimal, percentages unrounded, every
threshold comparison on the unrounded value):

- Objects: every product (or product group) with at least one sales line in P and the scope.
  A product without a group belongs to the pseudo-group "no group" (a market of its own).
- R = revenue in P, R0 = revenue in P0 (the same scope).
- Growth % = (R − R0) / R0 × 100 when R0 > 0. When R0 ≤ 0 (no sales before, or only returns)
  growth is undefined: the object is **new**.
- Relative share ("relative market share", the market being the product group): R over the
  largest revenue in P among the *other* objects of the same market — for a product, the other
  products of its group; for a group, the other groups. Above 1 the object leads its market, 1 is
  a tie with the leader, 0.5 is half the leader's revenue. Undefined when no other object of the
  market has a positive revenue (the object is **alone** in its market).
- High growth: growth % ≥ BCG_GROWTH_PCT (default 10), and every new object. High share:
  relative share ≥ BCG_SHARE (default 1.0), and an object alone in its market with R > 0.
  R ≤ 0 is always a low share.
- Quadrants: **star** (high growth, high share), **cash cow** (low growth, high share),
  **question mark** (high growth, low share), **dog** (low growth, low share).
- Rows in order of R descending, then code ascending.

Revenue per object comes from crm.analytics.abc_xyz.grouped_rows (grouped in SQL per product ×
month), so whatever makes that fast makes this report fast too. The comparisons are exact
Decimal products (`100·(R − R0) ≥ t·R0`, `R ≥ s·Rmax`), never rounded quotients."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from crm.analytics.abc_xyz import AnalyticsError, check_period, grouped_rows
from crm.analytics.kpi import previous_period
from crm.extensions import db
from crm.sales.models import Product, ProductGroup

BY = ("products", "groups")
QUADRANTS = ("star", "cash_cow", "question_mark", "dog")
QUADRANT_LABELS = {
    "star": _l("Stars"),
    "cash_cow": _l("Cash cows"),
    "question_mark": _l("Question marks"),
    "dog": _l("Dogs"),
}
ZERO = Decimal(0)
NO_GROUP = 0  # the key of the pseudo-group of products without a group


@dataclass(frozen=True)
class BcgRow:
    object_id: int  # a product id, or a group id (NO_GROUP for products without a group)
    code: str  # sku; for a group its id as text ("" for no group)
    name: str
    group_id: int  # the market: the product's group (NO_GROUP when none); for a group itself
    group_name: str
    revenue: Decimal  # R
    previous_revenue: Decimal  # R0
    growth_pct: Decimal | None  # (R − R0) / R0 × 100, unrounded; None when R0 ≤ 0 (new)
    relative_share: Decimal | None  # R / the largest other R of the market; None when alone
    leader_revenue: Decimal | None  # that largest other R (None when alone)
    high_growth: bool
    high_share: bool
    quadrant: str

    @property
    def is_new(self) -> bool:
        return self.growth_pct is None

    @property
    def alone(self) -> bool:
        return self.relative_share is None


@dataclass(frozen=True)
class BcgResult:
    by: str
    date_from: date
    date_to: date
    previous_from: date
    previous_to: date
    growth_limit: Decimal  # BCG_GROWTH_PCT
    share_limit: Decimal  # BCG_SHARE
    rows: list[BcgRow]

    def quadrant_rows(self, quadrant: str) -> list[BcgRow]:
        return [r for r in self.rows if r.quadrant == quadrant]

    def summary(self) -> dict[str, tuple[int, Decimal]]:
        """(number of objects, Σ revenue) per quadrant."""
        out = {q: (0, ZERO) for q in QUADRANTS}
        for r in self.rows:
            n, total = out[r.quadrant]
            out[r.quadrant] = (n + 1, total + r.revenue)
        return out


def limits() -> tuple[Decimal, Decimal]:
    """(growth %, relative share) thresholds from the settings."""
    cfg = current_app.config
    return Decimal(str(cfg["BCG_GROWTH_PCT"])), Decimal(str(cfg["BCG_SHARE"]))


def check_arguments(by: str, date_from: date, date_to: date) -> None:
    if by not in BY:
        raise AnalyticsError(_("Show products or product groups."), "by")
    check_period(date_from, date_to)


def _product_revenue(date_from: date, date_to: date, scope: dict) -> dict[int, Decimal]:
    """Σ revenue per product over [date_from, date_to] (months summed in Python)."""
    out: dict[int, Decimal] = {}
    for product_id, _bucket, revenue in grouped_rows(
        "products", date_from, date_to, ("revenue",), **scope
    ):
        out[product_id] = out.get(product_id, ZERO) + (revenue if revenue is not None else ZERO)
    return out


def _products(ids) -> dict[int, tuple[str, str, int]]:
    """sku, name and group (NO_GROUP when none) of the products `ids`."""
    ids = list(ids)
    if db.engine.dialect.name == "postgresql":
        # One array parameter (as abc_xyz._names): psycopg is slow at thousands of parameters.
        chunks = [[Product.id == any_(bindparam("ids", ids, type_=ARRAY(Integer)))]]
    else:  # under SQLite's bound-parameter limit
        chunks = [[Product.id.in_(ids[i : i + 5000])] for i in range(0, len(ids), 5000)]
    out: dict[int, tuple[str, str, int]] = {}
    for where in chunks:
        q = select(Product.id, Product.sku, Product.name, Product.group_id).where(*where)
        for pid, sku, name, group_id in db.session.execute(q):
            out[pid] = (sku, name, group_id or NO_GROUP)
    return out


def group_names() -> dict[int, str]:
    names = dict(db.session.execute(select(ProductGroup.id, ProductGroup.name)).all())
    names[NO_GROUP] = _("No group")
    return names


def _leaders(revenue: dict[int, Decimal], market: dict[int, int]) -> dict[int, list]:
    """Per market the two largest revenues [(R, object), (R, object)] of its objects."""
    top: dict[int, list] = {}
    for obj, r in revenue.items():
        best = top.setdefault(market[obj], [])
        best.append((r, obj))
        best.sort(key=lambda pair: pair[0], reverse=True)
        del best[2:]
    return top


def bcg(
    date_from: date,
    date_to: date,
    by: str = "products",
    *,
    organization_id: int | None = None,
    department_id: int | None = None,
    warehouse_id: int | None = None,
    manager_id: int | None = None,
    product_group_id: int | None = None,
    partners=None,
) -> BcgResult:
    """The BCG matrix of products (`by="products"`) or product groups (`"groups"`) for P =
    [date_from, date_to] against the previous period of the same length, within the scope of
    the sales documents (organization, department, warehouse, manager), a product group and
    the sales to `partners` (a SELECT of partner ids: a segment; None for all). Raises
    AnalyticsError for bad arguments."""
    check_arguments(by, date_from, date_to)
    growth_limit, share_limit = limits()
    p0_from, p0_to = previous_period(date_from, date_to)
    scope = {
        "organization_id": organization_id,
        "department_id": department_id,
        "warehouse_id": warehouse_id,
        "manager_id": manager_id,
        "product_group_id": product_group_id,
        "partners": partners,
    }
    now = _product_revenue(date_from, date_to, scope)
    before = _product_revenue(p0_from, p0_to, scope)
    products = _products(set(now) | set(before))
    groups = group_names()
    if by == "groups":
        revenue: dict[int, Decimal] = {}
        previous: dict[int, Decimal] = {}
        for pid, r in now.items():
            g = products[pid][2]
            revenue[g] = revenue.get(g, ZERO) + r
        for pid, r in before.items():
            g = products[pid][2]
            previous[g] = previous.get(g, ZERO) + r
        names = {g: ("" if g == NO_GROUP else str(g), groups[g]) for g in revenue}
        market = {g: 0 for g in revenue}  # every group competes with every other group
        group_of = {g: g for g in revenue}
    else:
        revenue, previous = now, before
        names = {pid: products[pid][:2] for pid in revenue}
        market = group_of = {pid: products[pid][2] for pid in revenue}
    top = _leaders(revenue, market)
    rows = []
    with localcontext() as ctx:
        ctx.prec = 34
        for obj, r in revenue.items():
            r0 = previous.get(obj, ZERO)
            others = [value for value, other in top[market[obj]] if other != obj]
            leader = others[0] if others and others[0] > 0 else None
            growth = (r - r0) * 100 / r0 if r0 > 0 else None
            share = r / leader if leader is not None else None
            high_growth = growth is None or 100 * (r - r0) >= growth_limit * r0
            if r <= 0:
                high_share = False
            elif leader is None:
                high_share = True
            else:
                high_share = r >= share_limit * leader
            rows.append(
                BcgRow(
                    object_id=obj,
                    code=names[obj][0],
                    name=names[obj][1],
                    group_id=group_of[obj],
                    group_name=groups[group_of[obj]],
                    revenue=r,
                    previous_revenue=r0,
                    growth_pct=growth,
                    relative_share=share,
                    leader_revenue=leader,
                    high_growth=high_growth,
                    high_share=high_share,
                    quadrant=quadrant_of(high_growth, high_share),
                )
            )
    rows.sort(key=lambda row: (-row.revenue, row.code))
    return BcgResult(
        by=by,
        date_from=date_from,
        date_to=date_to,
        previous_from=p0_from,
        previous_to=p0_to,
        growth_limit=growth_limit,
        share_limit=share_limit,
        rows=rows,
    )


def quadrant_of(high_growth: bool, high_share: bool) -> str:
    if high_share:
        return "star" if high_growth else "cash_cow"
    return "question_mark" if high_growth else "dog"
