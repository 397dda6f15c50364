"""The deals benchmark's data: two deal kinds with their stages, 200,000 deals over two years
(20,000 of them open) with stage histories, contacts, participants and the interactions of
their timelines, built once per database and reused while it matches.

Partners and the first managers come from the partner benchmark's generator (realistic names,
contact persons); the interactions benchmark's `_users` adds managers up to 20 and spreads the
partners over them. Then, per deal (in creation order, so ids grow with `created_on` as in a
live database):

- kind: «Продажа оборудования» (a process kind, 6 stages strictly in order, 60 %) or
  «Сервисный контракт» (non-process, 5 stages moved freely, 40 %);
- partner by a skewed activity (a few very busy accounts, a long tail), manager: the partner's
  responsible one mostly, else any;
- closed deals (won at a manager's own win rate, else lost with one of six reasons) created
  over the 730 days before today and closed 1–180 days later; open deals created in the last
  months (a few old forgotten ones), expected to close around the coming months, some overdue;
- stage history consistent with the model: a process deal passes stages 1…k in order (a won
  one every stage), a non-process deal hops between stages; each stay's entered/left times lie
  between the deal's creation and its close (open: now); the current stay of an open deal has
  no `left_at`; `reached_position` is the furthest position in the history (won:
  WON_POSITION) and `stage_entered_at` the current stay's start, as crm.deals.stages keeps
  them. `check()` verifies these rules over the whole table after a build.

Rows are written with `crm.core.db.insert_rows` (COPY on PostgreSQL, executemany on SQLite)
with the deal tables' secondary indexes dropped during the load and built once after it.
"""

from __future__ import annotations

import hashlib
import random
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

from bench import interactions_bench, partners_bench
from crm.core.text import fold
from crm.core.timeutil import utcnow
from crm.extensions import db

GENERATOR_VERSION = "1"
BATCH = 20_000
# Tables this generator fills (the partner generator's own are in partners_bench.FILLED).
FILLED = (
    "deal_kind",
    "deal_stage",
    "deal_role",
    "deal_loss_reason",
    "deal",
    "deal_contact",
    "deal_participant",
    "deal_stage_history",
    "interaction",
)
INDEXED = ("deal", "deal_contact", "deal_participant", "deal_stage_history", "interaction")

# (name, is_process, share of deals, median amount, [(stage, default probability %)],
#  where open deals stand (weights per stage), where lost deals were lost)
KINDS = (
    (
        "Продажа оборудования",
        True,
        0.6,
        450_000,
        [
            ("Квалификация", 10),
            ("Выявление потребностей", 20),
            ("Коммерческое предложение", 35),
            ("Согласование условий", 55),
            ("Договор", 75),
            ("Оплата", 90),
        ],
        (30, 22, 18, 13, 10, 7),
        (34, 24, 18, 12, 8, 4),
    ),
    (
        "Сервисный контракт",
        False,
        0.4,
        120_000,
        [
            ("Первичный контакт", 10),
            ("Презентация", 25),
            ("Пилотный проект", 45),
            ("Переговоры", 65),
            ("Подписание", 85),
        ],
        (32, 25, 18, 15, 10),
        (30, 28, 20, 14, 8),
    ),
)
ROLES = ("ЛПР", "Влияющий", "Пользователь", "Технический эксперт")
LOSS_REASONS = (
    ("Цена выше, чем у конкурента", 30),
    ("Выбрали другого поставщика", 22),
    ("Нет бюджета", 18),
    ("Проект отложен", 14),
    ("Не вышли на ЛПР", 9),
    ("Не устроили сроки поставки", 7),
)
SOURCES = ("Сайт", "Выставка", "Рекомендация", "Холодный звонок", "Повторное обращение", "", "")
TITLES = {
    "Продажа оборудования": (
        "Поставка станков",
        "Линия упаковки",
        "Компрессорное оборудование",
        "Замена парка погрузчиков",
        "Поставка насосов",
        "Оснащение цеха",
        "Генераторы для склада",
        "Модернизация котельной",
    ),
    "Сервисный контракт": (
        "Годовое обслуживание",
        "Сервис по SLA",
        "Плановое ТО",
        "Аутсорсинг ремонта",
        "Выездной сервис",
        "Пусконаладка и обучение",
    ),
}
ACTIVITIES = (
    ("call", "Звонок по сделке"),
    ("email", "Коммерческое предложение"),
    ("meeting", "Встреча: обсуждение условий"),
    ("call", "Уточнение спецификации"),
    ("email", "Счёт и договор"),
)


