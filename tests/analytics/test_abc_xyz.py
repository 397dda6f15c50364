"""ABC/XYZ of products and partners (shared/spec/analytics.md, ABC and XYZ).

A generated history (300 partners, 50 products, a seeded generator, bulk inserts) is classified
and compared row by row with a few lines of pandas over the raw lines read back with plain SQL;
hand-built cases pin the edge rules; the CLI is compared as exact CSV text."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import insert, text

from crm.analytics.abc_xyz import AnalyticsError, abc_xyz
from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import (
    Department,
    Organization,
    Product,
    ProductGroup,
    SalesDocument,
    SalesLine,
    Warehouse,
)
from crm.sales.summaries import rebuild
from tests.helpers import sync_documents

_doc = itertools.count(1)


# --- the generated history ----------------------------------------------------------------


def generate_history(seed: int = 12) -> None:
    """300 partners and 50 products (codes in an order unlike their ids), two organizations,
    two product groups; ~1,500 documents from 2025-11 to 2027-02 (the window is 2026), some
    lines returns, some without cost; partners 271-300 never buy."""
    rng = random.Random(seed)
    db.session.execute(insert(Organization), [{"name": "Org 1"}, {"name": "Org 2"}])
    db.session.execute(insert(ProductGroup), [{"name": "G1"}, {"name": "G2"}])
    db.session.execute(insert(Department), [{"name": "D1"}, {"name": "D2"}])
    db.session.execute(insert(Warehouse), [{"name": "W1"}, {"name": "W2"}])
    codes = [f"C{n:04d}" for n in range(1, 301)]
    rng.shuffle(codes)
    db.session.execute(
        insert(Partner), [{"code": c, "name": f"Partner {c}", "is_client": True} for c in codes]
    )
    skus = [f"S{n:03d}" for n in range(1, 51)]
    rng.shuffle(skus)
    db.session.execute(
        insert(Product),
        [{"sku": s, "name": f"Product {s}", "group_id": 1 + i % 2} for i, s in enumerate(skus)],
    )
    # A few heavy buyers and best sellers so that the classes spread over A, B and C.
    weights = [rng.paretovariate(1.2) for _ in range(270)]
    popularity = [rng.paretovariate(1.5) for _ in range(50)]
    start, days = date(2025, 11, 1), (date(2027, 2, 28) - date(2025, 11, 1)).days
    docs, lines = [], []
    for doc_id in range(1, 1501):
        partner = rng.choices(range(1, 271), weights)[0]
        day = start + timedelta(days=rng.randrange(days + 1))
        docs.append(
            {
                "id": doc_id,
                "doc_no": f"N{doc_id:05d}",
                "date": day,
                "due_date": day,
                "partner_id": partner,
                "organization_id": rng.choice((1, 2, None)),
                "department_id": rng.choice((1, 2)),
                "warehouse_id": rng.choice((1, 2, None)),
            }
        )
        for line_no in range(1, rng.randint(1, 4) + 2):
            qty = Decimal(rng.randint(1, 40)) / (4 if rng.random() < 0.2 else 1)
            price = Decimal(rng.randint(100, 500000)) / 100
            if line_no == 1:
                qty = Decimal(5)
            elif rng.random() < 0.07:
                qty = -qty  # a return
            amount = (qty * price).quantize(Decimal("0.01"))
            cost = (
                None if rng.random() < 0.1 else (amount * Decimal("0.7")).quantize(Decimal("0.01"))
            )
            lines.append(
                {
                    "document_id": doc_id,
                    "line_no": line_no,
                    "date": day,
                    "partner_id": partner,
                    # Line 1 is the steady product 1 (demand follows the number of documents).
                    "product_id": 1 if line_no == 1 else rng.choices(range(1, 51), popularity)[0],
                    "quantity": qty,
                    "amount": amount,
                    "cost": cost,
                }
            )
    db.session.execute(insert(SalesDocument), docs)
    db.session.execute(insert(SalesLine), lines)
    db.session.commit()
    rebuild()  # the rows went around the sales services: their summaries, as those keep them


def raw_lines() -> pd.DataFrame:
    """Every sales line with its document and names, by plain SQL; money in cents and
    quantity in thousandths as integers so that pandas sums them exactly."""
    sql = text(
        "SELECT l.partner_id, l.product_id, l.date, l.quantity, l.amount, l.cost, d.doc_no,"
        " d.organization_id, d.department_id, d.warehouse_id, pr.group_id, pa.code AS partner_code, pa.name AS partner_name,"
        " pr.sku AS product_code, pr.name AS product_name"
        " FROM sales_line l JOIN sales_document d ON d.id = l.document_id"
        " JOIN partner pa ON pa.id = l.partner_id JOIN product pr ON pr.id = l.product_id"
    )
    df = pd.read_sql(sql, db.session.connection())
    df["date"] = pd.to_datetime(df["date"])
    df["revenue"] = (df["amount"].astype(float) * 100).round().astype("int64")
    # Gross profit of a line whose cost is unknown: left out (0 here), not its whole amount.
    cost = (df["cost"].astype(float) * 100).round()
    df["profit"] = (df["revenue"] - cost).fillna(0).astype("int64")
    df["quantity"] = (df["quantity"].astype(float) * 1000).round().astype("int64")
    return df


SCALE = {"revenue": 100, "profit": 100, "quantity": 1000, "sales": 1}
XYZ_LIMITS = {"products": (10, 25), "partners": (50, 100)}
FREQ = {"month": "MS", "week": "W-MON", "quarter": "QS"}


def expected(df, of, date_from, date_to, abc_by, xyz_by, bucket="month", limits=None):
    """The spec's ABC and XYZ in pandas, one row per object in rank order; `limits`: the A, B,
    X and Y thresholds when not the settings' defaults."""
    key, code, name = (
        ("product_id", "product_code", "product_name")
        if of == "products"
        else ("partner_id", "partner_code", "partner_name")
    )
    w = df[(df.date >= pd.Timestamp(date_from)) & (df.date <= pd.Timestamp(date_to))].copy()
    periods = {"month": "M", "week": "W-SUN", "quarter": "Q"}[bucket]
    w["bucket"] = w.date.dt.to_period(periods).dt.start_time
    all_buckets = pd.period_range(date_from, date_to, freq=periods).start_time

    def per(metric, by):
        if metric == "sales":
            return w.groupby(by).doc_no.nunique()
        return w.groupby(by)[metric].sum() / SCALE[metric]

    m = per(abc_by, key).rename("m").to_frame()
    m = m.join(w.groupby(key)[[code, name]].first())
    m = m.sort_values(["m", code], ascending=[False, True])
    total = m.m.clip(lower=0).sum()
    m["cum_before"] = m.m.cumsum().shift(fill_value=0) / total * 100
    m["share"] = m.m / total * 100
    m["cum"] = m.m.cumsum() / total * 100
    la, lb, lx, ly = limits or (80, 95, *XYZ_LIMITS[of])
    m["abc"] = ["A" if cb < la else "B" if cb < lb else "C" for cb in m.cum_before]
    m.loc[m.m <= 0, "abc"] = "C"
    x = per(xyz_by, [key, "bucket"]).unstack(fill_value=0)
    x = x.reindex(columns=all_buckets, fill_value=0).astype(float)
    mu, sigma = x.mean(axis=1), x.std(axis=1, ddof=0)
    cv = (sigma / mu * 100).where(mu > 0)
    m["cv"] = cv
    m["xyz"] = [
        "Z" if pd.isna(c) else "X" if c <= lx else "Y" if c <= ly else "Z" for c in cv[m.index]
    ]
    return m


