"""Speed benchmark of the interactions list and calendar at scale (`make bench`).

Builds, once, a database with 20 managers, 20,000 partners (the partner benchmark's generator)
and 1,000,000 interactions over the last 24 months and the next 2: calls, e-mails, SMS,
meetings and planned items, most of the past ones completed, a few percent still open (the
unprocessed ones), follow-up dates (most answered by a reply in the same chain), reply chains,
~10% with 1–3 colleagues taking part, a few e-mail attachments. The derived columns (ends_at,
due_at, chain_id, search_text) are filled as crm.interactions.services fills them, and a sample
is checked against `sync_derived` after the load.

Then it signs in through the Flask test client as the busiest manager and as a typical one and
times, per user: the unprocessed list (`/interactions/?responsible=me&unprocessed=1`) and the
month view (`/interactions/calendar?view=month&date=…`), each as a full page and as an HTMX
fragment, and the queries behind them called directly (`interaction_page`, `calendar_items`
over the month's 6-week grid). A page whose view is not built yet is
reported as pending and only its query is timed. Prints a table and writes it to
bench/results/interactions.md with the scale and the machine.

    .venv/bin/python bench/interactions_bench.py                 # reuses /tmp/crm-bench/interactions-*.sqlite3
    .venv/bin/python bench/interactions_bench.py --rebuild       # regenerate the data
    .venv/bin/python bench/interactions_bench.py --interactions 100000 --partners 5000
    .venv/bin/python bench/interactions_bench.py --only month --explain   # SQL, timings, plans
    .venv/bin/python bench/interactions_bench.py --only unprocessed --profile   # pyinstrument
    .venv/bin/python bench/interactions_bench.py --only "month view: page" --profile
    BENCH_DATABASE_URL=postgresql://…/scratch .venv/bin/python bench/interactions_bench.py  # wiped!

The SQLite file is reused while its scale, seed, table layout and the code deriving the
columns match; indexes are brought in line with the models on every run, so an index added to
crm/interactions/models.py is measured without regenerating. "Now" is the real clock, not the
moment the data was generated, so a file reused weeks later has more unprocessed items (planned
ones whose time has come). --check exits 1 when a median misses 100 ms.
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import inspect
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.schema import CreateTable  # noqa: E402

from bench import partners_bench  # noqa: E402
from bench.partners_bench import QueryLog, machine, write_text_atomic  # noqa: E402
from crm import create_app  # noqa: E402
from crm.core.text import fold  # noqa: E402
from crm.core.timeutil import from_zone, to_zone, utcnow  # noqa: E402
from crm.extensions import db  # noqa: E402

GENERATOR_VERSION = "1"
PASSWORD = partners_bench.PASSWORD
TARGET_MS = 100.0
DATA_DIR = Path(tempfile.gettempdir()) / "crm-bench"
FILLED = (
    "user",
    "partner",
    "contact_person",
    "contact_detail",
    "interaction",
    "interaction_participant",
    "interaction_attachment",
)
INDEXED = ("interaction", "interaction_participant", "interaction_attachment")
BATCH = 20_000
DB_NOTES = {
    "sqlite": "SQLite file, without ANALYZE statistics (as a fresh install runs)",
    "postgresql": "PostgreSQL, vacuumed and analysed after the load (as autovacuum would)",
}

# Kinds of past and of future items, with their shares.
PAST_KINDS = (("call", 40), ("email", 30), ("planned", 12), ("meeting", 10), ("sms", 8))
FUTURE_KINDS = (("planned", 40), ("call", 35), ("meeting", 25))
FUTURE_SHARE = 0.04  # of all items: the next two months are planned more thinly than the past
NO_PARTNER_SHARE = 0.05  # a walk-in, a number not in the base: contact_text only
PARTICIPANTS = {"meeting": 0.45, "planned": 0.12, "call": 0.08, "email": 0.05, "sms": 0.0}
RU_TOPICS = [
    "Коммерческое предложение",
    "Согласование договора",
    "Счёт на оплату",
    "Сверка взаиморасчётов",
    "Отгрузка заказа",
    "Претензия по качеству",
    "Продление договора",
    "Скидка на объём",
    "Новый прайс-лист",
    "Образцы продукции",
    "Презентация ассортимента",
    "Сроки поставки",
    "Возврат товара",
    "Просрочка оплаты",
    "Тендер",
    "Акт сверки",
    "Договор поставки",
    "Доставка",
    "Маркетинговая акция",
    "Рекламация",
    "Условия отсрочки",
    "Спецификация к договору",
]
EN_TOPICS = [
    "Quotation",
    "Contract renewal",
    "Invoice",
    "Delivery schedule",
    "New price list",
    "Quality complaint",
    "Volume discount",
    "Samples",
    "Product demo",
    "Payment reminder",
    "Tender",
    "Account review",
    "Shipping delay",
    "Trade show follow-up",
    "Payment terms",
    "Order confirmation",
]
RU_OUTCOMES = [
    "Договорились о встрече",
    "Клиент думает",
    "Отправили КП",
    "Ждём оплату",
    "Не дозвонился",
    "Согласовали скидку",
    "Перезвонить позже",
    "Заказ подтверждён",
    "Отказ",
    "Передано в бухгалтерию",
    "Нужны образцы",
]
EN_OUTCOMES = [
    "Meeting agreed",
    "Thinking it over",
    "Quote sent",
    "Awaiting payment",
    "No answer",
    "Discount agreed",
    "Call back later",
    "Order confirmed",
    "Declined",
    "Passed to accounts",
]
RU_NOTES = [
    "Обсудили объёмы на следующий квартал.",
    "Просят отсрочку платежа 30 дней.",
    "Директор в отпуске до конца месяца.",
    "Интересуются новой линейкой.",
    "Недовольны сроками последней отгрузки.",
    "Готовы подписать договор после юриста.",
    "Нужен счёт с НДС.",
    "Предложили бесплатную доставку при заказе от 100 тыс.",
    "Конкурент дал цену ниже на 5%.",
    "Отправить каталог и образцы.",
]
EN_NOTES = [
    "Discussed next quarter's volumes.",
    "They ask for 30 days' payment terms.",
    "The buyer is away until the end of the month.",
    "Interested in the new range.",
    "Unhappy with the last delivery time.",
    "Ready to sign once legal has read it.",
    "Need a VAT invoice.",
    "A competitor quoted 5% lower.",
    "Send the catalogue and samples.",
]
WALK_INS = [
    "Иван с выставки",
    "Звонок с сайта",
    "Посетитель из шоурума",
    "Cold lead",
    "Website chat visitor",
    "Номер не определён",
]


# --- the data ------------------------------------------------------------------------------


class Item:
    """One interaction while it is generated (slots: a million of them are held at once)."""

    __slots__ = (
        "tmp",
        "kind",
        "status",
        "title",
        "responsible_id",
        "partner_id",
        "person_id",
        "contact_text",
        "subject_text",
        "starts_at",
        "duration_minutes",
        "follow_up_at",
        "due_at",
        "remind_minutes",
        "direction",
        "address",
        "outcome",
        "description",
        "parent",
        "created_at",
        "completed_at",
        "participants",
        "attachments",
        "ru",
    )


def _weighted(rng: random.Random, pairs) -> list[str]:
    """A list to `rng.choice` from with the given integer shares."""
    return [k for k, w in pairs for _ in range(w)]


def _moment(rng: random.Random, midnight: datetime, future: bool) -> datetime:
    """A working-hours moment (Moscow, UTC+3) in the last 730 or the next 61 days (UTC)."""
    day = rng.randrange(0, 61) if future else -rng.randrange(1, 731)
    when = midnight + timedelta(days=day)
    if when.weekday() >= 5 and rng.random() < 0.85:
        when -= timedelta(days=when.weekday() - 4)  # weekend work mostly lands on Friday
    hour = (
        rng.choice((6, 6, 7, 7, 8, 8, 9, 9, 10, 11, 12, 13, 14))
        if rng.random() < 0.95
        else rng.randrange(24)
    )
    return when + timedelta(hours=hour, minutes=rng.randrange(60))


def _users(manager_ids: list[int], n_managers: int, rng: random.Random) -> list[int]:
    """Add managers beyond the partner benchmark's five (same password) and spread the
    partners over all of them with unequal workloads; returns the manager ids."""
    from crm.auth.models import User
    from crm.partners.models import Partner

    with db.engine.begin() as conn:
        template = conn.execute(
            sa.select(User.password_hash, User.timezone).where(User.id == manager_ids[0])
        ).one()
        now = utcnow()
        extra = [
            {
                "email": f"manager{i}@bench.crm",
                "name": f"Менеджер {i}",
                "role": "manager",
                "password_hash": template.password_hash,
                "active": True,
                "timezone": template.timezone,
                "session_version": 1,
                "created_at": now,
            }
            for i in range(len(manager_ids) + 1, n_managers + 1)
        ]
        if extra:
            conn.execute(sa.insert(User.__table__), extra)
        ids = list(
            conn.execute(
                sa.select(User.id).where(User.role == "manager").order_by(User.id)
            ).scalars()
        )
        weights = [rng.lognormvariate(0, 0.45) for _ in ids]
        partner_ids = list(
            conn.execute(
                sa.select(Partner.id)
                .where(Partner.responsible_id.is_not(None))
                .order_by(Partner.id)
            ).scalars()
        )
        owners = rng.choices(ids, weights=weights, k=len(partner_ids))
        stmt = (
            sa.update(Partner.__table__)
            .where(Partner.__table__.c.id == sa.bindparam("pid"))
            .values(responsible_id=sa.bindparam("rid"))
        )
        conn.execute(stmt, [{"pid": p, "rid": r} for p, r in zip(partner_ids, owners, strict=True)])
    return ids


def generate(app, n: int, n_partners: int, n_managers: int, seed: int) -> dict[str, int]:
    """Drop and refill the benchmark database; returns the row counts."""
    from crm.auth.models import User
    from crm.interactions.models import Attachment, Interaction, Participant
    from crm.interactions.services import sync_due
    from crm.partners.models import ContactDetail, ContactPerson, Partner

    t0 = time.perf_counter()
    partners_bench.generate(app, n_partners, seed)  # drops and recreates every table
    rng = random.Random(seed)
    first = list(
        db.session.execute(
            sa.select(User.id).where(User.role == "manager").order_by(User.id)
        ).scalars()
    )
    db.session.remove()
    manager_ids = _users(first, n_managers, rng)
    with db.engine.connect() as conn:
        partners = conn.execute(
            sa.select(Partner.id, Partner.name, Partner.responsible_id)
            .where(Partner.merged_into_id.is_(None))
            .order_by(Partner.id)
        ).all()
        persons: dict[int, list[tuple[int, str]]] = {}
        for pid, cpid, name in conn.execute(
            sa.select(ContactPerson.partner_id, ContactPerson.id, ContactPerson.name)
        ):
            persons.setdefault(pid, []).append((cpid, name))
        emails, phones = {}, {}
        for pid, kind, value in conn.execute(
            sa.select(ContactDetail.partner_id, ContactDetail.kind, ContactDetail.value).where(
                ContactDetail.partner_id.is_not(None), ContactDetail.is_main.is_(True)
            )
        ):
            (emails if kind == "email" else phones if kind == "phone" else {})[pid] = value
    partner_name = {p.id: p.name for p in partners}
    person_name = {cpid: name for rows in persons.values() for cpid, name in rows}
    t_partners = time.perf_counter()

    now = utcnow().replace(second=0, microsecond=0)
    midnight = now.replace(hour=0, minute=0)
    past_kinds, future_kinds = _weighted(rng, PAST_KINDS), _weighted(rng, FUTURE_KINDS)
    items: list[Item] = []

    def new_item(pid, responsible, future, ru) -> Item:
        it = Item()
        it.tmp = len(items)
        items.append(it)
        it.partner_id, it.responsible_id, it.ru = pid, responsible, ru
        it.kind = rng.choice(future_kinds if future else past_kinds)
        it.starts_at = _moment(rng, midnight, future)
        it.person_id, it.contact_text, it.subject_text = None, "", ""
        it.title = it.outcome = it.description = it.direction = it.address = ""
        it.follow_up_at = it.due_at = it.parent = it.completed_at = None
        it.participants = it.attachments = ()
        return it

    # Partners get their interactions in proportion to a skewed activity (a few very busy
    # accounts, a long tail); each partner's items are then made into threads in time order.
    n_linked = round(n * (1 - NO_PARTNER_SHARE))
    activity = [rng.lognormvariate(0, 1.1) for _ in partners]
    counts = [0] * len(partners)
    for k in rng.choices(range(len(partners)), weights=activity, k=n_linked):
        counts[k] += 1
    for p, count in zip(partners, counts, strict=True):
        ru = any("а" <= ch <= "я" for ch in p.name.lower())
        own = [new_item(p.id, None, rng.random() < FUTURE_SHARE, ru) for _ in range(count)]
        own.sort(key=lambda it: it.starts_at)
        for it, tmp in zip(own, sorted(it.tmp for it in own), strict=True):
            it.tmp = tmp  # ties in creation time go in thread order
        prev = None
        for it in own:
            reply = (
                prev is not None
                and it.starts_at - prev.starts_at <= timedelta(days=45)
                and (rng.random() < (0.85 if prev.follow_up_at else 0.3))
            )
            if reply:
                it.parent, it.responsible_id = prev, prev.responsible_id
                it.person_id = prev.person_id
                # Replying clears the follow-up the parent waited for (services does so too).
                prev.follow_up_at = None
            else:
                if p.responsible_id and rng.random() < 0.85:
                    it.responsible_id = p.responsible_id
                else:
                    it.responsible_id = rng.choice(manager_ids)
                people = persons.get(p.id)
                if people and rng.random() < 0.6:
                    it.person_id = rng.choice(people)[0]
            _fill(
                rng,
                it,
                now,
                prev if reply else None,
                emails.get(p.id),
                phones.get(p.id),
                manager_ids,
            )
            if reply and it.created_at < prev.created_at:
                it.created_at = prev.created_at  # a reply is written after what it answers
            prev = it
    for _ in range(n - n_linked):
        it = new_item(
            None, rng.choice(manager_ids), rng.random() < FUTURE_SHARE, rng.random() < 0.7
        )
        it.contact_text = rng.choice(WALK_INS)
        _fill(rng, it, now, None, None, f"+7 9{rng.randrange(10**9):09d}", manager_ids)

    # Ids in creation order, as a live database has them.
    items.sort(key=lambda it: (it.created_at, it.tmp))
    new_id = {it.tmp: i for i, it in enumerate(items, 1)}
    t_gen = time.perf_counter()

    table, n_part, n_att = Interaction.__table__, 0, 0
    chain: list[int] = [0] * (len(items) + 1)
    with _bulk_load(INDEXED) as conn:
        rows, parts, atts = [], [], []
        for i, it in enumerate(items, 1):
            parent_id = new_id[it.parent.tmp] if it.parent is not None else None
            chain[i] = chain[parent_id] if parent_id else i  # the thread's first interaction
            sync_due(it)  # the services' own rule for due_at
            words = [
                it.title,
                it.contact_text,
                it.subject_text,
                it.address,
                it.outcome,
                it.description,
                partner_name.get(it.partner_id),
                person_name.get(it.person_id),
            ]
            rows.append(
                {
                    "id": i,
                    "kind": it.kind,
                    "status": it.status,
                    "title": it.title,
                    "responsible_id": it.responsible_id,
                    "partner_id": it.partner_id,
                    "contact_person_id": it.person_id,
                    "contact_text": it.contact_text,
                    "subject_type": "",
                    "subject_id": None,
                    "subject_text": it.subject_text,
                    "starts_at": it.starts_at,
                    "duration_minutes": it.duration_minutes,
                    "ends_at": it.starts_at + timedelta(minutes=it.duration_minutes),
                    "follow_up_at": it.follow_up_at,
                    "due_at": it.due_at,
                    "remind_minutes": it.remind_minutes,
                    "direction": it.direction,
                    "address": it.address,
                    "outcome": it.outcome,
                    "description": it.description,
                    "parent_id": parent_id,
                    "chain_id": chain[i],
                    "search_text": fold(" ".join(w for w in words if w))[:4000],
                    "completed_at": it.completed_at,
                    "created_at": it.created_at,
                    "updated_at": it.completed_at or it.created_at,
                }
            )
            for user_id in it.participants:
                n_part += 1
                parts.append(
                    {
                        "id": n_part,
                        "interaction_id": i,
                        "user_id": user_id,
                        "contact_person_id": None,
                        "name": "",
                        "note": "",
                        "starts_at": it.starts_at,
                        "ends_at": it.starts_at + timedelta(minutes=it.duration_minutes),
                    }
                )
            for filename, size in it.attachments:
                n_att += 1
                atts.append(
                    {
                        "id": n_att,
                        "interaction_id": i,
                        "filename": filename,
                        "stored_name": f"{n_att:032x}",
                        "content_type": "application/pdf",
                        "size": size,
                        "uploaded_by_id": it.responsible_id,
                        "uploaded_at": it.created_at,
                    }
                )
            if len(rows) >= BATCH or i == len(items):
                conn.execute(sa.insert(table), rows)
                for t, batch in ((Participant.__table__, parts), (Attachment.__table__, atts)):
                    if batch:
                        conn.execute(sa.insert(t), batch)
                rows, parts, atts = [], [], []
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:  # rows came with their ids: move the sequences on
            for name in INDEXED:
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {name}))"
                    )
                )
    out = {
        "interactions": len(items),
        "participants": n_part,
        "attachments": n_att,
        "partners": len(partners),
        "managers": len(manager_ids),
    }
    print(
        f"partners and managers in {t_partners - t0:.0f} s, interactions generated in "
        f"{t_gen - t_partners:.0f} s, inserted and indexed in "
        f"{time.perf_counter() - t_gen:.0f} s: {out}"
    )
    return out


def _fill(
    rng: random.Random,
    it: Item,
    now: datetime,
    parent: Item | None,
    email,
    phone,
    manager_ids: list[int],
) -> None:
    """Status, texts, duration, follow-up and participants of one item, by kind and age."""
    future = it.starts_at > now
    kind, ru = it.kind, it.ru
    topic = (
        parent.title
        if parent is not None and parent.title
        else rng.choice(RU_TOPICS if ru else EN_TOPICS)
    )
    if kind == "email":
        it.title = f"Re: {topic}" if parent is not None and not topic.startswith("Re:") else topic
    elif kind == "meeting":
        it.title = f"{'Встреча' if ru else 'Meeting'}: {topic}" if rng.random() < 0.7 else ""
    elif kind == "planned" or rng.random() < 0.4:
        it.title = topic
    if kind in ("call", "sms", "email"):
        it.direction = "incoming" if rng.random() < 0.45 else "outgoing"
        it.address = (email or "") if kind == "email" else (phone or "")
    if kind == "email" and not it.address and not it.partner_id:
        it.address = "lead@example.com"
    notes = RU_NOTES if ru else EN_NOTES
    if kind == "sms" or rng.random() < (0.6 if kind in ("email", "meeting") else 0.3):
        it.description = " ".join(rng.sample(notes, k=rng.choice((1, 1, 2, 3))))
    if rng.random() < 0.08:
        it.subject_text = rng.choice(RU_TOPICS if ru else EN_TOPICS)
    it.duration_minutes = {
        "meeting": rng.choice((30, 60, 60, 90, 120)),
        "planned": rng.choice((15, 30, 30, 60)),
        "call": rng.choice((0, 5, 5, 10, 15, 30)),
    }.get(kind, 0)
    if kind in ("meeting", "planned"):
        it.starts_at = it.starts_at.replace(minute=it.starts_at.minute // 15 * 15)
    it.remind_minutes = 15 if kind in ("meeting", "planned") or future else None

    age = (now - it.starts_at).days
    if future:
        r = rng.random()
        it.status = "planned" if r < 0.92 else "deferred" if r < 0.96 else "cancelled"
    elif kind in ("email", "sms"):
        it.status = "completed" if rng.random() < 0.99 else "cancelled"
    else:
        # What was planned and never closed: the unprocessed items, most of them recent.
        p_open = 0.25 if age < 7 else 0.08 if age < 30 else 0.015
        r = rng.random()
        if r < p_open:
            it.status = rng.choice(("planned", "planned", "planned", "deferred", "in_progress"))
        elif r < p_open + 0.04:
            it.status = "cancelled"
        else:
            it.status = "completed"
    ends = it.starts_at + timedelta(minutes=it.duration_minutes)
    if it.status == "completed":
        it.completed_at = ends
        if kind in ("call", "meeting") and rng.random() < 0.7:
            it.outcome = rng.choice(RU_OUTCOMES if ru else EN_OUTCOMES)
        # "Needs a reply by": most are answered later by the next item of the thread.
        if rng.random() < {"email": 0.15, "call": 0.12, "meeting": 0.1}.get(kind, 0):
            it.follow_up_at = (it.starts_at + timedelta(days=rng.randint(1, 10))).replace(
                hour=6, minute=0
            )
    # Logged items are written down when they happen; planned ones days or weeks before.
    if it.status == "completed" and kind in ("call", "email", "sms"):
        it.created_at = ends
    else:
        it.created_at = min(now, it.starts_at - timedelta(hours=rng.randint(1, 24 * 21)))
    p = PARTICIPANTS[kind]
    if p and rng.random() < p:
        colleagues = [m for m in manager_ids if m != it.responsible_id]
        it.participants = tuple(rng.sample(colleagues, k=rng.choice((1, 1, 2, 3))))
    if kind == "email" and rng.random() < 0.03:
        it.attachments = tuple(
            (
                f"{'счёт' if ru else 'invoice'}-{rng.randrange(10**5)}.pdf",
                rng.randrange(20_000, 2_000_000),
            )
            for _ in range(rng.choice((1, 1, 2)))
        )


@contextmanager
def _bulk_load(tables):
    """A connection for a bulk insert into `tables` whose indexes are dropped first and built
    once at the end (far faster than keeping nine indexes in order row by row)."""
    dropped = []
    with db.engine.begin() as conn:
        for name in tables:
            for ix in db.metadata.tables[name].indexes:
                ix.drop(conn)
                dropped.append(ix)
        yield conn
        t = time.perf_counter()
        for ix in dropped:
            ix.create(conn)
        print(f"{len(dropped)} indexes built in {time.perf_counter() - t:.0f} s")


def check_derived(sample: int = 300) -> int:
    """Run the services' sync_derived over a sample of rows and count those it would change
    (0 means the generator fills the derived columns exactly as the app does)."""
    from crm.interactions.models import Interaction
    from crm.interactions.services import sync_derived

    n = db.session.execute(sa.select(sa.func.max(Interaction.id))).scalar_one()
    rng = random.Random(1)
    changed = 0
    with db.session.no_autoflush:
        for iid in rng.sample(range(1, n + 1), k=min(sample, n)):
            i = db.session.get(Interaction, iid)
            before = (i.ends_at, i.due_at, i.search_text)
            sync_derived(i)
            root = i
            while root.parent is not None:
                root = root.parent
            if (i.ends_at, i.due_at, i.search_text) != before or i.chain_id != root.id:
                changed += 1
    db.session.rollback()
    db.session.remove()
    return changed


def _fingerprint(args) -> str:
    """Scale, seed, the filled tables' layout and the code that derives columns: a change to
    any of them rebuilds the data (and so does a new GENERATOR_VERSION)."""
    from crm.interactions import services

    ddl = "".join(str(CreateTable(db.metadata.tables[t]).compile(db.engine)) for t in FILLED)
    code = "".join(inspect.getsource(f) for f in (services.sync_due, services.sync_derived, fold))
    key = (
        f"{GENERATOR_VERSION}|{partners_bench.GENERATOR_VERSION}|{args.interactions}|"
        f"{args.partners}|{args.managers}|{args.seed}|{ddl}|{code}"
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def sync_indexes() -> list[str]:
    """Create the models' indexes the database lacks and drop those the models no longer have."""
    changes = []
    with db.engine.begin() as conn:
        insp = sa.inspect(conn)
        for name in INDEXED:
            wanted = {ix.name: ix for ix in db.metadata.tables[name].indexes}
            have = {
                ix["name"]: ix["column_names"]
                for ix in insp.get_indexes(name)
                if not ix.get("duplicates_constraint")
            }
            for ix_name, columns in sorted(have.items()):
                if ix_name not in wanted or columns != [c.name for c in wanted[ix_name].columns]:
                    conn.execute(sa.text(f'DROP INDEX "{ix_name}"'))
                    changes.append(f"-{ix_name}")
                    del have[ix_name]
            for missing in sorted(set(wanted) - set(have)):
                wanted[missing].create(conn)
                changes.append(f"+{missing}")
    return changes


