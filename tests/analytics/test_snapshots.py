"""Stored monthly snapshots (crm/analytics/snapshots.py): client stages and ABC/XYZ classes
against hand-computed and pandas-computed values, taken twice with the same rows, the
periodic job, the CLI, a partner merge, and a real RQ worker taking one on demand."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import select, text

from crm.analytics.jobs import take_missing_snapshots, take_snapshot
from crm.analytics.models import ClassSnapshot, SnapshotRun, StageSnapshot
from crm.analytics.snapshots import take_class_snapshots, take_stage_snapshot
from crm.core.errors import DomainError
from crm.core.models import JobRun
from crm.core.periodic import periodic_jobs
from crm.extensions import db
from crm.jobs import enqueue, get_queue
from crm.partners.models import Partner
from tests.core.helpers import run_worker
from tests.factories import create_document, create_partner, create_product
from tests.helpers import meet_before, run_together

MAY, JUNE = date(2025, 5, 31), date(2025, 6, 30)


def months(first: date, last: date) -> list[date]:
    out, day = [], first
    while day <= last:
        out.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, day.day)
    return out


def buy(partner, days, amount=1000, product=None):
    for day in days:
        create_document(partner, [amount], date=day, product=product)


@pytest.fixture
def clients(app, make_user):
    """Two managers' clients with the moves worked out by hand (W = 12, L = 6):
    at 31.05.2025 → 30.06.2025: A regular-x → regular-x, B regular-y → lost (CV 84.5 %),
    C one-time → one-time, E regular-z → one-time, F (the other manager's) regular-y → lost,
    P potential → potential; N is created in June (no row in May); S is a supplier."""
    first, second = make_user("manager", name="First"), make_user("manager", name="Second")
    made = {}
    for code, who in (("A", first), ("B", first), ("C", first), ("E", first), ("F", second),
                      ("P", first)):  # fmt: skip
        made[code] = create_partner(name=f"Client {code}", code=code, responsible=who,
                                    created_on=date(2023, 12, 1))  # fmt: skip
    made["N"] = create_partner(name="Client N", code="N", responsible=first,
                               created_on=date(2025, 6, 15))  # fmt: skip
    made["S"] = create_partner(name="Supplier S", code="S", is_client=False, is_supplier=True,
                               created_on=date(2023, 12, 1))  # fmt: skip
    buy(made["A"], months(date(2024, 1, 10), date(2025, 6, 10)))
    buy(made["B"], months(date(2024, 1, 10), date(2024, 12, 10)))
    buy(made["C"], [date(2025, 3, 10)])
    buy(made["E"], [date(2024, 6, 10), date(2025, 5, 10)])
    buy(made["F"], months(date(2024, 1, 10), date(2024, 12, 10)))
    buy(made["S"], months(date(2024, 1, 10), date(2025, 6, 10)))
    made["first"], made["second"] = first, second
    return made


def stored_stages(at: date) -> dict[str, tuple]:
    rows = db.session.execute(
        select(
            Partner.code,
            StageSnapshot.stage,
            StageSnapshot.revenue_window,
            StageSnapshot.last_purchase,
        )  # fmt: skip
        .join(Partner, Partner.id == StageSnapshot.partner_id)
        .where(StageSnapshot.at == at)
    ).all()
    return {code: (stage, Decimal(revenue), last) for code, stage, revenue, last in rows}


def run_of(kind: str, period: date) -> SnapshotRun | None:
    return db.session.execute(
        select(SnapshotRun).where(SnapshotRun.kind == kind, SnapshotRun.period == period)
    ).scalar_one_or_none()


# --- stages ----------------------------------------------------------------------------------


def test_stage_snapshot_stores_every_clients_stage_revenue_and_last_purchase(clients):
    assert take_stage_snapshot(date(2025, 5, 3)) == 6  # any day names its month
    db.session.commit()
    assert stored_stages(MAY) == {
        "A": ("regular-x", Decimal("12000.00"), date(2025, 5, 10)),
        "B": ("regular-y", Decimal("7000.00"), date(2024, 12, 10)),
        "C": ("one-time", Decimal("1000.00"), date(2025, 3, 10)),
        "E": ("regular-z", Decimal("2000.00"), date(2025, 5, 10)),
        "F": ("regular-y", Decimal("7000.00"), date(2024, 12, 10)),
        "P": ("potential", Decimal("0.00"), None),
    }
    assert run_of("stages", MAY).rows == 6
    take_stage_snapshot(JUNE)
    db.session.commit()
    assert {code: row[0] for code, row in stored_stages(JUNE).items()} == {
        "A": "regular-x", "B": "lost", "C": "one-time", "E": "one-time", "F": "lost",
        "P": "potential", "N": "potential",
    }  # fmt: skip


def test_taking_a_stage_snapshot_again_replaces_it_with_the_same_rows(clients):
    take_stage_snapshot(MAY)
    db.session.commit()
    before = stored_stages(MAY)
    take_stage_snapshot(MAY)
    db.session.commit()
    assert stored_stages(MAY) == before
    assert db.session.execute(text("SELECT count(*) FROM analytics_stage_snapshot")).scalar() == 6
    assert db.session.execute(text("SELECT count(*) FROM analytics_snapshot_run")).scalar() == 1
    # A late-entered sale of May counts when the snapshot is taken again.
    buy(clients["C"], [date(2025, 5, 20)], amount=500)
    take_stage_snapshot(MAY)
    db.session.commit()
    assert stored_stages(MAY)["C"][1:] == (Decimal("1500.00"), date(2025, 5, 20))
    assert len(stored_stages(MAY)) == 6


@pytest.mark.parametrize("taken_before", [False, True])
def test_two_takes_of_one_snapshot_at_once_leave_one_snapshot(
    app, clients, monkeypatch, taken_before
):
    import crm.analytics.snapshots as snapshots

    if taken_before:  # a recompute: the SnapshotRun row exists
        take_stage_snapshot(MAY)
        db.session.commit()

    # Both compute first, then write at the same time (the periodic job and a recompute).
    meet_before(monkeypatch, snapshots, "stages_at", 2)
    counts = run_together(app, 2, lambda i: (take_stage_snapshot(MAY), db.session.commit())[0])
    assert counts == [6, 6]
    db.session.expire_all()
    assert stored_stages(MAY)["B"] == ("regular-y", Decimal("7000.00"), date(2024, 12, 10))
    assert db.session.execute(text("SELECT count(*) FROM analytics_stage_snapshot")).scalar() == 6
    assert run_of("stages", MAY).rows == 6


def test_a_month_that_has_not_ended_is_refused(clients, monkeypatch):
    import crm.analytics.snapshots as snapshots

    monkeypatch.setattr(snapshots, "site_today", lambda: date(2025, 6, 20))
    with pytest.raises(DomainError, match="month that has ended"):
        take_stage_snapshot(JUNE)
    with pytest.raises(DomainError, match="month that has ended"):
        take_class_snapshots(date(2025, 7, 1))
    take_stage_snapshot(MAY)  # the last complete month is fine


# --- classes: pandas over the raw lines ------------------------------------------------------


def expected_classes(of: str, first: date, last: date) -> dict[int, tuple[str, str, Decimal]]:
    """object id → (ABC, XYZ, revenue) by analytics.md from the raw lines of first..last."""
    lines = pd.DataFrame(
        db.session.execute(
            text("SELECT partner_id, product_id, date, quantity, amount FROM sales_line")
        ).all(),
        columns=["partner", "product", "date", "quantity", "amount"],
    )
    lines["date"] = pd.to_datetime(lines["date"]).dt.date
    lines = lines[(lines["date"] >= first) & (lines["date"] <= last)]
    key = "product" if of == "products" else "partner"
    codes = dict(
        db.session.execute(
            text(
                "SELECT id, sku FROM product"
                if of == "products"
                else "SELECT id, code FROM partner"
            )
        ).all()
    )
    lines["m"] = [d.year * 12 + d.month - 1 for d in lines["date"]]
    revenue = lines.groupby(key)["amount"].apply(
        lambda s: sum((Decimal(str(v)) for v in s), Decimal(0))
    )
    ranked = sorted(revenue.items(), key=lambda kv: (-kv[1], codes[kv[0]]))
    total = sum((max(v, Decimal(0)) for _, v in ranked), Decimal(0))
    x_limit, y_limit = (10, 25) if of == "products" else (50, 100)
    xyz_col = "quantity" if of == "products" else "amount"
    span = range(first.year * 12 + first.month - 1, last.year * 12 + last.month)
    out, before = {}, Decimal(0)
    for obj, m in ranked:
        abc = "C" if m <= 0 else "A" if before * 100 < 80 * total else "B" if before * 100 < 95 * total else "C"  # fmt: skip
        before += m
        x = lines[lines[key] == obj].groupby("m")[xyz_col].sum().astype(float)
        x = x.reindex(span, fill_value=0.0)
        mu = x.mean()
        cv = x.std(ddof=0) / mu * 100 if mu > 0 else None
        xyz = "Z" if cv is None else "X" if cv <= x_limit else "Y" if cv <= y_limit else "Z"
        out[int(obj)] = (abc, xyz, m)
    return out


def stored_classes(of: str, month: date) -> dict[int, tuple[str, str, Decimal]]:
    rows = db.session.execute(
        select(
            ClassSnapshot.object_id, ClassSnapshot.abc, ClassSnapshot.xyz, ClassSnapshot.abc_metric
        ).where(ClassSnapshot.of == of, ClassSnapshot.month == month)  # fmt: skip
    ).all()
    return {oid: (abc, xyz, Decimal(m).quantize(Decimal("0.01"))) for oid, abc, xyz, m in rows}


def test_class_snapshots_hold_the_classes_of_the_twelve_months_ending_with_the_month(clients):
    tea, coffee, sugar = create_product(sku="TEA"), create_product(sku="COFFEE"), create_product(sku="SUGAR")  # fmt: skip
    buy(clients["A"], months(date(2024, 7, 12), date(2025, 6, 12)), amount=300, product=tea)
    buy(clients["B"], [date(2025, 1, 5), date(2025, 2, 5)], amount=4000, product=coffee)
    buy(clients["E"], [date(2024, 5, 5)], amount=9000, product=sugar)  # before the window
    n = take_class_snapshots(date(2025, 6, 17))
    db.session.commit()
    first, last = date(2024, 7, 1), date(2025, 6, 30)
    products = expected_classes("products", first, last)
    partners = expected_classes("partners", first, last)
    assert stored_classes("products", date(2025, 6, 1)) == products
    assert stored_classes("partners", date(2025, 6, 1)) == partners
    assert n == len(products) + len(partners) == run_of("classes", date(2025, 6, 1)).rows
    assert {oid for oid in products} >= {tea.id, coffee.id} and sugar.id not in products
    # Twice: the same rows.
    take_class_snapshots(date(2025, 6, 1))
    db.session.commit()
    assert stored_classes("products", date(2025, 6, 1)) == products
    assert stored_classes("partners", date(2025, 6, 1)) == partners


def test_class_window_follows_its_setting(app, clients):
    app.config["ANALYTICS_CLASS_WINDOW_MONTHS"] = 3
    take_class_snapshots(date(2025, 6, 1))
    db.session.commit()
    partners = stored_classes("partners", date(2025, 6, 1))
    assert partners == expected_classes("partners", date(2025, 4, 1), date(2025, 6, 30))
    # C bought in March only: outside April–June.
    assert clients["C"].id not in partners and clients["A"].id in partners


# --- the periodic job, the CLI -----------------------------------------------------------------


def test_periodic_job_takes_the_last_complete_months_missing_snapshots_once(
    app, clients, monkeypatch
):
    import crm.analytics.snapshots as snapshots

    monkeypatch.setattr(snapshots, "site_today", lambda: date(2025, 7, 2))
    assert "analytics-snapshots" in {p.key for p in periodic_jobs(app)}
    taken = take_missing_snapshots()
    assert set(taken) == {"stages 2025-06-30", "classes 2025-06-01"}
    assert taken["stages 2025-06-30"] == 7
    assert stored_stages(JUNE)["B"][0] == "lost"
    assert take_missing_snapshots() == {}  # nothing missing: nothing taken again
    assert db.session.execute(text("SELECT count(*) FROM analytics_snapshot_run")).scalar() == 2


def test_cli_takes_a_months_snapshots_and_refuses_a_bad_month(app, runner, clients):
    result = runner.invoke(args=["crm", "analytics", "snapshot", "--month", "2025-05", "--kind", "stages"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output == "stages 2025-05-31: 6\n"
    assert stored_stages(MAY)["B"][0] == "regular-y"
    result = runner.invoke(args=["crm", "analytics", "snapshot", "--month", "2025-06"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "stages 2025-06-30: 7" and lines[1].startswith("classes 2025-06-01: ")
    bad = runner.invoke(args=["crm", "analytics", "snapshot", "--month", "2025-13"])
    assert bad.exit_code == 2 and "not a month" in bad.output
    future = runner.invoke(args=["crm", "analytics", "snapshot", "--month", "2099-01"])
    assert future.exit_code == 2 and "month that has ended" in future.output


# --- partner merge ---------------------------------------------------------------------------


def test_merge_keeps_the_survivors_rows_and_moves_the_others_rows(app, clients, make_user):
    from crm.partners.services import merge_partners

    take_stage_snapshot(MAY)
    take_stage_snapshot(JUNE)
    take_class_snapshots(date(2025, 6, 1))
    db.session.commit()
    survivor, other = clients["N"], clients["B"]  # N has a June row only; B May and June
    b_class = stored_classes("partners", date(2025, 6, 1))[other.id]
    merge_partners(make_user("admin"), survivor, other, {})
    db.session.commit()
    may_rows, june_rows = stored_stages(MAY), stored_stages(JUNE)
    assert "B" not in may_rows and "B" not in june_rows
    assert may_rows["N"][0] == "regular-y"  # B's May row moved: N had none
    assert june_rows["N"][0] == "potential"  # N's own June row is kept
    assert len(june_rows) == 6
    classes = stored_classes("partners", date(2025, 6, 1))
    assert other.id not in classes and classes[survivor.id] == b_class


# --- the page and the job --------------------------------------------------------------------


def test_snapshots_page_lists_months_and_recompute_is_for_admins_and_marketers(
    client, login_as, clients
):
    take_stage_snapshot(MAY)
    db.session.commit()
    login_as("manager")
    page = client.get("/analytics/snapshots")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'id="snapshot-2025-05-01"' in body and "6 rows" in body
    assert "/analytics/snapshots/take" not in body
    assert client.post("/analytics/snapshots/take", data={"kind": "stages", "month": "2025-06"}).status_code == 403  # fmt: skip
    login_as("marketer")
    body = client.get("/analytics/snapshots").get_data(as_text=True)
    assert "/analytics/snapshots/take" in body
    response = client.post("/analytics/snapshots/take", data={"kind": "stages", "month": "2025-06"})
    assert response.status_code == 302
    run = db.session.execute(select(JobRun)).scalar_one()
    assert response.headers["Location"].endswith(f"/analytics/snapshots/runs/{run.id}")
    assert (run.status, run.args) == ("done", ["stages", "2025-06-01"])  # inline in tests
    assert stored_stages(JUNE)["F"][0] == "lost"
    fragment = client.get(f"/analytics/snapshots/runs/{run.id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert 'id="snapshot-run-done"' in fragment.get_data(as_text=True)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"kind": "stages", "month": "June"}, "is not a month"),
        ({"kind": "stages", "month": "2025-02-30"}, "is not a month"),
        ({"kind": "stages", "month": ""}, "is not a month"),
        ({"kind": "everything", "month": "2025-06"}, "Choose the stages"),
        ({"kind": "classes", "month": "2099-01"}, "month that has ended"),
    ],
)
def test_bad_recompute_requests_say_what_is_wrong(client, login_as, data, message):
    login_as("admin")
    response = client.post("/analytics/snapshots/take", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.execute(select(JobRun)).first() is None


def test_unknown_or_foreign_job_runs_are_not_found(client, login_as):
    from crm.partners.jobs import rebuild_search_index

    login_as("admin")
    other = enqueue(rebuild_search_index)
    assert client.get(f"/analytics/snapshots/runs/{other.id}").status_code == 404
    assert client.get("/analytics/snapshots/runs/999").status_code == 404
    assert client.get("/analytics/snapshots/runs/x1").status_code == 404


def test_rq_worker_process_takes_a_snapshot_and_the_periodic_job(rq_app, client, login_as, clients):
    login_as("admin")
    response = client.post("/analytics/snapshots/take", data={"kind": "all", "month": "2025-05"})
    assert response.status_code == 302
    run = db.session.execute(select(JobRun)).scalar_one()
    assert run.status == "queued" and run.rq_job_id  # waits for the worker
    get_queue().enqueue(take_missing_snapshots)  # as worker.py --cron does
    db.session.commit()
    result = run_worker(rq_app)
    assert result.returncode == 0, result.stdout + result.stderr
    run = db.session.get(JobRun, run.id)
    assert (run.status, run.progress, run.total) == ("done", 3, 3)
    assert stored_stages(MAY)["E"][0] == "regular-z"
    assert run_of("classes", date(2025, 5, 1)).rows > 0
    # The periodic job took the last complete month's (real today's: no sales then).
    assert db.session.execute(text("SELECT count(*) FROM analytics_snapshot_run")).scalar() == 4
    page = client.get(f"/analytics/snapshots/runs/{run.id}").get_data(as_text=True)
    assert 'id="snapshot-run-done"' in page


def test_take_snapshot_job_inline_twice_leaves_the_same_rows(app, clients):
    enqueue(take_snapshot, "stages", "2025-06-01")
    first = stored_stages(JUNE)
    enqueue(take_snapshot, "stages", "2025-06-01")
    assert stored_stages(JUNE) == first
    assert [r.status for r in db.session.execute(select(JobRun)).scalars()] == ["done", "done"]


# --- My day: clients who moved down ----------------------------------------------------------


def widget_names(client, **params) -> list[str]:
    import re

    response = client.get("/dashboard/widgets/moved-down", query_string=params,
                          headers={"HX-Request": "true"})  # fmt: skip
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body
    return re.findall(r'href="/partners/\d+[^"]*">([^<]+)</a>', body)


def test_moved_down_lists_the_managers_clients_that_declined(client, login_as, clients):
    take_stage_snapshot(MAY)
    take_stage_snapshot(JUNE)
    db.session.commit()
    login_as(clients["first"])
    # B regular-y → lost (R 7000), E regular-z → one-time (R 2000); F is the other manager's.
    assert widget_names(client) == ["Client B", "Client E"]
    body = client.get("/dashboard/widgets/moved-down", headers={"HX-Request": "true"}).get_data(as_text=True)  # fmt: skip
    assert "Regular Y → Lost" in body and "Regular Z → One-time" in body
    login_as(clients["second"])
    assert widget_names(client) == ["Client F"]
    login_as("admin")
    assert widget_names(client) == ["Client B", "Client F", "Client E"]  # the team
    assert widget_names(client, user=clients["first"].id) == ["Client B", "Client E"]


def test_moved_down_uses_the_two_latest_stage_snapshots(client, login_as, clients):
    login_as(clients["first"])
    body = client.get("/dashboard/widgets/moved-down", headers={"HX-Request": "true"}).get_data(as_text=True)  # fmt: skip
    assert "Two monthly stage snapshots are needed" in body
    take_stage_snapshot(date(2025, 4, 30))
    take_stage_snapshot(MAY)
    db.session.commit()
    # April → May: nobody of the first manager moved down (B and F became lost only in June).
    assert widget_names(client) == []
    take_stage_snapshot(JUNE)
    db.session.commit()
    assert widget_names(client) == ["Client B", "Client E"]


def test_page_and_widget_speak_russian(client, login_as, clients):
    take_stage_snapshot(MAY)
    take_stage_snapshot(JUNE)
    db.session.commit()
    clients["first"].locale = "ru"
    db.session.commit()
    login_as(clients["first"])
    body = client.get("/dashboard/widgets/moved-down").get_data(as_text=True)
    assert "Регулярный Y → Потерян" in body and "Регулярный Z → Разовый" in body
    assert "2 клиента перешли на стадию ниже" in " ".join(re.sub(r"<[^>]+>", " ", body).split())
    page = client.get("/analytics/snapshots").get_data(as_text=True)
    assert "Сохранённые снимки" in page and "июнь 2025" in page and "7 строк" in page


def test_cron_process_enqueues_the_snapshot_check_every_configured_interval(app, monkeypatch):
    import rq.cron

    import worker

    registered = []

    class Recorder:
        def __init__(self, connection):
            pass

        def register(self, func, **options):
            registered.append((func, options["interval"]))

        def start(self):
            pass

    monkeypatch.setattr(rq.cron, "CronScheduler", Recorder)
    worker.run_cron(app, None)
    every = app.config["ANALYTICS_SNAPSHOT_CHECK_SECONDS"]
    assert (take_missing_snapshots, every) in registered


def test_analytics_index_links_the_snapshots_page(client, login_as):
    login_as("viewer")
    body = client.get("/analytics/").get_data(as_text=True)
    assert 'href="/analytics/snapshots"' in body
