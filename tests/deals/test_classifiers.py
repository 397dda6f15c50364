"""The admins' deal settings: kinds with their stages (order, default probability, delete only
when unused), the deals' furthest positions following a reorder, participant roles and loss
reasons; only admins get in; CSRF; HTMX fragments; the Russian pages."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.core.errors import DomainError, PermissionDenied
from crm.core.models import AuditEntry
from crm.deals import classifiers, services
from crm.deals.models import (
    WON_POSITION,
    Deal,
    DealKind,
    DealRole,
    DealStage,
    DealStageEntry,
    LossReason,
)
from crm.extensions import db
from tests.auth.helpers import csrf_from_form

HTMX = {"HX-Request": "true"}
SETTINGS = "/deals/settings"


@pytest.fixture
def admin(login_as):
    return login_as("admin")


@pytest.fixture
def partner(make_partner):
    return make_partner()


def stage_rows(kind_id: int) -> list[tuple[int, str, Decimal]]:
    """The kind's stages as stored (read afresh)."""
    db.session.expire_all()
    return [
        (s.position, s.name, s.probability)
        for s in db.session.execute(
            select(DealStage).where(DealStage.kind_id == kind_id).order_by(DealStage.position)
        ).scalars()
    ]


def reached(*deals) -> list[int]:
    db.session.expire_all()
    return [db.session.get(Deal, d.id).reached_position for d in deals]


def with_history(deal, kind, names: list[str]) -> None:
    """Replace the deal's stage history by stays at `names`, one day apart, the last open."""
    by_name = {s.name: s for s in kind.stages}
    start = datetime(2026, 1, 10)
    deal.history = [
        DealStageEntry(
            stage_id=by_name[n].id,
            entered_at=start + timedelta(days=i),
            left_at=None if i == len(names) - 1 else start + timedelta(days=i + 1),
        )
        for i, n in enumerate(names)
    ]
    db.session.commit()


def stage_id(kind, name: str) -> int:
    return next(s.id for s in kind.stages if s.name == name)


# --- kinds ----------------------------------------------------------------------------------


def test_admin_creates_a_kind_with_its_stages(client, admin):
    response = client.post(
        f"{SETTINGS}/kinds/new",
        data={
            "name": "  Поставка   оборудования ",
            "is_process": "1",
            "stages": "Квалификация\r\n\r\nПредложение\r\n  Договор  \r\n",
        },
    )

    kind = db.session.execute(select(DealKind)).scalar_one()
    assert response.status_code == 302
    assert response.headers["Location"] == f"{SETTINGS}/kinds/{kind.id}"
    assert (kind.name, kind.is_process, kind.is_active) == ("Поставка оборудования", True, True)
    assert stage_rows(kind.id) == [
        (1, "Квалификация", Decimal("0.00")),
        (2, "Предложение", Decimal("0.00")),
        (3, "Договор", Decimal("0.00")),
    ]
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.object_type == "deal_kind")
    ).scalar_one()
    assert (entry.action, entry.user_id, entry.object_id) == ("create", admin.id, kind.id)

    listing = client.get(f"{SETTINGS}/kinds").get_data(as_text=True)
    assert "Поставка оборудования" in listing
    page = client.get(f"{SETTINGS}/kinds/{kind.id}").get_data(as_text=True)
    assert page.index("Квалификация") < page.index("Предложение") < page.index("Договор")


def test_a_kind_without_the_process_flag_and_without_stages(client, admin):
    client.post(f"{SETTINGS}/kinds/new", data={"name": "Разовая продажа", "stages": ""})

    kind = db.session.execute(select(DealKind)).scalar_one()
    assert (kind.is_process, kind.stages) == (False, [])
    page = client.get(f"{SETTINGS}/kinds/{kind.id}").get_data(as_text=True)
    assert "only the result of a deal of this kind is recorded" in page


