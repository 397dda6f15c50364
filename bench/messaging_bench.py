"""Throughput benchmark of mailings (`make bench`): issue 14's target, 10,000 personalised
e-mails through a local SMTP server with 2 workers in under 60 s.

For each database (PostgreSQL, SQLite) it builds 10,000 partners, each with an e-mail address
and its consent to advertising, a third of them with a manager, in a city a dynamic segment
selects; a template that writes the partner's and the manager's names into the subject and
both bodies, with tracking (redirecting links and an open pixel); a local SMTP server (aiosmtpd
in a process of its own, keeping only counts); and 2 `worker.py` processes on Redis. Each run
makes a new mailing to the segment and times from `start_mailing_now` (the start job queued
on RQ) until the mailing is done: its recipients resolved, 10,000 messages composed and
stored, sent one by one, each recorded with its interaction. Median of 3 runs; checked: the
server received exactly 10,000 new messages to 10,000 distinct addresses per run.

    .venv/bin/python bench/messaging_bench.py                     # both databases
    .venv/bin/python bench/messaging_bench.py --databases postgresql --runs 1
    .venv/bin/python bench/messaging_bench.py --profile           # in one process, pyinstrument

Data live in /tmp/crm-bench/messaging.sqlite3 and in the PostgreSQL database bench_messaging
(--pg-url; the benchmark's own: its tables are made again on each start). Redis: --redis-url
(a queue of the benchmark's own; its keys are deleted at the end). Results go to
bench/results/messaging-<count>.md. --check exits 1 when a median misses 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.deals_bench import ensure_pg_database  # noqa: E402
from bench.partners_bench import db_cpu_seconds, machine, write_text_atomic  # noqa: E402
from crm.extensions import db  # noqa: E402

DATA_DIR = Path(tempfile.gettempdir()) / "crm-bench"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/bench_messaging"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
TARGET_SECONDS = 60.0  # issue 14
CITY = "Бенчмарк"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SUBJECT = "{{ partner.name }}: осенние скидки до 30 %"
HTML = """<html><body>
<p>Здравствуйте, {{ contact.name or partner.name }}!</p>
<p>Для компании {{ partner.name }} мы подготовили осенние скидки на весь ассортимент.
Ваш менеджер {{ manager.name }} ответит на любые вопросы.</p>
<p><a href="https://shop.example.test/autumn?utm_source=crm">Смотреть предложения</a></p>
<p><a href="https://shop.example.test/catalog">Каталог</a></p>
</body></html>"""
TEXT = """Здравствуйте, {{ contact.name or partner.name }}!

