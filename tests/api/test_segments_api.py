"""Segments through the API (crm/api/segments.py): list, read, create, change and delete with
their rules as JSON; members and counts of only the partners the token's user may see; a rule
counted without saving; refresh of a periodic segment; members of a manual one by code. Bad
input is a 4xx with a clear message and writes nothing; a stale version is a 409 with the
changes. Expected members are listed by hand from the fixture."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.partners.models import Partner
from crm.segments.models import Segment, SegmentMember, SegmentRefresh
from crm.segments.services import create_segment
from tests.api.helpers import stored
from tests.factories import create_document

MOSCOW = {"type": "partner.city", "cities": ["Москва"]}
KAZAN = {"type": "partner.city", "cities": ["Казань"]}
DROP = "'; DROP TABLE partner; --"
FIELDS = [
    "id",
    "version",
    "name",
    "kind",
    "of",
    "schedule",
    "description",
    "rule",
    "owner",
    "created_at",
    "refreshed_at",
    "members",
    "last_refresh",
    "problem",
]


@pytest.fixture
def world(app, make_user, make_partner):
    """Anna's P-1 and P-3, Boris's P-2 and P-4, and P-5 of no one:

        P-1 Москва (Anna)   P-2 Москва (Boris)   P-3 Казань (Anna)
        P-4 Казань (Boris)  P-5 in the city "'; DROP TABLE partner; --"

    Segments: «Москва» dynamic (Anna's), «Казань» periodic daily (Anna's; refreshed when
    created: P-3, P-4), «Обзвон» manual (Boris's) holding P-2."""
    anna = make_user("manager", email="anna@example.test")
    boris = make_user("manager", email="boris@example.test")
    p = {
        "P-1": make_partner("Альфа", code="P-1", city="Москва", responsible=anna),
        "P-2": make_partner("Бета", code="P-2", city="Москва", responsible=boris),
        "P-3": make_partner("Гамма", code="P-3", city="Казань", responsible=anna),
        "P-4": make_partner("Дельта", code="P-4", city="Казань", responsible=boris),
        "P-5": make_partner("Эпсилон", code="P-5", city=DROP),
    }
    moscow = create_segment(anna, "Москва", "dynamic", MOSCOW, description="Клиенты в Москве")
    kazan = create_segment(anna, "Казань", "periodic", KAZAN, schedule="daily")
    calls = create_segment(boris, "Обзвон", "manual")
    db.session.add(SegmentMember(segment_id=calls.id, partner_id=p["P-2"].id))
    db.session.commit()
    return {
        "anna": anna,
        "boris": boris,
        "p": p,
        "moscow": moscow.id,
        "kazan": kazan.id,
        "calls": calls.id,
    }


def segment_names() -> list[tuple]:
    return stored(select(Segment.name).order_by(Segment.id))


def codes(response) -> list[str]:
    return [m["code"] for m in response.get_json()["items"]]


# --- reading ------------------------------------------------------------------------------


def test_the_list_shows_every_segment_with_its_rule_and_stored_counts(api, world):
    response = api("admin").get("/api/v1/segments")

    assert response.status_code == 200
    body = response.get_json()
    assert (body["total"], body["page"], body["next"]) == (3, 1, None)
    assert [i["name"] for i in body["items"]] == ["Москва", "Казань", "Обзвон"]
    moscow, kazan, calls = body["items"]
    assert list(moscow) == FIELDS
    assert moscow["id"] == world["moscow"] and moscow["version"] == 1
    assert (moscow["kind"], moscow["schedule"], moscow["rule"]) == ("dynamic", None, MOSCOW)
    assert (moscow["description"], moscow["owner"]) == ("Клиенты в Москве", "anna@example.test")
    assert moscow["members"] is None  # a list does not evaluate dynamic rules
    assert (kazan["kind"], kazan["schedule"], kazan["members"]) == ("periodic", "daily", 2)
    assert {k: kazan["last_refresh"][k] for k in ("members", "entered", "left")} == {
        "members": 2,
        "entered": 2,
        "left": 0,
    }
    assert kazan["refreshed_at"].endswith("Z") and kazan["last_refresh"]["at"].endswith("Z")
    assert (calls["kind"], calls["members"], calls["last_refresh"]) == ("manual", 1, None)


def test_the_list_filters_by_kind_and_pages(api, world):
    client = api("viewer")

    manual = client.get("/api/v1/segments?kind=manual").get_json()
    first = client.get("/api/v1/segments?per_page=2").get_json()
    second = client.get(first["next"]).get_json()
    bad = client.get("/api/v1/segments?kind=static")

    assert [i["name"] for i in manual["items"]] == ["Обзвон"]
    assert [i["name"] for i in first["items"]] == ["Москва", "Казань"]
    assert first["next"] == "/api/v1/segments?page=2&per_page=2"
    assert [i["name"] for i in second["items"]] == ["Обзвон"] and second["next"] is None
    assert bad.status_code == 400
    assert bad.get_json() == {
        "error": "Filter kind: 'static' is not a kind: use dynamic, periodic, manual."
    }


def test_one_segment_counts_the_members_the_user_may_see(api, world):
    url = f"/api/v1/segments/{world['moscow']}"

    as_admin = api("admin").get(url)
    as_anna = api(world["anna"]).get(url)

    assert as_admin.status_code == 200 and as_admin.headers["ETag"] == '"1"'
    assert as_admin.get_json()["members"] == 2  # P-1, P-2
    assert as_anna.get_json()["members"] == 1  # P-1 only: P-2 is Boris's
    assert api("admin").get("/api/v1/segments/999").status_code == 404
    assert api("admin").get("/api/v1/segments/999").get_json() == {
        "error": "There is no segment with id 999."
    }


def test_members_are_only_the_partners_the_user_may_see_by_code(api, world):
    url = f"/api/v1/segments/{world['kazan']}/members"

    admin = api("admin").get(url).get_json()
    anna = api(world["anna"]).get(url).get_json()
    boris = api(world["boris"]).get(f"/api/v1/segments/{world['moscow']}/members").get_json()

    assert admin == {
        "items": [{"code": "P-3", "name": "Гамма"}, {"code": "P-4", "name": "Дельта"}],
        "page": 1,
        "per_page": 100,
        "total": 2,
        "next": None,
    }
    assert (anna["items"], anna["total"]) == ([{"code": "P-3", "name": "Гамма"}], 1)
    assert (boris["items"], boris["total"]) == ([{"code": "P-2", "name": "Бета"}], 1)


def test_members_page_through(api, world):
    client = api("admin")
    url = f"/api/v1/segments/{world['kazan']}/members?per_page=1"

    first = client.get(url).get_json()
    second = client.get(first["next"]).get_json()

    assert first["next"] == f"/api/v1/segments/{world['kazan']}/members?page=2&per_page=1"
    assert (codes_of(first), codes_of(second), second["next"]) == (["P-3"], ["P-4"], None)


def codes_of(body: dict) -> list[str]:
    return [m["code"] for m in body["items"]]


def test_a_dynamic_segments_members_as_of_a_date(api, world):
    """P-1 bought on 2026-03-01: in «bought in the last 30 days» as of 2026-03-15, not as of
    2026-06-01."""
    create_document(world["p"]["P-1"], (500,), date=date(2026, 3, 1))
    bought = create_segment(None, "Купили", "dynamic", {"type": "sales.bought", "days": 30})
    db.session.commit()
    client = api("admin")
    url = f"/api/v1/segments/{bought.id}/members"

    assert codes(client.get(url + "?as_of=2026-03-15")) == ["P-1"]
    assert codes(client.get(url + "?as_of=2026-06-01")) == []
    bad = client.get(url + "?as_of=2026-02-30")
    assert bad.status_code == 400 and bad.get_json() == {
        "error": "Filter as_of: '2026-02-30' is not a real date."
    }
    stored_kind = client.get(f"/api/v1/segments/{world['kazan']}/members?as_of=2026-03-15")
    assert stored_kind.status_code == 400
    assert stored_kind.get_json()["error"].startswith("as_of applies to a dynamic segment only")


def test_a_rule_naming_a_deleted_segment_is_reported_not_a_500(api, world):
    inner = create_segment(None, "Внутренний", "manual")
    db.session.flush()
    outer = create_segment(
        None, "Внешний", "dynamic", {"type": "segment.member", "segments": [inner.id]}
    )
    db.session.delete(inner)
    db.session.commit()
    client = api("admin")

    detail = client.get(f"/api/v1/segments/{outer.id}").get_json()
    members = client.get(f"/api/v1/segments/{outer.id}/members")

    assert detail["members"] is None and detail["problem"]
    assert members.status_code == 422
    assert members.get_json()["error"] == "The segment's rule no longer holds: 1 problem."


# --- creating -----------------------------------------------------------------------------


def test_create_stores_a_dynamic_segment_owned_by_the_token_user(api, world):
    rule = {
        "any": [MOSCOW, {"all": [KAZAN, {"not": {"type": "partner.role", "roles": ["supplier"]}}]}]
    }
    body = {"name": "Две столицы", "kind": "dynamic", "rule": rule, "description": "Тест"}

    response = api(world["anna"]).post("/api/v1/segments", json=body)

    assert response.status_code == 201, response.get_json()
    item = response.get_json()
    assert response.headers["Location"] == f"/api/v1/segments/{item['id']}"
    assert response.headers["ETag"] == '"1"'
    assert (item["name"], item["kind"], item["rule"], item["owner"]) == (
        "Две столицы",
        "dynamic",
        rule,
        "anna@example.test",
    )
    assert item["members"] == 2  # Anna sees P-1 (Москва) and P-3 (Казань, a client)
    assert stored(select(Segment.name, Segment.rule).where(Segment.id == item["id"])) == [
        ("Две столицы", rule)
    ]


def test_create_of_a_periodic_segment_refreshes_it_at_once(api, world):
    body = {"name": "Москва ежечасно", "kind": "periodic", "rule": MOSCOW, "schedule": "hourly"}

    response = api("admin").post("/api/v1/segments", json=body)

    assert response.status_code == 201
    item = response.get_json()
    assert (item["schedule"], item["members"]) == ("hourly", 2)
    assert (item["last_refresh"]["entered"], item["last_refresh"]["left"]) == (2, 0)
    assert stored(
        select(func.count())
        .select_from(SegmentMember)
        .where(SegmentMember.segment_id == item["id"])
    ) == [(2,)]


def test_a_city_like_sql_is_just_a_value(api, world):
    rule = {"type": "partner.city", "cities": [DROP]}
    client = api("admin")

    counted = client.post("/api/v1/segments/count", json={"rule": rule})
    created = client.post("/api/v1/segments", json={"name": DROP, "kind": "dynamic", "rule": rule})

    assert counted.get_json() == {"count": 1}  # P-5
    assert created.status_code == 201 and created.get_json()["name"] == DROP
    assert codes(client.get(f"/api/v1/segments/{created.get_json()['id']}/members")) == ["P-5"]
    assert stored(select(func.count()).select_from(Partner)) == [(5,)]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"kind": "dynamic", "rule": MOSCOW}, [{"field": "name", "message": "is required"}]),
        ({"name": "X", "kind": "static", "rule": MOSCOW}, [{"field": "kind", "message": "A segment is dynamic, periodic or manual."}]),
        ({"name": "X", "kind": "dynamic"}, [{"field": "rule", "message": "A dynamic or periodic segment needs a rule."}]),
        ({"name": "X", "kind": "periodic", "rule": MOSCOW}, [{"field": "schedule", "message": "A periodic segment is refreshed hourly, daily, weekly or monthly."}]),
        ({"name": "X", "kind": "dynamic", "rule": {"type": "partner.sql", "where": "1=1"}}, [{"field": "rule.type", "message": "Unknown condition type 'partner.sql'."}]),
        ({"name": "X", "kind": "dynamic", "rule": {"all": [MOSCOW, {"not": {"type": "partner.city", "cities": []}}]}}, [{"field": "rule.all[1].not.cities", "message": "This parameter is required."}]),
        ({"name": "X", "kind": "dynamic", "rule": {"all": [MOSCOW, {"not": {"type": "partner.city", "cities": "Москва"}}]}}, [{"field": "rule.all[1].not.cities", "message": "A non-empty list is expected."}]),
        ({"name": "X", "kind": "dynamic", "rule": {"any": [MOSCOW, {"type": "partner.city", "cities": ["Москва"], "or": "1=1"}]}}, [{"field": "rule.any[1].or", "message": "Unknown parameter of partner.city."}]),
        ({"name": "X", "kind": "dynamic", "rule": {"type": "partner.city", "cities": ["a\x00b"]}}, [{"field": "rule.cities", "message": "A text cannot contain a NUL character."}]),
        ({"name": "X", "kind": "dynamic", "rule": "city = 'Москва'"}, [{"field": "rule", "message": "must be a JSON object (a rule tree) or null"}]),
        ({"name": 5, "kind": "dynamic", "rule": MOSCOW, "owner": "me"}, [{"field": "name", "message": "must be a string"}, {"field": "owner", "message": "is not a field of a segment"}]),
        ({"name": "X", "kind": "manual", "description": "x" * 2001}, [{"field": "description", "message": "is longer than 2000 characters"}]),
    ],
)  # fmt: skip
def test_a_bad_segment_is_a_422_naming_the_field_and_nothing_is_written(api, world, body, errors):
    before = segment_names()

    response = api("admin").post("/api/v1/segments", json=body)

    assert response.status_code == 422, response.get_json()
    n = len(errors)
    assert response.get_json() == {
        "error": f"The segment is not saved: {n} problem{'s' if n > 1 else ''}.",
        "errors": errors,
    }
    assert segment_names() == before