def assert_same(result, exp):
    got = pd.DataFrame(
        [
            (r.object_id, r.code, r.abc_metric, r.share_pct, r.cum_pct, r.abc, r.cv_pct, r.xyz)
            for r in result.rows
        ],
        columns=["id", "code", "m", "share", "cum", "abc", "cv", "xyz"],
    )
    assert list(got.id) == list(exp.index)
    for g, (_i, e) in zip(got.itertuples(), exp.iterrows(), strict=True):
        assert float(g.m) == pytest.approx(float(e.m), abs=1e-9), g
        assert Decimal(g.m) == Decimal(str(e.m)).quantize(Decimal(g.m)), g  # exact money
        assert float(g.share) == pytest.approx(e.share, rel=1e-9), g
        assert float(g.cum) == pytest.approx(e.cum, rel=1e-9), g
        assert g.abc == e.abc, g
        if pd.isna(e.cv):
            assert g.cv is None, g
        else:
            assert float(g.cv) == pytest.approx(e.cv, rel=1e-9, abs=1e-9), g
        assert g.xyz == e.xyz, g


CASES = [
    ("products", "revenue", "quantity", "month"),
    ("products", "profit", "revenue", "quarter"),
    ("products", "quantity", "profit", "week"),
    ("partners", "revenue", "revenue", "month"),
    ("partners", "sales", "quantity", "month"),
    ("partners", "profit", "sales", "quarter"),
    ("partners", "revenue", "revenue", "week"),
]


