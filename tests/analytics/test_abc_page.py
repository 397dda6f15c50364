"""The ABC/XYZ report page (analytics.abc_xyz): the page returns at once and loads its results
as a fragment; the matrix, the drill-down lists and the downloads agree with a few lines of
pandas over the raw rows (read back with plain SQL); bad parameters give messages, never a 500;
a manager's partner lists hold only his partners."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, text

from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import (
    Organization,
    Product,
    ProductGroup,
    SalesDocument,
    SalesLine,
    StockBalance,
    Warehouse,
)
from crm.sales.summaries import rebuild
from tests.helpers import page_text

URL = "/analytics/abc-xyz"
HX = {"HX-Request": "true"}
WINDOW = {"from": "2026-01-01", "to": "2026-12-31"}


def generate(owner_id: int, other_id: int, seed: int = 7) -> None:
    """45 products (40 sell; 41-45 only lie in stock), 60 partners (1-20 are `owner_id`'s, the
    rest `other_id`'s), ~500 documents over 2026 and a little before and after, stock in two
    warehouses."""
    rng = random.Random(seed)
    db.session.execute(insert(Organization), [{"name": "Org 1"}])
    db.session.execute(insert(ProductGroup), [{"name": "G1"}, {"name": "G2"}])
    db.session.execute(insert(Warehouse), [{"name": "W1"}, {"name": "W2"}])
    skus = [f"S{n:03d}" for n in range(1, 46)]
    rng.shuffle(skus)
    db.session.execute(
        insert(Product),
        [{"sku": s, "name": f"Product {s}", "group_id": 1 + i % 2} for i, s in enumerate(skus)],
    )
    codes = [f"C{n:03d}" for n in range(1, 61)]
    rng.shuffle(codes)
    db.session.execute(
        insert(Partner),
        [
            {
                "code": c,
                "name": f"Partner {c}",
                "is_client": True,
                "responsible_id": owner_id if i < 20 else other_id,
            }
            for i, c in enumerate(codes)
        ],
    )
    weights = [rng.paretovariate(1.2) for _ in range(60)]
    popularity = [rng.paretovariate(1.4) for _ in range(36)]
    start, days = date(2025, 11, 1), (date(2027, 1, 31) - date(2025, 11, 1)).days
    docs, lines = [], []
    for doc_id in range(1, 501):
        day = start + timedelta(days=rng.randrange(days + 1))
        partner = rng.choices(range(1, 61), weights)[0]
        docs.append(
            {
                "id": doc_id,
                "doc_no": f"N{doc_id:05d}",
                "date": day,
                "due_date": day,
                "partner_id": partner,
                "organization_id": 1,
                "warehouse_id": rng.choice((1, 2, None)),
                "manager_id": rng.choice((owner_id, other_id, None)),
            }
        )
        for line_no in range(1, rng.randint(1, 3) + 1):
            qty = Decimal(rng.randint(1, 30))
            if line_no == 1:
                product, qty = 1, Decimal(4)  # a steady seller
            else:
                product = rng.choices(range(5, 41), popularity)[0]
            if rng.random() < 0.05:
                qty = -qty
            amount = (qty * Decimal(rng.randint(1000, 900000)) / 100).quantize(Decimal("0.01"))
            lines.append(
                {
                    "document_id": doc_id,
                    "line_no": line_no,
                    "date": day,
                    "partner_id": partner,
                    "product_id": product,
                    "quantity": qty,
                    "amount": amount,
                    "cost": (amount * Decimal("0.6")).quantize(Decimal("0.01")),
                }
            )
    # Steady monthly orders (products 2-4: X) of different sizes, so X reaches A, B and C.
    for k in range(15):
        doc_id, day = 501 + k, date(2025 + (10 + k) // 12, (10 + k) % 12 + 1, 15)
        docs.append({"id": doc_id, "doc_no": f"N{doc_id:05d}", "date": day, "due_date": day,
                     "partner_id": 1, "organization_id": 1, "warehouse_id": 1})  # fmt: skip
        for line_no, product, qty, price in ((1, 2, 100, 900), (2, 3, 40 + k % 2, 700),
                                             (3, 4, 10, 40)):  # fmt: skip
            amount = Decimal(qty * price)
            lines.append({"document_id": doc_id, "line_no": line_no, "date": day,
                          "partner_id": 1, "product_id": product, "quantity": Decimal(qty),
                          "amount": amount, "cost": amount / 2})  # fmt: skip
    db.session.execute(insert(SalesDocument), docs)
    db.session.execute(insert(SalesLine), lines)
    stock = []
    for product in range(1, 46):
        for warehouse in (1, 2):
            if rng.random() < 0.7:
                qty = Decimal(rng.randint(0, 500)) / 4
                stock.append(
                    {
                        "product_id": product,
                        "warehouse_id": warehouse,
                        "quantity": qty,
                        "value": (qty * Decimal(rng.randint(100, 90000)) / 100).quantize(
                            Decimal("0.01")
                        ),
                    }
                )
    db.session.execute(insert(StockBalance), stock)
    db.session.commit()
    rebuild()  # the rows went around the sales services: their summaries, as those keep them


def raw_lines() -> pd.DataFrame:
    sql = text(
        "SELECT l.partner_id, l.product_id, l.date, l.quantity, l.amount, d.warehouse_id,"
        " d.manager_id, pr.group_id, pa.code AS partner_code, pr.sku AS product_code,"
        " pa.responsible_id"
        " FROM sales_line l JOIN sales_document d ON d.id = l.document_id"
        " JOIN partner pa ON pa.id = l.partner_id JOIN product pr ON pr.id = l.product_id"
    )
    df = pd.read_sql(sql, db.session.connection())
    df["date"] = pd.to_datetime(df["date"])
    # cents and thousandths as integers: pandas sums them exactly
    df["revenue"] = (df["amount"].astype(float) * 100).round().astype("int64")
    df["quantity"] = (df["quantity"].astype(float) * 1000).round().astype("int64")
    return df


def raw_stock(warehouse_id=None, group_id=None) -> pd.DataFrame:
    df = pd.read_sql(
        text(
            "SELECT s.product_id, s.warehouse_id, s.quantity, s.value, p.group_id"
            " FROM stock_balance s JOIN product p ON p.id = s.product_id"
        ),
        db.session.connection(),
    )
    if warehouse_id is not None:
        df = df[df.warehouse_id == warehouse_id]
    if group_id is not None:
        df = df[df.group_id == group_id]
    df["quantity"] = (df["quantity"].astype(float) * 1000).round().astype("int64")
    df["value"] = (df["value"].astype(float) * 100).round().astype("int64")
    return df.groupby("product_id")[["quantity", "value"]].sum()


def expected(of="products", warehouse_id=None, group_id=None, manager_id=None,
             start="2026-01-01", end="2026-12-31", limits=None):  # fmt: skip
    """ABC by revenue, XYZ by monthly quantity (products; X ≤ 10, Y ≤ 25) or revenue
    (partners; X ≤ 50, Y ≤ 100), per the spec — or by `limits` (A, B, X, Y); revenue and
    stock per object."""
    df = raw_lines()
    w = df[(df.date >= pd.Timestamp(start)) & (df.date <= pd.Timestamp(end))].copy()
    if warehouse_id is not None:
        w = w[w.warehouse_id == warehouse_id]
    if group_id is not None:
        w = w[w.group_id == group_id]
    if manager_id is not None:
        w = w[w.manager_id == manager_id]
    key, code = (
        ("product_id", "product_code") if of == "products" else ("partner_id", "partner_code")
    )
    w["month"] = w.date.dt.to_period("M")
    m = w.groupby(key).agg(m=("revenue", "sum"), code=(code, "first"))
    m = m.sort_values(["m", "code"], ascending=[False, True])
    total = m.m.clip(lower=0).sum()
    m["share"] = m.m / total * 100
    m["cum"] = m.m.cumsum() / total * 100
    before = m.m.cumsum().shift(fill_value=0) / total * 100
    la, lb, lx, ly = limits or (80, 95, *((10, 25) if of == "products" else (50, 100)))
    m["abc"] = ["C" if v <= 0 else "A" if b < la else "B" if b < lb else "C"
                for v, b in zip(m.m, before, strict=True)]  # fmt: skip
    metric = "quantity" if of == "products" else "revenue"
    x = w.groupby([key, "month"])[metric].sum().unstack(fill_value=0)
    x = x.reindex(columns=pd.period_range(start, end, freq="M"), fill_value=0).astype(float)
    mu, sigma = x.mean(axis=1), x.std(axis=1, ddof=0)
    m["cv"] = (sigma / mu * 100).where(mu > 0)
    m["xyz"] = ["Z" if pd.isna(c) else "X" if c <= lx else "Y" if c <= ly else "Z"
                for c in m.cv]  # fmt: skip
    m["cell"] = m.abc + m.xyz
    if of == "products":
        m = m.join(raw_stock(warehouse_id, group_id), how="left").fillna(
            {"quantity": 0, "value": 0}
        )
    return m


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.data[:500]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def assert_rows(rows: list[dict], exp: pd.DataFrame, of="products") -> None:
    """The download's rows are the expected objects in rank order, with their numbers."""
    assert [r["code"] for r in rows] == list(exp.code)
    for r, (_i, e) in zip(rows, exp.iterrows(), strict=True):
        assert Decimal(r["abc_metric"]) == Decimal(int(e.m)) / 100, r
        assert float(r["share_pct"]) == pytest.approx(e.share, abs=0.05 + 1e-9), r
        assert float(r["cum_pct"]) == pytest.approx(e.cum, abs=0.05 + 1e-9), r
        assert r["abc"] == e.abc and r["xyz"] == e.xyz, r
        if pd.isna(e.cv):
            assert r["cv_pct"] == ""
        else:
            assert float(r["cv_pct"]) == pytest.approx(e.cv, abs=0.05 + 1e-9), r
        if of == "products":
            assert Decimal(r["stock_quantity"]) == Decimal(int(e.quantity)) / 1000, r
            assert Decimal(r["stock_value"]) == Decimal(int(e.value)) / 100, r
        else:
            assert "stock_quantity" not in r


def cell_html(page: str, key: str) -> str:
    match = re.search(rf'<td id="cell-{key}"[^>]*>(.*?)</td>', page, re.S)
    assert match, key
    return match[1]


@pytest.fixture
def history(app, make_user):
    owner, other = make_user("manager"), make_user("manager")
    generate(owner.id, other.id)
    return owner


# --- the page and its fragment ---------------------------------------------------------------


def test_page_returns_at_once_and_loads_results_behind_a_progress_indicator(
    login_as, client, history
):
    login_as("viewer")
    response = client.get(URL, query_string=WINDOW)
    page = page_text(response)
    assert response.status_code == 200
    assert 'hx-trigger="load"' in page and 'hx-indicator="#abc-progress"' in page
    assert "Computing…" in page and "spinner-border" in page
    assert 'id="abc-matrix"' not in page  # nothing computed yet
    # the fragment it loads, and the page without JavaScript (?now=1), hold the matrix
    fragment = client.get(URL, query_string=WINDOW, headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert 'id="abc-matrix"' in page_text(fragment)
    # the overview draws its Pareto curve in place (one classification per fragment)
    assert "plotly-graph-div" in page_text(fragment)
    drill = page_text(client.get(URL, query_string={**WINDOW, "cell": "AX"}, headers=HX))
    assert 'id="abc-list"' in drill and "plotly-graph-div" not in drill
    shown = client.get(URL, query_string={**WINDOW, "now": 1})
    assert "<html" in shown.get_data(as_text=True) and 'id="abc-matrix"' in page_text(shown)


def test_matrix_counts_revenue_and_stock_match_pandas(login_as, client, history, app):
    login_as("viewer")
    exp = expected()
    assert {"AX", "AY", "AZ", "BX", "BZ", "CX", "CZ"} <= set(exp.cell)  # the data spreads
    page = page_text(client.get(URL, query_string=WINDOW, headers=HX))
    from crm.core.formats import fmt_money

    for a in "ABC":
        for x in "XYZ":
            key = a + x
            mine = exp[exp.cell == key]
            body = cell_html(page, key)
            # a count opens its list; an empty cell has nothing to open
            end = "</a>" if len(mine) else "</span>"
            assert re.search(rf">{len(mine)}{end}", body), (key, body)
            assert fmt_money(Decimal(int(mine.m.sum())) / 100) in body, (key, body)
            assert fmt_money(Decimal(int(mine.value.sum())) / 100) in body, (key, body)
    for key, mine in [("A", exp[exp.abc == "A"]), ("Z", exp[exp.xyz == "Z"]), ("all", exp)]:
        body = cell_html(page, key)
        assert re.search(rf">{len(mine)}</a>", body), (key, body)
        assert fmt_money(Decimal(int(mine.m.sum())) / 100) in body, (key, body)
    # fast (AX, BX) and slow (CY, CZ) cells are highlighted and explained
    assert re.search(r'<td id="cell-AX"[^>]*class="table-success', page)
    assert re.search(r'<td id="cell-CZ"[^>]*class="table-warning', page)
    assert "slow stock" in page
    # products 41-45 have stock and no sale: counted apart
    unsold = raw_stock().drop(index=exp.index, errors="ignore")
    unsold = unsold[(unsold.quantity != 0) | (unsold.value != 0)]
    assert f"{len(unsold)} more products have stock on hand" in page
    assert fmt_money(Decimal(int(unsold.value.sum())) / 100) in page


@pytest.mark.parametrize("cell", ["AX", "BX", "BZ", "CZ", "A", "X", "all"])
def test_each_cell_downloads_its_objects_as_pandas_says(login_as, client, history, cell):
    login_as("viewer")
    exp = expected()
    in_cell = (exp.cell == cell) | (exp.abc == cell) | (exp.xyz == cell) | (cell == "all")
    mine = exp[in_cell]
    rows = csv_rows(client.get(URL, query_string={**WINDOW, "cell": cell, "format": "csv"}))
    assert_rows(rows, mine)


def test_whole_report_downloads_as_xlsx_with_the_cli_columns(login_as, client, history):
    login_as("viewer")
    exp = expected()
    response = client.get(URL, query_string={**WINDOW, "format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == [
        "code", "name", "abc_metric", "share_pct", "cum_pct", "abc", "cv_pct", "xyz",
        "stock_quantity", "stock_value",
    ]  # fmt: skip
    assert [v[0] for v in values[1:]] == list(exp.code)
    assert [v[5] + v[7] for v in values[1:]] == list(exp.cell)


def test_cell_list_is_paged_in_rank_order(login_as, client, history, monkeypatch):
    from crm.analytics import abc_views

    monkeypatch.setattr(abc_views, "PAGE_SIZE", 7)
    login_as("viewer")
    exp = expected()
    codes = list(exp.code)
    second = page_text(
        client.get(URL, query_string={**WINDOW, "cell": "all", "page": 2}, headers=HX)
    )
    listed = re.findall(r'<td data-label="Code">([^<]+)</td>', second)
    assert listed == codes[7:14]
    assert f"All objects: {len(codes)}" in second
    assert "Page 2 of" in second


def test_warehouse_scope_narrows_sales_and_stock(login_as, client, history):
    login_as("viewer")
    exp = expected(warehouse_id=2)
    rows = csv_rows(
        client.get(URL, query_string={**WINDOW, "warehouse": 2, "cell": "all", "format": "csv"})
    )
    assert_rows(rows, exp)


def test_product_group_scope_narrows_sales_and_stock(login_as, client, history):
    login_as("viewer")
    exp = expected(group_id=2)
    query = {**WINDOW, "group": 2, "cell": "all"}
    assert_rows(csv_rows(client.get(URL, query_string={**query, "format": "csv"})), exp)
    page = page_text(client.get(URL, query_string=query, headers=HX))
    unsold = raw_stock(group_id=2).drop(index=exp.index, errors="ignore")
    unsold = unsold[(unsold.quantity != 0) | (unsold.value != 0)]
    assert len(unsold) > 0
    assert re.search(rf"\b{len(unsold)} more products? ha(s|ve) stock on hand", page)


def test_manager_scope_classifies_his_sales_only(login_as, client, history):
    login_as("viewer")
    exp = expected("partners", manager_id=history.id)
    query = {**WINDOW, "of": "partners", "manager": history.id, "cell": "all", "format": "csv"}
    assert_rows(csv_rows(client.get(URL, query_string=query)), exp, of="partners")


def test_partner_lists_show_a_manager_only_his_partners(login_as, client, history):
    exp = expected("partners")
    mine = exp[exp.index.isin(raw_lines().query(f"responsible_id == {history.id}").partner_id)]
    login_as(history)
    query = {**WINDOW, "of": "partners", "cell": "all"}
    rows = csv_rows(client.get(URL, query_string={**query, "format": "csv"}))
    assert_rows(rows, mine, of="partners")
    page = page_text(client.get(URL, query_string=query, headers=HX))
    hidden = len(exp) - len(mine)
    assert f"{hidden} partners of this cell are not yours" in page
    # the matrix still counts the whole company
    assert re.search(rf">{len(exp)}</a>", cell_html(page, "all"))
    # an admin sees every partner, linked to its card
    login_as("admin")
    rows = csv_rows(client.get(URL, query_string={**query, "format": "csv"}))
    assert_rows(rows, exp, of="partners")
    page = page_text(client.get(URL, query_string=query, headers=HX))
    assert "not yours" not in page and "/partners/" in page


def test_chart_fragment_draws_the_pareto_curve(login_as, client, history):
    login_as("viewer")
    response = client.get(URL, query_string={**WINDOW, "chart": 1}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "plotly-graph-div" in body and "Cumulative share" in page_text(response)


def test_partner_chart_names_only_the_partners_a_manager_sees(login_as, client, history):
    exp = expected("partners")
    responsible = raw_lines().groupby("partner_id").responsible_id.first()
    others = [c for i, c in exp.code.items() if responsible[i] != history.id]
    mine = [c for i, c in exp.code.items() if responsible[i] == history.id]
    login_as(history)
    query = {**WINDOW, "of": "partners", "chart": 1}
    body = client.get(URL, query_string=query, headers=HX).get_data(as_text=True)
    assert "plotly-graph-div" in body
    assert mine and all(f"Partner {c}" in body for c in mine)
    assert others and not any(f"Partner {c}" in body for c in others)


def test_russian_page_computes_behind_schitayu_and_formats_in_russian(
    login_as, client, history, app
):
    app.config["DEFAULT_LOCALE"] = "ru"
    login_as("viewer")
    page = page_text(client.get(URL, query_string=WINDOW))
    assert "Считаю…" in page and "ABC/XYZ-анализ" in page
    total = Decimal(int(expected().m.sum())) / 100
    digits = f"{total:,.2f}".replace(",", " ").replace(".", ",")  # 32 046 474,91
    fragment = page_text(client.get(URL, query_string=WINDOW, headers=HX))
    fragment = re.sub("[\u00a0\u202f]", " ", fragment)
    assert "Итого" in fragment and "по месяцам" in fragment
    assert f"{digits} ₽" in fragment


def test_pareto_curve_keeps_few_points_but_every_class_boundary_and_the_end():
    from crm.analytics.abc_report import pareto_points
    from crm.analytics.abc_xyz import AbcXyzRow

    classes = ["A"] * 333 + ["B"] * 1001 + ["C"] * 1011
    rows = [
        AbcXyzRow(i, f"P{i:05d}", "", Decimal(1), None, None, abc, Decimal(1), None, "Z")
        for i, abc in enumerate(classes)
    ]
    kept = pareto_points(rows, limit=100)
    ids = [r.object_id for r in kept]
    assert ids == sorted(ids) and ids[0] == 0 and ids[-1] == len(rows) - 1
    assert {332, 1333} <= set(ids)  # the last A and the last B
    assert len(kept) <= 100 + 3
    assert pareto_points(rows[:50], limit=100) == rows[:50]


# --- bad parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2026-13-01"}, "is not a date"),
        ({"to": "yesterday"}, "is not a date"),
        ({"from": "2026-12-31", "to": "2026-01-01"}, "the dates were swapped"),
        ({"from": "2026-03-01", "to": "2026-03-31"}, "too short"),
        ({"of": "cats"}, "Unknown object"),
        ({"abc_by": "weight"}, "Unknown ABC metric"),
        ({"xyz_by": "weight"}, "Unknown XYZ metric"),
        ({"abc_by": "sales"}, "metric of partners, not of products"),
        ({"bucket": "decade"}, "Unknown period bucket"),
        ({"organization": "999"}, "Unknown organization"),
        ({"warehouse": "x"}, "Unknown warehouse"),
        ({"manager": "-1"}, "Unknown manager"),
        ({"group": "99999999999999999999"}, "Unknown product group"),
        ({"department": "5"}, "Unknown department"),
        ({"cell": "QQ"}, "Unknown cell"),
        ({"cell": "all", "page": "abc"}, "page"),
        ({"a_pct": "eighty"}, "is not a percentage"),
        ({"b_pct": "120"}, "between 0 and 100"),
        ({"a_pct": "90", "b_pct": "70"}, "from the A limit"),
        ({"x_pct": "40", "y_pct": "20"}, "below the X limit"),
    ],
)
def test_bad_parameters_give_a_message_and_no_download(login_as, client, history, query, message):
    login_as("viewer")
    args = {**WINDOW, **query}
    for headers in (HX, {}):
        response = client.get(URL, query_string={**args, "now": 1}, headers=headers)
        assert response.status_code == 200
        assert message.lower() in page_text(response).lower()
    download = client.get(URL, query_string={**args, "format": "csv"})
    assert download.status_code == 400
    assert message.lower() in page_text(download).lower()


@pytest.mark.parametrize("of", ["products", "partners"])
def test_the_reports_own_thresholds_classify_as_pandas_says(login_as, client, history, of):
    """A up to 60 %, B up to 85 %, X up to 20 %, Y up to 70 % instead of the settings: the
    download and the rules above the matrix follow them."""
    login_as("viewer")
    limits = {"a_pct": "60", "b_pct": "85", "x_pct": "20", "y_pct": "70"}
    exp = expected(of, limits=(60, 85, 20, 70))
    args = {**WINDOW, "of": of, **limits}
    assert_rows(csv_rows(client.get(URL, query_string={**args, "format": "csv"})), exp, of)
    page = page_text(client.get(URL, query_string={**args, "now": 1}))
    assert "less than 60 % of the total, B while less than 85 %" in page
    assert "up to 20 % is X, up to 70 % Y" in page


def test_no_sales_in_the_window_says_so(login_as, client, app):
    login_as("viewer")
    page = page_text(client.get(URL, query_string=WINDOW, headers=HX))
    assert "No sales in this period and scope." in page


# --- access -----------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, app):
    response = client.get(URL)
    assert response.status_code in (302, 401)


@pytest.mark.parametrize("role", ["admin", "marketer", "manager", "viewer"])
def test_every_role_opens_the_report_and_finds_it_on_the_analytics_page(
    login_as, client, app, role
):
    login_as(role)
    assert client.get(URL).status_code == 200
    assert URL in page_text(client.get("/analytics/"))
