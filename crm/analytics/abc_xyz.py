"""Reads: the ABC/XYZ classification of products or partners over a window
(shared/spec/analytics.md, sections Common, ABC and XYZ).

The database groups the sales per object × bucket (one row per pair with sales; see
`grouped_rows` for which summary it reads); Python
then folds those few rows per object into Σx and Σx² of the buckets — an empty bucket adds
nothing to either, so the zeros the spec includes only count through n, the number of buckets.
Every class decision is an exact comparison in Decimal arithmetic at 60 digits (no rounding before
output): cum_before < 80 % is `100·Σbefore < 80·total`, CV ≤ t is
`n·Σx² − (Σx)² ≤ (t/100)²·(Σx)²` with μ > 0."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, localcontext

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Integer, Numeric, any_, bindparam, func, select, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY

from crm.analytics.periods import BUCKETS, DEFAULT_BUCKET, bucket_sql, bucket_start, buckets
from crm.core.errors import DomainError
from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import Product, SalesDocument, SalesLine
from crm.sales.summaries import partner_months, product_months

OBJECTS = ("products", "partners")
METRICS = ("revenue", "profit", "quantity", "sales")
# The number of sales (distinct documents) is a partner's metric (issue 12: "for partners also
# number of sales"); for a product it would count the documents it appears on, which is not
# what the ABC of products ranks, so it is refused rather than quietly given another meaning.
METRICS_OF = {"products": ("revenue", "profit", "quantity"), "partners": METRICS}
DEFAULT_XYZ = {"products": "quantity", "partners": "revenue"}
ZERO = Decimal(0)


class AnalyticsError(DomainError):
    """Arguments the report cannot work with; `field` names the one at fault."""

    def __init__(self, message: str, field: str):
        super().__init__(message, {field: [message]})
        self.field = field


@dataclass(frozen=True)
class AbcXyzRow:
    object_id: int
    code: str
    name: str
    abc_metric: Decimal  # M over the window (an int for the number of sales)
    share_pct: Decimal | None  # M / total × 100, unrounded; None when total = 0
    cum_pct: Decimal | None  # Σ M up to and including this object / total × 100
    abc: str  # A, B, C
    xyz_metric: Decimal  # Σ of the XYZ metric over the window
    cv_pct: Decimal | None  # σ / μ × 100, unrounded; None when μ ≤ 0
    xyz: str  # X, Y, Z

    @property
    def abc_xyz(self) -> str:
        return self.abc + self.xyz


@dataclass(frozen=True)
class AbcXyzResult:
    of: str
    date_from: date
    date_to: date
    bucket: str
    buckets: list[date]
    abc_by: str
    xyz_by: str
    total: Decimal  # Σ max(M, 0)
    rows: list[AbcXyzRow]  # in rank order: M descending, code ascending
    thresholds: Thresholds | None = None  # the ones used


@dataclass(frozen=True)
class Thresholds:
    """A and B limits of the cumulative share, X and Y limits of the CV, in percent."""

    a_pct: Decimal
    b_pct: Decimal
    x_pct: Decimal
    y_pct: Decimal


EXACT = 60  # digits: sums of squares of 14-digit amounts times n stay exact


def default_thresholds(of: str) -> Thresholds:
    """The settings' limits for products or partners."""
    cfg = current_app.config
    who = "PRODUCT" if of == "products" else "PARTNER"
    return Thresholds(
        Decimal(str(cfg["ABC_A_PCT"])),
        Decimal(str(cfg["ABC_B_PCT"])),
        Decimal(str(cfg[f"XYZ_{who}_X_PCT"])),
        Decimal(str(cfg[f"XYZ_{who}_Y_PCT"])),
    )


def check_thresholds(t: Thresholds) -> None:
    """0 < A ≤ B ≤ 100 and 0 ≤ X ≤ Y; the field at fault is named."""
    if not 0 < t.a_pct <= 100:
        raise AnalyticsError(_("The A limit must be more than 0 and at most 100 %."), "a_pct")
    if not t.a_pct <= t.b_pct <= 100:
        raise AnalyticsError(_("The B limit must be from the A limit up to 100 %."), "b_pct")
    if t.x_pct < 0:
        raise AnalyticsError(_("The X limit cannot be negative."), "x_pct")
    if t.y_pct < t.x_pct:
        raise AnalyticsError(_("The Y limit cannot be below the X limit."), "y_pct")


def check_period(date_from: date, date_to: date) -> None:
    """A period that starts after it ends is refused (the field: date_from)."""
    if date_from > date_to:
        raise AnalyticsError(
            _(
                "The period starts after it ends (%(start)s > %(end)s).",
                start=date_from,
                end=date_to,
            ),
            "date_from",
        )