def test_generated_history_matches_pandas_on_every_row(app):
    generate_history()
    df = raw_lines()
    seen = set()
    for of, abc_by, xyz_by, bucket in CASES:
        # The week window starts on a Wednesday and ends on a Friday: partial first/last weeks.
        start, end = (
            (date(2026, 1, 7), date(2026, 6, 26))
            if bucket == "week"
            else (date(2026, 1, 1), date(2026, 12, 31))
        )
        result = abc_xyz(of, start, end, abc_by=abc_by, xyz_by=xyz_by, bucket=bucket)
        exp = expected(df, of, start, end, abc_by, xyz_by, bucket)
        assert_same(result, exp)
        seen |= {(of, r.abc + r.xyz) for r in result.rows}
    # The data reaches every ABC class and every XYZ class of both kinds of objects.
    for of in ("products", "partners"):
        assert {c[0] for o, c in seen if o == of} == {"A", "B", "C"}
        assert {c[1] for o, c in seen if o == of} == {"X", "Y", "Z"}


@pytest.mark.parametrize("of", ["products", "partners"])
def test_thresholds_other_than_the_settings_match_pandas(app, of):
    """The report's own thresholds (the page's and the CLI's --a-pct … --y-pct): A up to 50 %,
    B up to 90 %, X up to 30 %, Y up to 60 % of CV."""
    from crm.analytics.abc_xyz import Thresholds

    generate_history(seed=3)
    df = raw_lines()
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    limits = (50, 90, 30, 60)
    result = abc_xyz(of, start, end, thresholds=Thresholds(*(Decimal(v) for v in limits)))
    xyz_by = "quantity" if of == "products" else "revenue"
    assert_same(result, expected(df, of, start, end, "revenue", xyz_by, limits=limits))
    assert {r.abc for r in result.rows} == {"A", "B", "C"}


def test_scope_by_organization_and_product_group(app):
    generate_history(seed=7)
    df = raw_lines()
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    result = abc_xyz("partners", start, end, organization_id=2)
    assert_same(
        result, expected(df[df.organization_id == 2], "partners", start, end, "revenue", "revenue")
    )
    result = abc_xyz("products", start, end, product_group_id=1)
    assert_same(
        result, expected(df[df.group_id == 1], "products", start, end, "revenue", "quantity")
    )
    assert {r.code for r in result.rows} <= set(df[df.group_id == 1].product_code)
    result = abc_xyz("partners", start, end, abc_by="profit", department_id=1, warehouse_id=2)
    part = df[(df.department_id == 1) & (df.warehouse_id == 2)]
    assert_same(result, expected(part, "partners", start, end, "profit", "revenue"))


# --- hand-built edge cases -----------------------------------------------------------------


