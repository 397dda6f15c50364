"""The BCG matrix (crm/analytics/bcg.py): a generated history compared object by object with a
few lines of pandas over the raw lines read back with plain SQL (integer cents, exact integer
threshold comparisons); hand-built cases pin the rules at the thresholds, new objects, objects
alone in their market and revenue ≤ 0; the CLI as exact CSV text."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import insert, text

from crm.analytics.abc_xyz import AnalyticsError
from crm.analytics.bcg import bcg
from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import Organization, Product, ProductGroup, SalesDocument, SalesLine

P = (date(2026, 1, 1), date(2026, 6, 30))
P0 = (date(2025, 7, 4), date(2025, 12, 31))  # 181 days before P

_doc = itertools.count(1)


def generate_history(seed: int = 7) -> None:
    """40 partners, 4 product groups (group 4 holds one product: alone in its market), 50
    products (46-50 without a group); ~900 documents from 2025-03 to 2026-09, some lines
    returns; product 41 sells only before P (not an object, but in its group's R0), product 42
    only in P (new), product 43 only returns in P (R < 0)."""
    rng = random.Random(seed)
    db.session.execute(insert(Organization), [{"name": "Org 1"}, {"name": "Org 2"}])
    db.session.execute(insert(ProductGroup), [{"name": f"G{g}"} for g in (1, 2, 3, 4)])
    db.session.execute(
        insert(Partner), [{"code": f"P{n:03d}", "name": f"Partner {n}"} for n in range(1, 41)]
    )
    skus = [f"S{n:03d}" for n in range(1, 51)]
    rng.shuffle(skus)  # codes in an order unlike the ids
    groups = [1 + i % 3 for i in range(39)] + [4] + [1, 2, 3] + [None] * 7
    db.session.execute(
        insert(Product),
        [
            {"sku": s, "name": f"Product {s}", "group_id": g}
            for s, g in zip(skus, groups, strict=True)
        ],
    )
    trend = {p: rng.uniform(-0.5, 0.8) for p in range(1, 51)}
    start, end = date(2025, 3, 1), date(2026, 9, 30)
    days = (end - start).days
    docs, lines = [], []
    for doc_id in range(1, 901):
        day = start + timedelta(days=rng.randrange(days + 1))
        partner = rng.randint(1, 40)
        docs.append(
            {
                "id": doc_id,
                "doc_no": f"N{doc_id:05d}",
                "date": day,
                "due_date": day,
                "partner_id": partner,
                "organization_id": rng.choice((1, 2, None)),
            }
        )
        later = day >= P[0]
        for line_no in range(1, rng.randint(1, 4) + 1):
            product = rng.randint(1, 40)
            if rng.random() < 0.03:
                product = 41 if not later else 42
            if rng.random() < (0.3 + trend[product] if later else 0.3):
                product = rng.randint(46, 50) if rng.random() < 0.2 else product
            qty = Decimal(rng.randint(1, 20))
            if rng.random() < 0.06:
                qty = -qty
            amount = (qty * Decimal(rng.randint(100, 90000)) / 100).quantize(Decimal("0.01"))
            lines.append(
                {
                    "document_id": doc_id,
                    "line_no": line_no,
                    "date": day,
                    "partner_id": partner,
                    "product_id": product,
                    "quantity": qty,
                    "amount": amount,
                }
            )
    return_day = date(2026, 3, 3)
    docs.append(
        {"id": 901, "doc_no": "N00901", "date": return_day, "due_date": return_day,
         "partner_id": 1, "organization_id": 1}
    )  # fmt: skip
    lines.append(
        {"document_id": 901, "line_no": 1, "date": return_day, "partner_id": 1,
         "product_id": 43, "quantity": Decimal(-1), "amount": Decimal("-50.00")}
    )  # fmt: skip
    db.session.execute(insert(SalesDocument), docs)
    db.session.execute(insert(SalesLine), lines)
    db.session.commit()


def raw_lines() -> pd.DataFrame:
    sql = text(
        "SELECT l.product_id, l.date, l.amount, d.organization_id, pr.group_id, pr.sku,"
        " pr.name FROM sales_line l JOIN sales_document d ON d.id = l.document_id"
        " JOIN product pr ON pr.id = l.product_id"
    )
    df = pd.read_sql(sql, db.session.connection())
    df["date"] = pd.to_datetime(df["date"])
    df["cents"] = (df["amount"].astype(float) * 100).round().astype("int64")
    df["group_id"] = df["group_id"].fillna(0).astype("int64")
    return df


def expected(df, by="products", growth_limit=10, share_limit=1):
    """The BCG rows by the definitions in crm/analytics/bcg.py, in pandas; thresholds compared
    exactly on integer cents (growth: 100·(R − R0) ≥ t·R0; share: R ≥ s·leader)."""
    key = "product_id" if by == "products" else "group_id"

    def revenue(period):
        inside = df[(df.date >= pd.Timestamp(period[0])) & (df.date <= pd.Timestamp(period[1]))]
        return inside.groupby(key)["cents"].sum()

    r, r0 = revenue(P), revenue(P0)
    market = (
        df.drop_duplicates("product_id").set_index("product_id")["group_id"]
        if by == "products"
        else pd.Series(0, index=r.index)
    )
    out = {}
    for obj, cents in r.items():
        before = int(r0.get(obj, 0))
        rivals = [int(v) for o, v in r.items() if o != obj and market[o] == market[obj]]
        leader = max(rivals) if rivals and max(rivals) > 0 else None
        growth = (cents - before) * 100 / before if before > 0 else None
        share = cents / leader if leader else None
        high_growth = before <= 0 or 100 * (cents - before) >= growth_limit * before
        high_share = cents > 0 and (leader is None or cents >= share_limit * leader)
        quadrant = (
            ("star" if high_growth else "cash_cow")
            if high_share
            else ("question_mark" if high_growth else "dog")
        )
        out[int(obj)] = (int(cents), before, growth, share, quadrant)
    return out


def assert_same(result, exp):
    got = {r.object_id: r for r in result.rows}
    assert set(got) == set(exp)
    for obj, (cents, before, growth, share, quadrant) in exp.items():
        row = got[obj]
        assert row.revenue * 100 == cents, obj
        assert row.previous_revenue * 100 == before, obj
        assert (row.growth_pct is None) == (growth is None), obj
        if growth is not None:
            assert float(row.growth_pct) == pytest.approx(growth, rel=1e-12), obj
        assert (row.relative_share is None) == (share is None), obj
        if share is not None:
            assert float(row.relative_share) == pytest.approx(share, rel=1e-12), obj
        assert row.quadrant == quadrant, obj
    revenues = [(-r.revenue, r.code) for r in result.rows]
    assert revenues == sorted(revenues)


def test_products_match_pandas_on_every_object(app):
    generate_history()
    df = raw_lines()
    result = bcg(*P, "products")
    exp = expected(df)
    assert_same(result, exp)
    assert (result.previous_from, result.previous_to) == P0
    # The history reaches every quadrant and every special case.
    assert {r.quadrant for r in result.rows} == {"star", "cash_cow", "question_mark", "dog"}
    by_id = {r.object_id: r for r in result.rows}
    assert 41 not in by_id and by_id[42].growth_pct is None  # sold only before; new
    assert by_id[43].revenue < 0 and by_id[43].quadrant in ("question_mark", "dog")
    assert by_id[40].relative_share is None and by_id[40].high_share  # alone in group 4
    assert by_id[46].group_name == "No group"


def test_groups_and_a_scope_match_pandas(app):
    generate_history()
    df = raw_lines()
    assert_same(bcg(*P, "groups"), expected(df, by="groups"))
    scoped = df[df.organization_id == 1]
    assert_same(bcg(*P, "products", organization_id=1), expected(scoped))
    in_group = df[df.group_id == 2]
    assert_same(bcg(*P, "products", product_group_id=2), expected(in_group))


def test_thresholds_are_settings(app):
    generate_history()
    app.config.update(BCG_GROWTH_PCT=25, BCG_SHARE=0.5)
    assert_same(bcg(*P, "products"), expected(raw_lines(), growth_limit=25, share_limit=0.5))


# --- hand-built edge cases -----------------------------------------------------------------


def sale(partner, product, day, amount):
    n = next(_doc)
    line = SalesLine(
        line_no=1,
        date=day,
        partner_id=partner.id,
        product_id=product.id,
        quantity=Decimal(1),
        amount=Decimal(str(amount)),
    )
    doc = SalesDocument(
        doc_no=f"B{n:05d}", date=day, due_date=day, partner_id=partner.id, lines=[line]
    )
    doc.total = line.amount
    db.session.add(doc)


@pytest.fixture
def market(make_partner):
    """Group "Tea" (period Q2 2026 against Q1 2026, 91 and 90 days: P0 = 2026-01-01..03-31):
    T1 Leader 1100 (before 1000: growth exactly 10 % → high), T2 Twin 1100 (before 1001: growth
    9.89 % → low; ties the leader: share exactly 1 → high), T3 Small 550 (before 0 → new; share
    0.5), T4 Gone: sold only before. Group "Coffee": C1 Solo 300 (before 600: −50 %), alone.
    No group: N1 Odd, a return of 20 in P (before 100)."""
    from tests.factories import create_product

    client = make_partner(code="K1", name="Client")
    tea = ProductGroup(name="Tea")
    coffee = ProductGroup(name="Coffee")
    db.session.add_all([tea, coffee])
    db.session.flush()
    items = {}
    for sku, name, group in [
        ("T1", "Leader", tea),
        ("T2", "Twin", tea),
        ("T3", "Small", tea),
        ("T4", "Gone", tea),
        ("C1", "Solo", coffee),
        ("N1", "=Odd", None),
    ]:
        items[sku] = create_product(sku=sku, name=name, group_id=group.id if group else None)
    before, now = date(2026, 2, 10), date(2026, 5, 10)
    for sku, r0, r in [
        ("T1", "1000", "1100"),
        ("T2", "1001", "1100"),
        ("T3", None, "550"),
        ("T4", "700", None),
        ("C1", "600", "300"),
        ("N1", "100", "-20"),
    ]:
        if r0:
            sale(client, items[sku], before, r0)
        if r:
            sale(client, items[sku], now, r)
    sale(client, items["T1"], date(2026, 7, 1), "5000")  # after P: left out
    db.session.commit()
    return items


Q2 = (date(2026, 4, 1), date(2026, 6, 30))


def test_rules_at_the_thresholds_new_and_alone(market):
    rows = {r.code: r for r in bcg(*Q2).rows}
    assert list(rows) == ["T1", "T2", "T3", "C1", "N1"]  # revenue desc, then code
    t1, t2, t3, c1, n1 = (rows[c] for c in ("T1", "T2", "T3", "C1", "N1"))
    assert t1.growth_pct == 10 and t1.relative_share == 1 and t1.quadrant == "star"
    assert t2.growth_pct < 10 and t2.relative_share == 1 and t2.quadrant == "cash_cow"
    assert t3.growth_pct is None and t3.relative_share == Decimal("0.5")
    assert t3.quadrant == "question_mark"
    assert c1.growth_pct == -50 and c1.relative_share is None and c1.quadrant == "cash_cow"
    assert n1.revenue == Decimal("-20") and n1.growth_pct == -120 and n1.quadrant == "dog"
    assert n1.group_name == "No group"


def test_groups_compete_with_each_other(market):
    # Tea 2750 (before 1000 + 1001 + 700 = 2701: +1.81 %) over Coffee 300: share 9.17 → cash
    # cow; Coffee 300 / 2750 = 0.109, −50 % → dog; no group −20 (before 100), share −20 / 2750
    # (a share ≤ 0 is low) → dog.
    rows = {r.name: r for r in bcg(*Q2, "groups").rows}
    tea, coffee, none = rows["Tea"], rows["Coffee"], rows["No group"]
    assert (tea.revenue, tea.previous_revenue) == (Decimal("2750"), Decimal("2701"))
    places = Decimal("1e-20")
    assert tea.relative_share.quantize(places) == Decimal("9.16666666666666666667")
    assert coffee.relative_share.quantize(places) == Decimal("0.10909090909090909091")
    assert tea.quadrant == "cash_cow" and coffee.quadrant == "dog"
    assert none.code == "" and none.relative_share < 0 and none.quadrant == "dog"


def test_the_cli_prints_the_exact_csv(runner, market):
    out = runner.invoke(args=["crm", "report", "bcg", "--from", "2026-04-01", "--to", "2026-06-30"])
    assert out.exit_code == 0, out.output
    assert out.output == (
        "code,name,revenue,previous_revenue,growth_pct,relative_share,quadrant\n"
        "T1,Leader,1100.00,1000.00,10.0,1.000,star\n"
        "T2,Twin,1100.00,1001.00,9.9,1.000,cash_cow\n"
        "T3,Small,550.00,0.00,,0.500,question_mark\n"
        "C1,Solo,300.00,600.00,-50.0,,cash_cow\n"
        "N1,'=Odd,-20.00,100.00,-120.0,,dog\n"
    )
    groups = runner.invoke(
        args=[
            "crm",
            "report",
            "bcg",
            "--from",
            "2026-04-01",
            "--to",
            "2026-06-30",
            "--by",
            "groups",
        ]
    )
    ids = {g.name: g.id for g in db.session.query(ProductGroup)}
    assert groups.output.splitlines()[1:] == [
        f"{ids['Tea']},Tea,2750.00,2701.00,1.8,9.167,cash_cow",
        f"{ids['Coffee']},Coffee,300.00,600.00,-50.0,0.109,dog",
        ",No group,-20.00,100.00,-120.0,-0.007,dog",  # −20 / 2750
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-06-30", "--to", "2026-04-01"], "The period starts after it ends"),
        (["--from", "2026-02-30", "--to", "2026-04-01"], "--from"),
        (["--from", "2026-04-01", "--to", "2026-06-30", "--by", "shops"], "--by"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(runner, app, args, message):
    out = runner.invoke(args=["crm", "report", "bcg", *args])
    assert out.exit_code == 2 and message in out.output
    assert "Traceback" not in out.output


def test_bad_arguments_of_the_function(app):
    with pytest.raises(AnalyticsError) as exc:
        bcg(*Q2, "shops")
    assert exc.value.field == "by"