def test_malformed_json_is_a_400_and_nothing_is_written(api, world):
    response = api("admin").post(
        "/api/v1/segments",
        data='{"name": "X", "kind":',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.get_json()["error"].startswith("The body is not valid JSON:")
    assert segment_names() == [("Москва",), ("Казань",), ("Обзвон",)]


def test_a_taken_name_is_a_409_with_the_segments_id(api, world):
    response = api("admin").post(
        "/api/v1/segments", json={"name": " Москва ", "kind": "dynamic", "rule": KAZAN}
    )

    assert response.status_code == 409
    assert response.get_json() == {
        "error": f"A segment named 'Москва' exists: id {world['moscow']}."
    }
    assert segment_names() == [("Москва",), ("Казань",), ("Обзвон",)]


# --- who may write ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "marketer"])
def test_roles_that_only_read_through_the_api_cannot_write(api, world, role):
    client = api(role)
    sid = world["calls"]

    assert client.get(f"/api/v1/segments/{sid}").status_code == 200
    writes = [
        client.post("/api/v1/segments", json={"name": "X", "kind": "manual"}),
        client.patch(f"/api/v1/segments/{sid}", json={"name": "Y"}),
        client.open("DELETE", f"/api/v1/segments/{sid}"),
        client.post(f"/api/v1/segments/{world['kazan']}/refresh"),
        client.post(f"/api/v1/segments/{sid}/members/add", json={"codes": ["P-1"]}),
        client.post(f"/api/v1/segments/{sid}/members/remove", json={"codes": ["P-2"]}),
    ]

    assert [r.status_code for r in writes] == [403] * 6
    assert all(r.get_json()["error"] for r in writes)  # JSON, whichever gate answers
    assert segment_names() == [("Москва",), ("Казань",), ("Обзвон",)]
    assert stored(select(SegmentMember.partner_id).where(SegmentMember.segment_id == sid)) == [
        (world["p"]["P-2"].id,)
    ]


def test_a_viewer_may_count_a_rule(api, world):
    response = api("viewer").post("/api/v1/segments/count", json={"rule": MOSCOW})

    assert response.status_code == 200 and response.get_json() == {"count": 2}


def test_a_manager_cannot_change_anothers_segment(api, world):
    boris = api(world["boris"])
    url = f"/api/v1/segments/{world['moscow']}"

    changed = boris.patch(url, json={"name": "Моя Москва"})
    deleted = boris.open("DELETE", url)
    refreshed = boris.post(f"/api/v1/segments/{world['kazan']}/refresh")

    assert [changed.status_code, deleted.status_code, refreshed.status_code] == [403, 403, 403]
    assert changed.get_json()["error"] == (
        f"Your role (manager) may not change segment {world['moscow']}: "
        "a manager changes only the segments he owns."
    )
    assert segment_names() == [("Москва",), ("Казань",), ("Обзвон",)]
    assert stored(select(func.count()).select_from(SegmentRefresh)) == [(1,)]


# --- changing -----------------------------------------------------------------------------


def test_update_changes_the_fields_sent_and_moves_the_version(api, world):
    anna = api(world["anna"])
    url = f"/api/v1/segments/{world['moscow']}"

    response = anna.patch(url, json={"rule": KAZAN, "version": 1, "kind": "dynamic"})

    assert response.status_code == 200, response.get_json()
    item = response.get_json()
    assert (item["name"], item["rule"], item["description"]) == (
        "Москва",
        KAZAN,
        "Клиенты в Москве",
    )
    assert (item["version"], response.headers["ETag"], item["members"]) == (2, '"2"', 1)
    assert stored(select(Segment.rule, Segment.version).where(Segment.id == world["moscow"])) == [
        (KAZAN, 2)
    ]


def test_a_periodic_segment_whose_rule_changes_is_refreshed(api, world):
    response = api(world["anna"]).patch(f"/api/v1/segments/{world['kazan']}", json={"rule": MOSCOW})

    assert response.status_code == 200
    last = response.get_json()["last_refresh"]
    assert (last["members"], last["entered"], last["left"]) == (2, 2, 2)


def test_update_refuses_a_bad_rule_or_kind_and_writes_nothing(api, world):
    anna = api(world["anna"])
    url = f"/api/v1/segments/{world['moscow']}"

    bad_rule = anna.patch(url, json={"rule": {"all": [MOSCOW, {"not": {"type": "nope"}}]}})
    bad_kind = anna.patch(url, json={"kind": "manual"})
    bad_version = anna.patch(url, json={"name": "Y", "version": "1"})

    assert bad_rule.status_code == 422
    assert bad_rule.get_json()["errors"] == [
        {"field": "rule.all[1].not.type", "message": "Unknown condition type 'nope'."}
    ]
    assert bad_kind.get_json()["errors"] == [
        {"field": "kind", "message": "the kind of a segment cannot be changed"}
    ]
    assert bad_version.status_code == 422
    assert stored(select(Segment.rule, Segment.version).where(Segment.id == world["moscow"])) == [
        (MOSCOW, 1)
    ]


def test_a_stale_version_is_a_409_with_the_changes(api, world):
    anna = api(world["anna"])
    url = f"/api/v1/segments/{world['moscow']}"
    assert anna.patch(url, json={"name": "Москва и область", "version": 1}).status_code == 200

    response = anna.patch(url, json={"description": "Другое", "version": 1})

    assert response.status_code == 409
    assert response.headers["ETag"] == '"2"'
    body = response.get_json()
    assert body["error"].startswith("The segment changed since version 1 that you sent")
    assert (body["conflict"]["version"], body["conflict"]["your_version"]) == (2, 1)
    assert body["conflict"]["changes"][0]["fields"] == {"name": ["Москва", "Москва и область"]}
    assert stored(select(Segment.description).where(Segment.id == world["moscow"])) == [
        ("Клиенты в Москве",)
    ]
    stale_header = anna.patch(url, json={"description": "Другое"}, headers={"If-Match": '"1"'})
    assert stale_header.status_code == 412


def test_renaming_to_a_taken_name_is_a_409(api, world):
    response = api(world["anna"]).patch(
        f"/api/v1/segments/{world['moscow']}", json={"name": "Казань"}
    )

    assert response.status_code == 409
    assert response.get_json() == {
        "error": f"A segment named 'Казань' exists: id {world['kazan']}."
    }


def test_delete_removes_the_segment_unless_it_changed_since_the_etag(api, world):
    anna = api(world["anna"])
    url = f"/api/v1/segments/{world['kazan']}"

    stale = anna.open("DELETE", url, headers={"If-Match": '"7"'})
    deleted = anna.open("DELETE", url, headers={"If-Match": '"1"'})

    assert stale.status_code == 412 and stale.get_json()["conflict"]["version"] == 1
    assert deleted.status_code == 204 and deleted.get_data() == b""
    assert segment_names() == [("Москва",), ("Обзвон",)]
    assert anna.get(url).status_code == 404


# --- counting, refreshing, members by hand -------------------------------------------------


def test_count_gives_the_partners_the_user_may_see_or_the_problem(api, world):
    rule = {"any": [MOSCOW, KAZAN]}

    admin = api("admin").post("/api/v1/segments/count", json={"rule": rule})
    anna = api(world["anna"]).post("/api/v1/segments/count", json={"rule": rule})
    bad = api("admin").post(
        "/api/v1/segments/count", json={"rule": {"any": [MOSCOW, {"type": "partner.city"}]}}
    )
    no_rule = api("admin").post("/api/v1/segments/count", json={"as_of": "31.02.2026"})

    assert admin.get_json() == {"count": 4}  # P-1…P-4
    assert anna.get_json() == {"count": 2}  # P-1, P-3
    assert bad.status_code == 422 and bad.get_json() == {
        "error": "The rule is not counted: 1 problem.",
        "errors": [{"field": "rule.any[1].cities", "message": "This parameter is required."}],
    }
    assert no_rule.status_code == 422 and no_rule.get_json()["errors"] == [
        {"field": "rule", "message": "must be a JSON object (a rule tree)"},
        {"field": "as_of", "message": "'31.02.2026' is not a real date"},
    ]
    assert segment_names() == [("Москва",), ("Казань",), ("Обзвон",)]


def test_refresh_records_who_entered_and_left(api, world):
    from crm.partners.services import sync_search

    for code, city in (("P-2", "Казань"), ("P-4", "Москва")):
        partner = db.session.get(Partner, world["p"][code].id)
        partner.city = city
        sync_search(partner)
    db.session.commit()

    response = api(world["anna"]).post(f"/api/v1/segments/{world['kazan']}/refresh")
    dynamic = api("admin").post(f"/api/v1/segments/{world['moscow']}/refresh")

    assert response.status_code == 200
    body = response.get_json()
    assert (body["members"], body["entered"], body["left"]) == (2, 1, 1)  # +P-2, −P-4
    assert dynamic.status_code == 422
    assert dynamic.get_json()["errors"] == [
        {"field": "kind", "message": "Only a periodic segment is refreshed."}
    ]


def test_members_of_a_manual_segment_are_added_and_removed_by_code(api, world):
    boris = api(world["boris"])
    base = f"/api/v1/segments/{world['calls']}/members"

    added = boris.post(f"{base}/add", json={"codes": ["P-4", "P-1", "NOPE", "P-2"]})
    removed = boris.post(f"{base}/remove", json={"codes": ["P-2", "P-3"]})

    # P-1 and P-3 are Anna's: to Boris they are as unknown as NOPE.
    assert added.get_json() == {"added": 1, "unknown": ["NOPE", "P-1"]}
    assert removed.get_json() == {"removed": 1, "unknown": ["P-3"]}
    assert codes(api("admin").get(base)) == ["P-4"]


def test_members_by_hand_refuse_bad_bodies_and_other_kinds(api, world):
    admin = api("admin")
    base = f"/api/v1/segments/{world['calls']}/members"

    empty = admin.post(f"{base}/add", json={"codes": []})
    wrong = admin.post(f"{base}/add", json={"codes": ["P-1", 7], "ids": [1]})
    dynamic = admin.post(f"/api/v1/segments/{world['moscow']}/members/add", json={"codes": ["P-1"]})

    assert empty.status_code == 422 and empty.get_json()["errors"] == [
        {"field": "codes", "message": "must be a non-empty list of partner codes"}
    ]
    assert wrong.get_json()["errors"] == [
        {"field": "ids", "message": "is not a field of a members change"},
        {"field": "codes[1]", "message": "must be a non-empty string"},
    ]
    assert dynamic.status_code == 422 and dynamic.get_json()["errors"] == [
        {"field": "kind", "message": "Members are added by hand only to a manual segment."}
    ]
    assert codes(admin.get(base)) == ["P-2"]


# --- the description --------------------------------------------------------------------------


def test_the_openapi_document_and_the_docs_page_describe_segments(api, client, login_as):
    document = api("viewer").get("/api/v1/openapi.json").get_json()

    paths = document["paths"]
    assert set(paths["/segments"]) == {"get", "post"}
    assert set(paths["/segments/{segment_id}"]) == {"get", "patch", "delete"}
    assert set(paths["/segments/{segment_id}/members"]) == {"get"}
    assert set(paths["/segments/count"]) == {"post"}
    assert set(paths["/segments/{segment_id}/refresh"]) == {"post"}
    assert set(paths["/segments/{segment_id}/members/add"]) == {"post"}
    assert set(paths["/segments/{segment_id}/members/remove"]) == {"post"}
    schemas = document["components"]["schemas"]
    assert list(schemas["Segment"]["properties"]) == FIELDS
    assert schemas["SegmentCreate"]["required"] == ["name", "kind"]
    assert "partner.city" in schemas["SegmentRule"]["properties"]["type"]["enum"]
    login_as("viewer")
    page = client.get("/api-docs/").get_data(as_text=True)
    assert "/segments/{segment_id}/members" in page and "SegmentRule" in page


def test_a_fraction_in_a_rule_is_a_number_as_from_a_file(api, world):
    """The API reads JSON fractions exactly (Decimal); a rule stores them as the CLI's
    json.load does (a float), and the money parameter reads 99.5 as 99.50."""
    rule = {"type": "sales.overdue", "above": 99.5}
    client = api("admin")

    counted = client.post("/api/v1/segments/count", json={"rule": rule})
    created = client.post(
        "/api/v1/segments", json={"name": "Должники", "kind": "dynamic", "rule": rule}
    )

    assert counted.get_json() == {"count": 0}  # nobody owes anything here
    assert created.status_code == 201 and created.get_json()["rule"] == rule
    assert stored(select(Segment.rule).where(Segment.name == "Должники")) == [(rule,)]


def test_a_segment_of_products_lists_its_skus_and_takes_skus(api, world):
    from crm.segments.services import create_segment
    from tests.factories import create_product

    create_product("SKU-B", "Бета-товар")
    create_product("SKU-A", "Альфа-товар")
    goods = create_segment(None, "Товары", "manual", of="products")
    db.session.commit()
    client = api("admin")
    added = client.post(
        f"/api/v1/segments/{goods.id}/members/add", json={"codes": ["SKU-A", "SKU-B", "P-1"]}
    )
    assert added.get_json() == {"added": 2, "unknown": ["P-1"]}  # a partner's code is no SKU
    body = client.get(f"/api/v1/segments/{goods.id}/members").get_json()
    assert body["items"] == [
        {"code": "SKU-A", "name": "Альфа-товар"},
        {"code": "SKU-B", "name": "Бета-товар"},
    ]
    assert client.get(f"/api/v1/segments/{goods.id}").get_json()["of"] == "products"
