"""Speed and memory benchmark of the sales import at scale (`make bench`).

Generates, once, realistic exchange files into bench/data/ (git-ignored): sales.csv with
1,000,000 lines (~200,000 documents of 1–10 lines over 24 months; Russian organizations,
departments and warehouses; popular and rare products; regular, occasional, new and churning
customers; returns with negative quantity and amount; managers' e-mails; semicolon-separated,
UTF-8 with BOM, part of the documents with `DD.MM.YYYY` dates and `1 234,50` numbers, part
without line numbers or due dates), partners.csv (20,000) and products.csv (5,000).

Then builds a fresh SQLite database (migrations applied through `crm init-db`'s upgrade, then
partners and products imported with the CLI) and times the real command,
`flask --app app crm import sales FILE`, as a child process: its wall time, CPU time and peak
RSS (`ru_maxrss` from wait4, the number `/usr/bin/time -v` prints as "Maximum resident set
size"). Cases: validation alone (`--dry-run`) on the empty ledger, the first import, a re-import
of the same file (nothing changes), and `--dry-run` against the loaded ledger. Prints a table
and writes it to bench/results/import.md with the scale and the machine.

    .venv/bin/python bench/import_bench.py                   # 1,000,000 lines, 3 runs per case
    .venv/bin/python bench/import_bench.py --runs 1
    .venv/bin/python bench/import_bench.py --lines 100000 --output ''   # a quick look
    .venv/bin/python bench/import_bench.py --rebuild         # regenerate the files
    .venv/bin/python bench/import_bench.py --lines 100000 --profile     # pyinstrument, in-process
    .venv/bin/python bench/import_bench.py --lines 20000 --sql          # statements, counted

--check exits 1 when a case misses the targets (2 minutes, 500 MB).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.partners_bench import (  # noqa: E402
    Pools,
    _company_name,
    _person_name,
    _phone,
    _translit,
    _zipf_pick,
    machine,
    write_text_atomic,
)

GENERATOR_VERSION = "1"
TARGET_S = 60.0  # issue 9: a million lines under 60 s at under 400 MB
TARGET_MB = 400.0
PY = ROOT / ".venv" / "bin" / "python"
FIRST_DAY = date(2024, 11, 1)  # 24 months: November 2024 … October 2026
MONTHS = 24
BIG_RU_CITIES = ["Москва", "Санкт-Петербург", "Новосибирск", "Екатеринбург", "Казань"]
ORGANIZATIONS = ["ООО «Торговый дом Восток»", "ООО «Восток-Снаб»", "АО «Восток Дистрибуция»"]
DEPARTMENTS = [
    "Отдел оптовых продаж",
    "Отдел розничных продаж",
    "Отдел ключевых клиентов",
    "Интернет-магазин",
    "Филиал «Урал»",
    "Филиал «Сибирь»",
]
WAREHOUSES = [
    "Основной склад (Москва)",
    "Склад Подольск",
    "Склад Санкт-Петербург",
    "Склад Екатеринбург",
    "Склад Новосибирск",
    "Транзитный склад",
    "Склад брака",
]
MANAGERS = [
    ("Иванова", "Мария"),
    ("Петров", "Алексей"),
    ("Смирнова", "Ольга"),
    ("Кузнецов", "Дмитрий"),
    ("Соколова", "Екатерина"),
    ("Попов", "Сергей"),
    ("Лебедева", "Анна"),
    ("Козлов", "Игорь"),
    ("Новикова", "Татьяна"),
    ("Морозов", "Андрей"),
    ("Волкова", "Наталья"),
    ("Зайцев", "Павел"),
    ("Павлова", "Юлия"),
    ("Семёнов", "Максим"),
    ("Голубева", "Ирина"),
]
# Product catalogue: group → (unit, price range in roubles, name parts).
CATALOGUE = {
    "Кабель и провод": (
        "м",
        (30, 900),
        ["Кабель ВВГнг-LS", "Кабель NYM", "Провод ПВС", "Провод ПуГВ", "Кабель КГтп"],
        ["3х1,5", "3х2,5", "5х4", "2х0,75", "4х16", "1х6"],
    ),
    "Крепёж": (
        "уп",
        (80, 2500),
        [
            "Саморез по дереву",
            "Саморез по металлу",
            "Дюбель-гвоздь",
            "Анкерный болт",
            "Шуруп универсальный",
        ],
        ["3,5х35", "4,2х76", "6х40", "8х60", "10х100", "4х50"],
    ),
    "Сухие смеси": (
        "шт",
        (250, 1200),
        [
            "Штукатурка гипсовая",
            "Шпаклёвка финишная",
            "Клей плиточный",
            "Наливной пол",
            "Ровнитель",
        ],
        ["25 кг", "30 кг", "20 кг", "5 кг", "15 кг"],
    ),
    "Лакокрасочные": (
        "шт",
        (300, 6000),
        [
            "Краска водоэмульсионная",
            "Эмаль ПФ-115",
            "Грунтовка глубокого проникновения",
            "Лак яхтный",
            "Антисептик",
        ],
        ["белая 10 л", "серая 2,7 кг", "0,9 л", "бесцветная 5 л", "14 кг"],
    ),
    "Инструмент": (
        "шт",
        (400, 45000),
        [
            "Дрель-шуруповёрт",
            "Перфоратор",
            "Болгарка",
            "Лобзик электрический",
            "Набор бит",
            "Уровень",
        ],
        ["18 В", "800 Вт", "125 мм", "2 АКБ", "профи", "600 мм"],
    ),
    "Сантехника": (
        "шт",
        (150, 30000),
        [
            "Смеситель для кухни",
            "Унитаз-компакт",
            "Труба ПП",
            "Фитинг угловой",
            "Радиатор биметаллический",
        ],
        ["хром", "20 мм", "32 мм", "10 секций", "белый", '1/2"'],
    ),
    "Электрика": (
        "шт",
        (40, 8000),
        [
            "Автоматический выключатель",
            "Розетка двойная",
            "Светильник LED",
            "Щит распределительный",
            "УЗО",
        ],
        ["16 А", "25 А", "IP44", "12 модулей", "30 мА", "белая"],
    ),
    "Металлопрокат": (
        "кг",
        (90, 400),
        ["Арматура А500С", "Уголок стальной", "Лист г/к", "Труба профильная", "Швеллер"],
        ["12 мм", "50х50х5", "3 мм", "40х20х2", "№10", "8 мм"],
    ),
}


# --- the files -------------------------------------------------------------------------------


@dataclass
class Scale:
    lines: int
    partners: int
    products: int
    seed: int

    @property
    def tag(self) -> str:
        return f"import-{self.lines}-{self.partners}-{self.products}-s{self.seed}"


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _ru_number(value: Decimal, rng: random.Random) -> str:
    """`1 234,50` (a space or a non-breaking space between thousands), as Excel writes it."""
    sign = "-" if value < 0 else ""
    whole, _, frac = f"{abs(value):f}".partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    sep = " " if rng.random() < 0.7 else "\u00a0"
    return sign + sep.join(groups) + ("," + frac if frac else "")


def generate_files(scale: Scale, out: Path) -> dict:
    """Write partners.csv, products.csv and sales.csv; returns what they hold."""
    rng = random.Random(scale.seed)
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    pools = Pools(scale.seed)
    managers = [f"{_translit(first)[0]}.{_translit(last)}@vostok-td.ru" for last, first in MANAGERS]

    # Partners: who they are, when they buy, how much, on which payment terms.
    partners = []
    days = (date(FIRST_DAY.year + MONTHS // 12, FIRST_DAY.month, 1) - FIRST_DAY).days
    with open(out / "partners.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "code",
                "name",
                "kind",
                "roles",
                "inn",
                "email",
                "phone",
                "city",
                "manager",
                "created_on",
            ]
        )
        for i in range(1, scale.partners + 1):
            code = f"К-{i:05d}"
            russian = rng.random() < 0.92
            person = rng.random() < 0.1
            name = (_person_name if person else _company_name)(rng, pools, russian)
            r = rng.random()
            if r < 0.45:  # regular: the whole period
                start, end, weight = 0, days, rng.paretovariate(1.3)
            elif r < 0.65:  # new: started buying during the period
                start, end, weight = rng.randint(30, days - 30), days, rng.paretovariate(1.3)
            elif r < 0.8:  # churning: stopped
                start, end, weight = 0, rng.randint(60, days - 60), rng.paretovariate(1.3)
            else:  # occasional
                start, end, weight = 0, days, 0.15
            manager = rng.choice(managers)
            terms = rng.choice([0, 0, 7, 14, 30, 30, 45, 60])
            partners.append((code, start, end, min(weight, 60.0), manager, terms))
            domain = _translit(name.split("«")[-1]) + rng.choice([".ru", ".ru", ".com", ".net"])
            w.writerow(
                [
                    code,
                    name,
                    "person" if person else "company",
                    rng.choice(["client", "client", "client", "client;supplier"]),
                    "".join(rng.choice("0123456789") for _ in range(12 if person else 10)),
                    f"{rng.choice(['info', 'zakaz', 'buh', 'office'])}@{domain}"
                    if rng.random() < 0.8
                    else "",
                    _phone(rng, True) if rng.random() < 0.85 else "",
                    _zipf_pick(rng, pools.ru_cities, len(BIG_RU_CITIES)),
                    manager,
                    (FIRST_DAY - timedelta(days=rng.randint(0, 6 * 365))).isoformat(),
                ]
            )

    # Products: a few best sellers and a long tail of rare ones.
    products = []
    with open(out / "products.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sku", "name", "group", "unit", "base_price"])
        groups = list(CATALOGUE)
        for i in range(1, scale.products + 1):
            group = groups[i % len(groups)]
            unit, (lo, hi), names, specs = CATALOGUE[group]
            price = _money(rng.uniform(lo, hi))
            sku = f"{'АБВГДЕЖИ'[groups.index(group)]}{i:05d}"
            name = f"{rng.choice(names)} {rng.choice(specs)} (арт. {i:05d})"
            products.append((sku, unit, price))
            w.writerow([sku, name, group, unit, f"{price}"])
    product_weights = [1 / (rank + 1) ** 0.9 for rank in range(len(products))]
    rng.shuffle(products)  # popularity is not the order of the codes
    product_cum = _cumulative(product_weights)
    partner_cum = _cumulative([p[3] for p in partners])

    # Documents: partner by weight, date inside the partner's active window, a few returns.
    sizes = rng.choices(
        range(1, 11), weights=[14, 13, 12, 11, 10, 10, 9, 8, 7, 6], k=scale.lines // 3 + 10
    )
    docs, total = [], 0
    for size in sizes:
        if total >= scale.lines:
            break
        p = partners[rng.choices(range(len(partners)), cum_weights=partner_cum)[0]]
        # A little growth: later months carry somewhat more documents.
        offset = p[1] + int((p[2] - p[1]) * rng.random() ** 0.85)
        is_return = rng.random() < 0.03
        size = min(rng.randint(1, 3) if is_return else size, scale.lines - total)
        docs.append((FIRST_DAY + timedelta(days=offset), p, size, is_return))
        total += size
    docs.sort(key=lambda d: d[0])

    stats = Counter()
    sale_no = return_no = 0
    with open(out / "sales.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(
            [
                "doc_no",
                "line_no",
                "date",
                "partner_code",
                "sku",
                "quantity",
                "amount",
                "cost",
                "organization",
                "department",
                "warehouse",
                "manager",
                "due_date",
            ]
        )
        for doc_date, (code, _s, _e, _w, manager, terms), size, is_return in docs:
            if is_return:
                return_no += 1
                doc_no = f"ВЗ-{doc_date.year}-{return_no:06d}"
                stats["returns"] += 1
            else:
                sale_no += 1
                doc_no = f"РТУ-{doc_date.year}-{sale_no:07d}"
            ru = rng.random() < 0.4  # as 1C or Excel in a Russian locale writes them
            numbered = rng.random() < 0.85
            stats["ru-style documents"] += ru
            stats["documents without line_no"] += not numbered
            day_text = doc_date.strftime("%d.%m.%Y") if ru else doc_date.isoformat()
            due = "" if terms == 0 or rng.random() < 0.1 else doc_date + timedelta(days=terms)
            due_text = "" if not due else (due.strftime("%d.%m.%Y") if ru else due.isoformat())
            org = ORGANIZATIONS[0] if rng.random() < 0.7 else rng.choice(ORGANIZATIONS)
            dep = rng.choice(DEPARTMENTS) if rng.random() < 0.9 else ""
            wh = rng.choice(WAREHOUSES[:-1]) if rng.random() < 0.95 else ""
            mgr = manager if rng.random() < 0.95 else ""
            picks = rng.choices(range(len(products)), cum_weights=product_cum, k=size)
            for line_no, pi in enumerate(picks, start=1):
                sku, unit, price = products[pi]
                if unit == "шт" or unit == "уп":
                    qty = Decimal(rng.choice([1, 1, 2, 3, 5, 10, 12, 20, 50, 100]))
                elif unit == "м":
                    qty = Decimal(rng.choice([10, 25, 50, 100, 200, 500])) + Decimal(
                        rng.choice(["0", "0", "0.5"])
                    )
                else:
                    qty = Decimal(rng.randint(50, 50000)).scaleb(-3) * 10
                amount = _money(float(qty * price) * (1 - rng.choice([0, 0, 0, 0.03, 0.05, 0.1])))
                cost = _money(float(amount) * rng.uniform(0.62, 0.85)) if rng.random() < 0.9 else ""
                if is_return:
                    qty, amount = -qty, -amount
                    cost = -cost if cost != "" else ""
                if ru:
                    cells = [
                        _ru_number(qty.normalize(), rng),
                        _ru_number(amount, rng),
                        "" if cost == "" else _ru_number(cost, rng),
                    ]
                else:
                    cells = [f"{qty.normalize():f}", f"{amount}", f"{cost}"]
                w.writerow(
                    [
                        doc_no,
                        line_no if numbered else "",
                        day_text,
                        code,
                        sku,
                        *cells,
                        org,
                        dep,
                        wh,
                        mgr,
                        due_text,
                    ]
                )
    info = {
        "lines": total,
        "documents": len(docs),
        "returns": stats["returns"],
        "partners": len(partners),
        "products": len(products),
        "managers": len(managers),
        "months": MONTHS,
        "ru-style documents": stats["ru-style documents"],
        "documents without line_no": stats["documents without line_no"],
        "sales.csv MB": round((out / "sales.csv").stat().st_size / 2**20, 1),
    }
    (out / "manifest.json").write_text(json.dumps({"version": GENERATOR_VERSION, **info}))
    print(f"generated the files in {time.perf_counter() - t0:.1f} s: {info}")
    return info


def _cumulative(weights: list[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


def prepare_files(scale: Scale, rebuild: bool) -> tuple[Path, dict]:
    out = ROOT / "bench" / "data" / scale.tag
    manifest = out / "manifest.json"
    if not rebuild and manifest.exists():
        info = json.loads(manifest.read_text())
        if info.pop("version", None) == GENERATOR_VERSION and (out / "sales.csv").exists():
            print(f"reusing the files in {out.relative_to(ROOT)}")
            return out, info
    return out, generate_files(scale, out)


# --- the database and the measured command ---------------------------------------------------


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    rc: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class PgDb:
    """A PostgreSQL database of the benchmark (never `test`): `url` names it; its twin
    `<name>_template` holds the migrated database with partners and products, and a run's fresh
    copy is `CREATE DATABASE <name> TEMPLATE <name>_template` (a file copy inside the server)."""

    url: str

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[1].split("?")[0]

    @property
    def template(self) -> PgDb:
        return PgDb(f"{self.url.rsplit('/', 1)[0]}/{self.name}_template")

    def _admin(self, *statements: str) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(
            f"{self.url.rsplit('/', 1)[0]}/postgres", isolation_level="AUTOCOMMIT"
        )
        with engine.connect() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)
        engine.dispose()

    def exists(self) -> bool:
        import sqlalchemy as sa

        engine = sa.create_engine(f"{self.url.rsplit('/', 1)[0]}/postgres")
        with engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": self.name}
            ).first()
        engine.dispose()
        return found is not None

    def recreate(self, template: PgDb | None = None) -> None:
        like = f" TEMPLATE {template.name}" if template else ""
        self._admin(
            f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)",
            f"CREATE DATABASE {self.name}{like}",
        )

    def drop(self) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


Db = Path | PgDb  # a SQLite file or a PostgreSQL database


def db_url(db: Db) -> str:
    return db.url if isinstance(db, PgDb) else f"sqlite:///{db}"


def _env(db: Db) -> dict:
    # The CLI's summary is parsed below: have it in English whatever the site's default.
    env = {**os.environ, "DATABASE_URL": db_url(db), "SECRET_KEY": "bench", "DEFAULT_LOCALE": "en"}
    env.pop("REDIS_URL", None)
    return env


def run_cli(db_path: Db, *args: str) -> Run:
    """`flask --app app crm ARGS` in a child process: wall time, CPU time, peak RSS."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(
            [str(PY), "-m", "flask", "--app", "app", "crm", *args],
            cwd=ROOT,
            env=_env(db_path),
            stdout=out,
            stderr=err,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)  # the child's own rusage
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            wall,
            usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss / 1024,
            proc.returncode,
            out.read(),
            err.read(),
        )