def check_arguments(of: str, date_from: date, date_to: date, abc_by: str, xyz_by: str, bucket: str):
    """Refuse what the report cannot compute, with the field at fault."""
    if of not in OBJECTS:
        raise AnalyticsError(_("Classify products or partners."), "of")
    for field, metric in (("abc_by", abc_by), ("xyz_by", xyz_by)):
        if metric not in METRICS:
            raise AnalyticsError(_("Unknown metric %(metric)s.", metric=repr(metric)), field)
        if metric not in METRICS_OF[of]:
            raise AnalyticsError(
                _("The number of sales is a metric of partners, not of products."), field
            )
    if bucket not in BUCKETS:
        raise AnalyticsError(_("Unknown period bucket %(bucket)s.", bucket=repr(bucket)), "bucket")
    check_period(date_from, date_to)
    if len(buckets(date_from, date_to, bucket)) < 2:
        raise AnalyticsError(
            _(
                "The window is too short for XYZ: it covers one period bucket, at least two "
                "are needed."
            ),
            "date_to",
        )


def _metric_sql(metric: str):
    """A metric over the sales lines. Gross profit = Σ (amount − cost) over the lines whose cost
    is known (an unknown cost is not a zero cost; crm.sales.summaries and the KPIs count alike)."""
    if metric == "revenue":
        return type_coerce(func.sum(SalesLine.amount), Numeric(18, 2))
    if metric == "profit":
        return type_coerce(
            func.coalesce(func.sum(SalesLine.amount - SalesLine.cost), 0), Numeric(18, 2)
        )
    if metric == "quantity":
        return type_coerce(func.sum(SalesLine.quantity), Numeric(18, 3))
    return func.count(SalesLine.document_id.distinct())


def _document_metric_sql(metric: str):
    """The same metric over the documents' summaries (each a Σ over its lines)."""
    doc = SalesDocument
    if metric == "revenue":
        return type_coerce(func.sum(doc.total), Numeric(18, 2))
    if metric == "profit":
        return type_coerce(func.sum(doc.profit_total), Numeric(18, 2))
    if metric == "quantity":
        return type_coerce(func.sum(doc.quantity_total), Numeric(18, 3))
    return func.count()  # documents with lines: the WHERE keeps only those


def grouped_rows(
    of: str,
    date_from: date,
    date_to: date,
    metrics: tuple[str, ...],
    bucket: str = DEFAULT_BUCKET,
    *,
    organization_id: int | None = None,
    department_id: int | None = None,
    warehouse_id: int | None = None,
    manager_id: int | None = None,
    product_group_id: int | None = None,
    partners=None,
):
    """(object_id, bucket_start, *metrics) per object × bucket with sales lines in the window
    and scope, grouped in SQL. Organization, department, warehouse and manager are the
    document's; the product group is the product's; `partners` (a SELECT of partner ids, a
    partner scope such as a segment) keeps the sales to those partners.

    Where it reads (the same sums, fewer rows): partners without a product group scope from the
    documents' summaries (by month or quarter without a document scope: from the partner ×
    month summary); products without a document scope, by month or quarter, from the product ×
    month summary (crm.sales.summaries); anything else from the lines."""
    doc_scope = {
        SalesDocument.organization_id: organization_id,
        SalesDocument.department_id: department_id,
        SalesDocument.warehouse_id: warehouse_id,
        SalesDocument.manager_id: manager_id,
    }
    scoped = any(v is not None for v in doc_scope.values())
    summary = _summary_rows(
        of,
        date_from,
        date_to,
        bucket,
        {
            "organization_id": organization_id,
            "department_id": department_id,
            "warehouse_id": warehouse_id,
            "manager_id": manager_id,
            "product_group_id": product_group_id,
            "partners": partners,
        },
    )
    if summary is not None:
        return _from_summary(summary, metrics, bucket)
    if of == "partners" and product_group_id is None:
        return _from_documents(date_from, date_to, metrics, bucket, doc_scope, partners)
    key = SalesLine.product_id if of == "products" else SalesLine.partner_id
    start = bucket_sql(SalesLine.date, bucket, db.engine.dialect.name).label("bucket")
    q = (
        select(key, start, *(_metric_sql(m) for m in metrics))
        .where(SalesLine.date >= date_from, SalesLine.date <= date_to)
        .group_by(key, start)
    )
    if scoped:
        q = q.join(SalesDocument, SalesDocument.id == SalesLine.document_id)
        q = q.where(*(col == v for col, v in doc_scope.items() if v is not None))
    if product_group_id is not None:
        in_group = select(Product.id).where(Product.group_id == product_group_id)
        q = q.where(SalesLine.product_id.in_(in_group))
    if partners is not None:
        q = q.where(SalesLine.partner_id.in_(partners))
    return db.session.execute(q).all()


