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
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, func, insert, select, update

from crm.core.policy import may
from crm.core.timeutil import site_today
from crm.deals.models import (
    WON_POSITION,
    Deal,
    DealContact,
    DealDocument,
    DealKind,
    DealParticipant,
    DealRole,
    DealStage,
    DealStageEntry,
    LossReason,
)
from crm.deals.services import NUMBER_PREFIX
from crm.extensions import db
from crm.interactions.models import Interaction
from crm.partners.models import ContactPerson, Partner

YEARS_DAYS = 730
BATCH = 2000
# Typical days in each stage (the median of a log-normal stay).
PROCESS_DAYS = (6, 10, 14, 18, 12)
SERVICE_DAYS = (4, 8, 10, 9)
# Chance that a process deal goes on from each stage (from the last: that it is won), for an
# average manager; a manager's knack adds to it.
GOES_ON = (0.70, 0.78, 0.74, 0.80, 0.85)
KNACKS = (0.12, 0.0, -0.09, 0.05)  # per manager, in the order of the demo users

TEXTS = {
    "ru": {
        "process": ("Поставка оборудования", [("Квалификация", 10), ("Выявление потребностей", 25),
                    ("Коммерческое предложение", 50), ("Переговоры", 70), ("Договор", 90)]),
        "service": ("Сервисный контракт", [("Первичный контакт", 20), ("Обследование объекта", 40),
                    ("Предложение", 60), ("Согласование", 80)]),
        "roles": ["ЛПР", "Влияющий", "Пользователь"],
        "reasons": ["Дорого", "Выбрали конкурента", "Нет бюджета", "Не отвечает",
                    "Сроки не устроили"],
        "supply": ["Поставка погрузчиков", "Поставка стеллажей", "Поставка компрессоров",
                   "Поставка станков ЧПУ", "Поставка генераторов", "Оснащение склада",
                   "Поставка насосного оборудования", "Поставка сварочного оборудования"],
        "service_titles": ["Сервисное обслуживание погрузчиков", "Обслуживание котельной",
                           "Техобслуживание компрессоров", "Сервис складской техники",
                           "Годовой сервисный договор"],
        "sources": ["Сайт", "Выставка", "Рекомендация", "Холодный звонок",
                    "Повторное обращение", "Тендер"],
        "comments": ["Ушли к поставщику с отсрочкой платежа", "Бюджет перенесли на следующий год",
                     "Не дозвонились после КП", "Конкурент дал скидку 12 %", ""],
    },
    "en": {
        "process": ("Equipment supply", [("Qualification", 10), ("Needs analysis", 25),
                    ("Proposal", 50), ("Negotiation", 70), ("Contract", 90)]),
        "service": ("Service contract", [("First contact", 20), ("Site survey", 40),
                    ("Offer", 60), ("Approval", 80)]),
        "roles": ["Decision maker", "Influencer", "User"],
        "reasons": ["Too expensive", "Chose a competitor", "No budget", "Not responding",
                    "Timing did not suit"],
        "supply": ["Forklift supply", "Racking supply", "Compressor supply", "CNC machines",
                   "Generator supply", "Warehouse fit-out", "Pump equipment",
                   "Welding equipment"],
        "service_titles": ["Forklift servicing", "Boiler room maintenance",
                           "Compressor maintenance", "Warehouse equipment service",
                           "Annual service contract"],
        "sources": ["Website", "Exhibition", "Referral", "Cold call", "Returning client",
                    "Tender"],
        "comments": ["Went to a supplier with deferred payment", "Budget moved to next year",
                     "No answer after the proposal", "A competitor gave 12 % off", ""],
    },
}  # fmt: skip
# Loss reasons by how far the deal got (indices into "reasons"): early deals go quiet or have
# no budget, late ones lose on price or to a competitor.
EARLY_REASONS = (10, 15, 30, 35, 10)
LATE_REASONS = (35, 35, 10, 5, 15)


@dataclass
class Kind:
    id: int
    is_process: bool
    stages: list[tuple[int, int]]  # (stage id, position) in order
    days: tuple[int, ...]


@dataclass(eq=False)
class Plan:
    kind: Kind
    partner_id: int
    manager_id: int
    created_on: date
    status: str
    stays: list[tuple[int, datetime]]  # (stage index, entered at)
    closed_at: datetime | None = None
    expected_close: date | None = None
    amount: Decimal = Decimal(0)
    reason: int | None = None  # index into the reasons
    comment: str = ""
    title: str = ""
    source: str = ""
    contacts: list[tuple[int, int]] = field(default_factory=list)  # (person id, role index)
    participant: int | None = None
    deal_no: str = ""
    id: int = 0