def prepare(app, args) -> tuple[dict[str, int], str]:
    """Reuse the data when it matches; else rebuild it. Returns counts and when it was made."""
    want = _fingerprint(args)
    with db.engine.connect() as conn:
        meta = {}
        if sa.inspect(conn).has_table("bench_meta"):
            meta = dict(conn.execute(sa.text("SELECT key, value FROM bench_meta")).all())
    if args.rebuild or meta.get("fingerprint") != want:
        t = time.perf_counter()
        counts = generate(app, args.interactions, args.partners, args.managers, args.seed)
        meta["build_seconds"] = f"{time.perf_counter() - t:.0f}"
        made = utcnow().strftime("%Y-%m-%d %H:%M UTC")
        with app.app_context():
            bad = check_derived()
        print(f"derived columns checked against services.sync_derived: {bad} of 300 differ")
        if bad:
            raise SystemExit("the generator no longer fills the derived columns as the app does")
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS bench_meta"))
            conn.execute(sa.text("CREATE TABLE bench_meta (key TEXT PRIMARY KEY, value TEXT)"))
            rows = {
                "fingerprint": want,
                "generated_at": made,
                "build_seconds": meta["build_seconds"],
                **{f"count:{k}": str(v) for k, v in counts.items()},
            }
            conn.execute(
                sa.text("INSERT INTO bench_meta VALUES (:k, :v)"),
                [{"k": k, "v": v} for k, v in rows.items()],
            )
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        db.create_all()  # tables added to the app since the data was built
        counts = {k[6:]: int(v) for k, v in meta.items() if k.startswith("count:")}
        made = meta.get("generated_at", "?")
        print(
            f"reusing the data generated at {made} in {meta.get('build_seconds', '?')} s: {counts}"
        )
    changes = sync_indexes()
    if changes:
        print("indexes brought in line with the models:", " ".join(changes))
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    return counts, f"{made}, built in {meta.get('build_seconds', '?')} s"


