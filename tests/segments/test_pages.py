"""The segment pages as users meet them: the list, the card with its members and their figures,
the form with its rule builder (HTMX round trips and the live count), manual members, refresh,
export, delete — and who may do what (a viewer reads, a manager sees only his partners and
changes only his own segments)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.core.timeutil import site_today
from crm.extensions import db
from crm.partners.models import Partner
from crm.segments.models import Segment, SegmentMember, SegmentRefresh
from crm.segments.services import create_segment
from tests.factories import create_document, create_partner, create_payment
from tests.helpers import form_fields, page_text

MOSCOW = {"type": "partner.city", "cities": ["Москва"]}
HX = {"HX-Request": "true"}


@pytest.fixture
def world(app, make_user):
    """Two managers; M1 (Москва) and M2 (Москва) are the first's, M3 (Москва) the second's,
    K1 (Казань) nobody's."""
    first, second = make_user("manager"), make_user("manager")
    people = {}
    for code, city, owner in (
        ("M1", "Москва", first),
        ("M2", "Москва", first),
        ("M3", "Москва", second),
        ("K1", "Казань", None),
    ):
        people[code] = create_partner(
            f"Клиент {code}", code=code, city=city, responsible=owner, commit=False
        )
    db.session.commit()
    return {"first": first, "second": second, **people}


def builder_form(name="Москва", kind="dynamic", **fields) -> dict:
    """The form of a segment whose rule is one condition, as the builder posts it."""
    data = {"name": name, "kind": kind, "schedule": "daily", "description": ""}
    data.update({"n-0": "all", "n-0.0": "cond", "t-0.0": "partner.city"})
    data["v-0.0-cities"] = "Москва"
    data.update(fields)
    return data


def names_on(html: str) -> list[str]:
    return re.findall(r"Клиент [A-Z]\d", html)


def test_an_admin_creates_a_dynamic_segment_from_the_builder(client, login_as, world):
    admin = login_as("admin")
    response = client.post("/segments/new", data={**builder_form(), "save": "1"})
    assert response.status_code == 302
    segment = db.session.execute(select(Segment)).scalar_one()
    assert (segment.name, segment.kind, segment.owner_id) == ("Москва", "dynamic", admin.id)
    assert segment.rule == {"all": [{"type": "partner.city", "cities": ["Москва"]}]}
    page = client.get(response.headers["Location"])
    assert names_on(page_text(page)) == ["Клиент M1", "Клиент M2", "Клиент M3"]


def test_the_live_count_follows_the_rule_and_counts_only_what_the_user_sees(
    client, login_as, world
):
    login_as("admin")
    response = client.post("/segments/builder/count", data=builder_form(), headers=HX)
    assert "<html" not in response.text
    assert "3 partners match" in response.text
    login_as(world["first"])
    response = client.post("/segments/builder/count", data=builder_form(), headers=HX)
    assert "2 partners match" in response.text


def test_not_and_or_groups_built_in_the_form_select_by_hand(client, login_as, world):
    login_as("admin")
    # NOT (Москва AND responsible = first) → M3, K1
    data = builder_form(**{"n-0": "all", "neg-0.0": "", "n-0.1": "cond"})
    data.update({"t-0.1": "partner.manager", "v-0.1-managers": str(world["first"].id)})
    data = {k: v for k, v in data.items() if v != ""}
    data["neg-0"] = "1"
    response = client.post("/segments/builder/count", data=data, headers=HX)
    assert "2 partners match" in response.text
    # Москва OR Казань → all four
    data = builder_form(**{"n-0": "any", "n-0.1": "cond", "t-0.1": "partner.city"})
    data["v-0.1-cities"] = "Казань"
    response = client.post("/segments/builder/count", data=data, headers=HX)
    assert "4 partners match" in response.text