Для компании {{ partner.name }} мы подготовили осенние скидки на весь ассортимент.
Ваш менеджер {{ manager.name }} ответит на любые вопросы.
Смотреть предложения: https://shop.example.test/autumn
"""


# --- the SMTP server (a process of its own) ------------------------------------------------


def smtp_sink(port: int, report: str) -> None:
    """An SMTP server keeping counts; on SIGTERM it writes them as JSON to `report`."""
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self):
            self.messages = 0
            self.addresses: dict[str, int] = {}
            self.message_ids: set[str] = set()

        async def handle_DATA(self, server, session, envelope):
            self.messages += 1
            for rcpt in envelope.rcpt_tos:
                self.addresses[rcpt] = self.addresses.get(rcpt, 0) + 1
            for line in envelope.original_content.split(b"\r\n", 40)[:40]:
                if line.lower().startswith(b"message-id:"):
                    self.message_ids.add(line.split(b":", 1)[1].strip().decode())
                    break
            return "250 OK"

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()

    def stop(*_):
        controller.stop()
        Path(report).write_text(
            json.dumps(
                {
                    "messages": sink.messages,
                    "addresses": len(sink.addresses),
                    "most": max(sink.addresses.values(), default=0),
                    "message_ids": len(sink.message_ids),
                }
            )
        )
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    while True:
        signal.pause()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_cpu(pid: int) -> float:
    """CPU seconds of a process and its reaped children (/proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / CLOCK_TICKS


# --- data ----------------------------------------------------------------------------------


def settings(url: str, args, queue: str, smtp_port: int) -> dict:
    from crm.config import normalise_database_url

    return {
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
        "SECRET_KEY": "bench",
        "REDIS_URL": args.redis_url,
        "RQ_QUEUES": [queue],
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_port,
        "MAIL_FROM": "crm@shop.example.test",
        "MESSAGING_FROM": "Магазин <news@shop.example.test>",
        "BASE_URL": "https://crm.example.test",
        "DEFAULT_LOCALE": "ru",
    }


def make_app(config: dict):
    import atexit
    import shutil

    from crm import create_app

    instance = tempfile.mkdtemp(prefix="crm-bench-")
    atexit.register(shutil.rmtree, instance, ignore_errors=True)
    return create_app({**config, "WTF_CSRF_ENABLED": False, "TESTING": False}, instance)


def build_data(count: int):
    """The schema made again, `count` consenting partners in CITY, the segment, the template
    and the group; returns (marketer, segment id, template id, group id)."""
    from crm.auth.models import User
    from crm.core.db import analyze
    from crm.core.text import fold
    from crm.messaging.models import MailingGroup, MessageTemplate, MessageTemplateText, Subscriber
    from crm.partners.models import ContactDetail, Partner
    from crm.segments.services import create_segment

    db.drop_all()
    db.create_all()
    marketer = User(email="marketer@shop.example.test", name="Марина Маркетова", role="marketer")
    managers = [
        User(email=f"manager{n}@shop.example.test", name=f"Менеджер {n}", role="manager")
        for n in range(5)
    ]
    for user in (marketer, *managers):
        user.password_hash = "x"
        db.session.add(user)
    db.session.flush()
    conn = db.session.connection()
    rows = []
    for i in range(count):
        name = f"ООО «Клиент {i}»"
        rows.append(
            {
                "code": f"B{i:06d}",
                "name": name,
                "name_norm": fold(name),
                "city": CITY,
                "city_norm": fold(CITY),
                "responsible_id": managers[i % 5].id if i % 3 == 0 else None,
            }
        )
    conn.execute(sa.insert(Partner.__table__), rows)
    ids = dict(db.session.execute(sa.select(Partner.code, Partner.id)).all())
    emails = [(ids[f"B{i:06d}"], f"client{i:06d}@mail.example.test") for i in range(count)]
    conn.execute(
        sa.insert(ContactDetail.__table__),
        [
            {"partner_id": pid, "kind": "email", "value": e, "value_norm": e, "is_main": True}
            for pid, e in emails
        ],
    )
    conn.execute(
        sa.insert(Subscriber.__table__),
        [
            {
                "channel": "email",
                "address": e,
                "address_norm": e,
                "consent": True,
                "consent_source": "bench",
                "language": "ru",
                "partner_id": pid,
            }
            for pid, e in emails
        ],
    )
    segment = create_segment(
        marketer, f"Клиенты: {CITY}", "dynamic", {"type": "partner.city", "cities": [CITY]}
    )
    template = MessageTemplate(name="Осенние скидки", channel="email")
    template.texts.append(
        MessageTemplateText(language="ru", subject=SUBJECT, body_html=HTML, body_text=TEXT)
    )
    group = MailingGroup(name="Акции", kind="advertising")
    db.session.add_all([template, group])
    db.session.commit()
    analyze(db.session.connection())
    db.session.commit()
    return marketer.id, segment.id, template.id, group.id


def new_mailing(n: int, marketer_id: int, segment_id: int, template_id: int, group_id: int):
    """A fresh mailing to the segment; the previous run's messages and interactions deleted
    (the tables stay the size one run makes)."""
    from crm.interactions.models import Interaction, Participant
    from crm.messaging.models import Mailing, Message

    db.session.execute(sa.delete(Message))
    db.session.execute(sa.delete(Participant))
    db.session.execute(sa.delete(Interaction))
    db.session.execute(sa.delete(Mailing))
    mailing = Mailing(
        name=f"Бенчмарк {n}",
        channel="email",
        template_id=template_id,
        group_id=group_id,
        state="scheduled",
        scope_key="segment",
        scope_value=str(segment_id),
        tracking=True,
        created_by_id=marketer_id,
    )
    db.session.add(mailing)
    db.session.commit()
    return mailing


def personalised() -> str:
    from crm.core.message_placeholders import placeholders

    keys = {p.key for p in placeholders()}
    found = [k for k in ("partner", "contact", "manager") if k in keys]
    return ", ".join(found) if found else "none registered (names render empty)"


# --- one database --------------------------------------------------------------------------


@dataclass
class Outcome:
    database: str
    times: list[float] = field(default_factory=list)
    worker_cpu: list[float] = field(default_factory=list)
    db_cpu: list[float] = field(default_factory=list)
    smtp_cpu: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def worker_env(config: dict) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=config["REDIS_URL"],
        RQ_QUEUES=",".join(config["RQ_QUEUES"]),
        SECRET_KEY=config["SECRET_KEY"],
        SMTP_HOST=config["SMTP_HOST"],
        SMTP_PORT=str(config["SMTP_PORT"]),
        MAIL_FROM=config["MAIL_FROM"],
        MESSAGING_FROM=config["MESSAGING_FROM"],
        BASE_URL=config["BASE_URL"],
        PYTHONPATH=str(ROOT),
    )
    return env