# --- the measurements ----------------------------------------------------------------------


@dataclass
class Case:
    name: str
    user: str  # a key of the signed-in users: "busiest", "typical"
    url: str = ""  # an HTTP case; else `call` is timed
    fragment: bool = False
    call: object = None  # () -> (rows matched text) for a direct query case
    pending: str = ""  # why it was not measured


@dataclass
class Result:
    case: Case
    times_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # this process's CPU time per run
    queries: int = 0
    matched: str = ""
    kb: float = 0.0  # response body size

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms) if self.times_ms else float("nan")

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_ms) if self.cpu_ms else float("nan")

    @property
    def p95(self) -> float:
        if len(self.times_ms) < 2:
            return self.median
        return statistics.quantiles(self.times_ms, n=100, method="inclusive")[94]


@dataclass
class Who:
    key: str
    user_id: int
    email: str
    zone: str
    own: int  # interactions he is responsible for
    client: object = None


def month_grid(day: date, zone: str) -> tuple[datetime, datetime]:
    """The 6-week-at-most grid a month view shows (Monday to Sunday weeks around the month),
    as UTC bounds [start, end)."""
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    start = first - timedelta(days=first.weekday())
    end = nxt + timedelta(days=(7 - nxt.weekday()) % 7)
    local = datetime.min.time()
    return from_zone(datetime.combine(start, local), zone), from_zone(
        datetime.combine(end, local), zone
    )


