"""Deals through the API: list, read, create and change with deals.csv's field names, written
by the deals' own rules (process stages in order, won/lost/reopen), lost updates refused (409
for the body's version, 412 for If-Match), and who may see and change which deal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.deals.models import Deal, DealStage, DealStageEntry
from crm.extensions import db
from tests.api.helpers import stored

FIELDS = [
    "id",
    "version",
    "deal_no",
    "partner_code",
    "kind",
    "stage",
    "status",
    "amount",
    "created_on",
    "expected_close",
    "closed_on",
    "manager",
    "loss_reason",
    "source",
    "title",
    "description",
]


@pytest.fixture
def world(app, make_user, make_partner, make_deal_kind, make_deal):
    """Anna's deal D-1 (Boris takes part), Boris's deal D-2, a process and a free kind."""
    anna = make_user("manager", email="anna@example.test")
    boris = make_user("manager", email="boris@example.test")
    p1 = make_partner(name="Ромашка", code="P-1", responsible=anna)
    p2 = make_partner(name="Лютик", code="P-2", responsible=boris)
    process = make_deal_kind(name="Поставка", stages=("Лид", "КП", "Договор"))
    free = make_deal_kind(name="Сервис", stages=("Заявка", "Выезд"), process=False)
    d1 = make_deal(
        p1,
        process,
        manager=anna,
        deal_no="D-1",
        amount="1000",
        created_on=date(2026, 3, 1),
        expected_close=date(2026, 6, 30),
        participants=[boris],
        title="Бумага",
    )
    d2 = make_deal(p2, free, manager=boris, deal_no="D-2", stage="Выезд")
    return {"anna": anna, "boris": boris, "process": process, "free": free, "d1": d1, "d2": d2}


def _deal(no: str) -> Deal:
    db.session.expire_all()
    return db.session.execute(select(Deal).where(Deal.deal_no == no)).scalar_one()


def test_list_shows_the_deals_with_the_files_fields(api, world):
    response = api("admin").get("/api/v1/deals")

    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 2 and [i["deal_no"] for i in body["items"]] == ["D-1", "D-2"]
    item = body["items"][0]
    assert list(item) == FIELDS
    assert item == {
        "id": world["d1"].id,
        "version": 1,
        "deal_no": "D-1",
        "partner_code": "P-1",
        "kind": "Поставка",
        "stage": "Лид",
        "status": "open",
        "amount": "1000.00",
        "created_on": "2026-03-01",
        "expected_close": "2026-06-30",
        "closed_on": None,
        "manager": "anna@example.test",
        "loss_reason": None,
        "source": None,
        "title": "Бумага",
        "description": None,
    }


def test_list_filters_by_kind_status_and_manager(api, world):
    client = api("admin")

    by_kind = client.get("/api/v1/deals?kind=Сервис").get_json()["items"]
    by_manager = client.get("/api/v1/deals?manager=ANNA@example.test").get_json()["items"]
    won = client.get("/api/v1/deals?status=won").get_json()

    assert [i["deal_no"] for i in by_kind] == ["D-2"]
    assert [i["deal_no"] for i in by_manager] == ["D-1"]
    assert won["total"] == 0


def test_a_manager_sees_his_deals_and_those_he_takes_part_in(api, world):
    anna = api(world["anna"])
    boris = api(world["boris"])

    assert [i["deal_no"] for i in anna.get("/api/v1/deals").get_json()["items"]] == ["D-1"]
    assert [i["deal_no"] for i in boris.get("/api/v1/deals").get_json()["items"]] == [
        "D-1",
        "D-2",
    ]
    assert anna.get("/api/v1/deals/D-2").status_code == 404
    assert anna.patch("/api/v1/deals/D-2", json={"amount": 1}).status_code == 404


def test_get_gives_the_version_as_etag(api, world):
    response = api("admin").get("/api/v1/deals/D-1")

    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'


def test_create_opens_a_deal_at_the_first_stage_through_the_services(api, world):
    client = api(world["anna"])
    body = {
        "deal_no": "D-10",
        "partner_code": "P-1",
        "kind": "Поставка",
        "amount": "1 234,50",
        "created_on": "01.04.2026",
        "expected_close": "2026-07-01",
        "source": "Выставка",
        "title": "Картон",
    }

    response = client.post("/api/v1/deals", json=body)

    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"].endswith("/api/v1/deals/D-10")
    item = response.get_json()
    assert (item["stage"], item["status"], item["amount"], item["manager"]) == (
        "Лид",
        "open",
        "1234.50",
        "anna@example.test",
    )
    assert (item["created_on"], item["title"], item["version"]) == ("2026-04-01", "Картон", 1)
    deal = _deal("D-10")
    assert deal.reached_position == 1
    assert stored(
        select(DealStage.name, DealStageEntry.left_at)
        .join(DealStage, DealStage.id == DealStageEntry.stage_id)
        .where(DealStageEntry.deal_id == deal.id)
    ) == [("Лид", None)]


def test_create_without_a_number_gets_the_crms_next_one(api, world):
    body = {"partner_code": "P-1", "kind": "Поставка", "amount": 5, "expected_close": "2026-07-01"}

    response = api(world["anna"]).post("/api/v1/deals", json=body)

    assert response.status_code == 201
    assert response.get_json()["deal_no"] == "CRM-000001"


def test_create_can_record_a_lost_deal_with_its_reason(api, world, make_deal):
    make_deal(world["d2"].partner, world["free"], loss_reason="Дорого", status="lost")
    body = {
        "deal_no": "D-11",
        "partner_code": "P-1",
        "kind": "Сервис",
        "stage": "Выезд",
        "status": "lost",
        "amount": 700,
        "created_on": "2026-02-01",
        "closed_on": "2026-02-15",
        "loss_reason": "Дорого",
    }

    response = api("admin").post("/api/v1/deals", json=body)

    assert response.status_code == 201, response.get_json()
    item = response.get_json()
    assert (item["stage"], item["status"], item["closed_on"], item["loss_reason"]) == (
        "Выезд",
        "lost",
        "2026-02-15",
        "Дорого",
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"stage": "Договор"}, "stage", "A deal of this kind starts at the first stage, «Лид»."),
        ({"partner_code": "NOPE"}, "partner_code", "unknown partner 'NOPE'"),
        ({"kind": "Аренда"}, "kind", "unknown deal kind 'Аренда'"),
        ({"amount": "много"}, "amount", "'много' is not a number"),
        ({"expected_close": "31.02.2026"}, "expected_close", "'31.02.2026' is not a real date"),
        ({"status": "closed"}, "status", "'closed' is not a status: use open, won or lost"),
        ({"manager": "nobody@example.test"}, "manager", "no user has the e-mail 'nobody@example.test'"),
        ({"status": "lost", "closed_on": "2026-05-01"}, "loss_reason", "is required to mark a deal lost"),
        ({"colour": "red"}, "colour", "is not a field of a deal"),
    ],
)  # fmt: skip
def test_create_refuses_a_bad_deal_with_the_field_and_writes_nothing(
    api, world, changes, field, message
):
    body = {
        "deal_no": "D-12",
        "partner_code": "P-1",
        "kind": "Поставка",
        "amount": 5,
        "expected_close": "2026-07-01",
        **changes,
    }

    response = api("admin").post("/api/v1/deals", json=body)

    assert response.status_code == 422
    assert {"field": field, "message": message} in response.get_json()["errors"]
    assert stored(select(Deal.deal_no).order_by(Deal.deal_no)) == [("D-1",), ("D-2",)]


def test_create_with_a_taken_number_is_a_409(api, world):
    body = {"deal_no": "D-1", "partner_code": "P-1", "kind": "Поставка", "amount": 5}

    response = api("admin").post("/api/v1/deals", json=body)

    assert response.status_code == 409
    assert response.get_json() == {
        "error": "A deal with this key exists: deal_no 'D-1'. Change it with PATCH."
    }


def test_bad_json_is_a_400_with_a_clear_message(api, world):
    response = api("admin").post(
        "/api/v1/deals", data="{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.get_json()["error"].startswith("The body is not valid JSON:")


def test_update_moves_a_process_deal_to_the_next_stage_only(api, world):
    client = api(world["anna"])

    skipped = client.patch("/api/v1/deals/D-1", json={"stage": "Договор"})
    moved = client.patch("/api/v1/deals/D-1", json={"stage": "КП", "version": 1})

    assert skipped.status_code == 422
    assert "«КП»" in skipped.get_json()["errors"][0]["message"]
    assert moved.status_code == 200 and moved.headers["ETag"] == '"2"'
    assert moved.get_json()["stage"] == "КП"
    deal = _deal("D-1")
    assert (deal.stage.name, deal.reached_position, deal.version) == ("КП", 2, 2)
    assert [(e.stage.name, e.left_at is None) for e in deal.history] == [
        ("Лид", False),
        ("КП", True),
    ]


def test_update_wins_loses_and_reopens_through_the_stage_rules(api, world, make_deal):
    client = api(world["anna"])
    make_deal(world["d2"].partner, world["free"], loss_reason="Дорого", status="lost")

    early = client.patch("/api/v1/deals/D-1", json={"status": "won", "closed_on": "2026-05-01"})
    assert early.status_code == 422  # won from the last stage only
    client.patch("/api/v1/deals/D-1", json={"stage": "КП"})
    client.patch("/api/v1/deals/D-1", json={"stage": "Договор"})
    won = client.patch(
        "/api/v1/deals/D-1", json={"status": "won", "closed_on": "2026-05-01", "amount": 900}
    )

    assert won.status_code == 200, won.get_json()
    assert (won.get_json()["status"], won.get_json()["amount"]) == ("won", "900.00")
    assert _deal("D-1").closed_on == date(2026, 5, 1)

    lost = client.patch(
        "/api/v1/deals/D-1",
        json={"status": "lost", "loss_reason": "Дорого", "closed_on": "2026-05-02"},
    )
    assert lost.status_code == 200, lost.get_json()
    deal = _deal("D-1")
    assert (deal.status, deal.loss_reason.name, deal.closed_on) == (
        "lost",
        "Дорого",
        date(2026, 5, 2),
    )

    reopened = client.patch("/api/v1/deals/D-1", json={"status": "open"})
    assert reopened.status_code == 200, reopened.get_json()
    deal = _deal("D-1")
    assert (deal.status, deal.closed_on, deal.loss_reason_id, deal.stage.name) == (
        "open",
        None,
        None,
        "Договор",
    )
    assert reopened.get_json()["version"] == deal.version


def test_update_changes_fields_through_update_deal(api, world):
    response = api(world["anna"]).patch(
        "/api/v1/deals/D-1", json={"amount": "2 500", "title": "Новая", "source": "Сайт"}
    )

    assert response.status_code == 200
    deal = _deal("D-1")
    assert (deal.amount, deal.title, deal.source, deal.version) == (
        Decimal(2500),
        "Новая",
        "Сайт",
        2,
    )


def test_the_kind_of_a_deal_cannot_change(api, world):
    response = api("admin").patch("/api/v1/deals/D-1", json={"kind": "Сервис"})

    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "kind", "message": "the kind of a deal cannot be changed"}
    ]


def test_a_participant_moves_the_deal_but_does_not_edit_its_fields(api, world):
    boris = api(world["boris"])

    moved = boris.patch("/api/v1/deals/D-1", json={"stage": "КП"})
    edited = boris.patch("/api/v1/deals/D-1", json={"amount": 1})

    assert moved.status_code == 200
    assert edited.status_code == 403
    assert _deal("D-1").amount == Decimal(1000)


@pytest.mark.parametrize("role", ["viewer", "marketer"])
def test_roles_that_only_read_cannot_write_deals(api, world, role):
    client = api(role)

    assert client.get("/api/v1/deals/D-1").status_code == 200
    assert client.patch("/api/v1/deals/D-1", json={"amount": 1}).status_code == 403
    body = {"partner_code": "P-1", "kind": "Поставка", "amount": 5}
    assert client.post("/api/v1/deals", json=body).status_code == 403


def test_patch_from_an_old_version_is_a_409_with_the_changes(api, world):
    anna = api(world["anna"])
    assert anna.patch("/api/v1/deals/D-1", json={"amount": 2000, "version": 1}).status_code == 200

    response = anna.patch("/api/v1/deals/D-1", json={"title": "Другая", "version": 1})

    assert response.status_code == 409
    assert response.headers["ETag"] == '"2"'
    conflict = response.get_json()["conflict"]
    assert (conflict["version"], conflict["your_version"]) == (2, 1)
    assert conflict["changes"][0]["fields"] == {"amount": ["1000.00", "2000.00"]}
    assert _deal("D-1").title == "Бумага"


def test_if_match_with_an_old_etag_fails_the_precondition(api, world):
    anna = api(world["anna"])
    anna.patch("/api/v1/deals/D-1", json={"amount": 2000})

    response = anna.patch("/api/v1/deals/D-1", json={"amount": 3000}, headers={"If-Match": '"1"'})

    assert response.status_code == 412
    assert _deal("D-1").amount == Decimal(2000)
    fine = anna.patch("/api/v1/deals/D-1", json={"amount": 3000}, headers={"If-Match": '"2"'})
    assert fine.status_code == 200 and _deal("D-1").amount == Decimal(3000)


def test_the_openapi_document_and_the_docs_page_describe_deals(api, client, login_as):
    document = api("viewer").get("/api/v1/openapi.json").get_json()

    assert set(document["paths"]["/deals"]) == {"get", "post"}
    assert set(document["paths"]["/deals/{deal_no}"]) == {"get", "patch"}
    create = document["components"]["schemas"]["DealCreate"]
    assert create["required"] == ["partner_code", "kind", "amount"]
    assert list(document["components"]["schemas"]["Deal"]["properties"]) == FIELDS
    login_as("viewer")
    page = client.get("/api-docs/").get_data(as_text=True)
    assert "/deals/{deal_no}" in page and "DealUpdate" in page
