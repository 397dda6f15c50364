"""Speed benchmark of the deal pages at scale (`make bench`).

Builds, once per database, 200,000 deals (20,000 open) of two kinds over the last two years
with their stage histories, contacts, participants and timelines, on 5,000 partners and 20
managers (bench/deals_data.py), in a SQLite file and in a PostgreSQL database. Then signs in
through the Flask test client as an admin and as the manager with the most open deals and
times the pipeline board of one kind, a deal card, and the funnel, effectiveness and forecast
reports (full pages and their HTMX fragments), plus the probability of every open deal called
directly. A page whose endpoint is not in the app yet is skipped with a line saying so. Prints
a table and writes it to bench/results/deals.md with the scale, the machine and the load.

    .venv/bin/python bench/deals_bench.py                  # SQLite and PostgreSQL, reused data
    .venv/bin/python bench/deals_bench.py --databases sqlite
    .venv/bin/python bench/deals_bench.py --rebuild        # regenerate the data
    .venv/bin/python bench/deals_bench.py --deals 20000 --open 2000 --partners 1000
    .venv/bin/python bench/deals_bench.py --only board --sql        # each case's SQL, timed
    .venv/bin/python bench/deals_bench.py --only board --explain    # and the query plans
    .venv/bin/python bench/deals_bench.py --only forecast --profile # pyinstrument
    .venv/bin/python bench/deals_bench.py --check-data     # the model's rules over the data

The SQLite file lives in /tmp/crm-bench/; PostgreSQL is --pg-url (default
$BENCH_DEALS_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/bench_deals, created when
missing; that database is the benchmark's own: it is wiped and refilled when its data does not
match). Data are reused while the scale, seed, table layout and generator version match;
indexes are brought in line with the models on every run, so an index added to
crm/deals/models.py is measured without regenerating. "Today" is the build's day: a reused
database's open deals simply age. --check exits 1 when a median misses 200 ms.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import html
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import deals_data  # noqa: E402
from bench.partners_bench import (  # noqa: E402
    PASSWORD,
    QueryLog,
    db_cpu_seconds,
    machine,
    write_text_atomic,
)
from crm import create_app  # noqa: E402
from crm.extensions import db  # noqa: E402

TARGET_MS = 200.0
DATA_DIR = Path(tempfile.gettempdir()) / "crm-bench"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/bench_deals"
DB_NOTES = {
    "sqlite": "SQLite file, without ANALYZE statistics (as a fresh install runs)",
    "postgresql": "PostgreSQL, vacuumed and analysed after the load (as autovacuum would)",
}
DB_TITLES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


# --- the cases -------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    user: str  # "admin" or "manager"
    endpoint: str = ""  # a page: its endpoint and arguments; else `call` is timed
    params: dict = field(default_factory=dict)
    fragment: bool = False
    call: object = None  # () -> what it found, for a direct case (timed)
    describe: object = None  # (what it found) -> note (not timed)
    url: str = ""
    pending: str = ""  # why it was not measured


@dataclass
class Result:
    case: Case
    times_ms: list[float] = field(default_factory=list)
    cpu_ms: float | None = None  # per run: this process + the database server's backends
    queries: int = 0
    kb: float = 0.0
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms) if self.times_ms else float("nan")

    @property
    def p95(self) -> float:
        if len(self.times_ms) < 2:
            return self.median
        return statistics.quantiles(self.times_ms, n=100, method="inclusive")[94]


@dataclass
class Picks:
    """Ids taken from the data so the cases look at typical, busy objects."""

    admin_email: str
    manager_id: int
    manager_email: str
    manager_open: int
    process_kind: int
    free_kind: int
    deal_id: int
    deal_no: str
    deal_note: str
    today: date


def pick(made: str) -> Picks:
    from crm.auth.models import User
    from crm.deals.models import Deal, DealKind, DealStageEntry
    from crm.interactions.models import Interaction

    s = db.session
    admin = s.execute(sa.select(User.email).where(User.role == "admin").limit(1)).scalar_one()
    mid, email, n_open = s.execute(
        sa.select(User.id, User.email, sa.func.count(Deal.id))
        .join(Deal, Deal.manager_id == User.id)
        .where(Deal.status == "open")
        .group_by(User.id, User.email)
        .order_by(sa.func.count(Deal.id).desc(), User.id)
        .limit(1)
    ).one()
    process = s.execute(sa.select(DealKind.id).where(DealKind.is_process.is_(True))).scalar()
    free = s.execute(sa.select(DealKind.id).where(DealKind.is_process.is_(False))).scalar()
    # The card: an open deal of that manager at its kind's furthest stage, with the partner
    # that has the most deals (its probability components rest on the most closed deals),
    # and a timeline.
    per_partner = (
        sa.select(Deal.partner_id, sa.func.count().label("n")).group_by(Deal.partner_id).subquery()
    )
    timeline = (
        sa.select(Interaction.subject_id.label("deal_id"), sa.func.count().label("n"))
        .where(Interaction.subject_type == "deal")
        .group_by(Interaction.subject_id)
        .subquery()
    )
    deal_id, deal_no, n_partner = s.execute(
        sa.select(Deal.id, Deal.deal_no, per_partner.c.n)
        .join(per_partner, per_partner.c.partner_id == Deal.partner_id)
        .join(timeline, timeline.c.deal_id == Deal.id)
        .where(Deal.status == "open", Deal.manager_id == mid, Deal.kind_id == process)
        .order_by(
            Deal.reached_position.desc(), timeline.c.n.desc(), per_partner.c.n.desc(), Deal.id
        )
        .limit(1)
    ).one()
    n_hist = s.execute(
        sa.select(sa.func.count()).where(DealStageEntry.deal_id == deal_id)
    ).scalar_one()
    n_int = s.execute(
        sa.select(sa.func.count()).where(
            Interaction.subject_type == "deal", Interaction.subject_id == deal_id
        )
    ).scalar_one()
    s.remove()
    today = datetime.strptime(made[:10], "%Y-%m-%d").date() if made[:1].isdigit() else date.today()
    return Picks(
        admin,
        mid,
        email,
        n_open,
        process,
        free,
        deal_id,
        deal_no,
        f"{deal_no}: {n_hist} stages in history, {n_int} interactions, "
        f"its partner has {n_partner} deals",
        today,
    )


def build_cases(p: Picks) -> list[Case]:
    hx = True
    year_ago = (p.today - timedelta(days=365)).isoformat()
    period = {"from": year_ago, "to": p.today.isoformat()}
    out = [
        Case("board: process kind", "admin", "deals.board", {"kind": p.process_kind}),
        Case("board: process kind, HTMX", "admin", "deals.board", {"kind": p.process_kind}, hx),
        Case("board: non-process kind", "admin", "deals.board", {"kind": p.free_kind}),
        Case(
            "board: process kind, one manager",
            "admin",
            "deals.board",
            {"kind": p.process_kind, "manager": p.manager_id},
            hx,
        ),
        Case("board: process kind (own deals)", "manager", "deals.board", {"kind": p.process_kind}),
        # The URL of the first column's "load more" is read from the board (its keyset).
        Case("board: load more of a column, HTMX", "admin", "deals.board_column", {}, hx),
        Case("deal card", "admin", "deals.detail", {"deal_id": p.deal_id}),
        Case("deal card (own deal)", "manager", "deals.detail", {"deal_id": p.deal_id}),
        Case("funnel report", "admin", "deals.report_funnel", {"kind": p.process_kind}),
        Case(
            "funnel report, last 12 months, HTMX",
            "admin",
            "deals.report_funnel",
            {"kind": p.process_kind, **period},
            hx,
        ),
        Case(
            "funnel report (own deals)", "manager", "deals.report_funnel", {"kind": p.process_kind}
        ),
        Case(
            "funnel chart, HTMX",
            "admin",
            "deals.report_funnel",
            {"kind": p.process_kind, "chart": 1},
            hx,
        ),
        Case("effectiveness report", "admin", "deals.report_effectiveness"),
        Case(
            "effectiveness report, last 12 months, HTMX",
            "admin",
            "deals.report_effectiveness",
            period,
            hx,
        ),
        Case("effectiveness report (own deals)", "manager", "deals.report_effectiveness"),
        Case("effectiveness chart, HTMX", "admin", "deals.report_effectiveness", {"chart": 1}, hx),
        Case("forecast report", "admin", "deals.report_forecast"),
        Case("forecast report, HTMX", "admin", "deals.report_forecast", {}, hx),
        Case("forecast report (own deals)", "manager", "deals.report_forecast"),
        Case("forecast chart, HTMX", "admin", "deals.report_forecast", {"chart": 1}, hx),
    ]

    def probabilities():
        from crm.deals.probability import probabilities as calc

        return calc(p.today)

    def probabilities_note(found):
        fallback = sum(1 for v in found.values() if v.fallback)
        return f"{len(found):,} open deals, {fallback:,} on the stage default"

    def probability_of():
        from crm.deals.models import Deal
        from crm.deals.probability import probability_of as calc

        return calc(db.session.get(Deal, p.deal_id), p.today)

    def probability_of_note(found):
        return ", ".join(f"{c.key} {c.closed:,}" for c in found.components) + " closed deals"

    out.append(
        Case(
            "probabilities(today) of every open deal",
            "admin",
            call=probabilities,
            describe=probabilities_note,
        )
    )
    out.append(
        Case(
            "probability_of(the card's deal)",
            "admin",
            call=probability_of,
            describe=probability_of_note,
        )
    )
    return out


MORE_RE = re.compile(r'hx-get="(/deals/board/column\?[^"]+)"')


def resolve(app, cases: list[Case], clients: dict, picks: Picks) -> None:
    """Each page case's URL, or why it is pending (the endpoint is not in the app yet)."""
    from flask import url_for

    for c in cases:
        if c.endpoint == "deals.board_column" and c.endpoint in app.view_functions:
            with app.test_request_context():
                board_url = url_for("deals.board", kind=picks.process_kind)
            body = clients[c.user].get(board_url).get_data(as_text=True)
            found = MORE_RE.search(body)
            if found is None:
                c.pending = "no load-more link on the board"
            else:
                c.url = html.unescape(found.group(1))
    with app.test_request_context():
        for c in cases:
            if c.call is not None:
                try:
                    import crm.deals.probability  # noqa: F401
                except ImportError:
                    c.pending = "crm.deals.probability not on this branch yet"
                continue
            if c.endpoint not in app.view_functions:
                c.pending = f"endpoint {c.endpoint} not on this branch yet"
                continue
            if not c.pending:
                c.url = c.url or url_for(c.endpoint, **c.params)


