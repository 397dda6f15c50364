"""«Сохранить как сегмент» and «Запланировать звонки» on selections (crm.core.selections): a
transitions cell, an ABC/XYZ cell, a funnel stage's deals, a filtered partner list and a
segment's page, each evaluated again for the user who posts (the shop of
tests/segments/conftest.py, members listed by hand there)."""

from __future__ import annotations

import html
import json
from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import func, select

from crm.analytics.models import SelectionCall
from crm.extensions import db
from crm.interactions.models import Interaction
from crm.segments.models import Segment, SegmentMember

CELL = {
    "from_date": "2026-06-30",
    "to_date": "2026-09-30",
    "source": "regular-x",
    "target": "regular-y",
}
ABC = {"of": "partners", "from": "2025-10-01", "to": "2026-09-30"}


def save(client, source, args, kind="manual", next_path="/partners/"):
    return client.post(
        "/segments/from-selection",
        data={"source": source, "args": urlencode(args), "kind": kind, "next": next_path},
    )


def members(shop, segment: Segment) -> set[str]:
    ids = db.session.execute(
        select(SegmentMember.partner_id).where(SegmentMember.segment_id == segment.id)
    ).scalars()
    return {shop.code_of(i) for i in ids}


def saved(name_start: str) -> Segment:
    found = db.session.execute(select(Segment).where(Segment.name.startswith(name_start)))
    return found.scalars().one()


def segments_count() -> int:
    return db.session.execute(select(func.count()).select_from(Segment)).scalar_one()


# --- save as segment ------------------------------------------------------------------------


def test_a_transitions_cell_saved_as_a_manual_segment(client, login_as, shop):
    login_as("admin")
    response = save(client, "analytics.transitions_cell", CELL)
    assert response.status_code == 303
    segment = saved("Regular X → Regular Y")
    assert segment.name == "Regular X → Regular Y, 30 Jun 2026–30 Sep 2026"
    assert segment.kind == "manual"
    assert response.headers["Location"].endswith(f"/segments/{segment.id}")
    assert members(shop, segment) == {"P2", "P3", "P4"}


def test_a_managers_selection_holds_only_his_partners(client, login_as, shop):
    login_as(shop.anna)
    assert save(client, "analytics.transitions_cell", CELL).status_code == 303
    segment = saved("Regular X → Regular Y")
    assert members(shop, segment) == {"P2"}
    assert segment.owner_id == shop.anna.id
    # Ids in the form are never read: only the source, evaluated for him.
    client.post(
        "/segments/from-selection",
        data={
            "source": "deals",
            "args": urlencode({"status": "all", "reached": 2}),
            "partner_id": [shop.p["P3"], shop.p["P4"]],
        },
    )
    assert members(shop, saved("Partners of deals")) == {"P1", "P2"}


def test_an_abc_cell_row_and_column_saved_as_segments(client, login_as, shop):
    login_as("admin")
    save(client, "analytics.abc_xyz", {**ABC, "cell": "BY"})
    assert members(shop, saved("ABC/XYZ BY")) == {"P2", "P3", "P4"}
    save(client, "analytics.abc_xyz", {**ABC, "cell": "A"})
    assert members(shop, saved("ABC/XYZ A,")) == {"P1"}
    save(client, "analytics.abc_xyz", {**ABC, "cell": "Z"})
    assert members(shop, saved("ABC/XYZ Z,")) == {"P5"}
    # Narrowed by a segment, the classes are the segment's own (P2, P3: AY).
    save(client, "analytics.abc_xyz", {**ABC, "cell": "AY", "segment": shop.three})
    assert members(shop, saved("ABC/XYZ AY")) == {"P2", "P3"}


def test_a_funnel_stage_saved_as_a_segment(client, login_as, shop):
    login_as("admin")
    funnel = f"/deals/reports/funnel?kind={shop.kind_id}&from=2026-01-01&to=2026-12-31"
    page = client.get(funnel, headers={"HX-Request": "true"}).get_data(as_text=True)
    # The funnel's «Предложение» row opens the deals that reached stage 2.
    link = next(
        href
        for href in __import__("re").findall(r'href="(/deals/\?[^"]*)"', page)
        if "reached=2" in href
    )
    args = {k: v[0] for k, v in parse_qs(urlsplit(link.replace("&amp;", "&")).query).items()}
    deal_list = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert 'data-selection="deals"' in deal_list
    save(client, "deals", args, next_path=link)
    segment = saved("Partners of deals")
    assert "«Предложение»" in segment.name
    assert members(shop, segment) == {"P1", "P2", "P4"}


