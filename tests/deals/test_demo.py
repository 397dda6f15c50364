"""`crm demo` gives deals: a process kind and a non-process kind with their stages, roles and
loss reasons; about two years of closed deals (won, and lost with a reason at various stages),
a few dozen open ones around today (some overdue, some stale), and stage histories that follow
the kinds' rules. Every check reads the tables with its own queries, never through
crm.deals.demo or the services."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from statistics import median

import pytest
from sqlalchemy import select

from crm.core.timeutil import site_today, utcnow
from crm.deals.models import (
    WON_POSITION,
    Deal,
    DealContact,
    DealDocument,
    DealKind,
    DealParticipant,
    DealRole,
    DealStageEntry,
    LossReason,
)
from crm.extensions import db
from crm.interactions.models import Interaction
from crm.partners.models import ContactPerson, Partner
from crm.sales.models import SalesDocument


def _demo(runner, *args: str) -> None:
    result = runner.invoke(args=["crm", "demo", "--partners", "60", "--seed", "7", *args])
    assert result.exit_code == 0, result.output
    db.session.expire_all()


@pytest.fixture
def deals(runner) -> list[Deal]:
    _demo(runner)
    return list(db.session.execute(select(Deal).order_by(Deal.id)).scalars())


def test_demo_has_a_process_kind_and_a_free_kind_with_roles_and_reasons(deals):
    kinds = {k.name: k for k in db.session.execute(select(DealKind)).scalars()}
    assert set(kinds) == {"Поставка оборудования", "Сервисный контракт"}
    supply, service = kinds["Поставка оборудования"], kinds["Сервисный контракт"]
    assert supply.is_process and not service.is_process
    assert [(s.position, s.name, int(s.probability)) for s in supply.stages] == [
        (1, "Квалификация", 10),
        (2, "Выявление потребностей", 25),
        (3, "Коммерческое предложение", 50),
        (4, "Переговоры", 70),
        (5, "Договор", 90),
    ]
    assert len(service.stages) >= 3
    assert {r.name for r in db.session.execute(select(DealRole)).scalars()} == {
        "ЛПР",
        "Влияющий",
        "Пользователь",
    }
    assert {r.name for r in db.session.execute(select(LossReason)).scalars()} == {
        "Дорого",
        "Выбрали конкурента",
        "Нет бюджета",
        "Не отвечает",
        "Сроки не устроили",
    }
    assert {d.kind_id for d in deals} == {supply.id, service.id}


def test_demo_closed_deals_span_two_years_won_and_lost_with_reasons(deals):
    today = site_today()
    closed = [d for d in deals if d.status != "open"]
    assert len(closed) >= 40
    by_kind_status = Counter((d.kind.name, d.status) for d in closed)
    for kind in ("Поставка оборудования", "Сервисный контракт"):
        assert by_kind_status[(kind, "won")] > 0 and by_kind_status[(kind, "lost")] > 0
    for d in closed:
        assert d.created_on <= d.closed_on < today, d.deal_no
        assert d.created_on >= today - timedelta(days=731), d.deal_no
        assert d.amount > 0, d.deal_no
        assert (d.loss_reason_id is not None) == (d.status == "lost"), d.deal_no
    assert min(d.created_on for d in closed) <= today - timedelta(days=600)
    assert max(d.closed_on for d in closed) >= today - timedelta(days=60)
    # Lost at various stages of the process kind, for more than one reason.
    lost = [d for d in closed if d.status == "lost" and d.kind.is_process]
    assert len({d.stage.position for d in lost}) >= 3
    assert len({d.loss_reason_id for d in closed if d.status == "lost"}) >= 3
    # Managers differ: win rates (won / closed) at least 10 points apart.
    won, total = Counter(), Counter()
    for d in closed:
        total[d.manager_id] += 1
        won[d.manager_id] += d.status == "won"
    rates = [won[m] / total[m] for m in total if total[m] >= 5]
    assert len(rates) >= 2 and max(rates) - min(rates) >= 0.10


def test_demo_open_deals_sit_at_various_stages_some_overdue_some_stale(deals):
    today, now = site_today(), utcnow()
    open_deals = [d for d in deals if d.status == "open"]
    assert 40 <= len(open_deals) <= 80
    assert len({d.stage_id for d in open_deals}) >= 5
    for d in open_deals:
        assert d.closed_on is None and d.loss_reason_id is None, d.deal_no
        assert d.expected_close is not None and d.expected_close >= d.created_on, d.deal_no
        assert d.stage_entered_at <= now, d.deal_no
    overdue = [d for d in open_deals if d.expected_close < today]
    assert 0 < len(overdue) < len(open_deals) / 2
    assert max(d.expected_close for d in open_deals) >= today + timedelta(days=30)
    # Stale: more days in the stage than twice the median of its open deals.
    days = defaultdict(list)
    for d in open_deals:
        days[d.stage_id].append((now - d.stage_entered_at).days)
    stale = [
        d for d in open_deals if (now - d.stage_entered_at).days > 2 * median(days[d.stage_id])
    ]
    assert 0 < len(stale) < len(open_deals) / 3


def test_demo_stage_histories_follow_the_kinds_rules(deals):
    history = defaultdict(list)
    for e in db.session.execute(
        select(DealStageEntry).order_by(DealStageEntry.entered_at, DealStageEntry.id)
    ).scalars():
        history[e.deal_id].append(e)
    for d in deals:
        stays = history[d.id]
        assert stays, d.deal_no
        positions = [e.stage.position for e in stays]
        for before, after in zip(stays, stays[1:], strict=False):
            assert before.left_at == after.entered_at, d.deal_no
            assert before.stage_id != after.stage_id, d.deal_no
        assert stays[0].entered_at.date() == d.created_on, d.deal_no
        assert d.stage_id == stays[-1].stage_id, d.deal_no
        assert d.stage_entered_at == stays[-1].entered_at, d.deal_no
        if d.status == "open":
            assert stays[-1].left_at is None, d.deal_no
        else:
            assert stays[-1].left_at.date() == d.closed_on, d.deal_no
        if d.kind.is_process:  # one stage after another, from the first
            assert positions == list(range(1, len(positions) + 1)), d.deal_no
            if d.status == "won":
                assert positions[-1] == len(d.kind.stages), d.deal_no
        expected = WON_POSITION if d.status == "won" else max(positions)
        assert d.reached_position == expected, d.deal_no
    free = [history[d.id] for d in deals if not d.kind.is_process]
    assert any(
        any(b.stage.position != a.stage.position + 1 for a, b in zip(s, s[1:], strict=False))
        for s in free
    )  # the non-process kind's deals skip or go back somewhere


def test_demo_deals_have_contacts_participants_documents_and_interactions(deals):
    by_id = {d.id: d for d in deals}
    partner_since = dict(db.session.execute(select(Partner.id, Partner.created_on)).all())
    for d in deals:
        assert d.manager_id is not None, d.deal_no
        assert d.created_on >= partner_since[d.partner_id], d.deal_no
    person_partner = dict(
        db.session.execute(select(ContactPerson.id, ContactPerson.partner_id)).all()
    )
    contacts = list(db.session.execute(select(DealContact)).scalars())
    assert len(contacts) >= 10
    assert all(person_partner[c.contact_person_id] == by_id[c.deal_id].partner_id for c in contacts)
    assert {c.role.name for c in contacts} == {"ЛПР", "Влияющий", "Пользователь"}
    participants = list(db.session.execute(select(DealParticipant)).scalars())
    assert participants
    assert all(p.user_id != by_id[p.deal_id].manager_id for p in participants)

    links = db.session.execute(
        select(DealDocument.deal_id, SalesDocument.partner_id, SalesDocument.date).join(
            SalesDocument, SalesDocument.id == DealDocument.document_id
        )
    ).all()
    assert links
    for deal_id, partner_id, day in links:
        deal = by_id[deal_id]
        assert deal.status == "won" and partner_id == deal.partner_id
        assert deal.closed_on <= day <= deal.closed_on + timedelta(days=45)

    about = db.session.execute(
        select(Interaction.subject_id, Interaction.partner_id, Interaction.chain_id).where(
            Interaction.subject_type == "deal"
        )
    ).all()
    assert len({deal_id for deal_id, _, _ in about}) >= 3
    assert all(partner_id == by_id[deal_id].partner_id for deal_id, partner_id, _ in about)
    chains = defaultdict(set)
    for deal_id, _, chain_id in about:
        chains[chain_id].add(deal_id)
    assert all(len(ids) == 1 for ids in chains.values())  # a chain is about one deal


def test_demo_in_english_and_a_second_run_reuses_the_kinds(runner):
    _demo(runner, "--language", "en")
    first = db.session.execute(select(Deal.id)).scalars().all()
    _demo(runner, "--language", "en")

    names = set(db.session.execute(select(DealKind.name)).scalars())
    assert names == {"Equipment supply", "Service contract"}
    assert "Too expensive" in set(db.session.execute(select(LossReason.name)).scalars())
    # The second run's deals are the new partners': none of the first run's partners gets more.
    partners = Counter(
        db.session.execute(select(Deal.partner_id).where(Deal.id.not_in(first))).scalars()
    )
    old = set(db.session.execute(select(Deal.partner_id).where(Deal.id.in_(first))).scalars())
    assert partners and not (set(partners) & old)
    numbers = db.session.execute(select(Deal.deal_no)).scalars().all()
    assert len(numbers) == len(set(numbers))