def run_database(url: str, args) -> Outcome:
    from redis import Redis
    from rq import Worker

    from crm.auth.models import User
    from crm.messaging.jobs import start_mailing_now
    from crm.messaging.models import Mailing, Message

    queue = f"bench-messaging-{uuid.uuid4().hex[:8]}"
    port = free_port()
    report = Path(tempfile.mkstemp(prefix="crm-bench-smtp-", suffix=".json")[1])
    config = settings(url, args, queue, port)
    app = make_app(config)
    outcome = Outcome("")
    sink = subprocess.Popen(
        [sys.executable, __file__, "--smtp-sink", str(port), str(report)],
        stdout=subprocess.PIPE,
        text=True,
    )
    sink.stdout.readline()  # "ready"
    workers: list[subprocess.Popen] = []
    redis = Redis.from_url(args.redis_url)
    try:
        with app.app_context():
            outcome.database = db.engine.dialect.name
            print(f"\n== {outcome.database}: building {args.count:,} partners …", flush=True)
            started = time.monotonic()
            marketer_id, segment_id, template_id, group_id = build_data(args.count)
            print(f"   data built in {time.monotonic() - started:.1f} s", flush=True)
            outcome.notes.append(f"placeholders filled: {personalised()}")
            env = worker_env(app.config)
            workers = [
                subprocess.Popen(
                    [sys.executable, "worker.py"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                for _ in range(args.workers)
            ]
            deadline = time.monotonic() + 60
            while len(Worker.all(connection=redis, queue=_queue(redis, queue))) < args.workers:
                if time.monotonic() > deadline:
                    raise RuntimeError("the workers did not start")
                time.sleep(0.2)
            sent_before = 0
            for n in range(1, args.runs + 1):
                mailing = new_mailing(n, marketer_id, segment_id, template_id, group_id)
                marketer = db.session.get(User, marketer_id)
                cpu0 = sum(_tree_cpu(w.pid) for w in workers)
                db0 = db_cpu_seconds(db.engine) or 0.0
                smtp0 = process_cpu(sink.pid)
                t0 = time.monotonic()
                start_mailing_now(mailing, marketer)
                while True:
                    db.session.rollback()
                    state = db.session.execute(
                        sa.select(Mailing.state).where(Mailing.id == mailing.id)
                    ).scalar_one()
                    if state == "done":
                        break
                    if time.monotonic() - t0 > args.timeout:
                        raise RuntimeError(f"run {n} not done after {args.timeout} s ({state})")
                    time.sleep(0.05)
                elapsed = time.monotonic() - t0
                outcome.times.append(elapsed)
                outcome.worker_cpu.append(sum(_tree_cpu(w.pid) for w in workers) - cpu0)
                outcome.db_cpu.append((db_cpu_seconds(db.engine) or 0.0) - db0)
                outcome.smtp_cpu.append(process_cpu(sink.pid) - smtp0)
                sent = db.session.execute(
                    sa.select(sa.func.count()).where(
                        Message.mailing_id == mailing.id, Message.state == "sent"
                    )
                ).scalar_one()
                if sent != args.count:
                    raise RuntimeError(f"run {n}: {sent} sent, {args.count} expected")
                sent_before += sent
                print(
                    f"   run {n}: {elapsed:.1f} s ({args.count / elapsed:,.0f} messages/s)",
                    flush=True,
                )
    except Exception as exc:  # reported in the results, the other database still runs
        outcome.error = f"{type(exc).__name__}: {exc}"
        print(f"   FAILED: {outcome.error}", flush=True)
    finally:
        for w in workers:
            try:
                os.killpg(w.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            w.wait()
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=30)
        for key in redis.scan_iter(match=f"*{queue}*", count=1000):
            redis.delete(key)
        redis.srem("rq:queues", f"rq:queue:{queue}")
        redis.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    counts = json.loads(report.read_text() or "{}") if report.exists() else {}
    report.unlink(missing_ok=True)
    if not outcome.error and outcome.times:
        expected = args.count * len(outcome.times)
        if counts.get("messages") != expected or counts.get("message_ids") != expected:
            outcome.error = f"the SMTP server counted {counts}, {expected} messages expected"
        elif counts.get("addresses") != args.count or counts.get("most") != len(outcome.times):
            outcome.error = f"the SMTP server counted {counts}: not one per address and run"
        else:
            outcome.notes.append(
                f"the SMTP server received {expected:,} messages with {expected:,} distinct "
                f"Message-IDs, {len(outcome.times)} per address"
            )
    return outcome


def _queue(redis, name):
    from rq import Queue

    return Queue(name, connection=redis)


def _tree_cpu(pid: int) -> float:
    """CPU of a worker and its RQ scheduler process (the session's processes)."""
    total = process_cpu(pid)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == pid:
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[3]) == pid:  # its children (the scheduler)
            total += sum(int(f) for f in stat[11:13]) / CLOCK_TICKS
    return total


# --- profile -------------------------------------------------------------------------------


def profile(url: str, args) -> None:
    """Compose and send `--profile-count` messages in this process under pyinstrument (SMTP
    server in its own process), to see where a worker's time goes."""
    from pyinstrument import Profiler

    from crm.core.models import JobRun
    from crm.messaging import delivery, jobs, runners

    port = free_port()
    report = Path(tempfile.mkstemp(prefix="crm-bench-smtp-", suffix=".json")[1])
    sink = subprocess.Popen(
        [sys.executable, __file__, "--smtp-sink", str(port), str(report)],
        stdout=subprocess.PIPE,
        text=True,
    )
    sink.stdout.readline()
    config = settings(url, args, "bench-profile", port)
    config["REDIS_URL"] = None
    app = make_app(config)
    try:
        with app.app_context():
            ids = build_data(args.profile_count)
            mailing = new_mailing(1, *ids)
            runners.kick = lambda: None  # this process sends, below, under the profiler
            profiler = Profiler()
            profiler.start()
            t0 = time.monotonic()
            jobs.start_mailing(mailing.id, run=JobRun(name=jobs.START_JOB, args=[mailing.id]))
            t1 = time.monotonic()
            sent = delivery.run_until_idle(["email"])
            t2 = time.monotonic()
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
            print(
                f"{db.engine.dialect.name}: made {args.profile_count} in {t1 - t0:.2f} s, "
                f"sent {sent} in {t2 - t1:.2f} s ({(t2 - t1) / max(1, sent) * 1000:.2f} ms each)"
            )
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=30)
        report.unlink(missing_ok=True)


