"""Speed benchmark of the partner pages at scale (`make bench`).

Builds, once, a SQLite file with N realistic partners (Russian and English companies and
people, their e-mails, phones and addresses, contact persons, tags, five managers), then signs
in through the Flask test client as an admin and as a manager and times the list page, the
search fragment, filters, a deep page and the partner card. Prints a table and writes it to
bench/results/partners.md with the scale and the machine.

    .venv/bin/python bench/partners_bench.py                  # 100,000 partners, reused file
    .venv/bin/python bench/partners_bench.py --partners 20000 --requests 50
    .venv/bin/python bench/partners_bench.py --rebuild        # regenerate the data
    .venv/bin/python bench/partners_bench.py --only search --sql      # queries of a case, timed
    .venv/bin/python bench/partners_bench.py --only search --explain  # and their query plans
    .venv/bin/python bench/partners_bench.py --only "card" --profile  # pyinstrument
    .venv/bin/python bench/partners_bench.py --database-url postgresql://…/scratch  # wiped!

The data file lives in bench/data/ (git-ignored) and is reused while its scale, seed, table
layout and the code deriving the search columns match; indexes are brought in line with the
models on every run, so an index added to crm/partners/models.py is measured without
regenerating the data. --check exits 1 when a median misses the target (--target; 30 ms up
to 100,000 partners, 60 ms above).
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import inspect
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from faker import Faker  # noqa: E402
from sqlalchemy.schema import CreateTable  # noqa: E402

from crm import create_app  # noqa: E402
from crm.core.db import enable_pg_trgm, has_pg_trgm, is_trigram_index  # noqa: E402
from crm.core.text import fold, normalise_email, normalise_phone  # noqa: E402
from crm.extensions import db  # noqa: E402

GENERATOR_VERSION = "2"
# Rows generated before they are written out: memory stays flat at any --partners.
CHUNK = 50_000
PASSWORD = "bench-password-1"
DB_NOTES = {
    "sqlite": "SQLite file, without ANALYZE statistics (as a fresh install runs)",
    "postgresql": "PostgreSQL, vacuumed and analysed after the load (as autovacuum would)",
}
N_MANAGERS = 5
TAGS = ["VIP", "Опт", "Розница", "Дилер", "Key account", "Новый", "Export", "Госзаказ"]
# Tables the generator fills; a change to their layout means the data must be rebuilt.
FILLED = ("user", "tag", "partner", "contact_person", "contact_detail", "partner_tag")
RU_FORMS = ["ООО", "ООО", "ООО", "АО", "ПАО", "ЗАО", "ИП"]
RU_STEMS = [
    "Строй",
    "Торг",
    "Снаб",
    "Пром",
    "Сервис",
    "Логистик",
    "Трейд",
    "Агро",
    "Тех",
    "Энерго",
    "Мет",
    "Хим",
    "Авто",
    "Инвест",
    "Маш",
    "Лес",
    "Нефть",
    "Фарм",
]
EN_INDUSTRY = [
    "Logistics",
    "Foods",
    "Systems",
    "Trading",
    "Supply",
    "Industries",
    "Partners",
    "Solutions",
    "Motors",
    "Pharma",
    "Energy",
    "Group",
    "Holdings",
    "Labs",
]
EN_FORMS = ["LLC", "Inc", "Ltd", "Corp", "GmbH", "PLC", ""]
BIG_RU_CITIES = ["Москва", "Санкт-Петербург", "Новосибирск", "Екатеринбург", "Казань"]
BIG_EN_CITIES = ["London", "New York", "Berlin", "Dubai"]


# --- the data ------------------------------------------------------------------------------


class Pools:
    """Names, cities and words drawn once from Faker; partners combine them (Faker per row is
    slow at 100k and would repeat itself anyway)."""

    def __init__(self, seed: int):
        Faker.seed(seed)
        ru, en = Faker("ru_RU"), Faker("en_US")
        self.ru_male = [
            (ru.last_name_male(), ru.first_name_male(), ru.middle_name_male()) for _ in range(600)
        ]
        self.ru_female = [
            (ru.last_name_female(), ru.first_name_female(), ru.middle_name_female())
            for _ in range(600)
        ]
        self.en_first = sorted({en.first_name() for _ in range(1500)})
        self.en_last = sorted({en.last_name() for _ in range(1500)})
        self.ru_words = sorted({w.capitalize() for w in ru.words(3000) if len(w) > 3})
        self.ru_cities = BIG_RU_CITIES + sorted({ru.city_name() for _ in range(1500)})
        self.en_cities = BIG_EN_CITIES + sorted({en.city() for _ in range(800)})
        self.ru_streets = sorted({ru.street_name() for _ in range(800)})
        self.en_streets = sorted({en.street_name() for _ in range(800)})
        self.logins = sorted({f.user_name() for f in (ru, en) for _ in range(2500)})
        self.domains = sorted({f.domain_word() for f in (ru, en) for _ in range(2500)})
        self.jobs = [en.job()[:200] for _ in range(300)]


def _zipf_pick(rng: random.Random, items: list, big: int) -> str:
    """Big cities take most partners, then a long tail, as in a real customer base."""
    if rng.random() < 0.45:
        return items[min(int(rng.expovariate(0.9)), big - 1)]
    return items[big + int(rng.random() ** 2 * (len(items) - big))]


def _person_name(rng: random.Random, pools: Pools, russian: bool) -> str:
    if russian:
        last, first, middle = rng.choice(pools.ru_male if rng.random() < 0.5 else pools.ru_female)
        return f"{last} {first} {middle}" if rng.random() < 0.8 else f"{first} {last}"
    return f"{rng.choice(pools.en_first)} {rng.choice(pools.en_last)}"


def _company_name(rng: random.Random, pools: Pools, russian: bool) -> str:
    if russian:
        form, r = rng.choice(RU_FORMS), rng.random()
        if form == "ИП":
            last, first, middle = rng.choice(pools.ru_male)
            return f"ИП {last} {first[0]}. {middle[0]}."
        if r < 0.4:
            core = rng.choice(pools.ru_words) + rng.choice(RU_STEMS).lower()
        elif r < 0.7:
            core = f"{rng.choice(RU_STEMS)}{rng.choice(pools.ru_words).lower()}"
        else:
            core = (
                f"{rng.choice(pools.ru_male)[0]} и партнёры"
                if r < 0.8
                else (f"{rng.choice(pools.ru_words)}-{rng.choice(RU_STEMS)}")
            )
        return f"{form} «{core}»" if rng.random() < 0.8 else f"{core}, {form}"
    last = rng.choice(pools.en_last)
    if rng.random() < 0.3:
        last = f"{last} & {rng.choice(pools.en_last)}"
    return " ".join(x for x in (last, rng.choice(EN_INDUSTRY), rng.choice(EN_FORMS)) if x)


def _phone(rng: random.Random, russian: bool) -> str:
    d = "".join(rng.choice("0123456789") for _ in range(7))
    if russian:
        code = rng.choice(["9", "9", "4", "8", "3"]) + f"{rng.randint(0, 99):02d}"
        if rng.random() < 0.6:
            return f"+7 ({code}) {d[:3]}-{d[3:5]}-{d[5:]}"
        return f"8 {code} {d[:3]} {d[3:]}"
    return f"+1-{rng.randint(201, 989)}-{d[:3]}-{d[3:]}"


def _translit(text: str) -> str:
    table = str.maketrans("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", "abvgdeejziiklmnoprstufhccss_y_eua")
    return re.sub(r"[^a-z0-9]+", "", fold(text).translate(table))[:16] or "mail"


def generate(app, n: int, seed: int) -> dict[str, int]:
    """Drop and refill the benchmark database; returns the row counts."""
    from crm.auth.models import User
    from crm.partners.models import ContactDetail, ContactPerson, Partner, Tag, partner_tag
    from crm.partners.services import sync_search

    rng = random.Random(seed)
    t0 = time.perf_counter()
    pools = Pools(seed)
    db.drop_all()
    db.create_all()
    with db.engine.begin() as conn:  # loaded faster without them; sync_indexes makes them after
        for name in FILLED:
            for ix in db.metadata.tables[name].indexes:
                if not ix.unique:
                    conn.execute(sa.text(f'DROP INDEX IF EXISTS "{ix.name}"'))
    users = [User(email="admin@bench.crm", role="admin", name="Анна Админова")]
    users += [
        User(
            email=f"manager{i}@bench.crm",
            role="manager",
            name=_person_name(rng, pools, i != N_MANAGERS),
        )
        for i in range(1, N_MANAGERS + 1)
    ]
    for u in users:
        u.set_password(PASSWORD)
        db.session.add(u)
    db.session.add_all(Tag(name=t, name_norm=fold(t)) for t in TAGS)
    db.session.commit()
    manager_ids = [u.id for u in users if u.role == "manager"]
    tag_ids = list(db.session.execute(sa.select(Tag.id).order_by(Tag.id)).scalars())
    db.session.commit()  # the bulk inserts below run on a connection of their own

    partners, persons, details, tags = [], [], [], []
    # Half a percent were merged into an older partner: they stay, hidden from the list.
    merged_rng = random.Random(seed + 1)
    merged = {
        pid: merged_rng.randint(1, n // 10)
        for pid in merged_rng.sample(range(n // 10 + 1, n + 1), k=n // 200)
    }
    totals = dict.fromkeys(("partners", "persons", "details", "tags"), 0)
    t_write = 0.0

    def flush():
        nonlocal t_write
        t = time.perf_counter()
        with db.engine.begin() as conn:
            for table, rows in (
                (Partner.__table__, partners),
                (ContactPerson.__table__, persons),
                (ContactDetail.__table__, details),
                (partner_tag, tags),
            ):
                bulk_insert(conn, table, rows)
        for key, rows in zip(totals, (partners, persons, details, tags), strict=True):
            totals[key] += len(rows)
            rows.clear()
        t_write += time.perf_counter() - t

    detail_id = person_id = 0
    today = date(2026, 11, 1)
    now = datetime(2026, 11, 1, 12, 0)

    def detail(kind, value, *, pid=None, cpid=None, label="", main=False):
        nonlocal detail_id
        detail_id += 1
        if kind == "email":
            norm = normalise_email(value)
        elif kind == "phone":
            norm = normalise_phone(value, "RU")
        else:
            norm = fold(value)
        row = {
            "id": detail_id,
            "partner_id": pid,
            "contact_person_id": cpid,
            "kind": kind,
            "value": value,
            "value_norm": norm,
            "label": label,
            "is_main": main,
        }
        details.append(row)
        return SimpleNamespace(**row)

    for pid in range(1, n + 1):
        russian = rng.random() < 0.7
        is_person = rng.random() < 0.2
        name = (_person_name if is_person else _company_name)(rng, pools, russian)
        city = (
            _zipf_pick(
                rng,
                pools.ru_cities if russian else pools.en_cities,
                len(BIG_RU_CITIES if russian else BIG_EN_CITIES),
            )
            if rng.random() < 0.9
            else ""
        )
        roles = {
            "client": rng.random() < 0.85,
            "supplier": rng.random() < 0.15,
            "competitor": rng.random() < 0.03,
        }
        created = today - timedelta(days=rng.randint(0, 8 * 365))
        domain = f"{_translit(name.split('«')[-1]) if russian else rng.choice(pools.domains)}"
        domain += rng.choice([".ru", ".ru", ".com", ".net", ".org"])
        own = []
        if rng.random() < 0.9:
            login = (
                rng.choice(pools.logins)
                if rng.random() < 0.5
                else rng.choice(["info", "office", "sales", "zakaz", "buh", "mail"])
            )
            own.append(detail("email", f"{login}@{domain}", pid=pid, main=True))
        if rng.random() < 0.85:
            own.append(detail("phone", _phone(rng, russian), pid=pid, main=True))
        if rng.random() < 0.1:
            own.append(detail("phone", _phone(rng, russian), pid=pid, label="office"))
        if rng.random() < 0.25:
            street = rng.choice(pools.ru_streets if russian else pools.en_streets)
            addr = (
                f"{city or 'Москва'}, {street}, д. {rng.randint(1, 120)}"
                if russian
                else f"{rng.randint(1, 9999)} {street}, {city or 'London'}"
            )
            own.append(detail("address", addr, pid=pid, label="legal", main=True))
        people = []
        if not is_person and rng.random() < 0.34:
            person_id += 1
            pname = _person_name(rng, pools, russian)
            persons.append(
                {
                    "id": person_id,
                    "partner_id": pid,
                    "name": pname,
                    "name_norm": fold(pname),
                    "position": rng.choice(pools.jobs),
                    "birthday": None,
                    "notes": "",
                    "created_at": now,
                }
            )
            mine = []
            if rng.random() < 0.7:
                mine.append(
                    detail(
                        "email",
                        f"{_translit(pname.split()[0])}@{domain}",
                        cpid=person_id,
                        main=True,
                    )
                )
            if rng.random() < 0.5:
                mine.append(detail("phone", _phone(rng, russian), cpid=person_id, main=True))
            people.append(SimpleNamespace(name_norm=fold(pname), contact_details=mine))
        if rng.random() < 0.3:
            tags.extend(
                {"partner_id": pid, "tag_id": t}
                for t in rng.sample(tag_ids, k=rng.choice([1, 1, 2]))
            )
        # The derived columns come from the app's own sync_search, run on a stand-in object.
        p = SimpleNamespace(
            name=name,
            code=f"P{pid:06d}",
            city=city,
            contact_details=own,
            contact_persons=people,
            inn="".join(rng.choice("0123456789") for _ in range(12 if is_person else 10)),
        )
        sync_search(p)
        partners.append(
            {
                "id": pid,
                "code": p.code,
                "name": name,
                "kind": "person" if is_person else "company",
                "is_client": roles["client"],
                "is_supplier": roles["supplier"],
                "is_competitor": roles["competitor"],
                "is_other": not any(roles.values()),
                "inn": p.inn,
                "city": city,
                "responsible_id": rng.choice(manager_ids) if rng.random() < 0.93 else None,
                "notes": "",
                "preferred_channel": rng.choice(["", "", "email", "phone"]),
                "best_time_to_call": "",
                "do_not_email": rng.random() < 0.03,
                "do_not_call": rng.random() < 0.03,
                "do_not_sms": False,
                "do_not_mail": False,
                "created_on": created,
                "created_at": now,
                "updated_at": now,
                "name_norm": p.name_norm,
                "name_key": p.name_key,
                "name_prefix": p.name_prefix,
                "city_norm": p.city_norm,
                "search_text": p.search_text,
                "merged_into_id": merged.get(pid),
            }
        )
        if len(partners) >= CHUNK:
            flush()
    flush()
    if db.engine.dialect.name == "postgresql":  # the ids were given: move the sequences on
        with db.engine.begin() as conn:
            for name in ("partner", "contact_person", "contact_detail"):
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
    counts = {
        "partners": n,
        "contact persons": totals["persons"],
        "contact details": totals["details"],
        "tag links": totals["tags"],
        "managers": N_MANAGERS,
    }
    print(
        f"generated {n} partners in {time.perf_counter() - t0 - t_write:.1f} s, written in "
        f"{t_write:.1f} s: {counts}"
    )
    return counts


def bulk_insert(conn, table, rows: list[dict]) -> None:
    """COPY on PostgreSQL (several times faster than INSERT at a million rows), executemany
    in batches elsewhere."""
    if not rows:
        return
    columns = list(rows[0])
    if conn.dialect.name == "postgresql":
        names = ", ".join(f'"{c}"' for c in columns)
        cur = conn.connection.dbapi_connection.cursor()
        with cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        return
    for i in range(0, len(rows), 20000):
        conn.execute(sa.insert(table), rows[i : i + 20000])


def _fingerprint() -> str:
    """The layout of the tables the generator fills (columns and constraints, not indexes)
    and the code that derives the normalised columns: a change to either rebuilds the data."""
    from crm.core import text
    from crm.partners.services import sync_search

    ddl = "".join(str(CreateTable(db.metadata.tables[t]).compile(db.engine)) for t in FILLED)
    code = "".join(
        inspect.getsource(f)
        for f in (
            sync_search,
            text.fold,
            text.name_key,
            text.digits,
            text.normalise_phone,
            text.normalise_email,
        )
    )
    return hashlib.sha256((GENERATOR_VERSION + ddl + code).encode()).hexdigest()[:16]


def _read_meta(conn) -> dict[str, str]:
    if not sa.inspect(conn).has_table("bench_meta"):
        return {}
    return dict(conn.execute(sa.text("SELECT key, value FROM bench_meta")).all())


def sync_indexes() -> list[str]:
    """Create the models' indexes the file lacks and drop those the models no longer have."""
    changes = []
    with db.engine.begin() as conn:
        enable_pg_trgm(conn)
        insp = sa.inspect(conn)
        for name in FILLED:
            table = db.metadata.tables[name]
            wanted = {
                ix.name: ix for ix in table.indexes if not is_trigram_index(ix) or has_pg_trgm(conn)
            }
            have = {
                ix["name"]: ix["column_names"]
                for ix in insp.get_indexes(name)
                if not ix.get("duplicates_constraint")  # PostgreSQL's unique constraints
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


def prepare(app, n: int, seed: int, rebuild: bool) -> dict[str, int]:
    """Reuse the data file when it matches the scale, seed and table layout; else rebuild."""
    want = {"partners": str(n), "seed": str(seed), "layout": _fingerprint()}
    with db.engine.connect() as conn:
        meta = _read_meta(conn)
    if rebuild or any(meta.get(k) != v for k, v in want.items()):
        counts = generate(app, n, seed)
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS bench_meta"))
            conn.execute(sa.text("CREATE TABLE bench_meta (key TEXT PRIMARY KEY, value TEXT)"))
            rows = {**want, **{f"count:{k}": str(v) for k, v in counts.items()}}
            conn.execute(
                sa.text("INSERT INTO bench_meta VALUES (:k, :v)"),
                [{"k": k, "v": v} for k, v in rows.items()],
            )
    else:
        db.create_all()  # tables added to the app since the file was built
        counts = {k[6:]: int(v) for k, v in meta.items() if k.startswith("count:")}
        print(f"reusing the data file ({n} partners)")
    changes = sync_indexes()
    if changes:
        print("indexes brought in line with the models:", " ".join(changes))
    if db.engine.dialect.name == "postgresql":
        # What autovacuum does to a real database soon after a bulk load.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    return counts


# --- the measurements ----------------------------------------------------------------------


@dataclass
class Case:
    name: str
    user: str  # "admin" or "manager"
    url: str
    fragment: bool = False
    cold_cities: bool = False  # forget the cached city suggestions before each request


@dataclass
class Result:
    case: Case
    times_ms: list[float]
    queries: int
    matched: str
    cpu_ms: float | None = None  # CPU per request: this process + the database's backends

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.times_ms, n=100, method="inclusive")[94]