def _weighted(rng: random.Random, weights) -> int:
    """An index into `weights` drawn by them."""
    return rng.choices(range(len(weights)), weights=weights)[0]


def _moments(rng: random.Random, start: datetime, end: datetime, k: int) -> list[datetime]:
    """k sorted moments in [start, end], the first at `start` (minutes resolution)."""
    span = max(0, int((end - start).total_seconds() // 60))
    inner = sorted(rng.randint(0, span) for _ in range(k - 1))
    return [start] + [start + timedelta(minutes=m) for m in inner]


def _at_work(rng: random.Random, day: date) -> datetime:
    """A working-hours moment of `day` (Moscow 9–18, stored as naive UTC)."""
    return datetime.combine(day, datetime.min.time()) + timedelta(
        hours=rng.randint(6, 14), minutes=rng.randrange(60)
    )


def _classifiers(conn) -> tuple[list[dict], list[int], list[int]]:
    """The kinds with their stages, roles and loss reasons; returns (kinds, role ids, reason
    ids) where each kind is a dict with its stage ids and positions."""
    from crm.deals.models import DealKind, DealRole, DealStage, LossReason

    now = utcnow()
    kinds = []
    stage_id = 0
    for kid, (name, is_process, share, median, stages, open_w, lost_w) in enumerate(KINDS, 1):
        conn.execute(
            sa.insert(DealKind.__table__),
            {
                "id": kid,
                "name": name,
                "is_process": is_process,
                "is_active": True,
                "created_at": now,
            },
        )
        rows = []
        for pos, (sname, prob) in enumerate(stages, 1):
            stage_id += 1
            rows.append(
                {
                    "id": stage_id,
                    "kind_id": kid,
                    "position": pos,
                    "name": sname,
                    "probability": Decimal(prob),
                }
            )
        conn.execute(sa.insert(DealStage.__table__), rows)
        kinds.append(
            {
                "id": kid,
                "name": name,
                "process": is_process,
                "share": share,
                "median": median,
                "stages": [(r["id"], r["position"]) for r in rows],
                "open_w": open_w,
                "lost_w": lost_w,
            }
        )
    conn.execute(
        sa.insert(DealRole.__table__),
        [{"id": i, "name": n, "is_active": True} for i, n in enumerate(ROLES, 1)],
    )
    conn.execute(
        sa.insert(LossReason.__table__),
        [{"id": i, "name": n, "is_active": True} for i, (n, _w) in enumerate(LOSS_REASONS, 1)],
    )
    return kinds, list(range(1, len(ROLES) + 1)), list(range(1, len(LOSS_REASONS) + 1))


def _path(rng: random.Random, kind: dict, status: str) -> list[tuple[int, int]]:
    """The stages (id, position) a deal passed through, in order; the last is where it is
    (open), where it was lost, or where it was won from."""
    stages = kind["stages"]
    n = len(stages)
    if kind["process"]:
        if status == "won":
            last = n
        else:
            last = _weighted(rng, kind["open_w" if status == "open" else "lost_w"]) + 1
        return stages[:last]
    # Non-process: starts mostly at the first stage, then hops (mostly forward, sometimes back
    # or skipping); a won deal tends to end high.
    target = (
        rng.choice((n, n, n - 1, n - 2))
        if status == "won"
        else _weighted(rng, kind["open_w" if status == "open" else "lost_w"]) + 1
    )
    pos = 1 if rng.random() < 0.7 else rng.randint(1, max(1, target))
    path = [pos]
    while pos != target and len(path) < 6:
        step = target - pos
        if rng.random() < 0.15 and pos > 1:
            pos -= 1  # back a step
        elif step > 1 and rng.random() < 0.35:
            pos += 2 if step > 0 else -2  # skips one
        else:
            pos += 1 if step > 0 else -1
        pos = min(max(pos, 1), n)
        path.append(pos)
    if path[-1] != target:
        path.append(target)
    return [stages[p - 1] for p in path]


def generate(app, n_deals: int, n_open: int, n_partners: int, n_managers: int, seed: int) -> dict:
    """Drop and refill the benchmark database; returns the row counts."""
    from crm.auth.models import User
    from crm.core.db import insert_rows
    from crm.deals.models import (
        WON_POSITION,
        Deal,
        DealContact,
        DealParticipant,
        DealStageEntry,
    )
    from crm.interactions.models import Interaction
    from crm.partners.models import ContactPerson, Partner

    t0 = time.perf_counter()
    partners_bench.generate(app, n_partners, seed)  # drops and recreates every table
    partners_bench.sync_indexes()
    rng = random.Random(seed)
    first = list(
        db.session.execute(
            sa.select(User.id).where(User.role == "manager").order_by(User.id)
        ).scalars()
    )
    db.session.remove()
    manager_ids = interactions_bench._users(first, n_managers, rng)
    with db.engine.connect() as conn:
        partners = conn.execute(
            sa.select(Partner.id, Partner.name, Partner.responsible_id)
            .where(Partner.merged_into_id.is_(None))
            .order_by(Partner.id)
        ).all()
        persons: dict[int, list[int]] = {}
        for pid, cpid in conn.execute(
            sa.select(ContactPerson.partner_id, ContactPerson.id).order_by(ContactPerson.id)
        ):
            persons.setdefault(pid, []).append(cpid)
    with db.engine.begin() as conn:
        kinds, role_ids, reason_ids = _classifiers(conn)
    t_base = time.perf_counter()

    now = utcnow().replace(second=0, microsecond=0)
    today = now.date()
    partner_name = {p.id: p.name for p in partners}
    activity = [rng.lognormvariate(0, 1.1) for _ in partners]
    win_rate = {m: rng.uniform(0.22, 0.55) for m in manager_ids}
    reason_w = [w for _n, w in LOSS_REASONS]

    # Pass 1: each deal's creation date and outcome, then sorted so ids follow creation.
    plans = []
    n_closed = n_deals - n_open
    for i in range(n_deals):
        is_open = i < n_open
        if is_open:
            # Mostly the last few months; a few percent forgotten long ago.
            age = rng.randint(180, 700) if rng.random() < 0.04 else int(rng.expovariate(1 / 55))
            age = min(age, 729)
        else:
            age = rng.randint(2, 730)
        plans.append((today - timedelta(days=age), is_open, rng.random()))
    plans.sort(key=lambda p: (p[0], p[2]))
    assert len(plans) == n_open + n_closed

    deal_t, contact_t = Deal.__table__, DealContact.__table__
    part_t, hist_t, inter_t = (
        DealParticipant.__table__,
        DealStageEntry.__table__,
        Interaction.__table__,
    )
    deals, contacts, parts, hist, inters = [], [], [], [], []
    n_contact = n_part = n_hist = n_inter = 0
    totals = dict.fromkeys(("deals", "open", "won", "lost"), 0)
    t_write = 0.0

    def flush(final=False):
        nonlocal t_write
        if not final and len(deals) < BATCH:
            return
        t = time.perf_counter()
        for table, rows in (
            (deal_t, deals),
            (contact_t, contacts),
            (part_t, parts),
            (hist_t, hist),
            (inter_t, inters),
        ):
            if rows:
                insert_rows(table, rows)
                rows.clear()
        t_write += time.perf_counter() - t

    _drop_indexes()
    partner_picks = rng.choices(range(len(partners)), weights=activity, k=n_deals)
    for deal_id, ((created_on, is_open, _r), pk) in enumerate(
        zip(plans, partner_picks, strict=True), 1
    ):
        p = partners[pk]
        kind = kinds[0] if rng.random() < kinds[0]["share"] else kinds[1]
        manager = (
            p.responsible_id
            if p.responsible_id and rng.random() < 0.85
            else rng.choice(manager_ids)
        )
        if is_open:
            status = "open"
        else:
            rate = win_rate[manager] * (1.1 if kind["process"] else 0.9)
            status = "won" if rng.random() < rate else "lost"
        created_at = min(_at_work(rng, created_on), now - timedelta(minutes=1))
        planned = max(3, int(rng.lognormvariate(3.6, 0.6)))  # ~37 days median
        expected = created_on + timedelta(days=planned)
        if status == "open":
            closed_on, end = None, now
            if expected < today and rng.random() < 0.6:
                # Most stale forecasts were moved forward by their managers.
                expected = today + timedelta(days=rng.randint(3, 120))
        else:
            days = int(rng.lognormvariate(3.4 if status == "won" else 3.0, 0.8))
            closed_on = min(created_on + timedelta(days=max(1, days)), today)
            end = max(created_at, min(_at_work(rng, closed_on), now))
        path = _path(rng, kind, status)
        moments = _moments(rng, created_at, end, len(path))
        for k, ((stage_id, _pos), entered) in enumerate(zip(path, moments, strict=True)):
            n_hist += 1
            last = k == len(path) - 1
            left = (None if status == "open" else end) if last else moments[k + 1]
            hist.append(
                {
                    "id": n_hist,
                    "deal_id": deal_id,
                    "stage_id": stage_id,
                    "entered_at": entered,
                    "left_at": left,
                    "user_id": manager,
                }
            )
        amount = round(rng.lognormvariate(0, 0.8) * kind["median"], -3)
        if status == "won" and rng.random() < 0.3:
            amount = round(amount * rng.uniform(0.85, 1.05), -2)
        lost = status == "lost"
        deals.append(
            {
                "id": deal_id,
                "deal_no": f"CRM-{deal_id:06d}",
                "title": rng.choice(TITLES[kind["name"]]),
                "partner_id": p.id,
                "kind_id": kind["id"],
                "stage_id": path[-1][0],
                "reached_position": WON_POSITION
                if status == "won"
                else max(pos for _s, pos in path),
                "status": status,
                "amount": Decimal(amount).quantize(Decimal("0.01")),
                "created_on": created_on,
                "expected_close": expected,
                "closed_on": closed_on,
                "manager_id": manager,
                "loss_reason_id": reason_ids[_weighted(rng, reason_w)] if lost else None,
                "loss_comment": "Клиент сообщил по телефону" if lost and rng.random() < 0.2 else "",
                "source": rng.choice(SOURCES),
                "description": "",
                "stage_entered_at": moments[-1],
                "created_at": created_at,
                "updated_at": end,
                "version": 1 + len(path) + (0 if status == "open" else 1),
            }
        )
        totals["deals"] += 1
        totals[status] += 1
        people = persons.get(p.id)
        if people and rng.random() < 0.6:
            for cpid in rng.sample(people, k=min(len(people), rng.choice((1, 1, 2)))):
                n_contact += 1
                contacts.append(
                    {
                        "id": n_contact,
                        "deal_id": deal_id,
                        "contact_person_id": cpid,
                        "role_id": rng.choice(role_ids),
                    }
                )
        if rng.random() < 0.1:
            others = rng.sample(manager_ids, k=3)
            for uid in [u for u in others if u != manager][: rng.choice((1, 1, 2))]:
                n_part += 1
                parts.append({"id": n_part, "deal_id": deal_id, "user_id": uid, "role_id": None})
        # The deal's timeline: a few logged calls, e-mails and meetings.
        k = rng.choice((0, 1, 2, 2, 3, 4)) if is_open else rng.choice((0, 0, 0, 1, 1, 2))
        for when in _moments(rng, created_at, end, k + 1)[1:] if k else ():
            kind_i, title = rng.choice(ACTIVITIES)
            n_inter += 1
            minutes = 60 if kind_i == "meeting" else 10 if kind_i == "call" else 0
            inters.append(
                {
                    "id": n_inter,
                    "kind": kind_i,
                    "status": "completed",
                    "title": title,
                    "responsible_id": manager,
                    "partner_id": p.id,
                    "contact_person_id": None,
                    "contact_text": "",
                    "subject_type": "deal",
                    "subject_id": deal_id,
                    "subject_text": "",
                    "starts_at": when,
                    "duration_minutes": minutes,
                    "ends_at": when + timedelta(minutes=minutes),
                    "follow_up_at": None,
                    "due_at": None,
                    "remind_minutes": None,
                    "direction": "outgoing" if kind_i != "meeting" else "",
                    "address": "",
                    "outcome": "",
                    "description": "",
                    "parent_id": None,
                    "chain_id": n_inter,
                    "search_text": fold(f"{title} {partner_name[p.id]}")[:4000],
                    "completed_at": when + timedelta(minutes=minutes),
                    "created_at": when + timedelta(minutes=minutes),
                    "updated_at": when + timedelta(minutes=minutes),
                    "version": 1,
                }
            )
        flush()
    flush(final=True)
    db.session.commit()
    t_gen = time.perf_counter()
    if db.engine.dialect.name == "postgresql":  # rows came with their ids: move sequences on
        with db.engine.begin() as conn:
            for name in (*INDEXED, "deal_kind", "deal_stage", "deal_role", "deal_loss_reason"):
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {name}))"
                    )
                )
    t = time.perf_counter()
    changes = sync_indexes()
    t_index = time.perf_counter() - t
    counts = {
        "deals": totals["deals"],
        "open": totals["open"],
        "won": totals["won"],
        "lost": totals["lost"],
        "stage history rows": n_hist,
        "deal contacts": n_contact,
        "deal participants": n_part,
        "deal interactions": n_inter,
        "partners": len(partners),
        "managers": len(manager_ids),
    }
    print(
        f"partners and managers in {t_base - t0:.0f} s; deals generated in "
        f"{t_gen - t_base - t_write:.0f} s, written in {t_write:.0f} s; "
        f"{len(changes)} indexes built in {t_index:.0f} s: {counts}"
    )
    return counts