def pick_users(n_managers: int) -> list[Who]:
    """The manager with the most interactions, and the one in the middle."""
    from crm.auth.models import User
    from crm.interactions.models import Interaction

    rows = db.session.execute(
        sa.select(User.id, User.email, User.timezone, sa.func.count(Interaction.id))
        .join(Interaction, Interaction.responsible_id == User.id)
        .where(User.role == "manager")
        .group_by(User.id, User.email, User.timezone)
        .order_by(sa.func.count(Interaction.id).desc(), User.id)
    ).all()
    db.session.remove()
    busiest, typical = rows[0], rows[len(rows) // 2]
    return [Who("busiest", *busiest), Who("typical", *typical)]


def view_ready(client, url: str) -> str:
    """'' when `url` answers a real page, else what it answers (the view is still a stub)."""
    r = client.get(url)
    body = r.get_data()
    if r.status_code == 200 and b"<html" in body.lower():
        return ""
    return f"view not built yet (HTTP {r.status_code}, {len(body)} bytes)"


def build_cases(app, users: list[Who], month: date) -> list[Case]:
    from crm.auth.models import User
    from crm.interactions import queries
    from crm.interactions.calendar import CalendarWindow, calendar_items
    from crm.interactions.calendar_views import MONTH_CELL_ITEMS
    from crm.interactions.filters import InteractionFilter

    out = []
    for who in users:
        flt = InteractionFilter.from_args({"responsible": "me", "unprocessed": "1"})
        start, end = month_grid(month, who.zone)

        def unprocessed(who=who, flt=flt):
            user = db.session.get(User, who.user_id)
            page = queries.interaction_page(user, flt, who.zone)
            return f"{page.total:,}{'+' if page.more else ''} ({len(page.items)} shown)"

        def month_items(who=who, start=start, end=end):
            # What the month view asks its sources for: a few items a day, the rest counted.
            user = db.session.get(User, who.user_id)
            window = CalendarWindow(user, start, end, [user.id], who.zone, MONTH_CELL_ITEMS)
            with app.test_request_context():  # items link to their pages
                found = calendar_items(window)
            return f"{len(found.items):,} shown, {sum(found.hidden.values()):,} more"

        list_url = "/interactions/?responsible=me&unprocessed=1"
        month_url = f"/interactions/calendar?view=month&date={month.isoformat()}"
        out += [
            Case("unprocessed list: query (interaction_page)", who.key, call=unprocessed),
            Case("unprocessed list: page", who.key, list_url),
            Case("unprocessed list: HTMX fragment", who.key, list_url, fragment=True),
            Case("month view: query (calendar_items, 6-week grid)", who.key, call=month_items),
            Case("month view: page", who.key, month_url),
            Case("month view: HTMX fragment", who.key, month_url, fragment=True),
        ]
    return out


def run_case(app, case: Case, who: Who, log: QueryLog, warmup: int, runs: int) -> Result:
    result = Result(case)
    if case.url:
        headers = {"HX-Request": "true"} if case.fragment else {}

        def once():
            r = who.client.get(case.url, headers=headers)
            body = r.get_data()
            assert r.status_code == 200, (case.url, r.status_code)
            return body

        for _ in range(warmup):
            body = once()
        assert (b"<html" in body.lower()) != case.fragment, (case.url, "page/fragment mix-up")
        result.matched, result.kb = matched_in(body.decode()), len(body) / 1024
    else:

        def once():
            with app.app_context():
                try:
                    return case.call()
                finally:
                    db.session.remove()

        for _ in range(warmup):
            result.matched = once()
    for _ in range(runs):
        log.reset()
        t, c = time.perf_counter(), time.process_time()
        once()
        result.times_ms.append((time.perf_counter() - t) * 1000)
        result.cpu_ms.append((time.process_time() - c) * 1000)
    result.queries = len(log.statements)
    return result


COUNT_RE = re.compile(r'id="interaction-count">\s*([^<]*?) interactions?', re.S)
ITEMS_RE = re.compile(r'id="calendar-summary">[^<]*?· ([\d,]+) items?', re.S)


def matched_in(html: str) -> str:
    """The count the page itself shows (the list's total, the calendar's item count)."""
    found = COUNT_RE.search(html) or ITEMS_RE.search(html)
    return " ".join(found.group(1).split()) if found else ""


def _once(app, case: Case, who: Who) -> None:
    """One request (or direct call) of a case, for --sql and --profile."""
    if case.url:
        who.client.get(case.url, headers={"HX-Request": "true"} if case.fragment else {})
    else:
        with app.app_context():
            case.call()
            db.session.remove()


def show_sql(app, case: Case, who: Who, log: QueryLog, explain: bool) -> None:
    def once():
        _once(app, case, who)

    once()
    log.reset(keep=True)
    once()
    statements = log.statements
    log.reset()
    print(f"\n### {who.key}: {case.name} — {len(statements)} queries")
    for sql, params, took in statements:
        print(f"\n-- {took:.2f} ms  params={params}\n{sql}")
        if not explain:
            continue
        with app.app_context():
            raw = db.engine.raw_connection()
            try:
                cur = raw.cursor()
                if db.engine.dialect.name == "sqlite":
                    for row in cur.execute("EXPLAIN QUERY PLAN " + sql, params or ()):
                        print("   plan:", row[-1])
                else:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params or ())
                    for (line,) in cur.fetchall():
                        print("   plan:", line)
            finally:
                raw.close()