def test_kind_names_are_unique_ignoring_case(client, admin, make_deal_kind):
    make_deal_kind(name="Поставка")

    response = client.post(f"{SETTINGS}/kinds/new", data={"name": "ПОСТАВКА", "stages": "Лид\nлид"})

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "A kind of deal named «Поставка» already exists." in page
    assert "The stage «лид» is named twice." in page
    assert 'value="ПОСТАВКА"' in page  # what was typed stays
    assert db.session.query(DealKind).count() == 1


def test_empty_kind_name_is_refused(client, admin):
    response = client.post(f"{SETTINGS}/kinds/new", data={"name": "   ", "stages": "A"})

    assert response.status_code == 422
    assert "Enter a name." in response.get_data(as_text=True)
    assert db.session.query(DealKind).count() == 0


def test_admin_renames_a_kind_and_a_duplicate_is_refused(client, admin, make_deal_kind):
    kind = make_deal_kind(name="Услуги", process=True)
    make_deal_kind(name="Проект")

    renamed = client.post(
        f"{SETTINGS}/kinds/{kind.id}/edit", data={"name": "Сервисные услуги", "is_process": "1"}
    )
    taken = client.post(
        f"{SETTINGS}/kinds/{kind.id}/edit", data={"name": "проект", "is_process": "1"}
    )

    assert renamed.status_code == 302
    assert taken.status_code == 422
    assert "A kind of deal named «Проект» already exists." in taken.get_data(as_text=True)
    db.session.expire_all()
    assert (kind.name, kind.is_process) == ("Сервисные услуги", True)


def test_turning_a_kind_into_a_process_is_allowed_and_says_which_deals_went_out_of_order(
    client, admin, make_deal_kind, make_deal, partner
):
    kind = make_deal_kind(name="Свободный", stages=("A", "B", "C"), process=False)
    in_order = make_deal(partner, kind, stage="B")
    with_history(in_order, kind, ["A", "B"])
    reopened = make_deal(partner, kind, stage="B")
    with_history(reopened, kind, ["A", "B", "B"])  # closed and reopened at B: in order
    skipped = make_deal(partner, kind, stage="C")
    with_history(skipped, kind, ["A", "C"])
    went_back = make_deal(partner, kind, stage="A")
    with_history(went_back, kind, ["A", "B", "A"])
    started_late = make_deal(partner, kind, stage="B")
    with_history(started_late, kind, ["B"])
    closed = make_deal(partner, kind, stage="C", status="lost", loss_reason="Цена")
    with_history(closed, kind, ["C"])  # closed deals are not counted

    before = client.get(f"{SETTINGS}/kinds/{kind.id}").get_data(as_text=True)
    switched = client.post(
        f"{SETTINGS}/kinds/{kind.id}/edit", data={"name": "Свободный", "is_process": "1"}
    )
    page = client.get(switched.headers["Location"]).get_data(as_text=True)

    assert "3 open deals of this kind got to their stages out of order" in before
    assert switched.status_code == 302
    assert "From now on the stages of «Свободный» go strictly in order." in page
    assert "3 open deals got to their stages out of order." in page
    db.session.expire_all()
    assert kind.is_process is True
    assert db.session.get(Deal, skipped.id).stage.name == "C"  # nothing moved


def test_deactivating_a_kind_keeps_its_deals_and_refuses_new_ones(
    client, admin, make_deal_kind, make_deal, partner
):
    kind = make_deal_kind(name="Старый вид")
    deal = make_deal(partner, kind)

    off = client.post(f"{SETTINGS}/kinds/{kind.id}/active?active=0")
    db.session.expire_all()
    assert off.status_code == 302
    assert kind.is_active is False
    assert db.session.get(Deal, deal.id).kind_id == kind.id
    with pytest.raises(DomainError) as refused:
        services.create_deal(
            admin,
            {"partner_id": partner.id, "kind_id": kind.id, "expected_close": "2026-12-20"},
        )
    assert "kind_id" in refused.value.field_errors

    client.post(f"{SETTINGS}/kinds/{kind.id}/active?active=1")
    db.session.expire_all()
    assert kind.is_active is True


# --- stages ---------------------------------------------------------------------------------