def make_deals_demo(fake, rng, users, *, n_partners: int, language: str = "ru") -> None:
    """The `crm demo` step: deal kinds and lists, then deals for client partners that have none."""
    texts = TEXTS[language]
    owners = [u for u in users if may(u, "records.own") and may(u, "deal.create")]
    # The sales managers sell; an admin (who assigns records to others) only when alone.
    managers = [u.id for u in owners if not may(u, "records.assign")] or [u.id for u in owners]
    if not managers:
        return
    kinds = [
        _kind(*texts["process"], True, PROCESS_DAYS),
        _kind(*texts["service"], False, SERVICE_DAYS),
    ]
    kinds = [k for k in kinds if k.stages]  # an admin may have emptied one since a first run
    if not kinds:
        return
    roles = _named(DealRole, texts["roles"])
    reasons = _named(LossReason, texts["reasons"])
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
            plan = _closed_deal(rng, kind, today, partner.created_on, knack[manager])
            if plan is not None:
                break
        if plan is None:
            continue
        plan.partner_id, plan.manager_id = partner.id, manager
        _details(rng, plan, texts, persons.get(partner.id, []), managers)
        plans.append(plan)
    for _ in range(n_open):
        kind = kinds[0] if rng.random() < 0.65 else kinds[-1]
        plan = _open_deal(rng, kind, today)
        # The partner is one known when the deal opened.
        partner = rng.choice(partners[: bisect_right(since, plan.created_on)] or partners[:1])
        plan.partner_id, plan.manager_id = partner.id, manager_of(partner)
        _details(rng, plan, texts, persons.get(partner.id, []), managers)
        plans.append(plan)
    plans.sort(key=lambda p: (p.created_on, p.stays[0][1]))
    _number(plans)
    _insert(plans, roles, reasons)
    _link_documents(plans)
    _link_chains(rng, plans, today)
    db.session.flush()


# --- reference rows -------------------------------------------------------------------------


def _bulk(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model.__table__), rows[start : start + BATCH])


def _named(model, names: list[str]) -> list[int]:
    """Ids of the rows named `names` (in that order), created when missing."""
    query = select(model.name, model.id).where(model.name.in_(names))
    found = dict(db.session.execute(query).all())
    _bulk(model, [{"name": n} for n in names if n not in found])
    found = dict(db.session.execute(query).all())
    return [found[n] for n in names]


def _kind(name: str, stages: list[tuple[str, int]], is_process: bool, days) -> Kind:
    kind = db.session.execute(select(DealKind).where(DealKind.name == name)).scalar_one_or_none()
    if kind is None:
        kind = DealKind(name=name, is_process=is_process)
        kind.stages = [
            DealStage(position=n, name=s, probability=Decimal(p))
            for n, (s, p) in enumerate(stages, start=1)
        ]
        db.session.add(kind)
        db.session.flush()
    ordered = [(s.id, s.position) for s in kind.stages]
    # A kind an admin edited since keeps its stages; the typical stays stretch to their number.
    days = tuple(days[min(n, len(days) - 1)] for n in range(len(ordered)))
    return Kind(kind.id, kind.is_process, ordered, days)


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


# --- one deal's way -------------------------------------------------------------------------


def _stay(rng, kind: Kind, index: int) -> int:
    return max(1, round(rng.lognormvariate(math.log(kind.days[index]), 0.55)))


def _path(rng, kind: Kind, goes_on, *, stop_at: int | None = None) -> tuple[list[int], str]:
    """Stage indices the deal stayed at, and how it ended ("won", "lost"; "open" when it
    stops at `stop_at` stays). A process deal goes one stage on at a time; a non-process one
    starts at the first or second stage and jumps ahead or back."""
    last = len(kind.stages) - 1
    index = 0 if kind.is_process or rng.random() < 0.75 else 1
    path = [index]
    while True:
        if stop_at is not None and len(path) >= stop_at:
            return path, "open"
        if rng.random() > goes_on(index):
            return path, "lost"
        if index == last or len(path) >= 7:
            return path, "won"
        if kind.is_process:
            index += 1
        else:
            step = rng.choices((1, 2, -1), (70, 20, 10))[0] if index > 0 else 1
            index = min(last, index + step)
        path.append(index)


def _moments(rng, day: date, stays: list[int]) -> list[datetime]:
    """Entering each stay: days apart as drawn, in Moscow working hours (06–15 UTC)."""
    out = []
    for days in [0, *stays]:
        day += timedelta(days=days)
        out.append(datetime.combine(day, time(rng.randint(6, 14), rng.choice((0, 15, 30, 45)))))
    return out


