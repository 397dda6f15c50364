"""Speed benchmark of the analytics at scale (`make bench`), beside DuckDB.

Builds, once per database, 20,000 partners, 5,000 products and 3,000,000 sales lines over 36
months (bench/analytics_data.py) in a SQLite file and a PostgreSQL database, and copies the same
rows into a DuckDB file. Then times, as medians of several runs in one process:

- the computations the reports call: ABC/XYZ of products and of partners over the last 12
  months, the stage snapshot at the last month end, the transition report between the last two
  month ends, the KPIs of the last month against the one before (with trends);
- the same computation in DuckDB over the same rows in the same run: one SQL statement each,
  grouping the raw lines (DuckDB's KPI leaves out overdue receivables, a FIFO over payments
  that this data set has none of — see the README);
- the report pages through the Flask test client as an admin (skipped while a page is not
  in the app).

    .venv/bin/python bench/analytics_bench.py                        # 3M lines, both databases
    .venv/bin/python bench/analytics_bench.py --databases sqlite --lines 1000000
    .venv/bin/python bench/analytics_bench.py --rebuild              # regenerate the data
    .venv/bin/python bench/analytics_bench.py --only abc --profile   # pyinstrument

Data live in /tmp/crm-bench/ (SQLite, DuckDB) and in the PostgreSQL database bench_analytics
(--pg-url; the benchmark's own: wiped and refilled when its data do not match). Results go to
bench/results/analytics-<lines>.md. --check exits 1 when a median misses its target.
"""

from __future__ import annotations

import argparse
import os
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

from bench import analytics_data  # noqa: E402
from bench.deals_bench import ensure_pg_database, make_app, sign_in  # noqa: E402
from bench.partners_bench import machine, write_text_atomic  # noqa: E402
from crm.extensions import db  # noqa: E402

DATA_DIR = Path(tempfile.gettempdir()) / "crm-bench"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/bench_analytics"
W, L = 12, 6  # the stage settings' defaults
# Issue 12: each report's computation under 1 s, the KPI dashboard under 500 ms, a report page
# (with its results) under 1.5 s.
TARGETS = {"compute": 1000.0, "kpi": 500.0, "page": 1500.0}


@dataclass
class Case:
    name: str
    target: str  # a key of TARGETS
    run: object = None  # () -> anything, in an app context
    duck: str = ""  # the DuckDB statement, when there is one
    url: str = ""  # a page instead of a function


@dataclass
class Result:
    ms: dict[str, float] = field(default_factory=dict)  # database → median


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def periods(end: date) -> dict[str, date]:
    m12 = date(end.year - 1, end.month, 1) + timedelta(days=31)
    start12 = m12.replace(day=1)
    t1 = end.replace(day=1) - timedelta(days=1)
    return {
        "from": start12,
        "to": end,
        "t1": t1,
        "t2": end,
        "kpi_from": end.replace(day=1),
        "kpi_to": end,
    }


# --- DuckDB: the same computations over the raw lines -----------------------------------------


def _abc_sql(of: str, p: dict) -> str:
    key, code, table, x = (
        ("product_id", "sku", "product", "quantity")
        if of == "products"
        else ("partner_id", "code", "partner", "amount")
    )
    xl, yl = (10, 25) if of == "products" else (50, 100)
    return f"""
    WITH g AS (SELECT {key} AS obj, date_trunc('month', date) AS b, sum(amount) AS m,
                      sum({x}) AS x
               FROM sales_line WHERE date BETWEEN DATE '{p["from"]}' AND DATE '{p["to"]}'
               GROUP BY 1, 2),
         o AS (SELECT obj, sum(m) AS m, sum(x) AS s, sum(x * x) AS q FROM g GROUP BY obj),
         r AS (SELECT o.*, t.{code} AS code, sum(greatest(m, 0)) OVER () AS total,
                      coalesce(sum(m) OVER (ORDER BY m DESC, t.{code}
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
               FROM o JOIN {table} t ON t.id = o.obj)
    SELECT code, m, m / total * 100 AS share, (before + m) / total * 100 AS cum,
           CASE WHEN m <= 0 THEN 'C' WHEN before * 100 < 80 * total THEN 'A'
                WHEN before * 100 < 95 * total THEN 'B' ELSE 'C' END AS abc,
           CASE WHEN s > 0 THEN sqrt(greatest({W} * q - s * s, 0)) / s * 100 END AS cv,
           CASE WHEN s <= 0 THEN 'Z'
                WHEN sqrt(greatest({W} * q - s * s, 0)) / s * 100 <= {xl} THEN 'X'
                WHEN sqrt(greatest({W} * q - s * s, 0)) / s * 100 <= {yl} THEN 'Y'
                ELSE 'Z' END AS xyz
    FROM r ORDER BY m DESC, code"""