def test_admin_adds_renames_and_sets_the_probability_of_stages(client, admin, make_deal_kind):
    kind = make_deal_kind(stages=("Лид", "Предложение"))

    added = client.post(
        f"{SETTINGS}/kinds/{kind.id}/stages/new", data={"name": "Договор", "probability": "80"}
    )
    edited = client.post(
        f"{SETTINGS}/kinds/{kind.id}/stages/{stage_id(kind, 'Лид')}/edit",
        data={"name": "Квалификация", "probability": "12,5", "position": "1"},
    )
    percent = client.post(
        f"{SETTINGS}/kinds/{kind.id}/stages/{stage_id(kind, 'Предложение')}/edit",
        data={"name": "Предложение", "probability": "100 %", "position": "2"},
    )

    assert (added.status_code, edited.status_code, percent.status_code) == (302, 302, 302)
    assert stage_rows(kind.id) == [
        (1, "Квалификация", Decimal("12.50")),
        (2, "Предложение", Decimal("100.00")),
        (3, "Договор", Decimal("80.00")),
    ]
    entries = db.session.execute(
        select(AuditEntry.action, AuditEntry.object_type, AuditEntry.root_id).order_by(
            AuditEntry.id
        )
    ).all()
    assert entries == [
        ("create", "deal_stage", kind.id),
        ("update", "deal_stage", kind.id),
        ("update", "deal_stage", kind.id),
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("-1", "The probability must be from 0 to 100 percent."),
        ("101", "The probability must be from 0 to 100 percent."),
        ("100000", "The probability must be from 0 to 100 percent."),
        ("abc", "Enter the probability as a number from 0 to 100."),
        ("1e2", "Enter the probability as a number from 0 to 100."),
    ],
)
def test_a_bad_probability_gets_a_message_next_to_the_field(
    client, admin, make_deal_kind, raw, message
):
    kind = make_deal_kind(stages=("Лид", "Договор"), probabilities=(10, 90))
    lead = stage_id(kind, "Лид")

    edited = client.post(
        f"{SETTINGS}/kinds/{kind.id}/stages/{lead}/edit",
        data={"name": "Новый лид", "probability": raw, "position": "1"},
    )
    added = client.post(
        f"{SETTINGS}/kinds/{kind.id}/stages/new",
        data={"name": "Оплата", "probability": raw},
        headers=HTMX,
    )

    assert (edited.status_code, added.status_code) == (422, 422)
    page = edited.get_data(as_text=True)
    assert message in page
    # The message sits in the stage's own form, under the probability input it concerns.
    row = page[page.index(f'id="stage-{lead}"') :]
    row = row[: row.index("</form>")]
    assert 'name="probability"' in row and message in row
    assert 'value="Новый лид"' in row  # the typed name is kept
    fragment = added.get_data(as_text=True)
    assert "<html" not in fragment and message in fragment
    assert stage_rows(kind.id) == [(1, "Лид", Decimal("10.00")), (2, "Договор", Decimal("90.00"))]


def test_service_reports_probability_and_name_errors_at_once(app, make_user, make_deal_kind):
    admin = make_user("admin")
    kind = make_deal_kind(stages=("Лид", "Договор"))

    with pytest.raises(DomainError) as refused:
        classifiers.add_stage(admin, kind, "договор", "101")

    assert set(refused.value.field_errors) == {"name", "probability"}
    assert refused.value.field_errors["name"] == [
        f"«{kind.name}» already has a stage named «Договор»."
    ]


def test_stage_names_repeat_across_kinds_but_not_within_one(client, admin, make_deal_kind):
    first = make_deal_kind(stages=("Лид", "Договор"))
    second = make_deal_kind(stages=("Лид",))

    other_kind = client.post(
        f"{SETTINGS}/kinds/{second.id}/stages/new", data={"name": "Договор", "probability": ""}
    )
    same_kind = client.post(
        f"{SETTINGS}/kinds/{first.id}/stages/{stage_id(first, 'Лид')}/edit",
        data={"name": "ДОГОВОР", "probability": "0", "position": "1"},
    )

    assert other_kind.status_code == 302
    assert same_kind.status_code == 422
    assert "already has a stage named «Договор»" in same_kind.get_data(as_text=True)
    assert [n for _p, n, _pr in stage_rows(second.id)] == ["Лид", "Договор"]


