"""Demo deals for `crm demo`: two deal kinds with their stages (a process kind, whose stages go
strictly in order, and a non-process one), participant roles and loss reasons; about two years
of closed deals (won, and lost with a reason at the stage they got to) and a few dozen open ones
at every stage, their expected close dates around today (some passed) and a few stale.

Managers differ: each has a knack (how likely a deal of his goes on to the next stage), so
their win rates differ in the effectiveness report. Stage histories follow the kind's rules: a
process deal passed its stages one by one, a non-process deal wandered between them;
`reached_position` is the furthest position of the history (a won deal: WON_POSITION). Some
deals have the client's contact persons with roles and a colleague taking part; won deals are
linked to a sales document of the partner shipped after the win, and a few interaction chains
of the partner are about the deal.

Everything is drawn from the step's `rng`; rows go in with bulk inserts. A second run reuses the
kinds and lists and gives deals only to partners that have none.

This module is the step; classifiers.py makes the kinds and lists (and holds the demo's words),
histories.py draws each deal's way, rows.py inserts them.
"""

from __future__ import annotations

from bisect import bisect_right

from sqlalchemy import select

from crm.core.policy import may
from crm.core.timeutil import site_today
from crm.deals.demo.classifiers import (
    PROCESS_DAYS,
    SERVICE_DAYS,
    TEXTS,
    demo_kind,
    named_ids,
)
from crm.deals.demo.histories import KNACKS, Plan, closed_deal, details, number, open_deal
from crm.deals.demo.rows import insert_deals, link_chains, link_documents
from crm.deals.models import Deal, DealRole, LossReason
from crm.extensions import db
from crm.partners.models import ContactPerson, Partner


def make_deals_demo(fake, rng, users, *, n_partners: int, language: str = "ru") -> None:
    """The `crm demo` step: deal kinds and lists, then deals for client partners that have none."""
    texts = TEXTS[language]
    owners = [u for u in users if may(u, "records.own") and may(u, "deal.create")]
    # The sales managers sell; an admin (who assigns records to others) only when alone.
    managers = [u.id for u in owners if not may(u, "records.assign")] or [u.id for u in owners]
    if not managers:
        return
    kinds = [
        demo_kind(*texts["process"], True, PROCESS_DAYS),
        demo_kind(*texts["service"], False, SERVICE_DAYS),
    ]
    kinds = [k for k in kinds if k.stages]  # an admin may have emptied one since a first run
    if not kinds:
        return
    roles = named_ids(DealRole, texts["roles"])
    reasons = named_ids(LossReason, texts["reasons"])
    partners = _partners_without_deals()
    if not partners:
        return
    today = site_today()
    knack = {m: KNACKS[n % len(KNACKS)] for n, m in enumerate(managers)}
    persons = _persons([p.id for p in partners])
    since = [p.created_on for p in partners]  # sorted: the partners known by a date

    def manager_of(partner) -> int:
        return partner.responsible_id if partner.responsible_id in knack else rng.choice(managers)

    plans: list[Plan] = []
    n_closed = round(len(partners) * 1.2)
    n_open = min(80, max(40, len(partners) // 5))
    for _ in range(n_closed):
        kind = kinds[0] if rng.random() < 0.65 else kinds[-1]
        for _try in range(5):  # a partner met only weeks ago has no time for a closed deal
            partner = rng.choice(partners)
            manager = manager_of(partner)
            plan = closed_deal(rng, kind, today, partner.created_on, knack[manager])
            if plan is not None:
                break
        if plan is None:
            continue
        plan.partner_id, plan.manager_id = partner.id, manager
        details(rng, plan, texts, persons.get(partner.id, []), managers)
        plans.append(plan)
    for _ in range(n_open):
        kind = kinds[0] if rng.random() < 0.65 else kinds[-1]
        plan = open_deal(rng, kind, today)
        # The partner is one known when the deal opened.
        partner = rng.choice(partners[: bisect_right(since, plan.created_on)] or partners[:1])
        plan.partner_id, plan.manager_id = partner.id, manager_of(partner)
        details(rng, plan, texts, persons.get(partner.id, []), managers)
        plans.append(plan)
    plans.sort(key=lambda p: (p.created_on, p.stays[0][1]))
    number(plans)
    insert_deals(plans, roles, reasons)
    link_documents(plans)
    link_chains(rng, plans, today)
    db.session.flush()


def _partners_without_deals():
    has_deals = select(Deal.id).where(Deal.partner_id == Partner.id).exists()
    query = (
        select(Partner.id, Partner.responsible_id, Partner.created_on)
        .where(Partner.is_client, Partner.merged_into_id.is_(None), ~has_deals)
        .where(~Partner.code.like("%-DUP"))  # the near-duplicates to merge stay without deals
        .order_by(Partner.created_on, Partner.id)
    )
    return db.session.execute(query).all()


def _persons(partner_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for start in range(0, len(partner_ids), 500):
        query = select(ContactPerson.partner_id, ContactPerson.id).where(
            ContactPerson.partner_id.in_(partner_ids[start : start + 500])
        )
        for partner_id, person_id in db.session.execute(query.order_by(ContactPerson.id)):
            out.setdefault(partner_id, []).append(person_id)
    return out