def _checked(run: Run, what: str) -> Run:
    if run.rc != 0:
        sys.exit(f"{what} failed (exit {run.rc}):\n{run.stdout}\n{run.stderr[-3000:]}")
    return run


def build_template(files: Path, template: Db) -> dict[str, Run]:
    """A migrated database with the partners and products of the files (not measured)."""
    from crm import create_app

    if isinstance(template, PgDb):
        template.recreate()
    else:
        for p in (template, Path(f"{template}-wal"), Path(f"{template}-shm")):
            p.unlink(missing_ok=True)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": db_url(template),
            "SECRET_KEY": "bench",
            "REDIS_URL": None,
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=app.extensions["migrate"].directory)  # what `crm init-db` runs
        from crm.extensions import db

        db.engine.dispose()
    runs = {}
    for kind in ("partners", "products"):
        runs[kind] = _checked(
            run_cli(template, "import", kind, str(files / f"{kind}.csv")), f"importing {kind}.csv"
        )
        print(f"  {kind}: {runs[kind].stdout.strip()} ({runs[kind].wall:.1f} s)")
    _checkpoint(template)
    return runs


def _checkpoint(path: Db) -> None:
    """Fold the WAL into the file so that a plain copy is the whole database."""
    if isinstance(path, PgDb):
        return
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