def test_reordering_stages_recomputes_how_far_each_deal_got(
    app, make_user, make_deal_kind, make_deal, partner
):
    admin = make_user("admin")
    kind = make_deal_kind(stages=("A", "B", "C", "D"), process=False)
    other = make_deal_kind(stages=("A", "B"))
    at_b = make_deal(partner, kind, stage="B")
    with_history(at_b, kind, ["A", "B"])
    lost_at_c = make_deal(partner, kind, stage="C", status="lost", loss_reason="Цена")
    with_history(lost_at_c, kind, ["A", "B", "C"])
    won = make_deal(partner, kind, stage="D", status="won")
    with_history(won, kind, ["A", "B", "C", "D"])
    skipped_to_d = make_deal(partner, kind, stage="D")
    with_history(skipped_to_d, kind, ["A", "D"])
    went_back = make_deal(partner, kind, stage="A")
    with_history(went_back, kind, ["A", "C", "A"])
    imported = make_deal(partner, kind, stage="C")  # no history at all
    imported.history = []
    db.session.commit()
    elsewhere = make_deal(partner, other, stage="B")
    assert reached(at_b, lost_at_c, won, skipped_to_d, went_back, imported, elsewhere) == [
        2,
        3,
        WON_POSITION,
        4,
        1,
        3,
        2,
    ]  # fmt: skip  (as the factory set them: the current stage's position)

    db.session.expire_all()
    touched_at = db.session.get(Deal, at_b.id).updated_at
    # New order D, C, A, B: D=1, C=2, A=3, B=4.
    by_name = {s.name: s.id for s in kind.stages}
    classifiers.reorder_stages(admin, kind, [by_name[n] for n in ("D", "C", "A", "B")])
    db.session.commit()

    assert [n for _p, n, _pr in stage_rows(kind.id)] == ["D", "C", "A", "B"]
    # By hand: {A,B}→4, {A,B,C}→4, won stays, {A,D}→3, {A,C}→3, current C→2; other kind as was.
    assert reached(at_b, lost_at_c, won, skipped_to_d, went_back, imported, elsewhere) == [
        4, 4, WON_POSITION, 3, 3, 2, 2
    ]  # fmt: skip
    assert db.session.get(Deal, at_b.id).updated_at == touched_at  # no edit of the deal


def test_reorder_must_name_every_stage_once(app, make_user, make_deal_kind):
    admin = make_user("admin")
    kind = make_deal_kind(stages=("A", "B", "C"))
    ids = [s.id for s in kind.stages]

    for bad in ([ids[0], ids[1]], [ids[0], ids[0], ids[1]], [*ids, 999]):
        with pytest.raises(DomainError):
            classifiers.reorder_stages(admin, kind, bad)
    assert [n for _p, n, _pr in stage_rows(kind.id)] == ["A", "B", "C"]


def test_moving_a_stage_up_and_down_from_the_page(
    client, admin, make_deal_kind, make_deal, partner
):
    kind = make_deal_kind(stages=("A", "B", "C"))
    deal = make_deal(partner, kind, stage="B")
    with_history(deal, kind, ["A", "B"])
    c = stage_id(kind, "C")

    up = client.post(f"{SETTINGS}/kinds/{kind.id}/stages/{c}/move?direction=up", headers=HTMX)
    assert up.status_code == 200
    fragment = up.get_data(as_text=True)
    assert "<html" not in fragment
    assert 'id="deal-stages"' in fragment
    assert "The stage «C» is now number 2." in fragment
    assert [n for _p, n, _pr in stage_rows(kind.id)] == ["A", "C", "B"]
    assert reached(deal) == [3]  # B is third now

    top = client.post(f"{SETTINGS}/kinds/{kind.id}/stages/{stage_id(kind, 'A')}/move?direction=up")
    down = client.post(f"{SETTINGS}/kinds/{kind.id}/stages/{c}/move", data={"direction": "down"})
    assert (top.status_code, down.status_code) == (302, 302)
    assert down.headers["Location"].startswith(f"{SETTINGS}/kinds/{kind.id}")
    assert [n for _p, n, _pr in stage_rows(kind.id)] == ["A", "B", "C"]
    assert reached(deal) == [2]
    bad = client.post(f"{SETTINGS}/kinds/{kind.id}/stages/{c}/move?direction=sideways")
    assert bad.status_code == 400


