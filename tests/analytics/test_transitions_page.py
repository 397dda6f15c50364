"""The customer stages transition page, a cell's list of clients and the batch of planned
calls (analytics.md, Customer stages). Expected values come from a few lines of pandas over
the raw rows (the rules restated here), never from crm.analytics.stages."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import func, select, text

from crm.analytics.models import PlannedCall
from crm.extensions import db
from crm.interactions.models import Interaction
from tests.factories import create_document, create_partner, create_product
from tests.helpers import page_text

W, L = 12, 6
CENT = Decimal("0.01")
T1, T2 = date(2026, 6, 30), date(2026, 9, 30)
TITLES = {
    "new": "New",
    "potential": "Potential",
    "one-time": "One-time",
    "regular-x": "Regular X",
    "regular-y": "Regular Y",
    "regular-z": "Regular Z",
    "lost": "Lost",
}
RANK = {"regular-x": 5, "regular-y": 4, "regular-z": 3, "one-time": 2, "lost": 1}


# --- the independent expectation ------------------------------------------------------------


def month(d: date) -> int:
    return d.year * 12 + d.month - 1


def frames():
    partners = pd.DataFrame(
        db.session.execute(
            text("SELECT id, code, name, created_on, is_client, responsible_id FROM partner")
        ).all(),
        columns=["id", "code", "name", "created_on", "is_client", "responsible_id"],
    )
    partners["created_on"] = pd.to_datetime(partners["created_on"]).dt.date
    partners = partners[partners["is_client"].astype(bool)]
    lines = pd.DataFrame(
        db.session.execute(text("SELECT partner_id, date, amount FROM sales_line")).all(),
        columns=["pid", "date", "amount"],
    )
    lines["date"] = pd.to_datetime(lines["date"]).dt.date
    lines["amount"] = [Decimal(str(a)).quantize(CENT) for a in lines["amount"]]
    lines["m"] = [month(d) for d in lines["date"]]
    return partners, lines


def stage(pid, created_on, lines, t: date) -> str:
    ti = month(t)
    if created_on > t:
        return "new"
    mine = lines[(lines["pid"] == pid) & (lines["date"] <= t)]
    buys = mine[mine["amount"] > 0]
    if buys.empty:
        return "potential"
    if month(max(buys["date"])) <= ti - L:
        return "lost"
    window = mine[mine["m"] > ti - W]
    if window[window["amount"] > 0]["m"].nunique() == 1:
        return "one-time"
    x = window.groupby("m")["amount"].sum().reindex(range(ti - W + 1, ti + 1), fill_value=0)
    x = x.astype(float)
    if x.mean() <= 0:
        return "regular-z"
    cv = x.std(ddof=0) / x.mean() * 100
    return "regular-x" if cv <= 50 else "regular-y" if cv <= 100 else "regular-z"


def expected(t1=T1, t2=T2) -> pd.DataFrame:
    partners, lines = frames()
    i1, i2 = month(t1), month(t2)
    rows = []
    for p in partners[partners["created_on"] <= t2].itertuples():
        a, b = stage(p.id, p.created_on, lines, t1), stage(p.id, p.created_on, lines, t2)
        mine = lines[lines["pid"] == p.id]
        lost = None
        if RANK.get(a, 0) >= 2 and RANK.get(b, 9) < RANK[a]:
            r1 = sum(mine[(mine["m"] > i1 - W) & (mine["m"] <= i1)]["amount"], Decimal(0))
            r2 = sum(mine[(mine["date"] > t1) & (mine["date"] <= t2)]["amount"], Decimal(0))
            lost = max(Decimal(0), r1 / W * (i2 - i1) - r2)
        buys = mine[(mine["amount"] > 0) & (mine["date"] <= t2)]["date"]
        rows.append(
            {
                "id": p.id,
                "code": p.code,
                "name": p.name,
                "responsible_id": p.responsible_id,
                "a": a,
                "b": b,
                "lost": lost,
                "last": max(buys) if len(buys) else None,
            }
        )
    return pd.DataFrame(rows).sort_values("code").reset_index(drop=True)


def rounded(value, places="0.01") -> str:
    return "" if value is None else str(Decimal(value).quantize(Decimal(places), ROUND_HALF_UP))


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.data[:300]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


# --- data -----------------------------------------------------------------------------------


@pytest.fixture
def history(app, make_user):
    """~70 clients with different habits around T1 and T2 (steady, slowing, stopped, new,
    never buying), a manager each for most, phones and e-mails for some; a supplier too."""
    rng = random.Random(7)
    ann, bob = make_user("manager", name="Ann"), make_user("manager", name="Bob")
    product = create_product(commit=False)
    for n in range(70):
        habit = rng.choice(["steady", "steady", "slowing", "stopped", "never", "sparse"])
        created = date(2025, 1, 1) + timedelta(days=rng.randrange(0, 560))
        p = create_partner(
            code=f"C{n:03d}",
            name=f"Client {n}",
            responsible=[ann, bob, None][n % 3],
            phones=[f"+7 900 000-{n:04d}"] if n % 2 else [],
            emails=[f"c{n}@example.test"] if n % 4 else [],
            is_client=True,
            created_on=created,
            commit=False,
        )
        if habit == "never":
            continue
        day = created + timedelta(days=rng.randrange(0, 60))
        stop = {
            "steady": date(2026, 9, 30),
            "slowing": date(2026, 9, 30),
            "stopped": date(2025, 11, 1) + timedelta(days=rng.randrange(0, 300)),
            "sparse": date(2026, 9, 30),
        }[habit]
        while day <= stop:
            amount = Decimal(rng.randrange(1000, 90000)) / 100
            if rng.random() < 0.1:
                amount = -(amount / 2).quantize(CENT)
            create_document(p, [amount], date=day, product=product, commit=False)
            gap = {
                "steady": (20, 35),
                "slowing": (20, 35),
                "stopped": (15, 40),
                "sparse": (60, 200),
            }
            if habit == "slowing" and day > date(2026, 5, 1):
                gap["slowing"] = (90, 160)
            day += timedelta(days=rng.randrange(*gap[habit]))
    create_partner(code="S001", name="Supplier", is_client=False, is_supplier=True, commit=False)
    db.session.commit()
    return ann, bob


def params(**more) -> dict:
    return {"from_date": T1.isoformat(), "to_date": T2.isoformat(), **more}


# --- the page -------------------------------------------------------------------------------


def test_page_returns_at_once_and_loads_its_results_behind_a_spinner(client, login_as):
    login_as("viewer")
    response = client.get("/analytics/transitions")
    body = page_text(response)
    assert response.status_code == 200
    assert 'hx-trigger="load"' in body and "Computing…" in body and "hx-indicator" in body
    assert "transition-matrix" not in body  # nothing computed yet
    # The default: the two latest complete months.
    today = datetime.now(ZoneInfo("Europe/Moscow")).date()
    end = today.replace(day=1) - timedelta(days=1)
    start = end.replace(day=1) - timedelta(days=1)
    assert f"from_date={start.isoformat()}" in body and f"to_date={end.isoformat()}" in body


def test_matrix_counts_shares_and_lost_revenue_match_the_rules(client, login_as, history):
    login_as("viewer")
    want = expected()
    response = client.get("/analytics/transitions", query_string=params(format="csv"))
    rows = read_csv(response)
    assert rows[0] == [
        "Stage at the first snapshot",
        "Stage at the second snapshot",
        "Clients",
        "Share of the row (%)",
        "Lost revenue",
    ]
    order = list(TITLES)
    cells = want.groupby(["a", "b"])
    wanted = []
    for (a, b), group in sorted(
        cells, key=lambda kv: (order.index(kv[0][0]), order.index(kv[0][1]))
    ):
        n, row = len(group), int((want["a"] == a).sum())
        lost = sum(group["lost"], Decimal(0)) if group["lost"].notna().all() else None
        wanted.append([TITLES[a], TITLES[b], str(n), rounded(Decimal(n * 100) / row, "0.1"),
                       rounded(lost)])  # fmt: skip
    assert rows[1:] == wanted
    # The history has declines of both colours and clients new since T1.
    assert any(r[1] == "Lost" and r[4] for r in wanted)
    assert any(r[1] != "Lost" and r[4] for r in wanted)
    assert "new" in set(want["a"])


def test_results_fragment_shows_the_matrix_with_links_and_colours(client, login_as, history):
    login_as("viewer")
    want = expected()
    response = client.get(
        "/analytics/transitions", query_string=params(), headers={"HX-Request": "true"}
    )
    body = page_text(response)
    assert response.status_code == 200 and "<html" not in body
    assert response.headers["HX-Push-Url"].endswith("?from_date=2026-06-30&to_date=2026-09-30")
    # The page's own lazy load replaces the address instead (no second history entry).
    lazy = client.get(
        "/analytics/transitions",
        query_string={"now": 1},
        headers={"HX-Request": "true"},
    )
    assert "HX-Push-Url" not in lazy.headers and "from_date=" in lazy.headers["HX-Replace-Url"]
    for (a, b), group in want.groupby(["a", "b"]):
        cell = body.split(f'data-cell="{a}:{b}"', 1)[1].split("</td>", 1)[0]
        assert f"source={a}&target={b}" in cell
        assert f">{len(group)}</a>" in cell
        declining = RANK.get(a, 0) >= 2 and RANK.get(b, 9) < RANK[a]
        row_tag = body.split(f'data-cell="{a}:{b}"', 1)[0].rsplit("<td", 1)[1]
        assert ("table-danger" in row_tag) == (declining and b == "lost")
        assert ("table-warning" in row_tag) == (declining and b != "lost")
    total = sum((v for v in want["lost"] if v is not None), Decimal(0))
    assert f"${total.quantize(CENT, ROUND_HALF_UP):,}" in body.replace("₽", "$")
    # Stage counts at both dates.
    for s in ("regular-x", "lost", "potential"):
        counts = body.split(f'data-stage="{s}"', 1)[1].split("</tr>", 1)[0]
        assert f">{int((want['a'] == s).sum())}</td>" in counts
        assert f">{int((want['b'] == s).sum())}</td>" in counts


def test_page_with_results_without_javascript_and_the_sankey(client, login_as, history):
    login_as("viewer")
    page = page_text(client.get("/analytics/transitions", query_string=params(now=1)))
    assert "transition-matrix" in page and "<html" in page
    chart = client.get(
        "/analytics/transitions", query_string=params(chart=1), headers={"HX-Request": "true"}
    )
    assert chart.status_code == 200 and '"type":"sankey"' in page_text(chart)


@pytest.mark.parametrize(
    "query, status, message",
    [
        ({"from_date": "2026-13-01", "to_date": "2026-09-30"}, 200, "is not a date"),
        ({"from_date": "2026-09-30", "to_date": "2026-06-30"}, 200, "the dates were swapped"),
        (
            {"from_date": "2026-09-03", "to_date": "2026-09-30"},
            200,
            "Both snapshots fall in one month",
        ),
        ({"from_date": "99999-01-01"}, 200, "ignored"),
    ],
)
def test_bad_dates_say_what_was_done_instead(client, login_as, query, status, message):
    login_as("viewer")
    response = client.get("/analytics/transitions", query_string={**query, "now": 1})
    assert response.status_code == status
    assert message in page_text(response)
    assert "transition-matrix" in page_text(response)
    # A download of other data than asked for is refused.
    if "swapped" in message or "Both" in message:
        assert (
            client.get(
                "/analytics/transitions", query_string={**query, "format": "csv"}
            ).status_code
            == 400
        )


def test_same_month_is_compared_with_the_month_before(client, login_as):
    login_as("viewer")
    body = page_text(
        client.get(
            "/analytics/transitions",
            query_string={"from_date": "2026-09-03", "to_date": "2026-09-30", "now": 1},
        )
    )
    assert 'value="2026-08-31"' in body and 'value="2026-09-30"' in body


# --- a cell's list --------------------------------------------------------------------------


def _cell_with_most(want, declining=True):
    cells = want.groupby(["a", "b"]).size()
    cells = (
        cells[[RANK.get(a, 0) >= 2 and RANK.get(b, 9) < RANK[a] for a, b in cells.index]]
        if declining
        else cells
    )
    return cells.idxmax()


def test_cell_list_lists_its_clients_with_contacts_and_lost_revenue(client, login_as, history):
    login_as("marketer")
    want = expected()
    a, b = _cell_with_most(want)
    rows = read_csv(
        client.get(
            "/analytics/transitions/cell",
            query_string=params(source=a, target=b, format="xlsx" if False else "csv"),
        )
    )
    assert rows[0] == [
        "Code",
        "Client",
        "Manager",
        "Phone",
        "E-mail",
        "Last purchase",
        "Lost revenue",
    ]
    mine = want[(want["a"] == a) & (want["b"] == b)]
    names = {history[0].id: "Ann", history[1].id: "Bob"}
    wanted = []
    for r in mine.itertuples():
        n = int(r.code[1:])
        wanted.append([
            r.code, r.name, names.get(r.responsible_id if r.responsible_id == r.responsible_id else None, ""),
            # a leading + is escaped in CSV (crm.core.cells.escape_formula)
            f"'+7 900 000-{n:04d}" if n % 2 else "", f"c{n}@example.test" if n % 4 else "",
            r.last.isoformat() if r.last else "", rounded(r.lost),
        ])  # fmt: skip
    assert rows[1:] == wanted
    page = page_text(
        client.get("/analytics/transitions/cell", query_string=params(source=a, target=b))
    )
    assert page.count("data-partner=") == len(mine)
    assert f"{TITLES[a]} → {TITLES[b]}" in page and "css/transitions.css" in page


def test_cell_list_xlsx_download(client, login_as, history):
    login_as("viewer")
    a, b = _cell_with_most(expected())
    response = client.get(
        "/analytics/transitions/cell", query_string=params(source=a, target=b, format="xlsx")
    )
    assert response.status_code == 200
    assert response.data[:2] == b"PK"  # a zip: the XLSX


def test_a_manager_sees_only_his_clients_in_a_cell(client, login_as, history):
    ann, _bob = history
    login_as(ann)
    want = expected()
    a, b = _cell_with_most(want)
    rows = read_csv(
        client.get(
            "/analytics/transitions/cell", query_string=params(source=a, target=b, format="csv")
        )
    )
    mine = want[(want["a"] == a) & (want["b"] == b) & (want["responsible_id"] == ann.id)]
    assert [r[0] for r in rows[1:]] == list(mine["code"])
    page = page_text(
        client.get("/analytics/transitions/cell", query_string=params(source=a, target=b))
    )
    if len(mine) != int(((want["a"] == a) & (want["b"] == b)).sum()):
        assert "the ones you are responsible for" in page


@pytest.mark.parametrize(
    "query",
    [
        {"source": "vip", "target": "lost"},
        {"source": "regular-x", "target": "new"},  # new is never a target
        {"target": "lost"},
        {},
    ],
)
def test_cell_with_an_unknown_stage_is_a_400_that_says_so(client, login_as, query):
    login_as("viewer")
    response = client.get("/analytics/transitions/cell", query_string=params(**query))
    assert response.status_code == 400
    text_ = page_text(response)
    assert "Unknown stage" in text_ or "Choose the stages" in text_


# --- planned calls --------------------------------------------------------------------------


def _plan(client, a, b):
    return client.post("/analytics/transitions/plan-calls", data=params(source=a, target=b))


def test_plan_calls_once_per_client_however_often_pressed(client, login_as, history):
    ann, bob = history
    admin = login_as("admin")
    want = expected()
    a, b = _cell_with_most(want)
    mine = want[(want["a"] == a) & (want["b"] == b)]
    with_manager = mine[mine["responsible_id"].notna()]
    response = _plan(client, a, b)
    assert response.status_code == 303
    flashed = page_text(client.get(response.headers["Location"]))
    assert (
        f"{len(with_manager)} calls planned" in flashed
        or f"{len(with_manager)} call planned" in flashed
    )
    if len(with_manager) < len(mine):
        assert (
            f"{len(mine) - len(with_manager)} client" in flashed and "no active manager" in flashed
        )
    calls = db.session.execute(select(Interaction).order_by(Interaction.partner_id)).scalars().all()
    assert sorted(c.partner_id for c in calls) == sorted(int(i) for i in with_manager["id"])
    by_id = with_manager.set_index("id")
    for call in calls:
        assert (call.kind, call.status, call.direction) == ("call", "planned", "outgoing")
        assert call.responsible_id == int(by_id.loc[call.partner_id, "responsible_id"])
        assert call.title == f"Client moved: {TITLES[a]} → {TITLES[b]}"
        local = call.starts_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("Europe/Moscow"))
        assert local.weekday() < 5 and (local.hour, local.minute) == (10, 0)
        today = datetime.now(ZoneInfo("Europe/Moscow")).date()
        assert today < local.date() <= today + timedelta(days=3)
    # Pressed again: nothing new, and it says so.
    again = _plan(client, a, b)
    flashed = page_text(client.get(again.headers["Location"]))
    assert "0 calls planned" in flashed and f"{len(with_manager)} client" in flashed
    assert "already had a call planned" in flashed
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == len(calls)
    # The list says who has a call planned, with a link to it.
    page = page_text(
        client.get("/analytics/transitions/cell", query_string=params(source=a, target=b))
    )
    assert page.count('data-planned="1"') == len(calls)
    assert page.count('data-planned="0"') == len(mine) - len(calls)
    for call in calls:
        assert f'href="/interactions/{call.id}"' in page
    links = db.session.execute(select(PlannedCall)).scalars().all()
    assert len(links) == len(calls) and {lk.planned_by_id for lk in links} == {admin.id}
    assert {lk.interaction_id for lk in links} == {c.id for c in calls}


def test_a_manager_plans_calls_for_his_own_clients_only(client, login_as, history):
    ann, _bob = history
    login_as(ann)
    want = expected()
    a, b = _cell_with_most(want)
    mine = want[(want["a"] == a) & (want["b"] == b) & (want["responsible_id"] == ann.id)]
    _plan(client, a, b)
    calls = db.session.execute(select(Interaction.partner_id, Interaction.responsible_id)).all()
    assert sorted(calls) == sorted((int(i), ann.id) for i in mine["id"])


def test_a_marketer_plans_calls_for_the_managers(client, login_as, history):
    login_as("marketer")
    want = expected()
    a, b = _cell_with_most(want)
    mine = want[(want["a"] == a) & (want["b"] == b) & want["responsible_id"].notna()]
    assert _plan(client, a, b).status_code == 303
    owners = dict(
        db.session.execute(select(Interaction.partner_id, Interaction.responsible_id)).all()
    )
    assert owners == {int(r.id): int(r.responsible_id) for r in mine.itertuples()}


def test_viewers_may_not_plan_calls_nor_see_the_button(client, login_as, history):
    login_as("viewer")
    a, b = _cell_with_most(expected())
    assert "plan-calls" not in page_text(
        client.get("/analytics/transitions/cell", query_string=params(source=a, target=b))
    )
    assert _plan(client, a, b).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == 0


def test_plan_calls_with_a_bad_cell_is_a_400_and_plans_nothing(client, login_as, history):
    login_as("admin")
    assert _plan(client, "regular-x", "vip").status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == 0


def test_plan_calls_needs_the_csrf_token(app, client, login_as, history):
    login_as("admin")
    app.config["WTF_CSRF_ENABLED"] = True
    assert _plan(client, "regular-x", "lost").status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == 0


def test_merging_two_planned_clients_keeps_one_planned_call_row(app, make_user, history):
    from crm.analytics.planned_calls import plan_calls
    from crm.analytics.stages import transitions
    from crm.partners.models import Partner
    from crm.partners.services import merge_partners

    admin = make_user("admin")
    want = expected()
    a, b = _cell_with_most(want)
    ids = [
        int(i)
        for i in want[(want["a"] == a) & (want["b"] == b) & want["responsible_id"].notna()]["id"]
    ]
    assert len(ids) >= 2
    plan_calls(admin, transitions(T1, T2), a, b)
    db.session.commit()
    survivor, other = db.session.get(Partner, ids[0]), db.session.get(Partner, ids[1])
    merge_partners(admin, survivor, other, {})
    db.session.commit()
    rows = db.session.execute(select(PlannedCall.partner_id)).scalars().all()
    assert rows.count(survivor.id) == 1 and other.id not in rows
    assert len(rows) == len(ids) - 1


def test_next_working_day_skips_the_weekend():
    from crm.analytics.planned_calls import next_working_day

    assert next_working_day(date(2026, 12, 4)) == date(2026, 12, 7)  # Friday → Monday
    assert next_working_day(date(2026, 12, 5)) == date(2026, 12, 7)  # Saturday → Monday
    assert next_working_day(date(2026, 12, 7)) == date(2026, 12, 8)


def test_two_people_pressing_plan_calls_at_once_plan_one_call_per_client(
    app, make_user, monkeypatch, history
):
    import crm.analytics.planned_calls
    from tests.helpers import meet_before, run_together, signed_in_client

    want = expected()
    a, b = _cell_with_most(want)
    with_manager = want[(want["a"] == a) & (want["b"] == b) & want["responsible_id"].notna()]
    clients = [signed_in_client(app, make_user(role)) for role in ("admin", "marketer")]
    # Both have read the cell, and found nobody planned, before either plans a call.
    meet_before(monkeypatch, crm.analytics.planned_calls, "cell_partners", 2)

    responses = run_together(
        app,
        2,
        lambda i: clients[i].post(
            "/analytics/transitions/plan-calls", data=params(source=a, target=b)
        ),
    )

    assert [r.status_code for r in responses] == [303, 303]
    partners = db.session.execute(select(Interaction.partner_id)).scalars().all()
    assert sorted(partners) == sorted(int(i) for i in with_manager["id"])
    assert db.session.scalar(select(func.count()).select_from(PlannedCall)) == len(partners)


def test_a_deleted_planned_call_is_not_planned_again(client, login_as, history):
    from crm.interactions.services import delete_interaction

    admin = login_as("admin")
    a, b = _cell_with_most(expected())
    _plan(client, a, b)
    calls = db.session.execute(select(Interaction)).scalars().all()
    delete_interaction(admin, calls[0])
    db.session.commit()

    flashed = page_text(client.get(_plan(client, a, b).headers["Location"]))

    assert "0 calls planned" in flashed
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == len(calls) - 1
    assert flashed.count("planned, then deleted") == 1


def test_the_analytics_start_page_links_to_the_customer_stages(client, login_as):
    login_as("manager")
    body = page_text(client.get("/analytics/"))
    assert 'href="/analytics/transitions"' in body and "Customer stages" in body


def test_a_planned_call_by_hand_number_title_description(app, client, login_as, make_user):
    """A client buying 600 in January and February 2026, nothing after: regular Z at the end
    of June (2 months of 12), lost at the end of September (last purchase 7 months back).
    Lost revenue = R1 / 12 × 3 − R2 = 1200 / 12 × 3 − 0 = 300.00. His phone has no digits:
    the call is planned without a number."""
    manager = make_user("manager", name="Ann")
    product = create_product(commit=False)
    p = create_partner(
        code="H1", responsible=manager, phones=["n/a"], created_on=date(2025, 1, 1), commit=False
    )
    for day in (date(2026, 1, 15), date(2026, 2, 10)):
        create_document(p, [600], date=day, product=product, commit=False)
    db.session.commit()
    login_as(manager)

    _plan(client, "regular-z", "lost")

    call = db.session.execute(select(Interaction)).scalar_one()
    assert (call.partner_id, call.responsible_id, call.address) == (p.id, manager.id, "")
    assert call.title == "Client moved: Regular Z → Lost"
    assert "Lost revenue: ₽300.00." in call.description
    assert call.description.startswith(
        "The client's stage was Regular Z on 30 Jun 2026 and Lost on 30 Sep 2026."
    )