def sale(partner, product, day, amount, qty=1, doc_no=None):
    """A document of one line."""
    n = next(_doc)
    amount = Decimal(str(amount))
    line = SalesLine(
        line_no=1,
        date=day,
        partner_id=partner.id,
        product_id=product.id,
        quantity=Decimal(str(qty)),
        amount=amount,
    )
    doc = SalesDocument(
        doc_no=doc_no or f"H{n:05d}", date=day, due_date=day, partner_id=partner.id, lines=[line]
    )
    db.session.add(doc)
    db.session.flush()
    sync_documents([doc])


@pytest.fixture
def item(app):
    from tests.factories import create_product

    return create_product(sku="ITEM", name="Item")


@pytest.fixture
def six_partners(make_partner, item):
    """Window January–April 2026, revenue per month:
    K01 Alpha 100 100 100 100 (and 1000 in December 2025, outside), K02 Beta 100 100 100 0,
    K04 Gamma 150 50 0 0, K03 Delta 50 50 50 50 (Gamma is created first: the tie goes by code),
    K05 Eps a return of 40 in March, K06 Zeta 10 in January and a return of 10 in February."""
    months = [date(2026, m, 10) for m in (1, 2, 3, 4)]
    made = {}
    for code, name, amounts in [
        ("K01", "Alpha", (100, 100, 100, 100)),
        ("K02", "Beta", (100, 100, 100, 0)),
        ("K04", "Gamma", (150, 50, 0, 0)),
        ("K03", "Delta", (50, 50, 50, 50)),
        ("K05", "Eps", (0, 0, -40, 0)),
        ("K06", "Zeta", (10, -10, 0, 0)),
    ]:
        partner = made[code] = make_partner(code=code, name=name)
        for day, amount in zip(months, amounts, strict=True):
            if amount:
                sale(partner, item, day, amount)
    sale(made["K01"], item, date(2025, 12, 31), 1000)
    sale(made["K01"], item, date(2026, 5, 1), 1000)
    db.session.commit()
    return made


def test_classes_shares_and_cv_of_the_hand_built_partners(six_partners):
    # total = 400 + 300 + 200 + 200 = 1100 (M ≤ 0 left out).
    # Alpha: before 0 → A; Beta: before 36.4 → A; Delta: before 63.6, crosses 80 (to 81.8) → A;
    # Gamma: before 81.8 → B; Zeta (M = 0) and Eps (M = −40): C.
    # CV: Alpha, Delta 0 → X; Beta sqrt(4·30000 − 300²)/300 = 57.7 → Y;
    # Gamma sqrt(4·25000 − 200²)/200 = 122.5 → Z; Zeta μ = 0 and Eps μ = −10: Z, no CV.
    result = abc_xyz("partners", date(2026, 1, 1), date(2026, 4, 30))
    assert result.total == Decimal("1100.00")
    got = [
        (r.code, r.abc_metric, r.abc, r.xyz, None if r.cv_pct is None else round(r.cv_pct, 3))
        for r in result.rows
    ]
    assert got == [
        ("K01", Decimal("400.00"), "A", "X", Decimal("0.000")),
        ("K02", Decimal("300.00"), "A", "Y", Decimal("57.735")),
        ("K03", Decimal("200.00"), "A", "X", Decimal("0.000")),
        ("K04", Decimal("200.00"), "B", "Z", Decimal("122.474")),
        ("K06", Decimal("0.00"), "C", "Z", None),
        ("K05", Decimal("-40.00"), "C", "Z", None),
    ]
    assert round(result.rows[2].cum_pct, 6) == round(Decimal(900) / 1100 * 100, 6)
    assert round(result.rows[5].share_pct, 6) == round(Decimal(-40) / 1100 * 100, 6)


