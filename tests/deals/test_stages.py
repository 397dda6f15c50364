"""Stage rules of process and non-process kinds, the stage history, won and lost (a loss
needs a reason), reopening, and lost updates of deals."""

from datetime import date
from decimal import Decimal

import pytest

from crm.core.errors import DomainError, PermissionDenied
from crm.core.versioning import StaleRecord
from crm.deals import services, stages
from crm.deals.models import WON_POSITION, Deal, LossReason
from crm.extensions import db


@pytest.fixture
def manager(make_user):
    return make_user("manager")


@pytest.fixture
def partner(make_partner, manager):
    return make_partner(responsible=manager)


def _open(manager, partner, kind, **data):
    values = {
        "partner_id": partner.id,
        "kind_id": kind.id,
        "amount": "150 000,50",
        "expected_close": "2026-12-20",
        "created_on": "2026-11-01",
        **data,
    }
    deal = services.create_deal(manager, values)
    db.session.commit()
    return deal


def _stage(kind, name):
    return next(s for s in kind.stages if s.name == name)


def test_new_deal_starts_at_the_first_stage_with_one_history_entry(
    app, manager, partner, make_deal_kind
):
    kind = make_deal_kind(stages=("Lead", "Offer", "Contract"))
    deal = _open(manager, partner, kind)
    assert deal.stage.name == "Lead"
    assert deal.status == "open"
    assert deal.amount == Decimal("150000.50")
    assert deal.manager_id == manager.id
    assert deal.deal_no == "CRM-000001"
    assert deal.reached_position == 1
    assert [(e.stage.name, e.left_at, e.user_id) for e in deal.history] == [
        ("Lead", None, manager.id)
    ]
    assert _open(manager, partner, kind).deal_no == "CRM-000002"


def test_process_kind_refuses_a_skipped_stage_and_going_back(app, manager, partner, make_deal_kind):
    kind = make_deal_kind(name="Поставка", stages=("Lead", "Offer", "Contract"))
    deal = _open(manager, partner, kind)
    with pytest.raises(DomainError) as skipped:
        stages.move(manager, deal, _stage(kind, "Contract").id)
    assert "«Offer»" in skipped.value.message and "«Поставка»" in skipped.value.message
    assert deal.stage.name == "Lead"

    stages.move(manager, deal, _stage(kind, "Offer").id)
    stages.move(manager, deal, _stage(kind, "Contract").id)
    db.session.commit()
    with pytest.raises(DomainError) as back:
        stages.move(manager, deal, _stage(kind, "Lead").id)
    assert "«Lead»" in back.value.message
    assert deal.stage.name == "Contract"
    assert deal.reached_position == 3


def test_process_kind_new_deal_cannot_start_in_the_middle(app, manager, partner, make_deal_kind):
    kind = make_deal_kind(stages=("Lead", "Offer"))
    with pytest.raises(DomainError) as exc:
        _open(manager, partner, kind, stage_id=_stage(kind, "Offer").id)
    assert "stage_id" in exc.value.field_errors


def test_non_process_kind_moves_freely_and_remembers_the_furthest_stage(
    app, manager, partner, make_deal_kind
):
    kind = make_deal_kind(stages=("A", "B", "C", "D"), process=False)
    deal = _open(manager, partner, kind, stage_id=_stage(kind, "B").id)
    assert deal.stage.name == "B"
    stages.move(manager, deal, _stage(kind, "D").id)
    stages.move(manager, deal, _stage(kind, "A").id)
    db.session.commit()
    assert deal.stage.name == "A"
    assert deal.reached_position == 4
    history = [(e.stage.name, e.left_at is None) for e in deal.history]
    assert history == [("B", False), ("D", False), ("A", True)]
    # Each stay ends exactly when the next begins.
    for left, entered in zip(deal.history, deal.history[1:], strict=False):
        assert left.left_at == entered.entered_at


def test_a_stage_of_another_kind_is_refused(app, manager, partner, make_deal_kind):
    kind = make_deal_kind(process=False)
    other = make_deal_kind()
    deal = _open(manager, partner, kind)
    with pytest.raises(DomainError):
        stages.move(manager, deal, other.stages[0].id)


def test_kind_without_stages_records_only_the_result(app, manager, partner, make_deal_kind):
    kind = make_deal_kind(stages=(), process=False)
    deal = _open(manager, partner, kind)
    assert deal.stage_id is None
    stages.win(manager, deal, closed_on="2026-12-01")
    assert deal.status == "won" and deal.closed_on == date(2026, 12, 1)