def test_the_position_field_moves_a_stage_there(client, admin, make_deal_kind):
    kind = make_deal_kind(stages=("A", "B", "C", "D"))

    moved = client.post(
        f"{SETTINGS}/kinds/{kind.id}/stages/{stage_id(kind, 'D')}/edit",
        data={"name": "D", "probability": "0", "position": "2"},
    )
    bad = client.post(
        f"{SETTINGS}/kinds/{kind.id}/stages/{stage_id(kind, 'A')}/edit",
        data={"name": "A", "probability": "0", "position": "5"},
    )

    assert moved.status_code == 302
    assert bad.status_code == 422
    assert "The position is a whole number from 1 to 4." in bad.get_data(as_text=True)
    assert [n for _p, n, _pr in stage_rows(kind.id)] == ["A", "D", "B", "C"]


def test_deleting_an_unused_stage_renumbers_the_rest(
    client, admin, make_deal_kind, make_deal, partner
):
    kind = make_deal_kind(stages=("A", "B", "C", "D"))
    deal = make_deal(partner, kind, stage="D")
    with_history(deal, kind, ["A", "D"])

    response = client.post(f"{SETTINGS}/kinds/{kind.id}/stages/{stage_id(kind, 'B')}/delete")

    assert response.status_code == 302
    assert [(p, n) for p, n, _pr in stage_rows(kind.id)] == [(1, "A"), (2, "C"), (3, "D")]
    assert reached(deal) == [3]
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "delete")).scalar_one()
    assert (entry.object_type, entry.root_id) == ("deal_stage", kind.id)


def test_a_stage_a_deal_is_or_was_at_cannot_be_deleted(
    client, admin, make_deal_kind, make_deal, partner
):
    kind = make_deal_kind(stages=("A", "B", "C"))
    deal = make_deal(partner, kind, stage="C")
    with_history(deal, kind, ["A", "C"])  # was at A, is at C

    for name in ("A", "C"):
        response = client.post(
            f"{SETTINGS}/kinds/{kind.id}/stages/{stage_id(kind, name)}/delete", headers=HTMX
        )
        body = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "<html" not in body
        assert f"Deals are or were at the stage «{name}», so it cannot be deleted" in body
        assert "Keep it" in body
    assert [n for _p, n, _pr in stage_rows(kind.id)] == ["A", "B", "C"]
    page = client.get(f"{SETTINGS}/kinds/{kind.id}").get_data(as_text=True)
    # Only the unused stage offers a delete button.
    for name, offered in (("A", False), ("B", True), ("C", False)):
        assert (f"/stages/{stage_id(kind, name)}/delete" in page) is offered, name


def test_stages_of_another_kind_are_not_found(client, admin, make_deal_kind):
    kind = make_deal_kind(stages=("A",))
    other = make_deal_kind(stages=("X",))

    response = client.post(
        f"{SETTINGS}/kinds/{kind.id}/stages/{stage_id(other, 'X')}/edit",
        data={"name": "Y", "probability": "0"},
    )

    assert response.status_code == 404
    assert client.get(f"{SETTINGS}/kinds/9999").status_code == 404


# --- participant roles and loss reasons -----------------------------------------------------

NAMED = [("roles", DealRole), ("loss-reasons", LossReason)]


