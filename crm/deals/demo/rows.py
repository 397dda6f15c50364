"""The demo deals' rows, inserted in bulk: the deals, their stage histories, contacts and
participants; won deals linked to a sales document of the partner shipped after the win, and a
few interaction chains of the partner about the deal. `reached_position` is the furthest
position of the history (a won deal: WON_POSITION)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import bindparam, func, select, update

from crm.deals.demo.classifiers import bulk
from crm.deals.demo.histories import Plan
from crm.deals.models import (
    WON_POSITION,
    Deal,
    DealContact,
    DealDocument,
    DealParticipant,
    DealStageEntry,
)
from crm.extensions import db
from crm.interactions.models import Interaction


def insert_deals(plans: list[Plan], roles: list[int], reasons: list[int]) -> None:
    rows = []
    for p in plans:
        stage_id = p.kind.stages[p.stays[-1][0]][0]
        reached = max(p.kind.stages[i][1] for i, _ in p.stays)
        rows.append(
            dict(
                deal_no=p.deal_no,
                title=p.title,
                partner_id=p.partner_id,
                kind_id=p.kind.id,
                stage_id=stage_id,
                reached_position=WON_POSITION if p.status == "won" else reached,
                status=p.status,
                amount=p.amount,
                created_on=p.created_on,
                expected_close=p.expected_close,
                closed_on=p.closed_at.date() if p.closed_at else None,
                manager_id=p.manager_id,
                loss_reason_id=reasons[p.reason] if p.reason is not None else None,
                loss_comment=p.comment,
                source=p.source,
                description="",
                stage_entered_at=p.stays[-1][1],
                created_at=p.stays[0][1],
                updated_at=p.closed_at or p.stays[-1][1],
            )
        )
    before = db.session.execute(select(func.max(Deal.id))).scalar() or 0
    bulk(Deal, rows)
    query = select(Deal.deal_no, Deal.id).where(Deal.id > before)
    ids = dict(db.session.execute(query).all())
    history, contacts, participants = [], [], []
    for p in plans:
        p.id = ids[p.deal_no]
        ends = [at for _, at in p.stays[1:]] + [p.closed_at]
        for (index, entered), left in zip(p.stays, ends, strict=True):
            history.append(
                dict(
                    deal_id=p.id,
                    stage_id=p.kind.stages[index][0],
                    entered_at=entered,
                    left_at=left,
                    user_id=p.manager_id,
                )
            )
        contacts += [
            dict(deal_id=p.id, contact_person_id=person, role_id=roles[role])
            for person, role in p.contacts
        ]
        if p.participant is not None:
            participants.append(dict(deal_id=p.id, user_id=p.participant, role_id=None))
    bulk(DealStageEntry, history)
    bulk(DealContact, contacts)
    bulk(DealParticipant, participants)


def link_documents(plans: list[Plan]) -> None:
    """A won deal is realised by the partner's first shipment within 45 days of the win (when
    the demo's sales ledger has one)."""
    from crm.sales.models import SalesDocument

    won = [p for p in plans if p.status == "won"]
    partner_ids = sorted({p.partner_id for p in won})
    docs: dict[int, list[tuple[date, int]]] = {}
    for start in range(0, len(partner_ids), 500):
        query = select(SalesDocument.partner_id, SalesDocument.date, SalesDocument.id).where(
            SalesDocument.partner_id.in_(partner_ids[start : start + 500]),
            SalesDocument.total > 0,
        )
        for partner_id, day, doc_id in db.session.execute(query):
            docs.setdefault(partner_id, []).append((day, doc_id))
    rows, used = [], set()
    for p in won:
        closed = p.closed_at.date()
        found = sorted(
            (day, doc_id)
            for day, doc_id in docs.get(p.partner_id, [])
            if closed <= day <= closed + timedelta(days=45) and doc_id not in used
        )
        if found:
            used.add(found[0][1])
            rows.append(dict(deal_id=p.id, document_id=found[0][1]))
    bulk(DealDocument, rows)


def link_chains(rng, plans: list[Plan], today: date) -> None:
    """Some interaction chains of the deal's partner that began while the deal was open become
    about the deal (as `services.create_from_chain` would make them)."""
    recent = [
        p
        for p in plans
        if (p.closed_at is None or p.closed_at.date() > today - timedelta(days=365))
    ]
    partner_ids = sorted({p.partner_id for p in recent})
    chains: dict[int, list[tuple[datetime, int]]] = {}
    for start in range(0, len(partner_ids), 500):
        query = (
            select(Interaction.partner_id, Interaction.chain_id, func.min(Interaction.starts_at))
            .where(
                Interaction.partner_id.in_(partner_ids[start : start + 500]),
                Interaction.subject_type == "",
                Interaction.chain_id.is_not(None),
            )
            .group_by(Interaction.partner_id, Interaction.chain_id)
        )
        for partner_id, chain_id, first in db.session.execute(query):
            chains.setdefault(partner_id, []).append((first, chain_id))
    links, used = [], set()
    for p in recent:
        begin = p.stays[0][1] - timedelta(days=3)
        end = p.closed_at or datetime.combine(today + timedelta(days=30), time())
        for first, chain_id in sorted(chains.get(p.partner_id, [])):
            if begin <= first <= end and chain_id not in used and rng.random() < 0.6:
                used.add(chain_id)
                links.append({"chain": chain_id, "deal": p.id})
    if links:
        table = Interaction.__table__
        stmt = (
            update(table)
            .where(table.c.chain_id == bindparam("chain"))
            .values(subject_type="deal", subject_id=bindparam("deal"))
        )
        db.session.execute(stmt, links)