def _stage_cte(name: str, t: date) -> str:
    w_start = (t.replace(day=1) - timedelta(days=1)).replace(day=1)
    for _ in range(W - 2):
        w_start = (w_start - timedelta(days=1)).replace(day=1)
    lost_before = t.replace(day=1)
    for _ in range(L - 1):
        lost_before = (lost_before - timedelta(days=1)).replace(day=1)
    return f"""
    {name}_mon AS (SELECT partner_id, date_trunc('month', date) AS m, sum(amount) AS rev,
                          count(*) FILTER (WHERE amount > 0) AS buys
                   FROM sales_line WHERE date BETWEEN DATE '{w_start}' AND DATE '{t}'
                   GROUP BY 1, 2),
    {name}_agg AS (SELECT partner_id, count(*) FILTER (WHERE buys > 0) AS months,
                          sum(rev) AS s, sum(rev * rev) AS q
                   FROM {name}_mon GROUP BY 1),
    {name}_last AS (SELECT partner_id, max(date) AS last FROM sales_line
                    WHERE amount > 0 AND date <= DATE '{t}' GROUP BY 1),
    {name} AS (SELECT c.id, c.code,
                 CASE WHEN c.created_on > DATE '{t}' THEN 'new'
                      WHEN l.last IS NULL THEN 'potential'
                      WHEN l.last < DATE '{lost_before}' THEN 'lost'
                      WHEN coalesce(a.months, 0) = 0 THEN 'lost'
                      WHEN a.months = 1 THEN 'one-time'
                      WHEN a.s <= 0 THEN 'regular-z'
                      WHEN sqrt(greatest({W} * a.q - a.s * a.s, 0)) / a.s * 100 <= 50
                           THEN 'regular-x'
                      WHEN sqrt(greatest({W} * a.q - a.s * a.s, 0)) / a.s * 100 <= 100
                           THEN 'regular-y'
                      ELSE 'regular-z' END AS stage,
                 coalesce(a.s, 0) AS r
               FROM clients c LEFT JOIN {name}_agg a ON a.partner_id = c.id
               LEFT JOIN {name}_last l ON l.partner_id = c.id)"""


CLIENTS = "clients AS (SELECT id, code, created_on FROM partner WHERE is_client)"


def _stages_sql(p: dict) -> str:
    return f"WITH {CLIENTS}, {_stage_cte('s', p['t2'])} SELECT code, stage FROM s ORDER BY code"


def _transitions_sql(p: dict) -> str:
    rank = (
        "CASE {s} WHEN 'regular-x' THEN 5 WHEN 'regular-y' THEN 4 WHEN 'regular-z' THEN 3 "
        "WHEN 'one-time' THEN 2 WHEN 'lost' THEN 1 END"
    )
    a, b = rank.format(s="a.stage"), rank.format(s="b.stage")
    months = (p["t2"].year - p["t1"].year) * 12 + p["t2"].month - p["t1"].month
    return f"""
    WITH {CLIENTS}, {_stage_cte("a", p["t1"])}, {_stage_cte("b", p["t2"])},
    r2 AS (SELECT partner_id, sum(amount) AS r FROM sales_line
           WHERE date > DATE '{p["t1"]}' AND date <= DATE '{p["t2"]}' GROUP BY 1),
    moves AS (SELECT a.stage AS src, b.stage AS dst,
                     CASE WHEN {a} >= 2 AND {b} < {a}
                          THEN greatest(0, a.r / {W} * {months} - coalesce(r2.r, 0)) END AS lost
              FROM a JOIN b ON b.id = a.id LEFT JOIN r2 ON r2.partner_id = a.id
              WHERE b.stage <> 'new')
    SELECT src, dst, count(*) AS partners,
           count(*) * 100.0 / sum(count(*)) OVER (PARTITION BY src) AS row_pct,
           sum(lost) AS lost_revenue
    FROM moves GROUP BY 1, 2 ORDER BY 1, 2"""