@pytest.mark.parametrize(("path", "model"), NAMED)
def test_admin_creates_renames_deactivates_and_activates(client, admin, path, model):
    created = client.post(f"{SETTINGS}/{path}/new", data={"name": " ЛПР "})
    row = db.session.execute(select(model)).scalar_one()
    renamed = client.post(
        f"{SETTINGS}/{path}/{row.id}/edit", data={"name": "Лицо, принимающее решение"}
    )
    off = client.post(f"{SETTINGS}/{path}/{row.id}/active?active=0")

    assert (created.status_code, renamed.status_code, off.status_code) == (302, 302, 302)
    assert off.headers["Location"] == f"{SETTINGS}/{path}"
    db.session.expire_all()
    assert (row.name, row.is_active) == ("Лицо, принимающее решение", False)
    page = client.get(f"{SETTINGS}/{path}").get_data(as_text=True)
    assert "Лицо, принимающее решение" in page and "not in use" in page

    on = client.post(f"{SETTINGS}/{path}/{row.id}/active", data={"active": "1"}, headers=HTMX)
    assert on.status_code == 200
    assert "<html" not in on.get_data(as_text=True)
    db.session.expire_all()
    assert row.is_active is True
    actions = (
        db.session.execute(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == model.__tablename__)
            .order_by(AuditEntry.id)
        )
        .scalars()
        .all()
    )
    assert actions == ["create", "update", "update", "update"]


@pytest.mark.parametrize(("path", "model"), NAMED)
def test_a_duplicate_name_is_refused_ignoring_case(client, admin, path, model):
    client.post(f"{SETTINGS}/{path}/new", data={"name": "Цена"})
    client.post(f"{SETTINGS}/{path}/new", data={"name": "Сроки"})
    first, second = db.session.execute(select(model).order_by(model.id)).scalars().all()

    again = client.post(f"{SETTINGS}/{path}/new", data={"name": "цена"}, headers=HTMX)
    renamed = client.post(f"{SETTINGS}/{path}/{second.id}/edit", data={"name": "ЦЕНА"})
    empty = client.post(f"{SETTINGS}/{path}/new", data={"name": ""})

    word = "participant role" if model is DealRole else "loss reason"
    assert again.status_code == 422
    body = again.get_data(as_text=True)
    assert "<html" not in body and f"A {word} named «Цена» already exists." in body
    assert renamed.status_code == 422
    assert f"A {word} named «Цена» already exists." in renamed.get_data(as_text=True)
    assert empty.status_code == 422 and "Enter a name." in empty.get_data(as_text=True)
    db.session.expire_all()
    assert [r.name for r in db.session.execute(select(model).order_by(model.id)).scalars()] == [
        "Цена",
        "Сроки",
    ]


def test_a_name_saved_meanwhile_by_another_admin_gets_a_message_not_an_error(
    app, make_user, make_deal_kind, monkeypatch
):
    admin = make_user("admin")
    make_deal_kind(name="Поставка", stages=("Лид",))
    classifiers.create_role(admin, "ЛПР")
    db.session.commit()
    # As if the other admin's row arrived between the check and the write.
    for module in (classifiers.kinds, classifiers.named):
        monkeypatch.setattr(module, "same_name", lambda *a, **kw: None)

    with pytest.raises(DomainError) as kind_refused:
        classifiers.create_kind(admin, "Поставка")
    with pytest.raises(DomainError) as role_refused:
        classifiers.create_role(admin, "ЛПР")

    for refused in (kind_refused, role_refused):
        assert refused.value.field_errors["name"] == [
            "Someone has just saved the same name here: reload the page and try again."
        ]
    # Only the savepoint was undone: the session goes on.
    assert classifiers.create_loss_reason(admin, "Цена").id is not None
    db.session.commit()
    assert db.session.query(DealKind).count() == 1
    assert db.session.query(DealRole).count() == 1


def test_a_deactivated_loss_reason_cannot_be_chosen_for_a_loss(
    app, make_user, make_deal_kind, make_deal, partner
):
    from crm.deals import stages

    admin = make_user("admin")
    reason = classifiers.create_loss_reason(admin, "Дорого")
    classifiers.set_loss_reason_active(admin, reason, False)
    deal = make_deal(partner, make_deal_kind(), manager=admin)
    db.session.commit()

    with pytest.raises(DomainError) as refused:
        stages.lose(admin, deal, reason_id=reason.id)
    assert "loss_reason_id" in refused.value.field_errors


