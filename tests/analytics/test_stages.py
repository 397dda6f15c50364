"""Customer stages and transitions (analytics.md, Customer stages): a generated history checked
row by row against a few lines of pandas over the raw rows, hand-built edge cases, and the exact
CSV of `crm report stages|transitions`."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest
from sqlalchemy import insert, text

from crm.analytics.stages import cell_partners, stages_at, transitions
from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import SalesDocument, SalesLine
from crm.sales.summaries import rebuild
from tests.factories import create_document, create_partner, create_product

W, L = 12, 6
CENT = Decimal("0.01")


# --- the independent expectation: plain SQL rows, a few lines of pandas ----------------------


def raw_frames():
    partners = pd.DataFrame(
        db.session.execute(
            text("SELECT id, code, created_on, is_client, merged_into_id FROM partner")
        ).all(),
        columns=["id", "code", "created_on", "is_client", "merged"],
    )
    partners["created_on"] = pd.to_datetime(partners["created_on"]).dt.date
    partners = partners[partners["is_client"].astype(bool) & partners["merged"].isna()]
    lines = pd.DataFrame(
        db.session.execute(text("SELECT partner_id, date, amount FROM sales_line")).all(),
        columns=["pid", "date", "amount"],
    )
    lines["date"] = pd.to_datetime(lines["date"]).dt.date
    lines["amount"] = [Decimal(str(a)).quantize(CENT) for a in lines["amount"]]
    lines["m"] = [d.year * 12 + d.month - 1 for d in lines["date"]]
    return partners, lines


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def end_of(day: date) -> date:
    nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def expected_stage(pid, created_on, lines, t: date) -> str:
    t = end_of(t)
    ti = t.year * 12 + t.month - 1
    if created_on > t:
        return "new"
    mine = lines[(lines["pid"] == pid) & (lines["date"] <= t)]
    buys = mine[mine["amount"] > 0]
    if buys.empty:
        return "potential"
    last = max(buys["date"])
    if last.year * 12 + last.month - 1 < ti - L + 1:
        return "lost"
    window = mine[mine["m"] > ti - W]
    if window[window["amount"] > 0]["m"].nunique() == 1:
        return "one-time"
    x = window.groupby("m")["amount"].sum().reindex(range(ti - W + 1, ti + 1), fill_value=0)
    x = x.astype(float)
    mu, sigma = x.mean(), x.std(ddof=0)
    if mu <= 0:
        return "regular-z"
    cv = sigma / mu * 100
    return "regular-x" if cv <= 50 else "regular-y" if cv <= 100 else "regular-z"


def expected_stages(t: date) -> dict[str, str]:
    partners, lines = raw_frames()
    return {
        p.code: expected_stage(p.id, p.created_on, lines, t)
        for p in partners.itertuples()
        if p.created_on <= end_of(t)
    }


def expected_transitions(t1: date, t2: date) -> pd.DataFrame:
    partners, lines = raw_frames()
    t1, t2 = end_of(t1), end_of(t2)
    i1, i2 = t1.year * 12 + t1.month - 1, t2.year * 12 + t2.month - 1
    rank = {"regular-x": 5, "regular-y": 4, "regular-z": 3, "one-time": 2, "lost": 1}
    rows = []
    for p in partners[partners["created_on"] <= t2].itertuples():
        a = expected_stage(p.id, p.created_on, lines, t1)
        b = expected_stage(p.id, p.created_on, lines, t2)
        lost = None
        if rank.get(a, 0) >= 2 and rank.get(b, 9) < rank[a]:
            mine = lines[lines["pid"] == p.id]
            r1 = sum(mine[(mine["m"] > i1 - W) & (mine["m"] <= i1)]["amount"], Decimal(0))
            r2 = sum(mine[(mine["date"] > t1) & (mine["date"] <= t2)]["amount"], Decimal(0))
            lost = max(Decimal(0), r1 / W * (i2 - i1) - r2)
        rows.append({"code": p.code, "a": a, "b": b, "lost": lost})
    return pd.DataFrame(rows)


# --- a generated history -------------------------------------------------------------------


def build_history(seed: int = 12, clients: int = 320) -> None:
    """Clients created 2023–2026 with their own buying habit (never, steady, sparse, stopped,
    with returns), plus suppliers that buy too (not clients: left out)."""
    rng = random.Random(seed)
    product = create_product()
    start = date(2023, 1, 1)
    partners = []
    for n in range(clients + 25):
        created = start + timedelta(days=rng.randrange(0, 1250))
        partners.append(
            {
                "code": f"G{n:04d}",
                "name": f"Gen {n}",
                "is_client": n < clients,
                "is_supplier": n >= clients,
                "created_on": created,
            }
        )
    db.session.execute(insert(Partner), partners)
    ids = dict(db.session.execute(text("SELECT code, id FROM partner")).all())
    docs, lines = [], []
    for p in partners:
        habit = rng.choice(["never", "steady", "sparse", "stopped", "burst"])
        if habit == "never":
            continue
        day = p["created_on"] + timedelta(days=rng.randrange(0, 90))
        stop = date(2026, 6, 30)
        if habit == "stopped":
            stop = day + timedelta(days=rng.randrange(30, 500))
        step = {"steady": (20, 40), "sparse": (40, 200), "stopped": (15, 60), "burst": (1, 12)}
        while day <= stop:
            amount = Decimal(rng.randrange(1000, 200000)) / 100
            if rng.random() < 0.12:  # a return
                amount = -(amount / 2).quantize(CENT)
            docs.append({"doc_no": f"GD{len(docs):06d}", "date": day, "due_date": day,
                         "partner_id": ids[p["code"]], "total": amount})  # fmt: skip
            lines.append({"document_id": len(docs), "line_no": 1, "date": day,
                          "partner_id": ids[p["code"]], "product_id": product.id,
                          "quantity": Decimal(1), "amount": amount})  # fmt: skip
            if habit == "burst" and rng.random() < 0.15:
                day += timedelta(days=rng.randrange(150, 400))  # a long gap
            day += timedelta(days=rng.randrange(*step[habit]))
    db.session.execute(insert(SalesDocument), docs)
    ids_by_no = dict(db.session.execute(text("SELECT doc_no, id FROM sales_document")).all())
    for i, line in enumerate(lines):
        line["document_id"] = ids_by_no[docs[i]["doc_no"]]
    db.session.execute(insert(SalesLine), lines)
    db.session.commit()
    rebuild()  # the rows went around the sales services: their summaries, as those keep them


@pytest.fixture
def history(app):
    build_history()


@pytest.mark.parametrize("at", [date(2024, 6, 30), date(2025, 3, 31), date(2026, 2, 14)])
def test_generated_stages_match_the_rules_for_every_client(history, at):
    got = stages_at(at)
    got = dict(zip(got["code"], got["stage"], strict=True))
    got = {code: stage for code, stage in got.items() if stage != "new"}
    want = expected_stages(at)
    assert got == want
    # The history covers every stage, and the suppliers are not there.
    assert set(want.values()) == {
        "potential", "one-time", "regular-x", "regular-y", "regular-z", "lost"
    } or at == date(2024, 6, 30)  # fmt: skip
    assert not any(code >= "G0320" for code in got)


@pytest.mark.parametrize(
    "t1, t2", [(date(2024, 12, 31), date(2025, 6, 30)), (date(2025, 6, 30), date(2026, 3, 15))]
)
def test_generated_transitions_match_the_rules_cell_by_cell(history, t1, t2):
    report = transitions(t1, t2)
    want = expected_transitions(t1, t2)
    counts = want.groupby(["a", "b"]).size()
    rows = want.groupby("a").size()
    got = {(c.source, c.target): c for c in report.cells}
    assert set(got) == set(counts.index)
    for (a, b), n in counts.items():
        cell = got[(a, b)]
        assert cell.partners == n
        assert cell.row_pct == pytest.approx(n / rows[a] * 100)
        in_cell = want[(want["a"] == a) & (want["b"] == b)]
        if in_cell["lost"].notna().all():
            assert money(cell.lost_revenue) == money(sum(in_cell["lost"]))
            assert cell.colour == ("red" if b == "lost" else "yellow")
        else:
            assert cell.lost_revenue is None and cell.colour is None
    for a, n in rows.items():
        changed = ((want["a"] == a) & (want["b"] != a)).sum()
        assert report.intensity[a] == pytest.approx(changed / n * 100)
    total = sum(want["lost"].dropna(), Decimal(0))
    assert money(report.lost_revenue) == money(total)
    assert any(c.colour == "red" for c in report.cells)
    assert any(c.colour == "yellow" for c in report.cells)
    # Every partner of every cell, by code.
    for a, b in counts.index:
        listed = [r.code for r in cell_partners(report, a, b)]
        assert listed == sorted(want[(want["a"] == a) & (want["b"] == b)]["code"])


# --- hand-built edge cases -------------------------------------------------------------------


def monthly(partner, product, months, amount, day=15):
    for y, m in months:
        create_document(partner, [amount], date=date(y, m, day), product=product, commit=False)


@pytest.fixture
def hand(app):
    """T1 = 2025-12-31, T2 = 2026-03-31 (P = 3). Created 2024-01-01 unless said."""
    pr = create_product()
    old = date(2024, 1, 1)
    p = {}

    def mk(code, **kw):
        kw.setdefault("created_on", old)
        p[code] = create_partner(code=code, name=f"Client {code}", commit=False, **kw)
        return p[code]

    y2025 = [(2025, m) for m in range(1, 13)]
    # C01: one purchase on the first day of the first of the L months (Jul…Dec): one-time.
    create_document(mk("C01", phones=["+7 900 000-00-01"]), [240], date=date(2025, 7, 1),
                    product=pr, commit=False)  # fmt: skip
    # C02: one purchase on the last day of the month before: lost.
    create_document(mk("C02"), [500], date=date(2025, 6, 30), product=pr, commit=False)
    # C03: bought in Sep, a returns-only month in Nov: one purchase month → one-time (net 70).
    create_document(mk("C03"), [100], date=date(2025, 9, 10), product=pr, commit=False)
    create_document(p["C03"], [-30], date=date(2025, 11, 10), product=pr, commit=False)
    # C04: Aug 100, Oct 100, Nov −30: μ = 14.17, σ = 39.26, CV 277 → regular-z.
    monthly(mk("C04"), pr, [(2025, 8), (2025, 10)], 100)
    create_document(p["C04"], [-30], date=date(2025, 11, 10), product=pr, commit=False)
    # C05: 100 every month of 2025 → regular-x; at T2 9 × 100 + 3 zeros, CV 57.7 → regular-y.
    monthly(mk("C05", emails=["c05@example.test"], phones=["+7 900 000-00-05"]), pr, y2025, 100)
    # C06: the same and in January 100 less a return of 90 (net 10): CV 55.3 → regular-y.
    monthly(mk("C06"), pr, y2025 + [(2026, 1)], 100)
    create_document(p["C06"], [-90], date=date(2026, 1, 15), product=pr, commit=False)
    # C07: the same and 2000 in January → regular-z (R2 = 2000 > 300: no lost revenue).
    monthly(mk("C07"), pr, y2025, 100)
    create_document(p["C07"], [2000], date=date(2026, 1, 20), product=pr, commit=False)
    # C08: 100 every month up to March 2026: regular-x at both.
    monthly(mk("C08"), pr, y2025 + [(2026, 1), (2026, 2), (2026, 3)], 100)
    # C09: Jul 100, Aug 100, Sep −250: μ < 0 → regular-z; lost at T2 (R1 = −50: nothing lost).
    monthly(mk("C09"), pr, [(2025, 7), (2025, 8)], 100)
    create_document(p["C09"], [-250], date=date(2025, 9, 15), product=pr, commit=False)
    mk("C10")  # never bought: potential
    # C11: only a return: potential.
    create_document(mk("C11"), [-40], date=date(2025, 5, 10), product=pr, commit=False)
    # C12: 100 in May…Dec 2025: μ 66.67, σ 47.14, CV 70.7 → regular-y at both.
    monthly(mk("C12"), pr, [(2025, m) for m in range(5, 13)], 100)
    # C13: created in January, bought in February: new → one-time.
    create_document(mk("C13", created_on=date(2026, 1, 15)), [300], date=date(2026, 2, 10),
                    product=pr, commit=False)  # fmt: skip
    mk("C14", created_on=date(2026, 2, 1))  # new → potential
    create_document(mk("C15"), [50], date=date(2026, 2, 3), product=pr, commit=False)
    # C16: created after T2: in neither report.
    create_document(mk("C16", created_on=date(2026, 4, 5)), [50], date=date(2026, 4, 6),
                    product=pr, commit=False)  # fmt: skip
    # C17: merged into C10 (a pointer, its history moved): in neither report.
    create_document(mk("C17", merged_into_id=p["C10"].id), [70], date=date(2025, 11, 3),
                    product=pr, commit=False)  # fmt: skip
    # S01: a supplier that buys: not a client.
    monthly(mk("S01", is_client=False, is_supplier=True), pr, y2025, 100)
    db.session.commit()
    return p


def test_stage_rules_at_their_edges(hand):
    got = stages_at(date(2025, 12, 31))
    got = dict(zip(got["code"], got["stage"], strict=True))
    assert got == {
        "C01": "one-time", "C02": "lost", "C03": "one-time", "C04": "regular-z",
        "C05": "regular-x", "C06": "regular-x", "C07": "regular-x", "C08": "regular-x",
        "C09": "regular-z", "C10": "potential", "C11": "potential", "C12": "regular-y",
        "C13": "new", "C14": "new", "C15": "potential", "C16": "new",
    }  # fmt: skip
    # Any day stands for its month's end.
    assert stages_at(date(2025, 12, 1))["stage"].tolist() == list(got.values())


def test_declines_with_their_colour_and_lost_revenue(hand):
    report = transitions(date(2025, 12, 31), date(2026, 3, 31))
    cells = {(c.source, c.target): (c.partners, c.colour, c.lost_revenue) for c in report.cells}
    # Lost revenue = max(0, R1 / 12 × 3 − R2): C05 1200/4 − 0 = 300, C06 300 − 10 = 290,
    # C07 300 − 2000 < 0 → 0; C01 240/4 = 60, C03 70/4 = 17.50; C09 −50/4 < 0 → 0.
    assert cells[("regular-x", "regular-y")] == (2, "yellow", Decimal("590"))
    assert cells[("regular-x", "regular-z")] == (1, "yellow", Decimal("0"))
    assert cells[("one-time", "lost")] == (2, "red", Decimal("77.5"))
    assert cells[("regular-z", "lost")] == (1, "red", Decimal("0"))
    assert cells[("lost", "lost")] == (1, None, None)
    assert cells[("new", "one-time")] == (1, None, None)
    assert report.lost_revenue == Decimal("667.5")
    assert report.intensity["regular-x"] == 75
    assert report.intensity["new"] == 100
    assert report.intensity["potential"] == pytest.approx(100 / 3)
    listed = cell_partners(report, "regular-x", "regular-y")
    assert [(r.code, r.phone, r.email, r.last_purchase, r.lost_revenue) for r in listed] == [
        ("C05", "+7 900 000-00-05", "c05@example.test", date(2025, 12, 15), Decimal("300")),
        ("C06", None, None, date(2026, 1, 15), Decimal("290")),
    ]
    assert [(r.code, r.phone) for r in cell_partners(report, "one-time", "lost")] == [
        ("C01", "+7 900 000-00-01"),
        ("C03", None),
    ]


def run(runner, *args):
    return runner.invoke(args=["crm", "report", *args])


def test_cli_stages_prints_clients_existing_at_the_date(runner, hand):
    result = run(runner, "stages", "--at", "2025-12-31")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "partner_code,stage\n"
        "C01,one-time\nC02,lost\nC03,one-time\nC04,regular-z\nC05,regular-x\nC06,regular-x\n"
        "C07,regular-x\nC08,regular-x\nC09,regular-z\nC10,potential\nC11,potential\n"
        "C12,regular-y\nC15,potential\n"
    )


def test_cli_transitions_prints_the_non_empty_cells_in_stage_order(runner, hand):
    result = run(runner, "transitions", "--from-date", "2025-12-31", "--to-date", "2026-03-31")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "from_stage,to_stage,partners,row_pct,lost_revenue\n"
        "new,potential,1,50.0,\n"
        "new,one-time,1,50.0,\n"
        "potential,potential,2,66.7,\n"
        "potential,one-time,1,33.3,\n"
        "one-time,lost,2,100.0,77.50\n"
        "regular-x,regular-x,1,25.0,\n"
        "regular-x,regular-y,2,50.0,590.00\n"
        "regular-x,regular-z,1,25.0,0.00\n"
        "regular-y,regular-y,1,100.0,\n"
        "regular-z,regular-z,1,50.0,\n"
        "regular-z,lost,1,50.0,0.00\n"
        "lost,lost,1,100.0,\n"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["transitions", "--from-date", "2026-03-31", "--to-date", "2025-12-31"], "later month"),
        (["transitions", "--from-date", "2026-03-01", "--to-date", "2026-03-31"], "later month"),
        (["transitions", "--from-date", "2026-13-01", "--to-date", "2026-03-31"], "not a"),
        (["stages", "--at", "31.02.2026"], "not a real date"),
        (["stages", "--at", "soon"], "not a date"),
    ],
)
def test_cli_refuses_bad_dates_clearly(runner, app, args, message):
    result = run(runner, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_on_an_empty_database_prints_the_headers_only(runner, app):
    assert run(runner, "stages", "--at", "2026-01-31").output == "partner_code,stage\n"
    result = run(runner, "transitions", "--from-date", "2025-12-31", "--to-date", "2026-01-31")
    assert result.exit_code == 0, result.output
    assert result.output == "from_stage,to_stage,partners,row_pct,lost_revenue\n"


def test_window_lost_months_and_xyz_thresholds_are_settings(app, hand):
    app.config.update(ANALYTICS_LOST_AFTER_MONTHS=5, ANALYTICS_STAGE_WINDOW_MONTHS=6)
    app.config.update(XYZ_PARTNER_X_PCT=80, XYZ_PARTNER_Y_PCT=300)
    got = stages_at(date(2025, 12, 31))
    got = dict(zip(got["code"], got["stage"], strict=True))
    # L = 5: Aug…Dec; C01's July purchase is now too old.
    assert got["C01"] == "lost"
    # W = 6 (Jul…Dec): C12 bought every month → X; C04 (Aug 100, Oct 100, Nov −30):
    # μ = 170 / 6 = 28.33, σ = sqrt(20900 / 6 − 28.33²) = 51.77, CV 182.7 ≤ 300 → Y.
    assert got["C12"] == "regular-x"
    assert got["C04"] == "regular-y"