def _closed_deal(rng, kind: Kind, today: date, known_since: date, bonus: float) -> Plan | None:
    """A deal opened in the last two years (not before the partner was known) that went
    through its stages and ended won or lost before today; None when it does not fit."""

    def goes_on(index: int) -> float:
        base = GOES_ON[min(index, len(GOES_ON) - 1)] if kind.is_process else 0.8
        return min(0.97, base + bonus)

    path, result = _path(rng, kind, goes_on)
    stays = [_stay(rng, kind, i) for i in path]
    span = sum(stays)
    latest = today - timedelta(days=span + 1)
    first = max(today - timedelta(days=YEARS_DAYS), known_since)
    if latest < first:
        return None
    created_on = first + timedelta(days=rng.randint(0, (latest - first).days))
    moments = _moments(rng, created_on, stays)
    plan = Plan(
        kind=kind,
        partner_id=0,
        manager_id=0,
        created_on=created_on,
        status=result,
        stays=list(zip(path, moments[:-1], strict=True)),
        closed_at=moments[-1],
    )
    plan.expected_close = created_on + timedelta(days=max(7, round(span * rng.uniform(0.7, 1.3))))
    return plan


def _open_deal(rng, kind: Kind, today: date) -> Plan:
    """An open deal at a stage drawn to thin out further on; one in eight is stale (it has sat
    three to five typical stays at its stage)."""
    weights = [max(1, 30 - 6 * n) for n in range(len(kind.stages))]
    depth = rng.choices(range(1, len(kind.stages) + 1), weights)[0]
    path, _ = _path(rng, kind, lambda i: 1.0, stop_at=depth)
    stays = [_stay(rng, kind, i) for i in path[:-1]]
    typical = kind.days[path[-1]]
    if rng.random() < 0.125:
        current = round(typical * rng.uniform(3.0, 5.0)) + 1
    else:
        current = rng.randint(1, typical)
    # The current stay began `current` days ago: yesterday at the latest, so its working hour
    # (UTC) is past whatever the hour now.
    created_on = today - timedelta(days=sum(stays) + current)
    moments = _moments(rng, created_on, stays)
    plan = Plan(kind, 0, 0, created_on, "open", list(zip(path, moments, strict=True)))
    if rng.random() < 0.18:  # its expected close date passed already
        expected = today - timedelta(days=rng.randint(1, 20))
    else:
        expected = today + timedelta(days=rng.randint(0, 75))
    plan.expected_close = max(expected, created_on)
    return plan


def _amount(rng, kind: Kind) -> Decimal:
    middle, low, high = (
        (1_200_000, 150_000, 25_000_000) if kind.is_process else (300_000, 40_000, 3_000_000)
    )
    rub = min(high, max(low, rng.lognormvariate(math.log(middle), 0.8)))
    return Decimal(round(rub, -3))


def _details(rng, plan: Plan, texts, persons: list[int], managers: list[int]) -> None:
    kind = plan.kind
    plan.amount = _amount(rng, kind)
    plan.title = rng.choice(texts["supply"] if kind.is_process else texts["service_titles"])
    plan.source = rng.choice(texts["sources"])
    if plan.status == "lost":
        late = plan.stays[-1][0] >= len(kind.stages) // 2
        plan.reason = rng.choices(range(5), LATE_REASONS if late else EARLY_REASONS)[0]
        plan.comment = rng.choice(texts["comments"]) if rng.random() < 0.3 else ""
    if persons and rng.random() < 0.55:
        chosen = rng.sample(persons, k=min(len(persons), rng.choice((1, 1, 2, 3))))
        plan.contacts = [(p, 0 if n == 0 else rng.choice((1, 2))) for n, p in enumerate(chosen)]
    others = [m for m in managers if m != plan.manager_id]
    if others and rng.random() < 0.2:
        plan.participant = rng.choice(others)


def _number(plans: list[Plan]) -> None:
    """CRM-000001… in the order the deals opened, after the numbers taken."""
    query = select(Deal.deal_no).where(Deal.deal_no.like(NUMBER_PREFIX + "%"))
    taken = (n[len(NUMBER_PREFIX) :] for n in db.session.execute(query).scalars())
    last = max((int(n) for n in taken if n.isdigit()), default=0)
    for n, plan in enumerate(plans, start=last + 1):
        plan.deal_no = f"{NUMBER_PREFIX}{n:06d}"


# --- rows -------------------------------------------------------------------------------------


def _insert(plans: list[Plan], roles: list[int], reasons: list[int]) -> None:
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
    _bulk(Deal, rows)
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
    _bulk(DealStageEntry, history)
    _bulk(DealContact, contacts)
    _bulk(DealParticipant, participants)


def _link_documents(plans: list[Plan]) -> None:
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
    _bulk(DealDocument, rows)


def _link_chains(rng, plans: list[Plan], today: date) -> None:
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