# --- who gets in ----------------------------------------------------------------------------


def _every_request(kind_id, stage_id_, role_id, reason_id):
    pages = ["/kinds", f"/kinds/{kind_id}", "/roles", "/loss-reasons"]
    posts = [
        ("/kinds/new", {"name": "X", "stages": "A"}),
        (f"/kinds/{kind_id}/edit", {"name": "X", "is_process": "1"}),
        (f"/kinds/{kind_id}/active?active=0", {}),
        (f"/kinds/{kind_id}/stages/new", {"name": "X"}),
        (f"/kinds/{kind_id}/stages/{stage_id_}/edit", {"name": "X", "probability": "5"}),
        (f"/kinds/{kind_id}/stages/{stage_id_}/move?direction=down", {}),
        (f"/kinds/{kind_id}/stages/{stage_id_}/delete", {}),
        ("/roles/new", {"name": "X"}),
        (f"/roles/{role_id}/edit", {"name": "X"}),
        (f"/roles/{role_id}/active?active=0", {}),
        ("/loss-reasons/new", {"name": "X"}),
        (f"/loss-reasons/{reason_id}/edit", {"name": "X"}),
        (f"/loss-reasons/{reason_id}/active?active=0", {}),
    ]
    return pages, posts


def _state():
    db.session.expire_all()
    return (
        [(k.name, k.is_active, k.is_process) for k in db.session.query(DealKind)],
        [(s.name, s.position, s.probability) for s in db.session.query(DealStage)],
        [(r.name, r.is_active) for r in db.session.query(DealRole)],
        [(r.name, r.is_active) for r in db.session.query(LossReason)],
    )


@pytest.mark.parametrize("role", ["manager", "marketer", "viewer"])
def test_only_admins_open_and_change_the_settings(client, login_as, make_deal_kind, role):
    kind = make_deal_kind(stages=("A", "B"))
    db.session.add_all([DealRole(name="ЛПР"), LossReason(name="Цена")])
    db.session.commit()
    role_id = db.session.query(DealRole).one().id
    reason_id = db.session.query(LossReason).one().id
    before = _state()
    login_as(role)

    pages, posts = _every_request(kind.id, kind.stages[0].id, role_id, reason_id)
    for path in pages:
        assert client.get(SETTINGS + path).status_code == 403, path
        assert client.get(SETTINGS + path, headers=HTMX).status_code == 403, path
    for path, data in posts:
        assert client.post(SETTINGS + path, data=data).status_code == 403, path
        assert client.post(SETTINGS + path, data=data, headers=HTMX).status_code == 403, path
    assert _state() == before
    assert "Deal settings" not in client.get("/partners/").get_data(as_text=True)


def test_the_menu_shows_the_settings_to_admins(client, admin):
    page = client.get("/partners/").get_data(as_text=True)
    assert f'href="{SETTINGS}/kinds">Deal settings</a>' in page


def test_anonymous_users_are_sent_to_sign_in(client, make_deal_kind):
    response = client.get(f"{SETTINGS}/kinds")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["manager", "marketer", "viewer"])