# --- running ---------------------------------------------------------------------------------


def sign_in(app, email: str):
    client = app.test_client()
    r = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return client


def _once(app, case: Case, client, describe: bool = False):
    if case.url:
        r = client.get(case.url, headers={"HX-Request": "true"} if case.fragment else {})
        body = r.get_data()
        return r, body
    with app.app_context():
        try:
            found = case.call()
            return None, case.describe(found) if describe and case.describe else None
        finally:
            db.session.remove()


def run_case(app, case: Case, client, log: QueryLog, warmup: int, runs: int) -> Result:
    result = Result(case)
    for _ in range(max(1, warmup)):
        r, body = _once(app, case, client, describe=True)
    if case.url:
        if r.status_code != 200:
            case.pending = f"HTTP {r.status_code} ({len(body)} bytes)"
            return result
        if (b"<html" in body.lower()) == case.fragment:
            case.pending = "answers a full page to HTMX" if case.fragment else "no full page"
            return result
        result.kb = len(body) / 1024
    else:
        result.note = body
    db_before, cpu_before = db_cpu_seconds(log.engine), time.process_time()
    for _ in range(runs):
        log.reset()
        t = time.perf_counter()
        _once(app, case, client)
        result.times_ms.append((time.perf_counter() - t) * 1000)
    cpu = time.process_time() - cpu_before
    result.queries = len(log.statements)
    db_after = db_cpu_seconds(log.engine)
    if db_before is not None and db_after is not None:
        result.cpu_ms = (cpu + db_after - db_before) * 1000 / runs
    return result