class QueryLog:
    """Counts (and optionally keeps) the SQL a request runs."""

    def __init__(self):
        self.statements: list[tuple[str, object, float]] = []
        self.keep = False
        self._started = 0.0
        self.engine = db.engine
        sa.event.listen(db.engine, "before_cursor_execute", self._before)
        sa.event.listen(db.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self._started = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        took = (time.perf_counter() - self._started) * 1000
        self.statements.append((statement, parameters, took) if self.keep else ("", None, 0))

    def reset(self, keep=False):
        self.statements, self.keep = [], keep


def pick_terms(manager_id: int) -> dict[str, str]:
    """Search terms and filter values taken from the data, so they match what is there."""
    from crm.partners.models import ContactDetail, Partner, Tag

    s = db.session
    n = s.execute(sa.select(sa.func.max(Partner.id))).scalar_one()
    live = sa.select(Partner.id).where(Partner.merged_into_id.is_(None))

    def value(kind, partners):
        return s.execute(
            sa.select(ContactDetail.value)
            .where(ContactDetail.kind == kind, ContactDetail.partner_id.in_(partners))
            .limit(1)
        ).scalar_one()

    def phone_digits(partners):
        return "".join(ch for ch in value("phone", partners) if ch.isdigit())[-7:]

    vip = s.execute(sa.select(Tag.id).where(Tag.name == "VIP")).scalar_one()
    return {
        "email": value("email", live.where(Partner.id >= n // 2)),
        "phone": phone_digits(live.where(Partner.id >= n // 3)),
        "own phone": phone_digits(
            live.where(Partner.responsible_id == manager_id, Partner.id >= n // 3)
        ),
        "tag": str(vip),
    }


def cases(terms: dict[str, str], own_id: int, admin_id: int) -> list[Case]:
    q = "/partners/?q="
    return [
        Case("list page", "admin", "/partners/"),
        Case("list page, cities recounted", "admin", "/partners/", cold_cities=True),
        Case("search: common word 'ооо'", "admin", q + "ооо", True),
        Case("search: one letter 'а'", "admin", q + "а", True),
        Case("search: two words 'ооо строй'", "admin", q + "ооо+строй", True),
        Case("search: e-mail", "admin", q + terms["email"], True),
        Case("search: phone digits", "admin", q + terms["phone"], True),
        Case("search: no match", "admin", q + "zzqx", True),
        Case("filter: city Москва", "admin", "/partners/?city=Москва", True),
        Case("filter: tag VIP", "admin", f"/partners/?tag={terms['tag']}", True),
        Case("filter: supplier, sort by city", "admin", "/partners/?role=supplier&sort=city", True),
        Case("sort: newest first", "admin", "/partners/?sort=-created", True),
        Case("page 50", "admin", "/partners/?page=50", True),
        Case("card (summary)", "admin", f"/partners/{admin_id}"),
        Case("card: contacts tab", "admin", f"/partners/{admin_id}?tab=contacts", True),
        Case("card: contacts (full page)", "admin", f"/partners/{admin_id}?tab=contacts"),
        Case("list page", "manager", "/partners/"),
        Case("search: common word 'ооо'", "manager", q + "ооо", True),
        Case("search: one letter 'а'", "manager", q + "а", True),
        Case("search: phone digits", "manager", q + terms["own phone"], True),
        Case("search: no match", "manager", q + "zzqx", True),
        Case("filter: tag VIP", "manager", f"/partners/?tag={terms['tag']}", True),
        Case("page 50", "manager", "/partners/?page=50", True),
        Case("card (summary)", "manager", f"/partners/{own_id}"),
        Case("card: contacts tab", "manager", f"/partners/{own_id}?tab=contacts", True),
    ]


COUNT_RE = re.compile(r'id="partner-count">\s*([^<]*?)\s*<', re.S)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def db_cpu_seconds(engine) -> float | None:
    """CPU seconds used so far by the PostgreSQL backends of the bench's database (read from
    /proc, so only for a server on this machine); 0 for SQLite, which runs in this process.

    On a busy machine wall times stretch with the load; CPU time does not, so the report
    gives both (the bench database serves only this process)."""
    if engine.dialect.name == "sqlite":
        return 0.0
    with engine.connect() as conn:
        pids = conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return None
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def run_case(client, case: Case, log: QueryLog, warmup: int, requests: int) -> Result:
    headers = {"HX-Request": "true"} if case.fragment else {}
    for _ in range(warmup):
        response = client.get(case.url, headers=headers)
        assert response.status_code == 200, (case.url, response.status_code)
    db_before, cpu_before = db_cpu_seconds(log.engine), time.process_time()
    times = []
    for _ in range(requests):
        if case.cold_cities:
            client.application.extensions.pop("crm.partner_cities", None)
        log.reset()
        t = time.perf_counter()
        response = client.get(case.url, headers=headers)
        body = response.get_data()
        times.append((time.perf_counter() - t) * 1000)
    cpu = time.process_time() - cpu_before
    queries = len(log.statements)  # of the last request (before the CPU reading below)
    db_after = db_cpu_seconds(log.engine)
    cpu_ms = None if db_after is None else (cpu + db_after - db_before) * 1000 / requests
    assert response.status_code == 200, (case.url, response.status_code)
    assert (b"<html" in body) != case.fragment, case.url
    found = COUNT_RE.search(body.decode())
    matched = found.group(1).split(" partner")[0] if found else ""
    return Result(case, times, queries, matched, cpu_ms)


def show_sql(client, case: Case, log: QueryLog, explain: bool) -> None:
    headers = {"HX-Request": "true"} if case.fragment else {}
    client.get(case.url, headers=headers)
    log.reset(keep=True)
    client.get(case.url, headers=headers)
    statements = log.statements
    log.reset()
    print(f"\n### {case.user}: {case.name} — {len(statements)} queries")
    for sql, params, took in statements:
        print(f"\n-- {took:.2f} ms  params={params}\n{sql}")
        if explain and log.engine.dialect.name == "sqlite":
            raw = log.engine.raw_connection()
            try:
                for row in raw.cursor().execute("EXPLAIN QUERY PLAN " + sql, params or ()):
                    print("   plan:", row[-1])
            finally:
                raw.close()


def profile(client, case: Case, requests: int) -> None:
    from pyinstrument import Profiler

    headers = {"HX-Request": "true"} if case.fragment else {}
    client.get(case.url, headers=headers)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(requests):
        client.get(case.url, headers=headers)
    profiler.stop()
    print(f"\n### {case.user}: {case.name} ({requests} requests)")
    print(profiler.output_text(unicode=True, color=False, show_all=False))


# --- the report ------------------------------------------------------------------------------


def write_text_atomic(path: Path, text: str) -> None:
    """Write a report so that a reader never sees half of it (the benches share this)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def machine() -> dict[str, str]:
    cpu = "unknown"
    ram = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    from importlib.metadata import version

    return {
        "CPU": f"{cpu}, {os.cpu_count()} logical CPUs (nproc {len(os.sched_getaffinity(0))})",
        "RAM": ram,
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "SQLAlchemy / Flask": f"{sa.__version__} / {version('flask')}",
    }


def table(results: list[Result], target: float) -> str:
    lines = [
        "| user | case | URL | median ms | p95 ms | CPU ms | queries | matches |",
        "|---|---|---|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        url = r.case.url + (" (HTMX)" if r.case.fragment else "")
        flag = "" if r.median < target else " ⚠"
        cpu = "" if r.cpu_ms is None else f"{r.cpu_ms:.1f}"
        lines.append(
            f"| {r.case.user} | {r.case.name} | `{url}` | {r.median:.1f}{flag} | "
            f"{r.p95:.1f} | {cpu} | {r.queries} | {r.matched} |"
        )
    return "\n".join(lines)


def write_report(path: Path, results, counts, args, dialect: str, load: str) -> None:
    scale = ", ".join(f"{v:,} {k}" for k, v in counts.items())
    missed = [r for r in results if r.median >= args.target]
    verdict = (
        f"All {len(results)} cases under the {args.target:.0f} ms median target."
        if not missed
        else f"{len(missed)} case(s) at or over {args.target:.0f} ms (⚠)."
    )
    text = "\n".join(
        [
            "# Partner pages: speed benchmark",
            "",
            f"Generated by `make bench` (`bench/partners_bench.py`) on "
            f"{datetime.now().strftime('%Y-%m-%d %H:%M')}.",
            "",
            f"- Scale: {scale}; seed {args.seed}.",
            f"- Database: {DB_NOTES.get(dialect, dialect)}",
            f"- Method: Flask test client in one process, {args.warmup} warm-up then "
            f"{args.requests} timed requests per case; time = request until the body is read "
            "(routing, sign-in check, SQL, templates). *CPU ms*: CPU time per request of this "
            "process and the database server's backends (mean), which a busy machine does not "
            "stretch as it does wall time.",
            f"- Load average (1 min) before / after the run: {load}",
            *[f"- {k}: {v}" for k, v in machine().items()],
            "",
            verdict,
            "",
            table(results, args.target),
            "",
            '*matches*: the count the page shows; "1,000+" means the count stopped at its limit '
            '(`COUNT_LIMIT` in crm/core/paging.py); "≈ 995,000" is PostgreSQL\'s estimate for '
            "a list without filters above `EXACT_COUNT_UPTO`. *queries*: SQL statements per "
            "request (of the last one). "
            "The city suggestions of a full list page are kept for a few minutes per process; "
            '"cities recounted" is a full page that counts them again.',
            "",
        ]
    )
    write_text_atomic(path, text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--partners", type=int, default=100_000, help="how many partners")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--rebuild", action="store_true", help="regenerate the data file")
    ap.add_argument(
        "--database-url",
        help="another database (e.g. PostgreSQL) instead of "
        "bench/data/partners-N.sqlite3; it is wiped and refilled",
    )
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--only", help="run the cases whose name contains this text")
    ap.add_argument("--user", choices=["admin", "manager"], help="run one user's cases")
    ap.add_argument("--sql", action="store_true", help="print each case's SQL with timings")
    ap.add_argument("--explain", action="store_true", help="--sql with EXPLAIN QUERY PLAN")
    ap.add_argument("--profile", action="store_true", help="pyinstrument over the requests")
    ap.add_argument("--check", action="store_true", help="exit 1 when a median misses the target")
    ap.add_argument(
        "--target",
        type=float,
        help="median target in ms (default: 30 up to 100,000 partners, 60 above)",
    )
    ap.add_argument(
        "--output",
        default=str(ROOT / "bench" / "results" / "partners.md"),
        help="Markdown report ('' for none; not written with --only/--user)",
    )
    args = ap.parse_args(argv)
    if args.target is None:
        args.target = 30.0 if args.partners <= 100_000 else 60.0

    data_dir = ROOT / "bench" / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    db_url = args.database_url or f"sqlite:///{data_dir / f'partners-{args.partners}.sqlite3'}"
    from crm.config import normalise_database_url

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
        counts = prepare(app, args.partners, args.seed, args.rebuild)
        from crm.auth.models import User
        from crm.partners.models import Partner

        manager = db.session.execute(
            sa.select(User).where(User.email == "manager1@bench.crm")
        ).scalar_one()
        live = sa.select(Partner.id).where(Partner.merged_into_id.is_(None))
        # A partner with a contact person and several details: the fuller card.
        from crm.partners.models import ContactPerson

        with_person = live.where(Partner.id.in_(sa.select(ContactPerson.partner_id)))
        admin_id = db.session.execute(
            with_person.where(Partner.id > args.partners // 2).limit(1)
        ).scalar_one()
        own_id = db.session.execute(
            with_person.where(Partner.responsible_id == manager.id).limit(1)
        ).scalar_one()
        terms = pick_terms(manager.id)
        log = QueryLog()
        db.session.remove()

    selected = [
        c
        for c in cases(terms, own_id, admin_id)
        if (not args.only or args.only.casefold() in c.name.casefold())
        and (not args.user or c.user == args.user)
    ]
    clients = {}
    for role, email in (("admin", "admin@bench.crm"), ("manager", "manager1@bench.crm")):
        client = app.test_client()
        r = client.post("/auth/login", data={"email": email, "password": PASSWORD})
        assert r.status_code == 302, r.get_data(as_text=True)[:300]
        clients[role] = client

    args.sql = args.sql or args.explain
    if args.sql or args.profile:
        for case in selected:
            if args.sql:
                show_sql(clients[case.user], case, log, args.explain)
            if args.profile:
                profile(clients[case.user], case, args.requests)
        return 0

    results = []
    load_before = os.getloadavg()[0]
    print(f"load average {load_before:.1f}")
    print(f"{'user':<8} {'case':<34} {'median':>8} {'p95':>8} {'CPU':>6} {'queries':>8}  matches")
    for case in selected:
        r = run_case(clients[case.user], case, log, args.warmup, args.requests)
        results.append(r)
        cpu = "" if r.cpu_ms is None else f"{r.cpu_ms:.1f}"
        print(f"{case.user:<8} {case.name:<34} {r.median:8.1f} {r.p95:8.1f} {cpu:>6} {r.queries:8d}  "
              f"{r.matched}{'  ⚠ over target' if r.median >= args.target else ''}")  # fmt: skip
    if args.output and not args.only and not args.user:
        with app.app_context():
            dialect = db.engine.dialect.name
        load = f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"
        write_report(Path(args.output), results, counts, args, dialect, load)
        print(f"\nwritten to {os.path.relpath(args.output, ROOT)}")
    return 1 if args.check and any(r.median >= args.target for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
