"""Speed benchmark of the partners import (`make bench`): a generated partners.csv of N partners
with e-mail, phone, city and manager, imported into an empty database, then re-imported
unchanged; then (with --contacts) a contacts.csv of N contact persons (one per partner, with
position, e-mail and phone) imported and re-imported the same way; medians of a few runs, on
SQLite or PostgreSQL. Wall time, the CPU time of this process and of the PostgreSQL backends
serving it, and the load average of the shared machine are reported for every case.

    .venv/bin/python bench/partner_import_bench.py                       # 100,000, SQLite
    .venv/bin/python bench/partner_import_bench.py --partners 20000 --runs 1 --output ''
    .venv/bin/python bench/partner_import_bench.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_partners
    .venv/bin/python bench/partner_import_bench.py --partners 20000 --profile   # pyinstrument
    .venv/bin/python bench/partner_import_bench.py --contacts   # contact persons too

A PostgreSQL database named in --database-url is dropped and created again for every run
(give a scratch name); a SQLite run uses a fresh file in bench/data/. The import runs in this
process through `crm.exchange.importer.run_import`, as `crm import partners FILE` does.
--check exits 1 when the first import of 100,000 partners or more takes 60 s or longer.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.import_bench import MANAGERS  # noqa: E402
from bench.partners_bench import (  # noqa: E402
    Pools,
    _company_name,
    _person_name,
    _phone,
    _translit,
    machine,
    write_text_atomic,
)

TARGET_S = 60.0
DATA = ROOT / "bench" / "data"
CITIES = ["Москва", "Санкт-Петербург", "Новосибирск", "Екатеринбург", "Казань", "Самара", "Омск"]
HEADER = ["code", "name", "kind", "roles", "inn", "email", "phone", "city", "manager", "created_on"]
CONTACT_HEADER = ["partner_code", "name", "position", "email", "phone"]
POSITIONS = ["директор", "главный бухгалтер", "менеджер по закупкам", "Head of Sales", ""]


def generate(n: int, seed: int) -> Path:
    """partners-N-SEED.csv in bench/data/ (made once): code, name, kind, roles, e-mail, phone,
    city, manager, created_on, as bench/import_bench.py writes them."""
    path = DATA / f"partners-{n}-{seed}.csv"
    if path.exists():
        return path
    rng = random.Random(seed)
    pools = Pools(seed)
    managers = [f"{_translit(first)[0]}.{_translit(last)}@vostok-td.ru" for last, first in MANAGERS]
    DATA.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(1, n + 1):
            russian = rng.random() < 0.92
            person = rng.random() < 0.1
            name = (_person_name if person else _company_name)(rng, pools, russian)
            domain = _translit(name.split("«")[-1]) + rng.choice([".ru", ".ru", ".com", ".net"])
            w.writerow(
                [
                    f"К-{i:06d}",
                    name,
                    "person" if person else "company",
                    rng.choice(["client", "client", "client;supplier", "supplier"]),
                    "",
                    f"info{i}@{domain.lower()}" if rng.random() < 0.9 else "",
                    _phone(rng, russian) if rng.random() < 0.85 else "",
                    rng.choice(CITIES) if rng.random() < 0.95 else "",
                    rng.choice(managers),
                    (date(2020, 1, 1) + timedelta(days=rng.randint(0, 2000))).isoformat(),
                ]
            )
    tmp.replace(path)
    return path


def generate_contacts(n: int, seed: int) -> Path:
    """contacts-N-SEED.csv in bench/data/ (made once): one contact person for each partner
    of partners-N-SEED.csv (codes К-000001…), with position, e-mail 80 % and phone 70 %."""
    path = DATA / f"contacts-{n}-{seed}.csv"
    if path.exists():
        return path
    rng = random.Random(seed + 1)
    pools = Pools(seed + 1)
    DATA.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CONTACT_HEADER)
        for i in range(1, n + 1):
            russian = rng.random() < 0.92
            name = _person_name(rng, pools, russian)
            w.writerow(
                [
                    f"К-{i:06d}",
                    name,
                    rng.choice(POSITIONS),
                    f"{_translit(name)[:12]}{i}@mail.ru" if rng.random() < 0.8 else "",
                    _phone(rng, russian) if rng.random() < 0.7 else "",
                ]
            )
    tmp.replace(path)
    return path


def _fresh_database(url: str) -> str:
    """An empty database at `url` (SQLite: a new file; PostgreSQL: dropped and created)."""
    if url.startswith("sqlite"):
        db_path = Path(url.split("///", 1)[1])
        for p in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
            p.unlink(missing_ok=True)
        return url
    from sqlalchemy import create_engine, make_url, text

    u = make_url(url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()
    return url


def _drop(url: str) -> None:
    if url.startswith("sqlite"):
        db_path = Path(url.split("///", 1)[1])
        for p in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
            p.unlink(missing_ok=True)
        return
    from sqlalchemy import create_engine, make_url, text

    u = make_url(url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
    admin.dispose()


def _cold_caches() -> None:
    """Empty the per-process caches of checked phones and e-mail addresses."""
    from crm.exchange import kind
    from crm.partners import exchange

    for fn in (kind._email_problem, exchange._email_problem, exchange._phone_facts):
        fn.cache_clear()


def _server_cpu() -> float:
    """CPU seconds the PostgreSQL backends of the bench's database have used so far, read from
    /proc (the server runs on this machine; 0 for SQLite or where /proc cannot be read). With
    this process's own CPU time it gives a cost that the shared machine's load does not
    inflate, where the wall time grows with every other job."""
    from sqlalchemy import text

    from crm.extensions import db

    if db.engine.dialect.name != "postgresql":
        return 0.0
    pids = db.session.execute(
        text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    ).scalars()
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


CASES = {
    "first": "partners: first import into an empty database",
    "again": "partners: re-import, unchanged",
    "persons": "contact persons: first import",
    "persons again": "contact persons: re-import, unchanged",
}


def one_run(
    url: str, path: Path, contacts: Path | None = None, profile: bool = False
) -> dict[str, tuple[float, float, float, str]]:
    """A fresh database, migrated; the first import and the re-import (of partners, then of
    contact persons when given), each timed: (wall s, CPU s, 1-minute load, summary)."""
    from flask_migrate import upgrade

    from crm import create_app
    from crm.exchange.importer import run_import
    from crm.extensions import db

    _fresh_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "REDIS_URL": None})
    out = {}
    steps = [("first", path, "partners"), ("again", path, "partners")]
    if contacts:
        steps += [("persons", contacts, "contacts"), ("persons again", contacts, "contacts")]
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        for label, file, kind in steps:
            _cold_caches()  # each import as a fresh `crm import` process would run it
            profiler = None
            if profile:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.001)
                profiler.start()
            server = _server_cpu()
            t, cpu = time.perf_counter(), time.process_time()
            r = run_import(file, kind)
            took, cpu_took = time.perf_counter() - t, time.process_time() - cpu
            server = _server_cpu() - server
            if profiler:
                profiler.stop()
                print(profiler.output_text(unicode=True, color=False, show_all=False))
            summary = (
                f"{r.rows} rows: {r.new} new, {r.updated} updated, {r.unchanged} unchanged, "
                f"{r.rejected} rejected"
            )
            out[label] = (took, cpu_took, server, os.getloadavg()[0], summary)
            db.session.remove()
        db.engine.dispose()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--partners", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--database-url", default=f"sqlite:///{DATA / 'partner-import.sqlite3'}")
    ap.add_argument("--profile", action="store_true", help="pyinstrument, one run, no report")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--contacts", action="store_true", help="import N contact persons too")
    ap.add_argument("--output", default=None, help="Markdown report ('' for none)")
    args = ap.parse_args(argv)
    backend = "sqlite" if args.database_url.startswith("sqlite") else "postgresql"
    if args.output is None:
        args.output = str(ROOT / "bench" / "results" / f"partner-import-{backend}.md")

    path = generate(args.partners, args.seed)
    contacts = generate_contacts(args.partners, args.seed) if args.contacts else None
    n = args.partners
    runs: dict[str, list] = {k: [] for k in CASES}
    try:
        for i in range(1, (1 if args.profile else args.runs) + 1):
            res = one_run(args.database_url, path, contacts, args.profile)
            for k, (took, cpu, server, load, summary) in res.items():
                runs[k].append((took, cpu, server, load, summary))
                print(
                    f"run {i}: {k:<13} {took:7.1f} s (CPU {cpu:5.1f} s + server {server:5.1f} s,"
                    f" load {load:4.1f})  {summary}",
                    flush=True,
                )
    finally:
        _drop(args.database_url)
    new_rows = f"{n} rows: {n} new, 0 updated, 0 unchanged, 0 rejected"
    same_rows = f"{n} rows: 0 new, 0 updated, {n} unchanged, 0 rejected"
    expect = {
        "first": new_rows,
        "again": same_rows,
        "persons": new_rows,
        "persons again": same_rows,
    }
    wrong = [s for k in runs for *_, s in runs[k] if s != expect[k]]
    if wrong:
        sys.exit(f"the import did not do what it should: {wrong}")
    if args.profile:
        return 0
    lines = [
        "| case | runs | wall time, s (median; min–max) | CPU s: bench + server (median) "
        "| load (1 min) | rows/s |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for k, label in CASES.items():
        if not runs[k]:
            continue
        walls = [t for t, *_ in runs[k]]
        med = statistics.median(walls)
        cpu = statistics.median(c for _, c, *_ in runs[k])
        server = statistics.median(sv for _, _, sv, *_ in runs[k])
        loads = [ld for _, _, _, ld, _ in runs[k]]
        lines.append(
            f"| {label} | {len(walls)} | {med:.1f} ({min(walls):.1f}–{max(walls):.1f}) | "
            f"{cpu:.1f} + {server:.1f} | {min(loads):.1f}–{max(loads):.1f} | {n / med:,.0f} |"
        )
    table = "\n".join(lines)
    print()
    print(table)
    if args.output:
        text = "\n".join(
            [
                f"# Partners import ({backend}): speed benchmark",
                "",
                "Generated by `make bench` (`bench/partner_import_bench.py`) on "
                f"{datetime.now().strftime('%Y-%m-%d %H:%M')}.",
                "",
                f"- Scale: {n:,} partners (code, name, kind, roles, e-mail 90 %, phone 85 %, "
                f"city, one of {len(MANAGERS)} managers, created_on); seed {args.seed}."
                + (
                    f" Contact persons: {n:,}, one per partner (position, e-mail 80 %, phone 70 %)."
                    if contacts
                    else ""
                ),
                f"- Database: {backend}, empty and migrated for every run.",
                "- Method: `run_import(file, kind)` in-process (what `crm import partners` "
                "runs: validation, then the write in one transaction), wall time, and the CPU "
                "time of this process and of the PostgreSQL backends serving it (from /proc; "
                "0 on SQLite, which runs inside this process); the re-import runs on the "
                "database the first import filled. The machine is shared with other jobs: "
                "the load column is the 1-minute load average after each case (2 CPUs).",
                *[f"- {k}: {v}" for k, v in machine().items()],
                "",
                table,
                "",
            ]
        )
        write_text_atomic(Path(args.output), text)
        print(f"\nwritten to {os.path.relpath(args.output, ROOT)}")
    first = statistics.median(t for t, *_ in runs["first"])
    return 1 if args.check and n >= 100_000 and first >= TARGET_S else 0


if __name__ == "__main__":
    sys.exit(main())