def test_builder_buttons_add_and_remove_parts_without_saving(client, login_as, world):
    login_as("admin")
    response = client.post(
        "/segments/builder", data={**builder_form(), "op": "add-group:0"}, headers=HX
    )
    assert "<html" not in response.text
    assert 'name="n-0.1" value="' not in response.text  # a group's kind is its select
    assert 'id="op-0.1"' in response.text and 'name="n-0.1.0" value="cond"' in response.text
    response = client.post("/segments/builder", data={**builder_form(), "op": "remove:0.0"})
    assert 'name="n-0.0"' not in response.text
    # Without JavaScript the same button submits the page: drawn again, nothing saved.
    response = client.post("/segments/new", data={**builder_form(), "op": "add-cond:0"})
    assert response.status_code == 200 and 'name="n-0.1" value="cond"' in response.text
    assert db.session.execute(select(func.count()).select_from(Segment)).scalar_one() == 0


def test_a_bad_value_is_shown_at_its_condition_and_nothing_is_saved(client, login_as, world):
    login_as("admin")
    data = builder_form(**{"t-0.0": "sales.figure", "v-0.0-metric": "revenue"})
    data.update({"v-0.0-compare": "at_least", "v-0.0-value": "много", "v-0.0-days": "30"})
    response = client.post("/segments/new", data={**data, "save": "1"})
    assert response.status_code == 422
    assert "много" in response.text and "is not a number" in response.text
    assert db.session.execute(select(func.count()).select_from(Segment)).scalar_one() == 0
    response = client.post("/segments/new", data={**builder_form(**{"t-0.0": ""}), "save": "1"})
    assert response.status_code == 422 and "Choose what the condition checks." in response.text


def test_sql_in_a_value_is_only_a_value(client, login_as, world):
    login_as("admin")
    evil = "'; DROP TABLE partner; --"
    data = builder_form(**{"v-0.0-cities": evil})
    response = client.post("/segments/builder/count", data=data, headers=HX)
    assert "0 partners match" in response.text
    response = client.post("/segments/new", data={**data, "save": "1"})
    assert response.status_code == 302
    assert db.session.execute(select(func.count()).select_from(Partner)).scalar_one() == 4
    segment = db.session.execute(select(Segment)).scalar_one()
    assert segment.rule["all"][0]["cities"] == [evil]


def test_a_viewer_reads_segments_but_changes_nothing(client, login_as, world):
    segment = create_segment(world["first"], "Ручной", "manual")
    db.session.commit()
    login_as("viewer")
    assert client.get("/segments/").status_code == 200
    page = client.get(f"/segments/{segment.id}")
    assert page.status_code == 200 and "Delete" not in page.text
    assert client.get("/segments/new").status_code == 403
    assert client.post("/segments/new", data={**builder_form(), "save": "1"}).status_code == 403
    assert client.post("/segments/builder/count", data=builder_form()).status_code == 403
    for action in ("edit", "delete", "refresh", "members/add"):
        assert (
            client.post(f"/segments/{segment.id}/{action}", data={"codes": "M1"}).status_code == 403
        )
    assert db.session.get(Segment, segment.id) is not None


def test_a_manager_changes_only_his_own_segments(client, login_as, world):
    theirs = create_segment(world["second"], "Чужой", "manual")
    db.session.commit()
    login_as(world["first"])
    assert client.get(f"/segments/{theirs.id}/edit").status_code == 403
    assert client.post(f"/segments/{theirs.id}/delete").status_code == 403
    response = client.post("/segments/new", data={**builder_form(name="Мой"), "save": "1"})
    assert response.status_code == 302
    mine = db.session.execute(select(Segment).where(Segment.name == "Мой")).scalar_one()
    assert client.get(f"/segments/{mine.id}/edit").status_code == 200