def _kpi_sql(p: dict) -> str:
    start, end = p["kpi_from"], p["kpi_to"]
    days = (end - start).days + 1
    p0s, p0e = start - timedelta(days=days), start - timedelta(days=1)
    return f"""
    WITH cur AS (SELECT sum(amount) AS revenue, sum(amount - cost) AS profit,
                        count(DISTINCT document_id) AS sales,
                        count(DISTINCT partner_id) FILTER (WHERE amount > 0) AS active
                 FROM sales_line WHERE date BETWEEN DATE '{start}' AND DATE '{end}'),
         per AS (SELECT partner_id,
                        max(date) FILTER (WHERE date <= DATE '{p0e}') AS last_p0,
                        max(date) AS last, min(date) AS first
                 FROM sales_line
                 WHERE amount > 0 AND date BETWEEN DATE '{p0s}' AND DATE '{end}'
                 GROUP BY 1),
         before AS (SELECT DISTINCT partner_id FROM sales_line
                    WHERE amount > 0 AND date < DATE '{p0s}'),
         trend AS (SELECT date_trunc('month', date) AS m, sum(amount), sum(amount - cost),
                          count(DISTINCT document_id)
                   FROM sales_line WHERE date BETWEEN DATE '{p0s}' AND DATE '{end}' GROUP BY 1)
    SELECT cur.*, (SELECT count(*) FILTER (WHERE last_p0 IS NOT NULL) FROM per) AS p0,
           (SELECT count(*) FILTER (WHERE last_p0 IS NOT NULL AND last >= DATE '{start}')
            FROM per) AS both_,
           (SELECT count(*) FROM per WHERE first >= DATE '{start}'
              AND partner_id NOT IN (SELECT partner_id FROM before)) AS new,
           (SELECT count(*) FROM trend) AS trend_months
    FROM cur"""


def duckdb_file(sqlite_path: Path) -> Path:
    """The DuckDB copy of the SQLite file's rows (made once per SQLite file)."""
    import duckdb
    import pandas as pd

    target = sqlite_path.with_suffix(".duckdb")
    if target.exists():
        return target
    import sqlite3

    tmp = target.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(sqlite_path)
    con = duckdb.connect(str(tmp))
    queries = {
        "partner": "SELECT id, code, created_on, is_client FROM partner",
        "product": "SELECT id, sku, group_id FROM product",
        "sales_line": "SELECT document_id, date, partner_id, product_id, quantity, amount, cost"
        " FROM sales_line",
    }
    for table, sql in queries.items():
        first = True
        for chunk in pd.read_sql(sql, src, chunksize=500_000):
            for col in ("date", "created_on"):
                if col in chunk:
                    chunk[col] = pd.to_datetime(chunk[col]).dt.date
            if first:
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM chunk")
                first = False
            else:
                con.execute(f"INSERT INTO {table} SELECT * FROM chunk")
    con.execute(
        "CREATE TABLE tmp_line AS SELECT document_id, CAST(date AS DATE) AS date, partner_id,"
        " product_id, CAST(quantity AS DECIMAL(14, 3)) AS quantity,"
        " CAST(amount AS DECIMAL(14, 2)) AS amount, CAST(cost AS DECIMAL(14, 2)) AS cost"
        " FROM sales_line"
    )
    con.execute("DROP TABLE sales_line")
    con.execute("ALTER TABLE tmp_line RENAME TO sales_line")
    con.execute("CHECKPOINT")
    con.close()
    src.close()
    tmp.replace(target)
    return target


# --- the run ---------------------------------------------------------------------------------


def build_cases(p: dict) -> list[Case]:
    from crm.analytics.abc_xyz import abc_xyz
    from crm.analytics.kpi import kpi_report
    from crm.analytics.stages import stages_at, transitions

    q = f"from={p['from']}&to={p['to']}"
    return [
        Case(
            "ABC/XYZ of products, 12 months",
            "compute",
            lambda: abc_xyz("products", p["from"], p["to"]),
            _abc_sql("products", p),
        ),
        Case(
            "ABC/XYZ of partners, 12 months",
            "compute",
            lambda: abc_xyz("partners", p["from"], p["to"]),
            _abc_sql("partners", p),
        ),
        Case("stage snapshot", "compute", lambda: stages_at(p["t2"]), _stages_sql(p)),
        Case(
            "transition report",
            "compute",
            lambda: transitions(p["t1"], p["t2"]),
            _transitions_sql(p),
        ),
        Case(
            "KPIs, month vs the previous",
            "kpi",
            lambda: kpi_report(p["kpi_from"], p["kpi_to"]),
            _kpi_sql(p),
        ),
        # `now=1`: the page with its results in it (what a browser without JavaScript gets;
        # with it, the page comes at once and its results fragment takes this long).
        Case("page: ABC/XYZ of products", "page", url=f"/analytics/abc-xyz?of=products&{q}&now=1"),
        Case("page: ABC/XYZ of partners", "page", url=f"/analytics/abc-xyz?of=partners&{q}&now=1"),
        Case("page: BCG matrix of products", "page", url=f"/analytics/bcg?{q}&now=1"),
        Case(
            "page: transitions",
            "page",
            url=f"/analytics/transitions?from_date={p['t1']}&to_date={p['t2']}&now=1",
        ),
        Case(
            "page: KPI dashboard",
            "kpi",
            url=f"/analytics/kpi?from={p['kpi_from']}&to={p['kpi_to']}&now=1",
        ),
    ]