def test_a_partner_list_saved_as_manual_or_dynamic(client, login_as, shop):
    login_as("admin")
    save(client, "partners", {"city": "Казань", "segment": shop.three})
    segment = saved("Partners:")
    assert members(shop, segment) == {"P3", "P5"}
    assert "City: «Казань»" in segment.name and "Segment: Тройка" in segment.name
    response = save(client, "partners", {"city": "Казань", "role": "client"}, kind="dynamic")
    assert response.status_code == 303
    target = urlsplit(response.headers["Location"])
    assert target.path == "/segments/new"
    query = parse_qs(target.query)
    assert query["kind"] == ["dynamic"]
    assert json.loads(query["rule"][0]) == {
        "all": [
            {"type": "partner.role", "roles": ["client"]},
            {"type": "partner.city", "cities": ["Казань"]},
        ]
    }
    form = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Казань" in form
    # A search is no rule: it is saved by hand only.
    response = save(client, "partners", {"q": "Клиент"}, kind="dynamic")
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/partners/"
    page = client.get("/partners/").get_data(as_text=True)
    assert "This list cannot be written as a rule" in page


def test_a_second_save_gets_a_name_of_its_own(client, login_as, shop):
    login_as("admin")
    save(client, "analytics.transitions_cell", CELL)
    save(client, "analytics.transitions_cell", CELL)
    names = db.session.execute(
        select(Segment.name).where(Segment.name.startswith("Regular X")).order_by(Segment.id)
    ).scalars()
    base = "Regular X → Regular Y, 30 Jun 2026–30 Sep 2026"
    assert list(names) == [base, f"{base} (2)"]


def test_a_viewer_cannot_save_and_sees_no_button(client, login_as, shop):
    login_as("viewer")
    before = segments_count()
    assert save(client, "analytics.transitions_cell", CELL).status_code == 403
    assert segments_count() == before
    page = client.get("/analytics/transitions/cell", query_string=CELL).get_data(as_text=True)
    assert "P2" in page and "Save as segment" not in page
    page = client.get(f"/segments/{shop.three}").get_data(as_text=True)
    assert "Save as segment" not in page and "Plan calls" not in page