def test_the_cli_prints_the_exact_csv(runner, six_partners):
    result = runner.invoke(
        args=["crm", "report", "abc-xyz", "--of", "partners", "--from", "2026-01-01",
              "--to", "2026-04-30"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output == (
        "code,name,abc_metric,share_pct,cum_pct,abc,cv_pct,xyz\n"
        "K01,Alpha,400.00,36.4,36.4,A,0.0,X\n"
        "K02,Beta,300.00,27.3,63.6,A,57.7,Y\n"
        "K03,Delta,200.00,18.2,81.8,A,0.0,X\n"
        "K04,Gamma,200.00,18.2,100.0,B,122.5,Z\n"
        "K06,Zeta,0.00,0.0,100.0,C,,Z\n"
        "K05,Eps,-40.00,-3.6,96.4,C,,Z\n"
    )
    # The number of sales: Alpha 4 documents, Beta 3, Delta 4, Gamma 2, Zeta 2, Eps 1 → total 16.
    # Alpha and Delta tie at 4 (by code), 4/16 = 25 % each; before Gamma 11/16 = 68.75 % → A;
    # before Zeta 13/16 = 81.25 % → B; before Eps 15/16 = 93.75 % → B.
    by_sales = runner.invoke(
        args=["crm", "report", "abc-xyz", "--of", "partners", "--from", "2026-01-01",
              "--to", "2026-04-30", "--abc-by", "sales", "--xyz-by", "sales"]
    )  # fmt: skip
    assert by_sales.exit_code == 0, by_sales.output
    assert [line.split(",")[:6] for line in by_sales.output.splitlines()[1:]] == [
        ["K01", "Alpha", "4", "25.0", "25.0", "A"],
        ["K03", "Delta", "4", "25.0", "50.0", "A"],
        ["K02", "Beta", "3", "18.8", "68.8", "A"],
        ["K04", "Gamma", "2", "12.5", "81.3", "A"],
        ["K06", "Zeta", "2", "12.5", "93.8", "B"],
        ["K05", "Eps", "1", "6.3", "100.0", "B"],
    ]


def test_exact_boundaries_80_and_95_belong_to_the_lower_class(make_partner, item):
    # 50, 30, 15, 5 of 100: before = 0, 50 → A; before = 80 (not < 80) → B; before = 95 → C.
    for code, amount in [("E1", 50), ("E2", 30), ("E3", 15), ("E4", 5)]:
        sale(make_partner(code=code), item, date(2026, 2, 1), amount)
    db.session.commit()
    result = abc_xyz("partners", date(2026, 1, 1), date(2026, 2, 28))
    assert [(r.code, r.abc) for r in result.rows] == [
        ("E1", "A"),
        ("E2", "A"),
        ("E3", "B"),
        ("E4", "C"),
    ]


def test_product_cv_thresholds_are_inclusive(make_partner):
    from tests.factories import create_product

    buyer = make_partner(code="B1")
    # Quantities in January and February: CV = |a − b| / (a + b) × 100.
    for sku, (jan, feb) in [
        ("Q10", (9, 11)),  # CV 10 → X
        ("Q20", (8, 12)),  # CV 20 → Y
        ("Q25", ("7.5", "12.5")),  # CV 25 → Y
        ("Q30", (7, 13)),  # CV 30 → Z
    ]:
        product = create_product(sku=sku)
        sale(buyer, product, date(2026, 1, 5), 100, qty=jan)
        sale(buyer, product, date(2026, 2, 5), 100, qty=feb)
    db.session.commit()
    result = abc_xyz("products", date(2026, 1, 1), date(2026, 2, 28))
    assert {r.code: r.xyz for r in result.rows} == {"Q10": "X", "Q20": "Y", "Q25": "Y", "Q30": "Z"}
    assert {r.code: r.cv_pct for r in result.rows} == {
        "Q10": Decimal(10),
        "Q20": Decimal(20),
        "Q25": Decimal(25),
        "Q30": Decimal(30),
    }


def test_weeks_run_monday_to_sunday_and_quarters_keep_to_the_window(make_partner):
    from tests.factories import create_product

    buyer = make_partner(code="B1")
    weekly = create_product(sku="W")
    # Monday 5 and Sunday 11 January are one week (10 + 10), Monday 12 the next (20): CV 0 → X.
    # (Sunday in the next week would give 10 and 30: CV 50 → Z.)
    for day, qty in [(date(2026, 1, 5), 10), (date(2026, 1, 11), 10), (date(2026, 1, 12), 20)]:
        sale(buyer, weekly, day, 10 * qty, qty=qty)
    db.session.commit()
    result = abc_xyz("products", date(2026, 1, 5), date(2026, 1, 18), bucket="week")
    assert [(r.code, r.abc_metric, r.cv_pct, r.xyz) for r in result.rows] == [
        ("W", Decimal("400.00"), Decimal(0), "X")
    ]
    quarterly = create_product(sku="QQ")
    # Window 15 February – 10 April: quarters Q1 and Q2, but only the lines inside the window:
    # 10 + 10 in Q1, 20 in Q2 → CV 0 (the 100 of 10 January and the 500 of 11 April are out).
    for day, qty in [
        (date(2026, 1, 10), 100),
        (date(2026, 2, 20), 10),
        (date(2026, 3, 31), 10),
        (date(2026, 4, 1), 20),
        (date(2026, 4, 11), 500),
    ]:
        sale(buyer, quarterly, day, qty, qty=qty)
    db.session.commit()
    result = abc_xyz("products", date(2026, 2, 15), date(2026, 4, 10), bucket="quarter")
    assert [(r.code, r.abc_metric, r.xyz_metric, r.xyz) for r in result.rows] == [
        ("QQ", Decimal("40.00"), Decimal("40.000"), "X")
    ]
    assert len(result.buckets) == 2


def test_a_window_of_one_bucket_is_too_short(six_partners):
    with pytest.raises(AnalyticsError, match="too short"):
        abc_xyz("partners", date(2026, 1, 1), date(2026, 1, 31))
    with pytest.raises(AnalyticsError, match="too short"):
        abc_xyz("products", date(2026, 1, 5), date(2026, 3, 31), bucket="quarter")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-01-01", "--to", "2026-01-31"], "too short"),
        (["--from", "2026-05-01", "--to", "2026-01-31"], "starts after it ends"),
        (["--from", "2026-02-30", "--to", "2026-03-31"], "not a real date"),
        (["--from", "2026-01-01", "--to", "2026-03-31", "--bucket", "year"], "year"),
        (["--from", "2026-01-01", "--to", "2026-03-31", "--abc-by", "margin"], "margin"),
        (["--from", "2026-01-01", "--to", "2026-03-31", "--of", "products", "--abc-by",
          "sales"], "metric of partners"),
        (["--from", "2026-01-01", "--to", "2026-03-31", "--a-pct", "90", "--b-pct", "85"],
         "from the A limit"),
        (["--from", "2026-01-01", "--to", "2026-03-31", "--x-pct", "30", "--y-pct", "20"],
         "below the X limit"),
        (["--from", "2026-01-01", "--to", "2026-03-31", "--a-pct", "0"], "more than 0"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_with_a_message(runner, six_partners, args, message):
    of = [] if "--of" in args else ["--of", "partners"]
    result = runner.invoke(args=["crm", "report", "abc-xyz", *of, *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_the_cli_by_quarters_reaches_the_partner_limits_exactly(runner, six_partners):
    # Quarters of January–April: Alpha 300 | 100 → CV 200/400 = 50 → X (≤ 50);
    # Beta 300 | 0 and Gamma 200 | 0 → CV 100 → Y (≤ 100); Delta 150 | 50 → 50 → X;
    # Zeta 0 | 0 and Eps −40 | 0: μ ≤ 0 → Z without CV. ABC is the same as by months.
    result = runner.invoke(
        args=["crm", "report", "abc-xyz", "--of", "partners", "--from", "2026-01-01",
              "--to", "2026-04-30", "--bucket", "quarter"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [line.split(",")[0:1] + line.split(",")[5:] for line in result.output.splitlines()] == [
        ["code", "abc", "cv_pct", "xyz"],
        ["K01", "A", "50.0", "X"],
        ["K02", "A", "100.0", "Y"],
        ["K03", "A", "50.0", "X"],
        ["K04", "B", "100.0", "Y"],
        ["K06", "C", "", "Z"],
        ["K05", "C", "", "Z"],
    ]