def _drop_indexes() -> None:
    """The deal tables' secondary indexes go during the bulk load; sync_indexes builds them."""
    conn = db.session.connection()
    for name in INDEXED:
        for ix in db.metadata.tables[name].indexes:
            if not ix.unique:
                conn.execute(sa.text(f'DROP INDEX IF EXISTS "{ix.name}"'))


def sync_indexes() -> list[str]:
    """Create the models' indexes the deal tables lack and drop those the models no longer
    have (so an index added to crm/deals/models.py is measured without regenerating)."""
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


def check() -> list[str]:
    """The model's rules over the whole data (SQL, so it reads every row): what is wrong, or
    nothing. Run after a build; also `deals_bench.py --check-data`."""
    q = {
        "open deals without exactly one current stay": """
            SELECT count(*) FROM deal d WHERE d.status = 'open' AND (
              SELECT count(*) FROM deal_stage_history h
              WHERE h.deal_id = d.id AND h.left_at IS NULL) <> 1""",
        "closed deals with a current stay": """
            SELECT count(*) FROM deal d WHERE d.status <> 'open' AND EXISTS (
              SELECT 1 FROM deal_stage_history h WHERE h.deal_id = d.id AND h.left_at IS NULL)""",
        "reached_position of open/lost deals ≠ the furthest stage in the history": """
            SELECT count(*) FROM deal d WHERE d.status <> 'won' AND d.reached_position <> (
              SELECT max(s.position) FROM deal_stage_history h
              JOIN deal_stage s ON s.id = h.stage_id WHERE h.deal_id = d.id)""",
        "won deals whose reached_position is not WON_POSITION": """
            SELECT count(*) FROM deal WHERE status = 'won' AND reached_position <> 1000000""",
        "process deals whose history is not 1, 2, …, k in order": """
            SELECT count(*) FROM deal d JOIN deal_kind k ON k.id = d.kind_id
            WHERE k.is_process = true AND (
              SELECT count(*) FROM deal_stage_history h WHERE h.deal_id = d.id)
              <> (SELECT s.position FROM deal_stage s WHERE s.id = d.stage_id)""",
        "current stage ≠ the last stay's stage": """
            SELECT count(*) FROM deal d WHERE d.stage_id <> (
              SELECT h.stage_id FROM deal_stage_history h WHERE h.deal_id = d.id
              ORDER BY h.entered_at DESC, h.id DESC LIMIT 1)""",
        "stage_entered_at ≠ the last stay's start": """
            SELECT count(*) FROM deal d WHERE d.stage_entered_at <> (
              SELECT max(h.entered_at) FROM deal_stage_history h WHERE h.deal_id = d.id)""",
        "stays outside the deal's life or left before entered": """
            SELECT count(*) FROM deal_stage_history h JOIN deal d ON d.id = h.deal_id
            WHERE h.entered_at < d.created_at OR h.left_at < h.entered_at""",
        "closed deals without closed_on, or closed before created": """
            SELECT count(*) FROM deal WHERE status <> 'open'
              AND (closed_on IS NULL OR closed_on < created_on)""",
        "lost deals without a reason / others with one": """
            SELECT count(*) FROM deal WHERE (status = 'lost') <> (loss_reason_id IS NOT NULL)""",
        "open deals with closed_on": """
            SELECT count(*) FROM deal WHERE status = 'open' AND closed_on IS NOT NULL""",
    }
    bad = []
    with db.engine.connect() as conn:
        for what, sql in q.items():
            n = conn.execute(sa.text(sql)).scalar_one()
            if n:
                bad.append(f"{what}: {n:,}")
    return bad


