"""The BCG matrix (crm/analytics/bcg.py): a generated history compared object by object with a
few lines of pandas over the raw lines read back with plain SQL (integer cents, exact integer
threshold comparisons); hand-built cases pin the rules at the thresholds, new objects, objects
alone in their market and revenue ≤ 0; the CLI as exact CSV text."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from crm.analytics.abc_xyz import AnalyticsError
from crm.analytics.bcg import bcg
from crm.extensions import db
from crm.sales.models import ProductGroup
from tests.analytics.bcg_history import P0, Q2, P, build_market, generate_history, raw_lines


@pytest.fixture
def market(make_partner):
    return build_market(make_partner)


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