@pytest.mark.parametrize(
    "source, args, message",
    [
        ("nothing", "", "Unknown list: nothing was done."),
        ("analytics.transitions_cell", "from_date=2026-06-30", "Choose the stages of the cell"),
        ("analytics.abc_xyz", "of=products", "Only a classification of partners"),
        ("segment", "id=999999", "Unknown segment: nothing was done."),
        ("partners", "x=" + "y" * 9000, "The list's address is too long or malformed."),
        ("partners", "q=%00", "The list's address is too long or malformed."),
        ("partners", "q=nobody-at-all", "Nobody is in this list: no segment was made."),
    ],
)
def test_bad_selections_say_why_and_write_nothing(client, login_as, shop, source, args, message):
    login_as("admin")
    before = segments_count()
    response = client.post(
        "/segments/from-selection",
        data={"source": source, "args": args, "next": "/partners/?city=x"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/partners/?city=x")
    assert segments_count() == before
    assert message in html.unescape(client.get("/partners/").get_data(as_text=True))


def test_an_unsafe_next_is_not_followed(client, login_as, shop):
    login_as("admin")
    response = client.post(
        "/segments/from-selection",
        data={"source": "nothing", "args": "", "next": "//evil.example/x"},
    )
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).netloc in ("", "localhost")
    assert urlsplit(response.headers["Location"]).path == "/segments/"


# --- plan calls -----------------------------------------------------------------------------


def calls() -> list[tuple[int, int]]:
    return sorted(
        db.session.execute(
            select(Interaction.partner_id, Interaction.responsible_id).where(
                Interaction.kind == "call", Interaction.status == "planned"
            )
        ).all()
    )


def plan(client, segment_id: int):
    return client.post(
        "/analytics/selection/plan-calls",
        data={
            "source": "segment",
            "args": f"id={segment_id}",
            "next": f"/segments/{segment_id}",
        },
    )


def test_plan_calls_from_a_segment_page_once(client, login_as, shop):
    login_as("admin")
    page = client.get(f"/segments/{shop.three}").get_data(as_text=True)
    assert "Plan calls" in page and "Save as segment" in page
    response = plan(client, shop.three)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/segments/{shop.three}")
    # Тройка: P2 (Анна), P3 (Борис), P5 (Анна).
    want = sorted(
        [
            (shop.p["P2"], shop.anna.id),
            (shop.p["P3"], shop.boris.id),
            (shop.p["P5"], shop.anna.id),
        ]
    )
    assert calls() == want
    assert "3 calls planned." in client.get(f"/segments/{shop.three}").get_data(as_text=True)
    call = db.session.execute(
        select(Interaction).where(
            Interaction.partner_id == shop.p["P3"], Interaction.kind == "call"
        )
    ).scalar_one()
    assert call.title == "Call: Тройка on " + call.title.rsplit(" on ", 1)[1]
    assert call.address == "+7 900 000-00-03"
    # Again: nothing new.
    plan(client, shop.three)
    assert calls() == want
    page = client.get(f"/segments/{shop.three}").get_data(as_text=True)
    assert "0 calls planned." in page
    assert "3 clients already had a call planned from this list today." in page
    assert db.session.execute(select(func.count()).select_from(SelectionCall)).scalar_one() == 3


def test_a_manager_plans_calls_only_for_his_own_clients(client, login_as, shop):
    login_as(shop.anna)
    plan(client, shop.three)
    assert calls() == sorted([(shop.p["P2"], shop.anna.id), (shop.p["P5"], shop.anna.id)])


def test_a_client_nobody_manages_gets_no_call(client, login_as, shop):
    login_as("admin")
    client.post(
        "/analytics/selection/plan-calls",
        data={"source": "analytics.abc_xyz", "args": urlencode({**ABC, "cell": "BY"})},
    )
    # BY: P2 (Анна), P3 (Борис), P4 (nobody: no call).
    assert calls() == sorted([(shop.p["P2"], shop.anna.id), (shop.p["P3"], shop.boris.id)])


def test_a_viewer_cannot_plan_calls(client, login_as, shop):
    login_as("viewer")
    assert plan(client, shop.three).status_code == 403
    assert calls() == []


def test_a_broken_segment_page_says_so_and_plans_nothing(client, login_as, shop):
    login_as("admin")
    response = plan(client, shop.broken)
    assert response.status_code == 303
    assert calls() == []
    page = client.get(f"/segments/{shop.broken}").get_data(as_text=True)
    assert "No segment has the id" in page


def test_a_transitions_cells_own_calls_keep_its_segment_filter(client, login_as, shop):
    login_as("admin")
    page = client.get(
        "/analytics/transitions/cell", query_string={**CELL, "segment": shop.three}
    ).get_data(as_text=True)
    assert f'name="segment" value="{shop.three}"' in page
    response = client.post(
        "/analytics/transitions/plan-calls", data={**CELL, "segment": shop.three}
    )
    assert response.status_code == 303
    assert f"segment={shop.three}" in response.headers["Location"]
    # The cell regular X → regular Y holds P2, P3, P4; of Тройка: P2 and P3.
    assert calls() == sorted([(shop.p["P2"], shop.anna.id), (shop.p["P3"], shop.boris.id)])


def test_too_many_calls_at_once_are_refused_whole(client, login_as, shop, monkeypatch):
    monkeypatch.setattr("crm.analytics.planned_calls.MAX_SELECTION_CALLS", 2)
    login_as("admin")
    response = plan(client, shop.three)
    assert response.status_code == 303
    assert calls() == []
    assert db.session.execute(select(func.count()).select_from(SelectionCall)).scalar_one() == 0
    page = client.get(f"/segments/{shop.three}").get_data(as_text=True)
    assert "At most 2 calls at once: this list has 3 clients. Narrow it." in page


# --- dynamic: the report's rule where it has one --------------------------------------------


def dynamic_rule(response) -> dict:
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    target = urlsplit(response.headers["Location"])
    assert target.path == "/segments/new"
    return json.loads(parse_qs(target.query)["rule"][0])


def test_an_abc_cell_of_the_snapshots_settings_is_a_class_rule(client, login_as, shop):
    from crm.analytics.snapshots import take_class_snapshots
    from crm.segments.rules import member_ids

    # The latest snapshot: November 2026, over December 2025 – November 2026 (the report's
    # default period today). P1 10000 (A; 10 months of 12: CV 44.7 %, X); P2–P4 700 each (B;
    # the share before P2 is 80.6 %; 7 months of 12: CV 84.5 %, Y); P5 300 (C, Z).
    take_class_snapshots(date(2026, 11, 1))
    db.session.commit()
    login_as("admin")
    page = client.get(
        "/analytics/abc-xyz", query_string={"of": "partners", "cell": "BY", "now": 1}
    ).get_data(as_text=True)
    assert "Save as dynamic segment" in page
    rule = dynamic_rule(
        save(client, "analytics.abc_xyz", {"of": "partners", "cell": "BY"}, "dynamic")
    )
    assert rule == {"type": "analytics.class", "classes": ["BY"]}
    assert {shop.code_of(i) for i in member_ids(rule)} == {"P2", "P3", "P4"}
    row = dynamic_rule(
        save(client, "analytics.abc_xyz", {"of": "partners", "cell": "A"}, "dynamic")
    )
    assert row == {"type": "analytics.class", "abc": ["A"]}
    # Another window, another metric or a scope is no snapshot's: saved by hand only.
    for args in (
        {**ABC, "cell": "BY"},
        {"of": "partners", "cell": "BY", "abc_by": "sales"},
        {"of": "partners", "cell": "BY", "segment": shop.three},
        {"of": "partners", "cell": "BY", "a_pct": "70"},
    ):
        response = save(client, "analytics.abc_xyz", args, "dynamic")
        assert urlsplit(response.headers["Location"]).path == "/partners/"
    page = client.get("/analytics/abc-xyz", query_string={**ABC, "cell": "BY", "now": 1}).get_data(
        as_text=True
    )
    assert "Save as segment" in page and "Save as dynamic segment" not in page


def test_a_partner_list_filtered_by_class_and_segment_is_a_rule(client, login_as, shop):
    login_as("admin")
    rule = dynamic_rule(
        save(
            client,
            "partners",
            {"city": "Москва", "abc_xyz": "AX", "segment": shop.three},
            kind="dynamic",
        )
    )
    assert rule == {
        "all": [
            {"type": "partner.city", "cities": ["Москва"]},
            {"type": "analytics.class", "classes": ["AX"]},
            {"type": "segment.member", "segments": [shop.three]},
        ]
    }