def test_process_deal_is_won_only_from_its_last_stage(app, manager, partner, make_deal_kind):
    kind = make_deal_kind(stages=("Lead", "Contract"))
    deal = _open(manager, partner, kind)
    with pytest.raises(DomainError) as exc:
        stages.win(manager, deal)
    assert "«Contract»" in exc.value.message
    stages.move(manager, deal, _stage(kind, "Contract").id)
    stages.win(manager, deal, closed_on="03.12.2026", amount="120000")
    db.session.commit()
    assert (deal.status, deal.closed_on, deal.amount) == ("won", date(2026, 12, 3), 120000)
    assert deal.reached_position == WON_POSITION
    assert all(e.left_at is not None for e in deal.history)
    with pytest.raises(DomainError):
        stages.move(manager, deal, _stage(kind, "Lead").id)


def test_lost_needs_a_reason_and_keeps_the_stage_it_was_lost_at(
    app, manager, partner, make_deal_kind
):
    kind = make_deal_kind(stages=("Lead", "Offer", "Contract"))
    deal = _open(manager, partner, kind)
    stages.move(manager, deal, _stage(kind, "Offer").id)
    db.session.commit()
    for bad in (None, "", "999999", "abc"):
        with pytest.raises(DomainError) as exc:
            stages.lose(manager, deal, reason_id=bad)
        assert "loss_reason_id" in exc.value.field_errors
    assert deal.status == "open"
    reason = LossReason(name="Дорого")
    db.session.add(reason)
    db.session.commit()
    stages.lose(manager, deal, reason_id=str(reason.id), comment="  Ушли к конкуренту ")
    db.session.commit()
    assert deal.status == "lost"
    assert deal.stage.name == "Offer"
    assert deal.reached_position == 2
    assert deal.loss_reason.name == "Дорого" and deal.loss_comment == "Ушли к конкуренту"


def test_a_deal_cannot_close_before_it_opened(app, manager, partner, make_deal_kind):
    kind = make_deal_kind(stages=(), process=False)
    deal = _open(manager, partner, kind, created_on="2026-11-01")
    with pytest.raises(DomainError) as exc:
        stages.win(manager, deal, closed_on="2026-10-31")
    assert "closed_on" in exc.value.field_errors
    assert deal.status == "open"


def test_reopen_returns_to_the_stage_and_recomputes_the_furthest(
    app, manager, partner, make_deal_kind
):
    kind = make_deal_kind(stages=("Lead", "Offer", "Contract"))
    deal = _open(manager, partner, kind)
    stages.move(manager, deal, _stage(kind, "Offer").id)
    stages.move(manager, deal, _stage(kind, "Contract").id)
    stages.win(manager, deal)
    db.session.commit()
    stages.reopen(manager, deal)
    db.session.commit()
    assert (deal.status, deal.closed_on, deal.stage.name) == ("open", None, "Contract")
    assert deal.reached_position == 3
    assert [e.stage.name for e in deal.history] == ["Lead", "Offer", "Contract", "Contract"]


def test_stale_move_is_refused(app, manager, partner, make_deal_kind):
    kind = make_deal_kind(stages=("Lead", "Offer", "Contract"))
    deal = _open(manager, partner, kind)
    seen = deal.version
    stages.move(manager, deal, _stage(kind, "Offer").id, version=seen)
    db.session.commit()
    with pytest.raises(StaleRecord):
        stages.move(manager, deal, _stage(kind, "Contract").id, version=seen)
    db.session.rollback()
    assert db.session.get(Deal, deal.id).stage.name == "Offer"


def test_stale_edit_is_refused_with_the_change(app, manager, partner, make_deal_kind):
    kind = make_deal_kind()
    deal = _open(manager, partner, kind)
    seen = deal.version
    services.update_deal(manager, deal, {"amount": "10"}, version=seen)
    db.session.commit()
    with pytest.raises(StaleRecord) as exc:
        services.update_deal(manager, deal, {"amount": "20"}, version=seen)
    assert exc.value.changes
    db.session.rollback()
    assert db.session.get(Deal, deal.id).amount == 10


def test_participant_moves_but_does_not_edit_or_see_others(
    app, manager, partner, make_user, make_deal_kind, make_deal
):
    kind = make_deal_kind(process=False)
    helper, stranger = make_user("manager"), make_user("manager")
    deal = make_deal(partner, kind, manager=manager, participants=[helper])
    stages.move(helper, deal, kind.stages[1].id)
    with pytest.raises(PermissionDenied):
        services.update_deal(helper, deal, {"amount": "5"})
    with pytest.raises(PermissionDenied):
        stages.move(stranger, deal, kind.stages[2].id)
    for role in ("viewer", "marketer"):
        with pytest.raises(PermissionDenied):
            stages.move(make_user(role), deal, kind.stages[2].id)


def test_form_errors_are_reported_together(app, manager, partner, make_deal_kind):
    kind = make_deal_kind()
    with pytest.raises(DomainError) as exc:
        services.create_deal(
            manager,
            {
                "partner_id": "x",
                "kind_id": kind.id,
                "amount": "abc",
                "expected_close": "31.02.2026",
            },
        )
    assert set(exc.value.field_errors) == {"partner_id", "amount", "expected_close"}
    assert db.session.query(Deal).count() == 0
