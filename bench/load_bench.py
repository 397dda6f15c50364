"""Requests per second of the partner list under concurrent load, beside a bare Flask page.

Starts two gunicorn servers (2 sync workers each, 127.0.0.1 only), one serving the CRM on
the partner bench's data file (bench/partners_bench.py builds it) and one a bare Flask app
whose only page renders a 50-row table; then N client threads request each for a fixed time,
one after the other, and the ratio of the two rates is printed and written to
bench/results/load.md. The ratio is what travels between machines: the bare page measures
what the machine, gunicorn and the load generator (in this process, on the same CPUs) allow.

    .venv/bin/python bench/load_bench.py                       # 16 connections, 20 s each
    .venv/bin/python bench/load_bench.py --seconds 10 --connections 8
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from partners_bench import PASSWORD, machine, write_text_atomic  # noqa: E402

BARE_APP = '''
from flask import Flask, render_template_string

app = Flask(__name__)
ROWS = [{"id": i, "name": f"Partner {i}", "city": "Moscow", "phone": f"+7 900 000-{i:04d}"}
        for i in range(50)]
PAGE = """<!doctype html><html><body><table>
{% for r in rows %}<tr><td>{{ r.id }}</td><td>{{ r.name }}</td><td>{{ r.city }}</td>
<td>{{ r.phone }}</td></tr>{% endfor %}</table></body></html>"""


@app.get("/")
def index():
    return render_template_string(PAGE, rows=ROWS)
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(app_spec: str, port: int, env: dict, cwd: Path) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        app_spec,
    ]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn exited: {app_spec}") from None
            time.sleep(0.2)  # waiting for a server to listen, bounded by the deadline
    proc.kill()
    raise SystemExit(f"gunicorn did not start: {app_spec}")


def sign_in(port: int, email: str) -> str:
    """The session cookie of a signed-in user (the login form's CSRF token included)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/auth/login")
    r = conn.getresponse()
    body = r.read().decode()
    cookies = [c.split(";")[0] for k, c in r.getheaders() if k.lower() == "set-cookie"]
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', body)
    form = {"email": email, "password": PASSWORD}
    if token:
        form["csrf_token"] = token.group(1)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "POST",
        "/auth/login",
        body=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": "; ".join(cookies)},
    )
    r = conn.getresponse()
    r.read()
    assert r.status == 302, r.status
    cookies += [c.split(";")[0] for k, c in r.getheaders() if k.lower() == "set-cookie"]
    jar = dict(c.split("=", 1) for c in cookies)  # the newest value of each cookie
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def load(port: int, path: str, cookie: str, connections: int, seconds: float) -> dict:
    """`connections` threads request `path` for `seconds`; the rate and latencies."""
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker():
        mine, bad = [], 0
        while time.monotonic() < stop:
            t = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
                r = conn.getresponse()
                r.read()
                conn.close()
                if r.status != 200:
                    bad += 1
                    continue
            except OSError:
                bad += 1
                continue
            mine.append((time.perf_counter() - t) * 1000)
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - started
    return {
        "rps": len(latencies) / took,
        "median": statistics.median(latencies or [0]),
        "requests": len(latencies),
        "errors": errors[0],
    }


def cpu_per_request(data: Path, email: str, runs: int) -> dict[str, float]:
    """Median CPU ms of the partner list in this process (Flask's test client, no server, no
    network): the load-independent cost of a request, full page and HTMX fragment. Counts
    SQLite's work too (it runs in the process); a busy machine inflates it only a little."""
    from crm import create_app

    instance = tempfile.mkdtemp(prefix="crm-load-cpu-")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{data}",
            "SECRET_KEY": "load-bench",
            "WTF_CSRF_ENABLED": False,
            "REDIS_URL": None,
        },
        instance_path=instance,
    )
    client = app.test_client()
    r = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert r.status_code == 302, r.status_code
    out = {}
    for name, headers in (("full page", {}), ("fragment", {"HX-Request": "true"})):
        cpu = []
        for i in range(runs + 10):  # the first 10 warm caches up
            started = time.process_time()
            r = client.get("/partners/", headers=headers)
            if i >= 10:
                cpu.append((time.process_time() - started) * 1000)
            assert r.status_code == 200, r.status_code
        out[name] = statistics.median(cpu)
    with app.app_context():
        from crm.extensions import db

        db.engine.dispose()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--partners", type=int, default=100_000)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--cpu-runs", type=int, default=100, help="requests timed for CPU ms")
    ap.add_argument("--output", default=str(ROOT / "bench" / "results" / "load.md"))
    args = ap.parse_args(argv)
    data = ROOT / "bench" / "data" / f"partners-{args.partners}.sqlite3"
    if not data.exists():
        raise SystemExit(f"{data} is missing: run bench/partners_bench.py --partners N first")
    cpu = cpu_per_request(data, "admin@bench.crm", args.cpu_runs)
    tmp = Path(tempfile.mkdtemp(prefix="crm-load-"))
    (tmp / "bare_app.py").write_text(BARE_APP)
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{data}", SECRET_KEY="load-bench", REDIS_URL="")
    crm_port, bare_port = free_port(), free_port()
    servers = [start("app:app", crm_port, env, ROOT), start("bare_app:app", bare_port, env, tmp)]
    try:
        cookie = sign_in(crm_port, "admin@bench.crm")
        load(crm_port, "/partners/", cookie, 2, 2)  # warm both workers up
        load(bare_port, "/", "", 2, 2)
        crm = load(crm_port, "/partners/", cookie, args.connections, args.seconds)
        bare = load(bare_port, "/", "", args.connections, args.seconds)
    finally:
        for proc in servers:
            proc.send_signal(signal.SIGTERM)
        for proc in servers:
            proc.wait(timeout=30)
    ratio = crm["rps"] / bare["rps"] if bare["rps"] else 0
    rows = [
        ("partner list `/partners/` (admin, full page)", crm),
        ("bare Flask page, 50-row table", bare),
    ]
    lines = ["| page | req/s | median ms | requests | errors |", "|---|--:|--:|--:|--:|"]
    lines += [
        f"| {name} | {r['rps']:.1f} | {r['median']:.1f} | {r['requests']} | {r['errors']} |"
        for name, r in rows
    ]
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    text = "\n".join(
        [
            "# Partner list under concurrent load",
            "",
            f"`bench/load_bench.py`, {time.strftime('%Y-%m-%d %H:%M')}: {args.partners:,} partners "
            f"(SQLite file of the partner bench), gunicorn with 2 sync workers per app, "
            f"{args.connections} client threads in one Python process on the same machine, "
            f"{args.seconds:.0f} s per page; load average at the end {load_avg}.",
            *[f"- {k}: {v}" for k, v in machine().items()],
            "",
            *lines,
            "",
            f"Partner list / bare page: **{ratio:.2f}**",
            "",
            f"CPU per partner list request in one process (test client, median of "
            f"{args.cpu_runs}, admin): full page {cpu['full page']:.1f} ms, HTMX fragment "
            f"{cpu['fragment']:.1f} ms.",
            "",
        ]
    )
    print(text)
    if args.output:
        write_text_atomic(Path(args.output), text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