def median_ms(func, warmup: int, runs: int) -> float:
    for _ in range(warmup):
        func()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        func()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def prepare(app, args, label: str, tables: tuple[str, ...] | None = None) -> dict:
    """Build the data unless the database holds this scale, seed and layout already
    (`args.payments`: with payments, bench/segments_bench.py; `tables`: those whose indexes
    are brought in line with the models, by default the analytics' ones)."""
    fp = analytics_data.fingerprint(app, args)
    with db.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS bench_meta (k VARCHAR(40), v TEXT)"))
        found = conn.execute(sa.text("SELECT v FROM bench_meta WHERE k = 'fp'")).scalar()
    if found == fp and not args.rebuild:
        with db.engine.connect() as conn:
            info = conn.execute(sa.text("SELECT v FROM bench_meta WHERE k = 'info'")).scalar()
            summaries = conn.execute(sa.text("SELECT v FROM bench_meta WHERE k = 'sfp'")).scalar()
        if summaries != analytics_data.summaries_fingerprint():
            # The lines are as built; the summaries' tables changed: made and summed again.
            print(f"summing the {label} data again …", flush=True)
            from crm.sales.summaries import rebuild

            db.create_all()
            rebuild()
            _store_meta("sfp", analytics_data.summaries_fingerprint())
        made = analytics_data.sync_indexes(*([tables] if tables else []))
        if made:
            print(f"indexes made to match the models: {', '.join(made)}", flush=True)
        return eval(info)  # noqa: S307  (our own dict literal)
    print(f"building the {label} data …", flush=True)
    info = analytics_data.generate(
        app,
        partners=args.partners,
        products=args.products,
        lines=args.lines,
        end=args.end,
        seed=args.seed,
        payments=getattr(args, "payments", False),
    )
    info["built"] = datetime.now().strftime("%Y-%m-%d %H:%M")
    with db.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS bench_meta (k VARCHAR(40), v TEXT)"))
        conn.execute(sa.text("DELETE FROM bench_meta"))
        conn.execute(sa.text("INSERT INTO bench_meta VALUES ('fp', :v)"), {"v": fp})
        conn.execute(sa.text("INSERT INTO bench_meta VALUES ('info', :v)"), {"v": repr(info)})
    _store_meta("sfp", analytics_data.summaries_fingerprint())
    print(f"built: {info}", flush=True)
    return info