def fresh_copy(template: Db, work: Db) -> None:
    if isinstance(work, PgDb):
        work.recreate(template)
        return
    for p in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
        p.unlink(missing_ok=True)
    shutil.copyfile(template, work)


def ledger_counts(db_path: Db) -> dict[str, object]:
    if isinstance(db_path, PgDb):
        import sqlalchemy as sa

        con = sa.create_engine(db_path.url, poolclass=sa.pool.NullPool).connect()
        one = lambda sql: con.exec_driver_sql(sql).scalar()  # noqa: E731
    else:
        con = sqlite3.connect(db_path)
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    try:
        return {
            "lines": one("SELECT count(*) FROM sales_line"),
            "documents": one("SELECT count(*) FROM sales_document"),
            "Σ line amounts": round(float(one("SELECT sum(amount) FROM sales_line") or 0), 2),
            "Σ document totals": round(float(one("SELECT sum(total) FROM sales_document") or 0), 2),
            "lines off their document": one(
                "SELECT count(*) FROM sales_line l JOIN sales_document d ON d.id = l.document_id "
                "WHERE l.date != d.date OR l.partner_id != d.partner_id"
            ),
        }
    finally:
        con.close()


# --- the cases -------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    args: tuple[str, ...]
    runs: list[Run] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)

    def worst(self, attr: str) -> float:
        return max(getattr(r, attr) for r in self.runs)

    @property
    def summary(self) -> str:
        last = (self.runs[-1].stdout.strip() or self.runs[-1].stderr.strip()).splitlines()
        return last[-1] if last else ""

    @property
    def missed(self) -> bool:
        return self.worst("wall") >= TARGET_S or self.worst("rss_mb") >= TARGET_MB