def show_sql(app, case: Case, client, log: QueryLog, explain: bool) -> None:
    _once(app, case, client)
    log.reset(keep=True)
    _once(app, case, client)
    statements = log.statements
    log.reset()
    total = sum(took for _s, _p, took in statements)
    print(f"\n### {case.user}: {case.name} — {len(statements)} queries, {total:.1f} ms in SQL")
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
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params or None)
                    for (line,) in cur.fetchall():
                        print("   plan:", line)
            finally:
                raw.close()


def profile(app, case: Case, client, runs: int) -> None:
    from pyinstrument import Profiler

    _once(app, case, client)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(runs):
        _once(app, case, client)
    profiler.stop()
    print(f"\n### {case.user}: {case.name} ({runs} runs)")
    print(profiler.output_text(unicode=True, color=False, show_all=False))


@dataclass
class Run:
    """One database's measurements."""

    dialect: str
    counts: dict
    made: str
    picks: Picks | None = None
    results: dict[str, Result] = field(default_factory=dict)  # by case name
    load: tuple[float, float] = (0.0, 0.0)
    skipped: str = ""


def make_app(url: str):
    from crm.config import normalise_database_url

    instance = tempfile.mkdtemp(prefix="crm-bench-")
    atexit.register(shutil.rmtree, instance, ignore_errors=True)
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "REDIS_URL": None,
            "TESTING": False,
        },
        instance_path=instance,
    )