def test_members_show_only_the_managers_partners_with_their_figures(client, login_as, world):
    today = site_today()
    m1 = world["M1"]
    create_document(m1, amounts=(1000, 234.5), date=today - timedelta(days=10))
    create_document(m1, amounts=(500,), date=today - timedelta(days=400))  # outside 12 months
    create_document(world["M2"], amounts=(300,), date=today - timedelta(days=40))
    create_payment(world["M2"], 100, today - timedelta(days=5))
    segment = create_segment(None, "Москва", "dynamic", MOSCOW)
    db.session.commit()
    login_as(world["first"])
    text = page_text(client.get(f"/segments/{segment.id}"))
    assert names_on(text) == ["Клиент M1", "Клиент M2"]  # not M3: the other manager's
    rows = {row[0]: row for row in csv_rows(client.get(f"/segments/{segment.id}/export"))}
    # revenue over 12 months, last purchase, debt today (1 734,50 − 0; 300 − 100)
    assert rows["M1"][4:] == ["1234.50", (today - timedelta(days=10)).isoformat(), "1734.50"]
    assert rows["M2"][4:] == ["300.00", (today - timedelta(days=40)).isoformat(), "200.00"]
    assert set(rows) == {"M1", "M2"}


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text), delimiter=text.split("\n")[0][4]))[1:]


def test_manual_members_are_added_by_code_and_removed_by_ticks(client, login_as, world):
    manager = login_as(world["first"])
    segment = create_segment(manager, "Обзвон", "manual")
    db.session.commit()
    url = f"/segments/{segment.id}"
    response = client.post(f"{url}/members/add", data={"codes": "M1\nM3, ZZ9"})
    assert response.status_code == 302
    stored = set(db.session.execute(select(SegmentMember.partner_id)).scalars())
    assert stored == {world["M1"].id}  # M3 is another manager's, ZZ9 nobody
    flashes = page_text(client.get(url))
    assert "Added 1 partners." in flashes and "M3" in flashes and "ZZ9" in flashes
    client.post(f"{url}/members/add", data={"partner_id": [str(world["M2"].id)]})
    client.post(f"{url}/members/remove", data={"partner_id": [str(world["M1"].id)]})
    stored = set(db.session.execute(select(SegmentMember.partner_id)).scalars())
    assert stored == {world["M2"].id}
    response = client.post(f"{url}/members/add", data={"partner_id": ["1; DROP"]})
    assert response.status_code == 302
    assert "A partner id is a whole number." in page_text(client.get(url))


def test_a_periodic_segment_is_refreshed_by_its_button_and_shows_its_history(
    client, login_as, world
):
    login_as("admin")
    response = client.post(
        "/segments/new", data={**builder_form(name="Москва", kind="periodic"), "save": "1"}
    )
    segment = db.session.execute(select(Segment)).scalar_one()
    assert segment.schedule == "daily"
    k1 = world["K1"]
    k1.city, k1.city_norm = "Москва", "москва"
    db.session.commit()
    client.post(f"/segments/{segment.id}/refresh")
    records = db.session.execute(select(SegmentRefresh).order_by(SegmentRefresh.id)).scalars()
    assert [(r.members, r.entered, r.left) for r in records] == [(3, 3, 0), (4, 1, 0)]
    page = client.get(response.headers["Location"])
    assert "Refresh history" in page.text and "+1" in page.text
    last = db.session.execute(select(func.max(SegmentRefresh.id))).scalar_one()
    changes = page_text(client.get(f"/segments/{segment.id}/refreshes/{last}"))
    assert "Entered" in changes and "Клиент K1" in changes
    assert client.get(f"/segments/{segment.id}/refreshes/{last + 99}").status_code == 404


def test_a_stale_edit_is_refused_with_what_changed(client, login_as, world, app):
    login_as("admin")
    segment = create_segment(None, "Москва", "dynamic", MOSCOW)
    db.session.commit()
    page = client.get(f"/segments/{segment.id}/edit")
    fields = form_fields(page.text, f"/segments/{segment.id}/edit")
    first = {**builder_form(name="Столица"), "version": fields["version"], "save": "1"}
    assert client.post(f"/segments/{segment.id}/edit", data=first).status_code == 302
    second = {**builder_form(name="Москва и область"), "version": fields["version"], "save": "1"}
    response = client.post(f"/segments/{segment.id}/edit", data=second)
    assert response.status_code == 422 and "Someone else changed this segment" in response.text
    db.session.expire_all()
    assert db.session.get(Segment, segment.id).name == "Столица"