def measure(files: Path, template: Db, work: Db, runs: int) -> tuple[list[Case], dict]:
    sales = str(files / "sales.csv")
    cases = {
        "dry": Case(
            "validation only (`--dry-run`), empty ledger", ("import", "sales", sales, "--dry-run")
        ),
        "first": Case("first import into an empty ledger", ("import", "sales", sales)),
        "again": Case("re-import of the same file (nothing changes)", ("import", "sales", sales)),
        "dry2": Case(
            "validation only (`--dry-run`), loaded ledger", ("import", "sales", sales, "--dry-run")
        ),
    }
    counts = {}
    for i in range(1, runs + 1):
        fresh_copy(template, work)
        for key in ("dry", "first", "again", "dry2"):
            case = cases[key]
            run = _checked(run_cli(work, *case.args), case.name)
            case.runs.append(run)
            flag = "  ⚠ over target" if run.wall >= TARGET_S or run.rss_mb >= TARGET_MB else ""
            print(f"run {i}: {case.name:<48} {run.wall:7.1f} s  {run.rss_mb:6.0f} MB  "
                  f"cpu {run.cpu:6.1f} s  {case.summary}{flag}", flush=True)  # fmt: skip
            if key == "first" and i == 1:
                counts = ledger_counts(work)
                print(f"       stored: {counts}")
    _check_results(cases, counts)
    return list(cases.values()), counts