# --- the report ----------------------------------------------------------------------------


def write_report(outcomes: list[Outcome], args) -> Path:
    path = ROOT / "bench" / "results" / f"messaging-{args.count}.md"
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Mailings: delivery throughput",
        "",
        f"Generated by `bench/messaging_bench.py` on {now}.",
        "",
        f"- Scale: {args.count:,} partners, each with an e-mail address and its consent, a third "
        "with a manager; one mailing of an advertising group to a dynamic segment (all of "
        "them), tracking on (every link redirected, an open pixel); the template writes the "
        "partner's and the manager's names into the subject and both bodies.",
        f"- Method: {args.workers} `worker.py` processes on Redis (RQ), started before the "
        "runs; the SMTP server is aiosmtpd in a process of its own on 127.0.0.1. A run makes "
        "a new mailing (the previous run's messages and interactions deleted), calls "
        "`start_mailing_now` and waits until the mailing is done: the start job resolves the "
        "recipients, composes and stores the messages in batches of 500 (the senders start on "
        "the first batch), the send jobs claim batches of 50 and send them one at a time, "
        "each committed with its interaction. Time from the call until the mailing is done; "
        f"median of {args.runs} runs.",
        "- CPU columns: seconds of CPU per run of the two workers (with their RQ scheduler "
        "processes), of the PostgreSQL backends (/proc) and of the SMTP server; on a busy "
        "machine wall times stretch, CPU does not.",
    ]
    for key, value in machine().items():
        lines.append(f"- {key}: {value}")
    load = os.getloadavg()
    lines.append(
        f"- Load average (1/5/15 min) at the end: {load[0]:.2f} / {load[1]:.2f} / "
        f"{load[2]:.2f} (other jobs share the CPUs: wall times stretch)."
    )
    lines += [
        "",
        "| database | target s | median s (min–max) | messages/s | workers CPU s | "
        "database CPU s | SMTP server CPU s | result |",
        "|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for o in outcomes:
        if o.error and not o.times:
            lines.append(f"| {o.database} | {TARGET_SECONDS:.0f} | — | — | — | — | — | {o.error} |")
            continue
        note = "; ".join(o.notes) if not o.error else o.error
        lines.append(
            f"| {o.database} | {TARGET_SECONDS:.0f} | {o.median:.1f} "
            f"({min(o.times):.1f}–{max(o.times):.1f}) | {args.count / o.median:,.0f} | "
            f"{statistics.median(o.worker_cpu):.1f} | "
            f"{statistics.median(o.db_cpu) if o.database == 'postgresql' else 0:.1f} | "
            f"{statistics.median(o.smtp_cpu):.1f} | {note} |"
        )
    met = all(o.times and not o.error and o.median < TARGET_SECONDS for o in outcomes)
    lines += ["", "Every median is under the target." if met else "A target is missed."]
    write_text_atomic(path, "\n".join(lines) + "\n")
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--databases", default="postgresql,sqlite")
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_MESSAGING_DATABASE_URL", DEFAULT_PG))
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    ap.add_argument("--profile", action="store_true", help="compose and send in one process")
    ap.add_argument("--profile-count", type=int, default=2000)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--smtp-sink", nargs=2, metavar=("PORT", "REPORT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.smtp_sink:
        smtp_sink(int(args.smtp_sink[0]), args.smtp_sink[1])
        return 0
    urls = {}
    for name in [d.strip() for d in args.databases.split(",") if d.strip()]:
        if name == "sqlite":
            DATA_DIR.mkdir(parents=True, exist_ok=True)
            urls[name] = "sqlite:///" + str(DATA_DIR / "messaging.sqlite3")
        elif name == "postgresql":
            problem = ensure_pg_database(args.pg_url)
            if problem:
                print(f"PostgreSQL skipped: {problem}")
                continue
            urls[name] = args.pg_url
    if args.profile:
        for url in urls.values():
            profile(url, args)
        return 0
    outcomes = [run_database(url, args) for url in urls.values()]
    path = write_report(outcomes, args)
    print(f"\nwritten {path.relative_to(ROOT)}")
    print(path.read_text())
    missed = any(o.error or not o.times or o.median >= TARGET_SECONDS for o in outcomes)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