def test_a_segment_cannot_name_itself_and_a_deleted_one_reads_as_broken(client, login_as, world):
    login_as("admin")
    base = create_segment(None, "База", "dynamic", MOSCOW)
    db.session.commit()
    uses = create_segment(
        None, "Через базу", "dynamic", {"type": "segment.member", "segments": [base.id]}
    )
    db.session.commit()
    data = builder_form(name="База", **{"t-0.0": "segment.member"})
    data["v-0.0-segments"] = str(uses.id)
    data.pop("v-0.0-cities")
    response = client.post(f"/segments/{base.id}/edit", data={**data, "save": "1"})
    assert response.status_code == 422 and "cannot contain itself" in response.text
    client.post(f"/segments/{base.id}/delete")
    page = client.get(f"/segments/{uses.id}")
    assert page.status_code == 200 and "The rule no longer holds" in page.text
    assert client.get(f"/segments/{uses.id}/export").status_code == 302
    assert client.get(f"/segments/{uses.id}/count").status_code == 200


def test_members_page_and_search_come_as_fragments(client, login_as, world):
    login_as("admin")
    segment = create_segment(None, "Москва", "dynamic", MOSCOW)
    db.session.commit()
    response = client.get(f"/segments/{segment.id}?q=m2", headers=HX)
    assert "<html" not in response.text
    assert names_on(response.text) == ["Клиент M2"]
    listing = client.get("/segments/?q=моск", headers=HX)
    assert "<html" not in listing.text and "Москва" in listing.text
    assert client.get(f"/segments/{segment.id}/export?format=pdf").status_code == 302


def test_the_rule_is_shown_in_words(client, login_as, world):
    login_as("admin")
    rule = {"all": [MOSCOW, {"not": {"type": "partner.role", "roles": ["supplier"]}}]}
    segment = create_segment(None, "Москва", "dynamic", rule)
    db.session.commit()
    text = page_text(client.get(f"/segments/{segment.id}"))
    assert "all of: City: Москва; NOT (Role: Supplier)" in text


def test_money_typed_in_russian_is_stored_as_a_number(client, login_as, world):
    login_as("admin")
    data = builder_form(**{"t-0.0": "sales.overdue", "v-0.0-above": "1 234,50"})
    data.pop("v-0.0-cities")
    assert client.post("/segments/new", data={**data, "save": "1"}).status_code == 302
    rule = db.session.execute(select(Segment.rule)).scalar_one()
    assert rule == {"all": [{"type": "sales.overdue", "above": "1234.50"}]}
    assert Decimal(rule["all"][0]["above"]) == Decimal("1234.5")


def test_a_template_starts_the_form_and_one_left_open_must_be_filled(client, login_as, world):
    login_as("admin")
    listing = client.get("/segments/")
    assert "/segments/new?preset=frequent_group" in listing.text
    form = client.get("/segments/new?preset=frequent_group")
    assert 'name="req-0.0" value="groups"' in form.text
    fields = form_fields(form.text, "/segments/new")
    fields.update({"name": "Частые покупатели", "save": "1"})
    response = client.post("/segments/new", data=fields)
    assert response.status_code == 422 and "the template needs it" in response.text
    assert db.session.execute(select(func.count()).select_from(Segment)).scalar_one() == 0
    # a template's button in the builder loads its rule
    response = client.post("/segments/builder", data={**builder_form(), "op": "preset:active"})
    assert 'value="sales.bought" selected' in response.text


def test_a_number_in_a_rule_is_shown_with_what_it_counts(client, login_as, world):
    login_as("admin")
    segment = create_segment(None, "Покупали", "dynamic", {"type": "sales.bought", "days": 90})
    db.session.commit()
    text = page_text(client.get(f"/segments/{segment.id}"))
    assert "Bought (In the last N days: 90)" in text