def _check_results(cases: dict[str, Case], counts: dict) -> None:
    """The measured commands did the whole job: all rows new, then all unchanged."""
    problems = []
    n = cases["first"].runs[0].stdout.split(" rows:")[0].split()[-1]
    if f"{n} new, 0 updated, 0 unchanged, 0 rejected" not in cases["first"].summary:
        problems.append(f"first import: {cases['first'].summary}")
    for key in ("again", "dry2"):
        if f"0 new, 0 updated, {n} unchanged, 0 rejected" not in cases[key].summary:
            problems.append(f"{key}: {cases[key].summary}")
    if counts.get("lines") != int(n) or counts.get("lines off their document"):
        problems.append(f"stored: {counts}")
    if abs(counts.get("Σ line amounts", 0) - counts.get("Σ document totals", 0)) > 0.5:
        problems.append(f"document totals do not add up: {counts}")
    if problems:
        sys.exit("the import did not do what it should:\n" + "\n".join(problems))


# --- profiling and SQL (in-process) -------------------------------------------------------------


def in_process(files: Path, template: Db, work: Db, profile: bool, sql: bool) -> None:
    """First import and re-import run in this process, under pyinstrument or counting SQL."""
    from sqlalchemy import event

    from crm import create_app
    from crm.exchange.importer import run_import
    from crm.extensions import db

    fresh_copy(template, work)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": db_url(work), "SECRET_KEY": "bench", "REDIS_URL": None}
    )
    statements: Counter = Counter()
    timings: Counter = Counter()
    with app.app_context():
        if sql:
            started = {}

            @event.listens_for(db.engine, "before_cursor_execute")
            def _before(conn, cursor, statement, parameters, context, executemany):
                started[id(cursor)] = time.perf_counter()

            @event.listens_for(db.engine, "after_cursor_execute")
            def _after(conn, cursor, statement, parameters, context, executemany):
                key = " ".join(statement.split())[:160] + (" [executemany]" if executemany else "")
                statements[key] += 1
                timings[key] += time.perf_counter() - started.pop(id(cursor), time.perf_counter())

        for label in ("first import", "re-import"):
            statements.clear()
            timings.clear()
            profiler = None
            if profile:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.001)
                profiler.start()
            t = time.perf_counter()
            report = run_import(files / "sales.csv", "sales")
            took = time.perf_counter() - t
            if profiler:
                profiler.stop()
            print(
                f"\n### {label}: {took:.1f} s — {report.rows} rows, {report.new} new, "
                f"{report.updated} updated, {report.unchanged} unchanged, "
                f"{report.rejected} rejected"
            )
            if profiler:
                print(profiler.output_text(unicode=True, color=False, show_all=False))
            if sql:
                for stmt, n in sorted(statements.items(), key=lambda kv: -timings[kv[0]])[:25]:
                    print(f"{timings[stmt]:8.2f} s  {n:7d}×  {stmt}")
            db.session.remove()