def ensure_pg_database(url: str) -> str:
    """'' when the PostgreSQL database is there (created when missing), else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    u = sa.engine.make_url(url)
    admin = u.set(drivername="postgresql", database="postgres")
    try:
        with psycopg.connect(
            admin.render_as_string(hide_password=False), autocommit=True, connect_timeout=5
        ) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)
            ).fetchone()
            if not found:
                conn.execute(f'CREATE DATABASE "{u.database}"')
                print(f"created the PostgreSQL database {u.database}")
    except psycopg.Error as exc:
        return f"PostgreSQL at {u.render_as_string()} is not reachable: {str(exc).strip()[:200]}"
    return ""


def run_database(url: str, args) -> Run:
    app = make_app(url)
    with app.app_context():
        dialect = db.engine.dialect.name
        print(
            f"\n== {DB_TITLES.get(dialect, dialect)}: {sa.engine.make_url(url).render_as_string()}"
        )
        counts, made = deals_data.prepare(app, args)
        if args.check_data:
            bad = deals_data.check()
            print("data check:", "; ".join(bad) if bad else "the model's rules hold")
        picks = pick(made)
        log = QueryLog()
    run = Run(dialect, counts, made, picks)
    print(
        f"manager {picks.manager_email}: {picks.manager_open:,} open deals; card {picks.deal_note}"
    )
    cases = build_cases(picks)
    if args.only:
        cases = [c for c in cases if args.only.casefold() in c.name.casefold()]
    clients = {
        "admin": sign_in(app, picks.admin_email),
        "manager": sign_in(app, picks.manager_email),
    }
    resolve(app, cases, clients, picks)

    if args.gc_freeze:
        # What a server would do once the app is loaded: move everything alive now out of
        # the collector's reach, so a request's collections do not walk the app's objects.
        gc.collect()
        gc.freeze()
    if args.sql or args.profile:
        for case in cases:
            if case.pending:
                print(f"\n### {case.user}: {case.name} — skipped: {case.pending}")
                continue
            if args.sql:
                show_sql(app, case, clients[case.user], log, args.explain)
            if args.profile:
                profile(app, case, clients[case.user], args.runs)
        return run

    load_before = os.getloadavg()[0]
    print(f"{'user':<8} {'case':<46} {'median':>8} {'p95':>8} {'CPU':>8} {'SQL':>5}  note")
    for case in cases:
        r = Result(case)
        if not case.pending:
            r = run_case(app, case, clients[case.user], log, args.warmup, args.runs)
        run.results[case.name] = r
        print_result(r)
    run.load = (load_before, os.getloadavg()[0])
    print(f"load average (1 min) before / after: {run.load[0]:.2f} / {run.load[1]:.2f}")
    return run


def print_result(r: Result) -> None:
    c = r.case
    if c.pending:
        print(f"{c.user:<8} {c.name:<46} {'—':>8} {'—':>8} {'—':>8} {'—':>5}  skipped: {c.pending}")
        return
    cpu = f"{r.cpu_ms:8.1f}" if r.cpu_ms is not None else f"{'?':>8}"
    over = "  ⚠ over target" if r.median >= TARGET_MS else ""
    print(
        f"{c.user:<8} {c.name:<46} {r.median:8.1f} {r.p95:8.1f} {cpu} {r.queries:5d}  "
        f"{r.note}{over}"
    )


# --- the report ------------------------------------------------------------------------------


def table(runs: list[Run]) -> str:
    done = [r for r in runs if not r.skipped]
    head = "| user | case | what |"
    rule = "|---|---|---|"
    for r in done:
        t = DB_TITLES.get(r.dialect, r.dialect)
        head += f" {t} median ms | {t} p95 ms | {t} CPU ms | {t} queries |"
        rule += "--:|--:|--:|--:|"
    head += " KB |"
    rule += "--:|"
    lines = [head, rule]
    names = list(dict.fromkeys(n for r in done for n in r.results))
    for name in names:
        first = next(r.results[name] for r in done if name in r.results)
        c = first.case
        what = f"`{c.url}`" + (" (HTMX)" if c.fragment else "") if c.url else "direct call"
        if not c.url and not c.call:
            what = f"`{c.endpoint}`"
        row = f"| {c.user} | {c.name} | {what} |"
        kb = ""
        for r in done:
            res = r.results.get(name)
            if res is None or res.case.pending or not res.times_ms:
                why = res.case.pending if res is not None else "not run"
                row += f" — | — | — | {why} |"
                continue
            flag = " ⚠" if res.median >= TARGET_MS else ""
            cpu = f"{res.cpu_ms:.1f}" if res.cpu_ms is not None else "?"
            row += f" {res.median:.1f}{flag} | {res.p95:.1f} | {cpu} | {res.queries} |"
            kb = kb or (f"{res.kb:,.0f}" if res.kb else res.note)
        lines.append(row + f" {kb} |")
    return "\n".join(lines)


def write_report(path: Path, runs: list[Run], args) -> None:
    done = [r for r in runs if not r.skipped]
    measured = [res for r in done for res in r.results.values() if res.times_ms]
    missed = [res for res in measured if res.median >= TARGET_MS]
    pending = {res.case.name for r in done for res in r.results.values() if res.case.pending}
    verdict = (
        f"{len(measured)} measurements, all under the {TARGET_MS:.0f} ms median target"
        if not missed
        else f"{len(missed)} of {len(measured)} measurements at or over {TARGET_MS:.0f} ms (⚠)"
    )
    if pending:
        verdict += f"; {len(pending)} case(s) not measured (see the table)"
    first = done[0] if done else None
    scale = ", ".join(f"{v:,} {k}" for k, v in first.counts.items()) if first else "?"
    lines = [
        "# Deals: speed benchmark",
        "",
        f"Generated by `make bench` (`bench/deals_bench.py`) on "
        f"{datetime.now().strftime('%Y-%m-%d %H:%M')}.",
        "",
        f"- Scale: {scale}; seed {args.seed}; deals created over the 730 days before the data "
        "was built, two kinds (a process kind with 6 stages, a non-process kind with 5).",
    ]
    for r in runs:
        t = DB_TITLES.get(r.dialect, r.dialect)
        if r.skipped:
            lines.append(f"- {t}: not measured — {r.skipped}")
            continue
        lines.append(
            f"- {t}: {DB_NOTES.get(r.dialect, r.dialect)}; data built {r.made}; load average "
            f"(1 min) before / after its measurements: {r.load[0]:.2f} / {r.load[1]:.2f}."
        )
    if first and first.picks:
        p = first.picks
        lines.append(
            f"- Users: admin, and the manager with the most open deals ({p.manager_email}, "
            f"{p.manager_open:,} open). Deal card: {p.deal_note}. Report periods: the pages' "
            "defaults, and the last 12 months where the case says so."
        )
    lines += [
        f"- Method: one process, Flask test client; {args.warmup} warm-up then {args.runs} timed "
        "runs per case; time = request until the body is read (routing, sign-in check, SQL, "
        "templates). *CPU ms*: CPU time per request of this process plus, on PostgreSQL, the "
        "server's backends — a busy machine stretches wall time, not CPU time.",
        "- Garbage collector: "
        + (
            "`gc.freeze()` once the app was loaded (`--gc-freeze`): a request's collections "
            "skip the app's own long-lived objects, as a server that froze them after start-up."
            if args.gc_freeze
            else "as Python starts it (no `gc.freeze()`; see `--gc-freeze`)."
        ),
        *[f"- {k}: {v}" for k, v in machine().items()],
        "",
        verdict + ".",
        "",
        table(runs),
        "",
        "*queries*: SQL statements of the last request. *KB*: response body.",
        "",
    ]
    write_text_atomic(path, "\n".join(lines))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deals", type=int, default=200_000)
    ap.add_argument("--open", type=int, default=20_000)
    ap.add_argument("--partners", type=int, default=5_000)
    ap.add_argument("--managers", type=int, default=20)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--rebuild", action="store_true", help="regenerate the data")
    ap.add_argument(
        "--databases", default="sqlite,postgresql", help="which to run, comma-separated"
    )
    ap.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_DEALS_DATABASE_URL", DEFAULT_PG),
        help="the PostgreSQL database (wiped and refilled when its data does not match)",
    )
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--only", help="run the cases whose name contains this text")
    ap.add_argument("--sql", action="store_true", help="print each case's SQL with timings")
    ap.add_argument("--explain", action="store_true", help="--sql with the query plans")
    ap.add_argument("--profile", action="store_true", help="pyinstrument over the runs")
    ap.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() after the app is loaded (as a server could), before measuring",
    )
    ap.add_argument("--check-data", action="store_true", help="check the model's rules")
    ap.add_argument("--check", action="store_true", help="exit 1 when a median misses 200 ms")
    ap.add_argument(
        "--output",
        default=str(ROOT / "bench" / "results" / "deals.md"),
        help="Markdown report ('' for none; not written with --only)",
    )
    args = ap.parse_args(argv)
    args.sql = args.sql or args.explain

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    sqlite_file = DATA_DIR / (
        f"deals-{args.deals}-{args.open}-{args.partners}-{args.managers}-s{args.seed}.sqlite3"
    )
    runs = []
    for name in [d.strip() for d in args.databases.split(",") if d.strip()]:
        if name == "sqlite":
            runs.append(run_database(f"sqlite:///{sqlite_file}", args))
        elif name in ("postgresql", "pg"):
            why = ensure_pg_database(args.pg_url)
            if why:
                print(f"\n== PostgreSQL: skipped — {why}")
                runs.append(Run("postgresql", {}, "", skipped=why))
                continue
            runs.append(run_database(args.pg_url, args))
        else:
            ap.error(f"unknown database {name!r} (sqlite, postgresql)")
    if args.sql or args.profile:
        return 0
    measured = [res for r in runs for res in r.results.values() if res.times_ms]
    missed = [res for res in measured if res.median >= TARGET_MS]
    pending = sum(1 for r in runs for res in r.results.values() if res.case.pending)
    print(
        f"\nsummary: {len(measured)} measured, {len(missed)} over {TARGET_MS:.0f} ms, "
        f"{pending} not measured"
    )
    if args.output and not args.only:
        write_report(Path(args.output), runs, args)
        print(f"written to {os.path.relpath(args.output, ROOT)}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