def fingerprint(args) -> str:
    """Scale, seed, the filled tables' layout (columns and constraints, not indexes) and the
    generators' versions: a change to any of them rebuilds the data."""
    tables = (*partners_bench.FILLED, *FILLED)
    ddl = "".join(str(CreateTable(db.metadata.tables[t]).compile(db.engine)) for t in tables)
    key = (
        f"{GENERATOR_VERSION}|{partners_bench.GENERATOR_VERSION}|{args.deals}|{args.open}|"
        f"{args.partners}|{args.managers}|{args.seed}|{ddl}"
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def prepare(app, args) -> tuple[dict[str, int], str]:
    """Reuse the data when it matches; else rebuild it. Returns counts and when it was made."""
    want = fingerprint(args)
    with db.engine.connect() as conn:
        meta = {}
        if sa.inspect(conn).has_table("bench_meta"):
            meta = dict(conn.execute(sa.text("SELECT key, value FROM bench_meta")).all())
    if args.rebuild or meta.get("fingerprint") != want:
        t = time.perf_counter()
        counts = generate(app, args.deals, args.open, args.partners, args.managers, args.seed)
        bad = check()
        if bad:
            raise SystemExit("the generated deals break the model's rules:\n" + "\n".join(bad))
        seconds = f"{time.perf_counter() - t:.0f}"
        made = utcnow().strftime("%Y-%m-%d %H:%M UTC")
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS bench_meta"))
            conn.execute(sa.text("CREATE TABLE bench_meta (key TEXT PRIMARY KEY, value TEXT)"))
            rows = {
                "fingerprint": want,
                "generated_at": made,
                "build_seconds": seconds,
                **{f"count:{k}": str(v) for k, v in counts.items()},
            }
            conn.execute(
                sa.text("INSERT INTO bench_meta VALUES (:k, :v)"),
                [{"k": k, "v": v} for k, v in rows.items()],
            )
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        print(f"built in {seconds} s; the model's rules hold over every deal")
    else:
        db.create_all()  # tables added to the app since the data was built
        counts = {k[6:]: int(v) for k, v in meta.items() if k.startswith("count:")}
        made, seconds = meta.get("generated_at", "?"), meta.get("build_seconds", "?")
        print(f"reusing the data generated at {made} in {seconds} s: {counts}")
        changes = sync_indexes()
        if changes:
            print("indexes brought in line with the models:", " ".join(changes))
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    return counts, f"{made}, built in {seconds} s"