def _store_meta(key: str, value: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM bench_meta WHERE k = :k"), {"k": key})
        conn.execute(sa.text("INSERT INTO bench_meta VALUES (:k, :v)"), {"k": key, "v": value})


def run_database(url: str, args, cases_filter: str) -> tuple[dict, dict[str, float], str]:
    app = make_app(url)
    with app.app_context():
        dialect = db.engine.dialect.name
        info = prepare(app, args, dialect)
        p = periods(args.end)
        cases = build_cases(p)
        if cases_filter:
            cases = [c for c in cases if cases_filter.casefold() in c.name.casefold()]
        client = sign_in(app, "admin@bench.crm")
        out: dict[str, float] = {}
        for case in cases:
            if case.url:
                r = client.get(case.url)
                if r.status_code == 404:
                    print(f"{case.name}: skipped (not in the app yet)")
                    continue
                assert r.status_code == 200, (case.url, r.status_code)

                def fetch(url=case.url):
                    client.get(url).get_data()

                out[case.name] = median_ms(fetch, args.warmup, args.runs)
            elif args.profile:
                from pyinstrument import Profiler

                profiler = Profiler()
                profiler.start()
                case.run()
                profiler.stop()
                print(profiler.output_text(unicode=True, color=False))
                continue
            else:
                out[case.name] = median_ms(case.run, args.warmup, args.runs)
            print(f"{dialect:<10} {case.name:<40} {out[case.name]:8.1f} ms", flush=True)
    return info, out, dialect


def run_duckdb(path: Path, args, cases_filter: str) -> dict[str, float]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    out = {}
    p = periods(args.end)
    # The SQL only: the cases' Python callables need an app, not wanted here.
    sqls = {
        "ABC/XYZ of products, 12 months": _abc_sql("products", p),
        "ABC/XYZ of partners, 12 months": _abc_sql("partners", p),
        "stage snapshot": _stages_sql(p),
        "transition report": _transitions_sql(p),
        "KPIs, month vs the previous": _kpi_sql(p),
    }
    for name, sql in sqls.items():
        if cases_filter and cases_filter.casefold() not in name.casefold():
            continue
        out[name] = median_ms(lambda sql=sql: con.execute(sql).fetchall(), args.warmup, args.runs)
        print(f"{'duckdb':<10} {name:<40} {out[name]:8.1f} ms", flush=True)
    con.close()
    return out


def write_report(args, infos: dict, results: dict[str, dict[str, float]], path: Path) -> int:
    m = machine()
    names = []
    for r in results.values():
        names += [n for n in r if n not in names]
    lines = [
        "# Analytics: speed benchmark",
        "",
        f"Generated by `bench/analytics_bench.py` on {datetime.now():%Y-%m-%d %H:%M}.",
        "",
        f"- Scale: {args.partners:,} partners, {args.products:,} products, "
        f"{next(iter(infos.values()))['lines']:,} sales lines on "
        f"{next(iter(infos.values()))['documents']:,} documents over the 36 months ending "
        f"{args.end}; seed {args.seed}.",
        "- Periods: ABC/XYZ over the 12 months ending then; stages at that month end; "
        "transitions between the last two month ends; KPIs of the last month against the one "
        "before, with their monthly trends.",
        f"- Method: one process; {args.warmup} warm-up and {args.runs} timed runs, median. "
        "Computations called directly in an app context; pages through the Flask test client "
        "as an admin (the page with its results). DuckDB: the same computation as one SQL "
        "statement over the raw lines (a file copy of the same rows), in the same run.",
        "- SQLite without ANALYZE (as a fresh install runs); PostgreSQL vacuumed and analysed.",
        *(f"- {key}: {value}" for key, value in m.items()),
        f"- Load average (1 min) at the end: {os.getloadavg()[0]:.2f}.",
        "",
    ]
    dbs = [d for d in ("sqlite", "postgresql") if d in results]
    head = "| case | target ms |" + "".join(f" {d} ms |" for d in dbs) + " DuckDB ms |"
    head += "".join(f" {d} / DuckDB |" for d in dbs)
    lines += [head, "|---|--:|" + "--:|" * (2 * len(dbs) + 1)]
    missed = 0
    duck = results.get("duckdb", {})
    targets = TARGETS
    kinds = {c.name: c.target for c in build_cases(periods(args.end))}
    for name in names:
        target = targets[kinds.get(name, "compute")]
        row = f"| {name} | {target:,.0f} |"
        for d in dbs:
            v = results[d].get(name)
            flag = " ⚠" if v is not None and v >= target else ""
            missed += 1 if flag else 0
            row += f" {v:,.0f}{flag} |" if v is not None else " — |"
        row += f" {duck[name]:,.0f} |" if name in duck else " — |"
        for d in dbs:
            v = results[d].get(name)
            row += f" {v / duck[name]:.1f}× |" if v is not None and name in duck else " — |"
        lines.append(row)
    write_text_atomic(path, "\n".join(lines) + "\n")
    print(f"\nwritten {path}")
    return missed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--databases", default="sqlite,postgresql")
    ap.add_argument("--partners", type=int, default=20_000)
    ap.add_argument("--products", type=int, default=5_000)
    ap.add_argument("--lines", type=int, default=3_000_000)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 30))
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_ANALYTICS_DATABASE_URL", DEFAULT_PG))
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    sqlite_path = DATA_DIR / f"analytics-{args.lines}-{args.seed}.sqlite3"
    results: dict[str, dict[str, float]] = {}
    infos = {}
    for name in args.databases.split(","):
        if name == "sqlite":
            url = f"sqlite:///{sqlite_path}"
        else:
            why = ensure_pg_database(args.pg_url)
            if why:
                print(f"PostgreSQL skipped: {why}")
                continue
            url = args.pg_url
        infos[name], results[name], _ = run_database(url, args, args.only)
    if args.profile:
        return 0
    if "sqlite" in infos:
        if args.rebuild:
            sqlite_path.with_suffix(".duckdb").unlink(missing_ok=True)
        results["duckdb"] = run_duckdb(duckdb_file(sqlite_path), args, args.only)
    if not infos:
        return 1
    missed = write_report(
        args, infos, results, ROOT / "bench" / "results" / f"analytics-{args.lines}.md"
    )
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