def test_the_services_refuse_non_admins(app, make_user, make_deal_kind, role):
    user = make_user(role)
    kind = make_deal_kind(stages=("A", "B"))
    calls = [
        lambda: classifiers.create_kind(user, "X"),
        lambda: classifiers.update_kind(user, kind, name="X", is_process=False),
        lambda: classifiers.set_kind_active(user, kind, False),
        lambda: classifiers.add_stage(user, kind, "C"),
        lambda: classifiers.update_stage(user, kind.stages[0], name="X", probability="1"),
        lambda: classifiers.move_stage(user, kind.stages[0], 1),
        lambda: classifiers.reorder_stages(user, kind, [s.id for s in kind.stages][::-1]),
        lambda: classifiers.delete_stage(user, kind.stages[0]),
        lambda: classifiers.create_role(user, "X"),
        lambda: classifiers.create_loss_reason(user, "X"),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()


# --- CSRF, fragments, Russian -----------------------------------------------------------------


def test_posts_without_the_csrf_token_are_refused(app, client, admin, make_deal_kind):
    kind = make_deal_kind(stages=("A", "B"))
    app.config["WTF_CSRF_ENABLED"] = True

    no_token = client.post(f"{SETTINGS}/roles/new", data={"name": "ЛПР"})
    stage = client.post(
        f"{SETTINGS}/kinds/{kind.id}/stages/{kind.stages[0].id}/edit",
        data={"name": "Z", "probability": "1", "position": "1"},
        headers=HTMX,
    )
    assert (no_token.status_code, stage.status_code) == (400, 400)
    assert db.session.query(DealRole).count() == 0

    token = csrf_from_form(client.get(f"{SETTINGS}/roles").get_data(as_text=True))
    with_token = client.post(f"{SETTINGS}/roles/new", data={"name": "ЛПР", "csrf_token": token})
    assert with_token.status_code == 302
    assert db.session.query(DealRole).one().name == "ЛПР"


def test_htmx_gets_fragments_and_pages_get_pages(client, admin, make_deal_kind):
    kind = make_deal_kind(name="Поставка", stages=("A", "B"))

    for path, element in [
        ("/kinds", 'id="deal-kinds"'),
        (f"/kinds/{kind.id}", 'id="deal-stages"'),
        ("/roles", 'id="classifier-rows"'),
        ("/loss-reasons", 'id="classifier-rows"'),
    ]:
        fragment = client.get(SETTINGS + path, headers=HTMX)
        page = client.get(SETTINGS + path)
        assert "<html" not in fragment.get_data(as_text=True), path
        assert element in fragment.get_data(as_text=True), path
        assert "<html" in page.get_data(as_text=True), path
        assert "HX-Request" in fragment.headers["Vary"]

    added = client.post(
        f"{SETTINGS}/kinds/{kind.id}/stages/new",
        data={"name": "C", "probability": "50"},
        headers=HTMX,
    )
    body = added.get_data(as_text=True)
    assert added.status_code == 200
    assert "<html" not in body
    assert "The stage «C» is added." in body
    assert 'value="C"' in body


def test_the_settings_pages_in_russian(client, login_as, make_deal_kind, make_deal, partner):
    login_as("admin", locale="ru")
    kind = make_deal_kind(name="Поставка", stages=("Лид", "Договор"), probabilities=(12.5, 90))
    deal = make_deal(partner, kind, stage="Лид")
    with_history(deal, kind, ["Лид"])

    kinds = client.get(f"{SETTINGS}/kinds").get_data(as_text=True)
    one = client.get(f"{SETTINGS}/kinds/{kind.id}").get_data(as_text=True)
    roles = client.get(f"{SETTINGS}/roles").get_data(as_text=True)
    reasons = client.get(f"{SETTINGS}/loss-reasons").get_data(as_text=True)
    bad = client.post(
        f"{SETTINGS}/kinds/{kind.id}/stages/{stage_id(kind, 'Договор')}/edit",
        data={"name": "Договор", "probability": "101", "position": "2"},
        headers=HTMX,
    ).get_data(as_text=True)
    used = client.post(
        f"{SETTINGS}/kinds/{kind.id}/stages/{stage_id(kind, 'Лид')}/delete", headers=HTMX
    ).get_data(as_text=True)

    assert "Настройки сделок" in kinds and "Виды сделок" in kinds and "Вид сделки" in kinds
    assert "Этапы" in one and "Вероятность, %" in one
    assert 'value="12,5"' in one  # the probability in the reader's format
    assert "1 сделка на этапе" in one
    assert "Роли участников" in roles
    assert "Причины проигрыша" in reasons
    assert "Вероятность — от 0 до 100 процентов." in bad
    assert "«Лид»" in used and "Оставьте его" in used