# --- the report ------------------------------------------------------------------------------


def table(cases: list[Case], lines: int) -> str:
    out = [
        "| case | runs | wall time, s (median; min–max) | peak RSS, MB (median; max) | "
        "rows/s | CPU s | the command's summary |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for c in cases:
        walls = [r.wall for r in c.runs]
        flag = " ⚠" if c.missed else ""
        out.append(
            f"| {c.name} | {len(c.runs)} | {c.median('wall'):.1f} ({min(walls):.1f}–{max(walls):.1f}){flag} | "
            f"{c.median('rss_mb'):.0f} ({c.worst('rss_mb'):.0f}) | {lines / c.median('wall'):,.0f} | "
            f"{c.median('cpu'):.1f} | {c.summary} |"
        )
    return "\n".join(out)


def write_report(path: Path, cases, info: dict, setup: dict[str, Run], counts: dict, args) -> None:
    missed = [c for c in cases if c.missed]
    verdict = (
        f"Every case under the targets ({TARGET_S:.0f} s and {TARGET_MB:.0f} MB peak RSS, "
        "worst run)."
        if not missed
        else f"{len(missed)} case(s) at or over a target (⚠)."
    )
    scale = (
        f"{info['lines']:,} sales lines in {info['documents']:,} documents "
        f"({info['returns']:,} returns), {info['partners']:,} partners, "
        f"{info['products']:,} products, {info['managers']} managers, {info['months']} months; "
        f"sales.csv {info['sales.csv MB']} MB; seed {args.seed}"
    )
    text = "\n".join(
        [
            "# Sales import: speed and memory benchmark",
            "",
            f"Generated by `make bench` (`bench/import_bench.py`) on "
            f"{datetime.now().strftime('%Y-%m-%d %H:%M')}.",
            "",
            f"- Scale: {scale}.",
            "- File: one sales.csv, `;`-separated, UTF-8 with BOM; "
            f"{info['ru-style documents']:,} documents with `DD.MM.YYYY` dates and `1 234,50` "
            f"numbers (space or no-break space), the rest ISO dates and `1234.50`; "
            f"{info['documents without line_no']:,} documents without `line_no`, some without "
            "`due_date`, cost, department, warehouse or manager.",
            f"- Database: {_database_line(args)}: migrations applied (`crm init-db`), "
            f"partners and products imported with the CLI (not measured: partners "
            f"{setup['partners'].wall:.0f} s, products {setup['products'].wall:.0f} s).",
            "- Method: `flask --app app crm import sales sales.csv [--dry-run]` as a child process; "
            "wall time from start to exit (interpreter and app start-up included), CPU = user + "
            "system, peak RSS = `ru_maxrss` of the child (what `/usr/bin/time -v` reports as "
            f'"Maximum resident set size"). {args.runs} run(s) per case, each run on a fresh copy '
            "of the database in the order: dry run, first import, re-import, dry run.",
            "- After the first import: "
            + ", ".join(
                f"{k} {v:,}" if isinstance(v, int) else f"{k} {v:,.2f}" for k, v in counts.items()
            )
            + ".",
            *[f"- {k}: {v}" for k, v in machine().items()],
            "",
            verdict,
            "",
            table(cases, info["lines"]),
            "",
            "An import validates the whole file first (one pass: parsing, lookups, repeated keys, "
            "new / changed / unchanged against the database), then streams it again and writes in "
            "batches inside one transaction, then brings document totals (and the lines' copy of "
            "the document's date and partner) up to date. *rows/s* is lines per wall second.",
            "",
        ]
    )
    write_text_atomic(path, text)


def _database_line(args) -> str:
    if not args.database_url:
        return "a fresh SQLite file (WAL) per run"
    import sqlalchemy as sa

    engine = sa.create_engine(args.database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        version = conn.exec_driver_sql("SHOW server_version").scalar()
    return (
        f"PostgreSQL {version} on this machine (127.0.0.1, psycopg 3), a fresh database per run "
        "(`CREATE DATABASE … TEMPLATE` of one built once)"
    )


def _template_key(files: Path) -> str:
    h = hashlib.sha256((files / "manifest.json").read_bytes())
    for p in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="sales lines in the file")
    ap.add_argument("--partners", type=int, default=20_000)
    ap.add_argument("--products", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--runs", type=int, default=3, help="runs per case")
    ap.add_argument("--rebuild", action="store_true", help="regenerate the files")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="pyinstrument over an in-process import and re-import (no report)",
    )
    ap.add_argument(
        "--sql",
        action="store_true",
        help="the statements of an in-process import and re-import, by time spent",
    )
    ap.add_argument("--check", action="store_true", help="exit 1 when a case misses a target")
    ap.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL database to measure on, e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/bench_sales (dropped and created per run, "
        "beside NAME_template; never a database in use). Default: SQLite files in bench/data",
    )
    ap.add_argument(
        "--output",
        default=None,
        help="Markdown report ('' for none; default bench/results/import.md, or "
        "import-postgresql.md with --database-url)",
    )
    args = ap.parse_args(argv)
    if args.output is None:
        name = "import-postgresql.md" if args.database_url else "import.md"
        args.output = str(ROOT / "bench" / "results" / name)

    scale = Scale(args.lines, args.partners, args.products, args.seed)
    files, info = prepare_files(scale, args.rebuild)
    if args.database_url:
        if not args.database_url.startswith("postgresql"):
            sys.exit("--database-url: a postgresql:// URL (SQLite is the default)")
        work = PgDb(args.database_url)
        if work.name in ("test", "postgres", "template0", "template1"):
            sys.exit(f"--database-url: {work.name!r} is not a benchmark's database")
        template = work.template
        setup_file = files / f"template-pg-{work.name}-{_template_key(files)}.json"
        missing = not template.exists()
    else:
        template = files / f"template-{_template_key(files)}.sqlite3"
        work = files / "work.sqlite3"
        setup_file = Path(f"{template}.json")
        missing = not template.exists()
    if args.rebuild or missing or not setup_file.exists():
        if not isinstance(template, PgDb):
            for old in files.glob("template-*.sqlite3*"):
                old.unlink()
        print("building the database (migrations, partners, products)")
        setup = build_template(files, template)
        setup_file.write_text(json.dumps({k: r.__dict__ for k, r in setup.items()}))
    else:
        setup = {k: Run(**v) for k, v in json.loads(setup_file.read_text()).items()}
        print(f"reusing {template if isinstance(template, PgDb) else template.relative_to(ROOT)}")

    if args.profile or args.sql:
        in_process(files, template, work, args.profile, args.sql)
        return 0

    cases, counts = measure(files, template, work, args.runs)
    print()
    print(table(cases, info["lines"]))
    if args.output:
        write_report(Path(args.output), cases, info, setup, counts, args)
        print(f"\nwritten to {os.path.relpath(args.output, ROOT)}")
    if isinstance(work, PgDb):
        work.drop()
    else:
        for p in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
            p.unlink(missing_ok=True)
    return 1 if args.check and any(c.missed for c in cases) else 0


if __name__ == "__main__":
    sys.exit(main())