def profile(app, case: Case, who: Who, runs: int) -> None:
    from pyinstrument import Profiler

    def once():
        _once(app, case, who)

    once()
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(runs):
        once()
    profiler.stop()
    print(f"\n### {who.key}: {case.name} ({runs} runs)")
    print(profiler.output_text(unicode=True, color=False, show_all=False))


# --- the report ------------------------------------------------------------------------------


def table(results: list[Result], users: dict[str, Who]) -> str:
    lines = [
        "| user | case | what | median ms | p95 ms | CPU ms | queries | KB | rows matched |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        c = r.case
        what = f"`{c.url}`" + (" (HTMX)" if c.fragment else "") if c.url else "direct call"
        who = users[c.user]
        user = f"{c.user} ({who.own:,} own)"
        if c.pending:
            lines.append(
                f"| {user} | {c.name} | {what} | — | — | — | — | — | pending: {c.pending} |"
            )
            continue
        flag = "" if r.median < TARGET_MS else " ⚠"
        kb = f"{r.kb:,.0f}" if c.url else ""
        lines.append(
            f"| {user} | {c.name} | {what} | {r.median:.1f}{flag} | {r.p95:.1f} | "
            f"{r.cpu_median:.1f} | {r.queries} | {kb} | {r.matched} |"
        )
    return "\n".join(lines)


def print_result(r: Result, label: str = "") -> None:
    c = r.case
    name = label or c.name
    if c.pending:
        print(f"{c.user:<8} {name:<58} {'—':>8} {'—':>8} {'—':>8} {'—':>6}  {c.pending}")
        return
    print(f"{c.user:<8} {name:<58} {r.median:8.1f} {r.p95:8.1f} {r.cpu_median:8.1f} "
          f"{r.queries:6d}  {r.matched}{'  ⚠ over target' if r.median >= TARGET_MS else ''}")  # fmt: skip


# --- proposed changes, measured by patching this process ------------------------------------


def write_report(
    path: Path,
    results,
    counts,
    args,
    dialect: str,
    made: str,
    month: date,
    users: dict[str, Who],
    load: tuple[float, float],
) -> None:
    scale = ", ".join(f"{v:,} {k}" for k, v in counts.items())
    measured = [r for r in results if not r.case.pending]
    missed = [r for r in measured if r.median >= TARGET_MS]
    pending = [r for r in results if r.case.pending]
    verdict = (
        f"{len(measured)} cases measured, all under the {TARGET_MS:.0f} ms median target"
        if not missed
        else f"{len(missed)} of {len(measured)} measured cases at or over {TARGET_MS:.0f} ms (⚠)"
    )
    if pending:
        verdict += f"; {len(pending)} page(s) pending (view not built yet)."
    text = "\n".join(
        [
            "# Interactions: speed benchmark",
            "",
            f"Generated by `make bench` (`bench/interactions_bench.py`) on "
            f"{datetime.now().strftime('%Y-%m-%d %H:%M')}.",
            "",
            f"- Scale: {scale}; seed {args.seed}; interactions over the 24 months before and the "
            f"2 months after the data was generated ({made}).",
            f"- Database: {DB_NOTES.get(dialect, dialect)}",
            f"- Users: {', '.join(f'{w.key} manager {w.email} ({w.own:,} interactions responsible)' for w in users.values())}; "
            f"month view of {month:%B %Y} (the direct query reads the month's Monday-to-Sunday grid).",
            f"- Method: one process, Flask test client; {args.warmup} warm-up then {args.runs} timed "
            "runs per case; time = request until the body is read (routing, sign-in, SQL, "
            "templates), or the query function's call for the direct cases.",
            *[f"- {k}: {v}" for k, v in machine().items()],
            f"- Load average (1 min) before / after: {load[0]:.2f} / {load[1]:.2f}. Other "
            "processes on a shared machine stretch the wall times; *CPU ms* is this process's own "
            "time.",
            "",
            verdict,
            "",
            table(results, users),
            "",
            '*rows matched*: for pages, the count the page shows (the list\'s total, "1,000+" when '
            "it stopped counting; the calendar's items); for direct calls, what the function "
            "returned. *KB*: response body. *queries*: SQL statements per request.",
            "",
            "",
        ]
    )
    write_text_atomic(path, text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--interactions", type=int, default=1_000_000)
    ap.add_argument("--partners", type=int, default=20_000)
    ap.add_argument("--managers", type=int, default=20)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--rebuild", action="store_true", help="regenerate the data")
    ap.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="another database (PostgreSQL) instead of the SQLite file under "
        f"{DATA_DIR}; it is wiped and refilled (default: $BENCH_DATABASE_URL)",
    )
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--only", help="run the cases whose name contains this text")
    ap.add_argument("--user", choices=["busiest", "typical"], help="run one user's cases")
    ap.add_argument("--sql", action="store_true", help="print each case's SQL with timings")
    ap.add_argument("--explain", action="store_true", help="--sql with the query plans")
    ap.add_argument("--profile", action="store_true", help="pyinstrument over the runs")
    ap.add_argument("--check", action="store_true", help="exit 1 when a median misses 100 ms")
    ap.add_argument(
        "--output",
        default=str(ROOT / "bench" / "results" / "interactions.md"),
        help="Markdown report ('' for none; not written with --only/--user)",
    )
    args = ap.parse_args(argv)

    from crm.config import normalise_database_url

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    default = DATA_DIR / (
        f"interactions-{args.interactions}-{args.partners}-{args.managers}-s{args.seed}.sqlite3"
    )
    db_url = args.database_url or f"sqlite:///{default}"
    instance = tempfile.mkdtemp(prefix="crm-bench-")
    atexit.register(shutil.rmtree, instance, ignore_errors=True)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(db_url),
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "REDIS_URL": None,
            "TESTING": False,
        },
        instance_path=instance,
    )
    with app.app_context():
        counts, made = prepare(app, args)
        users = {w.key: w for w in pick_users(args.managers)}
        log = QueryLog()
        dialect = db.engine.dialect.name
    for who in users.values():
        who.client = app.test_client()
        r = who.client.post("/auth/login", data={"email": who.email, "password": PASSWORD})
        assert r.status_code == 302, r.get_data(as_text=True)[:300]
    month = to_zone(utcnow(), users["busiest"].zone).date().replace(day=1)

    selected = [
        c
        for c in build_cases(app, list(users.values()), month)
        if (not args.only or args.only.casefold() in c.name.casefold())
        and (not args.user or c.user == args.user)
    ]
    for case in selected:
        if case.url:
            case.pending = view_ready(users[case.user].client, case.url)

    args.sql = args.sql or args.explain
    if args.sql or args.profile:
        for case in selected:
            if case.pending:
                print(f"\n### {case.user}: {case.name} — skipped: {case.pending}")
                continue
            if args.sql:
                show_sql(app, case, users[case.user], log, args.explain)
            if args.profile:
                profile(app, case, users[case.user], args.runs)
        return 0

    for who in users.values():
        print(f"{who.key}: {who.email}, responsible for {who.own:,} interactions")
    load_before = os.getloadavg()[0]
    results = []
    header = f"{'user':<8} {'case':<58} {'median':>8} {'p95':>8} {'CPU':>8} {'SQL':>6}  rows"
    print(f"\n{header}")
    for case in selected:
        r = Result(case)
        if not case.pending:
            r = run_case(app, case, users[case.user], log, args.warmup, args.runs)
        results.append(r)
        print_result(r)
    load = (load_before, os.getloadavg()[0])
    print(f"load average before / after: {load[0]:.2f} / {load[1]:.2f}")
    measured = [r for r in results if not r.case.pending]
    missed = [r for r in measured if r.median >= TARGET_MS]
    print(
        f"\nsummary: {len(measured)} measured, {len(missed)} over {TARGET_MS:.0f} ms, "
        f"{len(results) - len(measured)} pending"
    )
    if args.output and not args.only and not args.user:
        write_report(Path(args.output), results, counts, args, dialect, made, month, users, load)
        print(f"written to {os.path.relpath(args.output, ROOT)}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