def _from_documents(date_from, date_to, metrics, bucket, doc_scope, partners=None):
    doc = SalesDocument
    start = bucket_sql(doc.date, bucket, db.engine.dialect.name).label("bucket")
    q = (
        select(doc.partner_id, start, *(_document_metric_sql(m) for m in metrics))
        .where(doc.date >= date_from, doc.date <= date_to, doc.line_count > 0)
        .where(*(col == v for col, v in doc_scope.items() if v is not None))
        .group_by(doc.partner_id, start)
    )
    if partners is not None:
        q = q.where(doc.partner_id.in_(partners))
    return db.session.execute(q).all()


# The summaries hand out integers (crm.sales.summaries): money in cents, quantity in
# thousandths, the number of sales as it is; the row position and decimal places of each metric.
POSITION = {"revenue": 2, "profit": 3, "quantity": 4, "sales": 5}
PLACES = {"revenue": 2, "profit": 2, "quantity": 3, "sales": 0}
DOCUMENT_SCOPE = ("organization_id", "department_id", "warehouse_id", "manager_id")


def _summary_rows(of, date_from, date_to, bucket, scope) -> list[tuple] | None:
    """The monthly summary's integer rows when it can answer the window and scope, else None:
    by month or quarter, no document scope (and for partners no product group). A partner
    scope narrows the partner × month summary by its partner column; the product × month one
    has none (the sales to some partners are read from the lines)."""
    if bucket not in ("month", "quarter") or any(scope.get(k) is not None for k in DOCUMENT_SCOPE):
        return None
    if of == "partners":
        if scope.get("product_group_id") is not None:
            return None
        return partner_months(date_from, date_to, scope.get("partners"))
    if scope.get("partners") is not None:
        return None
    return product_months(date_from, date_to, product_group_id=scope.get("product_group_id"))


def _fold(rows, metrics, bucket) -> dict[tuple[int, date], list[int]]:
    """Integer summary rows summed per object × bucket (a month is its own bucket)."""
    positions = [POSITION[m] for m in metrics]
    out: dict[tuple[int, date], list[int]] = {}
    for row in rows:
        key = (row[0], row[1] if bucket == "month" else bucket_start(row[1], bucket))
        sums = out.get(key)
        if sums is None:
            out[key] = [row[k] or 0 for k in positions]
        else:
            for i, k in enumerate(positions):
                sums[i] += row[k] or 0
    return out


def _in_units(value, places: int):
    """An integer of the summaries (`places` decimal places) as the metric's own number."""
    return value if places == 0 else Decimal(value).scaleb(-places)


def _unscaled(value: int, metric: str):
    return _in_units(value, PLACES[metric])


def _from_summary(rows, metrics, bucket):
    """grouped_rows' Decimal rows from the summary's integer ones."""
    return [
        (obj, start, *(_unscaled(v, m) for v, m in zip(sums, metrics, strict=True)))
        for (obj, start), sums in _fold(rows, metrics, bucket).items()
    ]


def _names(of: str, ids) -> dict[int, tuple[str, str]]:
    model, code = (Product, Product.sku) if of == "products" else (Partner, Partner.code)
    ids = list(ids)
    if db.engine.dialect.name == "postgresql":
        # One array parameter: psycopg spends more time splitting a query of 20,000 bound
        # parameters than PostgreSQL spends answering it.
        wanted = [model.id == any_(bindparam("ids", ids, type_=ARRAY(Integer)))]
        chunks = [wanted]
    else:  # under SQLite's bound-parameter limit
        chunks = [[model.id.in_(ids[i : i + 5000])] for i in range(0, len(ids), 5000)]
    out: dict[int, tuple[str, str]] = {}
    for where in chunks:
        rows = db.session.execute(select(model.id, code, model.name).where(*where))
        out.update({r[0]: (r[1], r[2]) for r in rows})
    return out


def _pct(part, total) -> Decimal | None:
    if total == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 34
        return Decimal(part) * 100 / Decimal(total)


def _cv(n: int, s, q) -> Decimal | None:
    """σ/μ × 100 = sqrt(n·Σx² − (Σx)²) / Σx × 100 (population σ); None when μ ≤ 0."""
    if s <= 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 34
        spread = max(Decimal(n) * Decimal(q) - Decimal(s) * Decimal(s), ZERO)
        return spread.sqrt() / Decimal(s) * 100


def _xyz(n: int, s, q, x_limit: Decimal, y_limit: Decimal) -> str:
    """X/Y/Z; the limits are (t/100)² of the CV thresholds t; the context is exact."""
    if s <= 0:
        return "Z"
    # CV = σ/μ × 100 with n·σ = sqrt(spread) and n·μ = Σx, so CV ≤ t ⇔ spread ≤ (t/100)²·(Σx)².
    spread = n * q - s * s
    s2 = s * s
    if spread <= x_limit * s2:
        return "X"
    if spread <= y_limit * s2:
        return "Y"
    return "Z"


def abc_xyz(
    of: str,
    date_from: date,
    date_to: date,
    *,
    abc_by: str = "revenue",
    xyz_by: str | None = None,
    bucket: str = DEFAULT_BUCKET,
    organization_id: int | None = None,
    department_id: int | None = None,
    warehouse_id: int | None = None,
    manager_id: int | None = None,
    product_group_id: int | None = None,
    thresholds: Thresholds | None = None,
    partners=None,
) -> AbcXyzResult:
    """ABC by `abc_by` and XYZ by `xyz_by` (default: quantity for products, revenue for
    partners) of every product or partner with a sales line in [date_from, date_to] and the
    scope, with `thresholds` (default: the settings'). `partners` (a SELECT of partner ids)
    keeps only the sales to those partners: partners classified among themselves, products by
    what those partners bought. Raises AnalyticsError for bad arguments and a window of fewer
    than two buckets."""
    xyz_by = xyz_by or DEFAULT_XYZ.get(of, "revenue")
    check_arguments(of, date_from, date_to, abc_by, xyz_by, bucket)
    thresholds = thresholds or default_thresholds(of)
    check_thresholds(thresholds)
    a_pct, b_pct, x_pct, y_pct = (
        thresholds.a_pct,
        thresholds.b_pct,
        thresholds.x_pct,
        thresholds.y_pct,
    )
    scope = {
        "organization_id": organization_id,
        "department_id": department_id,
        "warehouse_id": warehouse_id,
        "manager_id": manager_id,
        "product_group_id": product_group_id,
        "partners": partners,
    }
    with localcontext() as ctx:
        ctx.prec = EXACT
        limits = (a_pct, b_pct, (x_pct / 100) ** 2, (y_pct / 100) ** 2)
        result = _classify(of, date_from, date_to, abc_by, xyz_by, bucket, scope, limits)
    return replace(result, thresholds=thresholds)


def _classify(of, date_from, date_to, abc_by, xyz_by, bucket, scope, limits) -> AbcXyzResult:
    a_pct, b_pct, x_limit, y_limit = limits
    window = buckets(date_from, date_to, bucket)
    n = len(window)
    metrics = (abc_by,) if abc_by == xyz_by else (abc_by, xyz_by)
    summary = _summary_rows(of, date_from, date_to, bucket, scope)
    if summary is not None:
        # Integers (cents, thousandths): exact, and a tenth of the time of Decimals. Every
        # decision below compares ratios, which the scale does not change.
        folded = _fold(summary, metrics, bucket)
        rows = [(obj, start, *sums) for (obj, start), sums in folded.items()]
        units = (PLACES[abc_by], PLACES[xyz_by])
        nothing = 0
    else:
        rows = grouped_rows(of, date_from, date_to, metrics, bucket, **scope)
        units = (0, 0)
        nothing = ZERO
    m: dict = {}
    s: dict = {}
    q: dict = {}
    for row in rows:
        obj = row[0]
        a_val = row[2] if row[2] is not None else nothing
        x_val = row[-1] if row[-1] is not None else nothing
        m[obj] = m.get(obj, nothing) + a_val
        s[obj] = s.get(obj, nothing) + x_val
        q[obj] = q.get(obj, nothing) + x_val * x_val
    names = _names(of, m)
    ranked = sorted(m, key=lambda obj: (-m[obj], names[obj][0]))
    total = sum((v for v in m.values() if v > 0), ZERO)
    out: list[AbcXyzRow] = []
    before = ZERO
    for obj in ranked:
        metric = m[obj]
        if metric <= 0:
            abc = "C"
        elif 100 * before < a_pct * total:
            abc = "A"
        elif 100 * before < b_pct * total:
            abc = "B"
        else:
            abc = "C"
        before += metric
        out.append(
            AbcXyzRow(
                object_id=obj,
                code=names[obj][0],
                name=names[obj][1],
                abc_metric=_in_units(metric, units[0]),
                share_pct=_pct(metric, total),
                cum_pct=_pct(before, total),
                abc=abc,
                xyz_metric=_in_units(s[obj], units[1]),
                cv_pct=_cv(n, s[obj], q[obj]),
                xyz=_xyz(n, s[obj], q[obj], x_limit, y_limit),
            )
        )
    return AbcXyzResult(
        of=of,
        date_from=date_from,
        date_to=date_to,
        bucket=bucket,
        buckets=window,
        abc_by=abc_by,
        xyz_by=xyz_by,
        total=_in_units(total, units[0]),
        rows=out,
    )
