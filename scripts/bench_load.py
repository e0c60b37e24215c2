#!/usr/bin/env python
"""Preflight under load on gunicorn + PostgreSQL (issue 21, point 7; docs/performance.md, "Load").

One command: ``.venv/bin/python scripts/bench_load.py`` (``make bench-load``). It

1. creates its own database on the PostgreSQL server at ``--pg`` (default
   ``postgres://postgres@127.0.0.1:5432``), named ``--db`` (default ``preflight_bench_load``; an
   existing one of that name is dropped first), migrates it and seeds it: the demo (``seed_demo
   --force``), ``--launches`` launches owned by the PM (default 1,400: ``--reviews`` of them from
   the template, staffed, with their Internal sign-offs requested and pending, the rest blank);
2. starts gunicorn on ``127.0.0.1:--port`` (default 18600) with ``--workers`` (default 2 × cores
   + 1) ``--worker-class`` workers, configured by command-line flags only (a ``gunicorn.conf.py``
   in the checkout is not read), DEBUG off, ``PAGE_CACHE_SECONDS`` from ``--page-cache-seconds``
   (default 30; shared through Redis at ``--page-cache-url`` with ``--celery``); with ``--celery`` (the default when Redis answers at ``--redis``), two Celery
   workers on that Redis database: one for the post-commit tasks, one for the report renders
   (``REPORTS_QUEUE=reports``);
3. measures each page's capacity alone, one after the other in the same run, with ``--clients``
   concurrent keep-alive clients for ``--seconds`` each: the sign-in page (the floor), the
   portfolio (as the executive, who sees every launch, and the PM, who owns them), a launch page,
   My sign-offs, and the decision POST (each client reads the decision page, then posts; only the
   POST is timed). Throughput (requests per second) and p50/p95/p99 latencies;
4. runs ``scripts/locustfile.py`` headless with ``--users`` (default 50) people for
   ``--run-time``: every page again under a mixed load, and "PDF ready" (request to ready);
5. prints a table, writes it to ``--out`` (default ``bench_load_results.md``), stops everything it
   started and drops its database (``--keep-db`` keeps it; ``--reuse-db`` skips creating and
   seeding when the database is already there, to measure again quickly).

Targets (on 2 cores): the portfolio, the launch page and the decision POST each serve at least
half the sign-in page's requests per second; a PDF is ready within 10 s of its request with 50
users on. Exit status 1 when one is missed. Everything listens on loopback only.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
PASSWORD = "preflight-demo"
APPROVERS = ["mia", "pat", "dana", "priya", "lena", "sam", "cora", "bill"]
RATIO_TARGET = 0.5
PDF_TARGET_SECONDS = 10.0

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def server_env(args, folder: Path) -> dict[str, str]:
    """The environment of every process of the run: production-like (DEBUG off) on loopback HTTP."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CELERY_", "DJANGO_", "GUNICORN_")) and key not in ("LEDGER_ANCHOR_FILE",)
    }
    env.update(
        {
            "DATABASE_URL": f"{args.pg.rstrip('/')}/{args.db}",
            "DEBUG": "0",
            "SECRET_KEY": "bench-load-" + "k" * 40 + "-not-a-secret-0123456789",
            "LEDGER_KEY": "bench-load-ledger-" + "l" * 30,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(folder / "sent_mail"),
            "SITE_URL": f"http://127.0.0.1:{args.port}",
            "PAGE_CACHE_SECONDS": str(args.page_cache_seconds),
            "PAGE_CACHE_URL": args.page_cache_url if args.celery else "",
            "REPORTS_QUEUE": "reports",
            "STATIC_ROOT": str(folder / "static"),  # DEBUG off serves collected, hashed files
        }
    )
    if args.celery:
        env["CELERY_BROKER_URL"] = args.redis
    return env


# The database ----------------------------------------------------------------------------------


def admin_sql(args, statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{args.pg.rstrip('/')}/postgres", autocommit=True) as connection:
        connection.execute(statement)


def database_exists(args) -> bool:
    import psycopg

    with psycopg.connect(f"{args.pg.rstrip('/')}/postgres", autocommit=True) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db]).fetchone() is not None


def drop_database(args) -> None:
    admin_sql(args, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')


def seed(launches: int, reviews: int, world_file: Path) -> None:
    """In a process of its own (Django set up on the benchmark's database): the demo, then
    ``launches`` launches owned by the PM, ``reviews`` of them waiting for their Internal sign-offs."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from readiness.evaluations import refresh_evaluations
    from readiness.models import Launch
    from readiness.services import launch_create, launch_create_from_template
    from web.management.commands.seed_demo import Command, DemoPortfolio

    call_command("seed_demo", force=True, verbosity=0)
    people = Command()._people(with_superuser=False)
    demo = DemoPortfolio(people)
    pam = demo.pm
    started = time.perf_counter()
    for n in range(reviews):
        with transaction.atomic():
            launch = launch_create_from_template(
                actor=pam,
                template="genai-feature",
                name=f"Review launch {n:04d}",
                slug=f"review-{n:04d}",
                summary=f"Launch {n} waiting for its Internal sign-offs.",
                risk_tier=("low", "medium", "high")[n % 3],
            )
            demo._confirm_template_values(launch)
            demo._staff_raci(launch)
            demo._request(launch, "Internal")
    blank = max(launches - reviews, 0)
    for first in range(0, blank, 200):
        with transaction.atomic():
            for n in range(first, min(first + 200, blank)):
                launch_create(
                    actor=pam,
                    name=f"Portfolio launch {n:04d}",
                    slug=f"portfolio-{n:04d}",
                    summary=f"Launch number {n} of the load benchmark.",
                    risk_tier=("low", "medium", "high")[n % 3],
                )
    refresh_evaluations()
    print(f"Seeded {Launch.objects.count()} launches in {time.perf_counter() - started:.0f} s", flush=True)
    write_world(world_file)


def prepare_database(args, env: dict[str, str], folder: Path) -> dict:
    world_file = folder / "world.json"
    if args.reuse_db and database_exists(args):
        print(f"Reusing database {args.db}")
        subprocess.run(
            [PYTHON, __file__, "--_world", str(world_file)], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL
        )
        return json.loads(world_file.read_text())
    drop_database(args)
    admin_sql(args, f'CREATE DATABASE "{args.db}"')
    started = time.perf_counter()
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True)
    print(f"Migrated {args.db} in {time.perf_counter() - started:.0f} s", flush=True)
    seed_env = {**env}
    seed_env.pop("CELERY_BROKER_URL", None)  # seeding evaluates in-process
    subprocess.run(
        [
            PYTHON,
            __file__,
            "--_seed",
            str(world_file),
            "--launches",
            str(args.launches),
            "--reviews",
            str(args.reviews),
        ],
        env=seed_env,
        cwd=ROOT,
        check=True,
    )
    return json.loads(world_file.read_text())


def write_world(world_file: Path) -> None:
    """What the clients need to know: each approver's open sign-offs, launches to open."""
    from approvals.models import SignoffRequest
    from readiness.models import Launch

    pending = {
        username: list(
            SignoffRequest.objects.filter(addressees__username=username)
            .exclude(status__in=["withdrawn", "superseded"])  # still open: a decision supersedes theirs
            .values_list("pk", flat=True)
        )
        for username in [*APPROVERS, "eve"]
    }
    slugs = ["support-assistant", "sales-email-drafter", "code-review-bot"]
    slugs += list(Launch.objects.filter(name__startswith="Review launch").values_list("slug", flat=True)[:7])
    world_file.write_text(json.dumps({"pending": pending, "launches": slugs}))


def world_of_existing(world_file: Path) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    write_world(world_file)


# The servers -----------------------------------------------------------------------------------


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f} s")


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def gunicorn_command(args, folder: Path) -> list[str]:
    empty_config = folder / "gunicorn.bench.py"
    empty_config.write_text("# flags only: see scripts/bench_load.py\n")
    command = [
        str(BIN / "gunicorn"),
        "config.wsgi:application",
        "--config",
        str(empty_config),
        "--bind",
        f"127.0.0.1:{args.port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]
    if args.worker_class == "gthread":
        command += ["--threads", str(args.threads)]
    return command


# The client ------------------------------------------------------------------------------------


class Session:
    """One keep-alive connection with its cookies: a person's browser, without the browser."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, dict]:
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt == 2:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, text, dict(response.getheaders())

    def sign_in(self, username: str) -> None:
        _, page, _ = self.request("GET", "/sign-in/")
        token = CSRF_INPUT.search(page).group(1)
        status, _, _ = self.request(
            "POST", "/sign-in/", {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}
        )
        if status != 302:
            raise SystemExit(f"{username} could not sign in ({status})")


@dataclass
class Measure:
    label: str
    seconds: float = 0.0
    times: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def rate(self) -> float:
        return len(self.times) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.times:
            return float("nan")
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def run_phase(label: str, sessions: list[Session], step, seconds: float) -> Measure:
    """``step(session)`` repeatedly on every session in parallel for ``seconds``; ``step`` returns
    (elapsed seconds of the timed request, ok) or None when it timed nothing."""
    measure = Measure(label)
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def loop(session: Session) -> None:
        while time.monotonic() < stop_at:
            try:
                outcome = step(session)
            except Exception:  # noqa: BLE001 - a failed request is counted, not fatal
                outcome = (0.0, False)
            if outcome is None:
                continue
            elapsed, ok = outcome
            with lock:
                if ok:
                    measure.times.append(elapsed)
                else:
                    measure.errors += 1

    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(session,)) for session in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    measure.seconds = time.monotonic() - started
    return measure


def timed_get(path: str, expected: int = 200):
    def step(session: Session):
        started = time.perf_counter()
        status, _, _ = session.request("GET", path)
        return time.perf_counter() - started, status == expected

    return step


def launch_pages(slugs: list[str]):
    counter = iter(range(10**9))

    def step(session: Session):
        path = f"/launches/{slugs[next(counter) % len(slugs)]}/"
        started = time.perf_counter()
        status, _, _ = session.request("GET", path)
        return time.perf_counter() - started, status == 200

    return step


def decide_in_turn(session: Session):
    """Read one of the session's sign-offs' decision page (untimed), then post an approval
    (timed): the addressee decides again, which supersedes their previous decision, so the same
    requests serve all run. Each session goes through its own list from its own place."""
    session.turn = getattr(session, "turn", random.randrange(len(session.pending))) + 1
    path = f"/signoffs/{session.pending[session.turn % len(session.pending)]}/"
    status, page, _ = session.request("GET", path)
    fields = dict(HIDDEN_INPUT.findall(page))
    if status != 200 or "fingerprint" not in fields:
        return 0.0, False
    fields.update({"outcome": "approve", "comment": "Reviewed under load."})
    started = time.perf_counter()
    status, _, _ = session.request("POST", path, fields)
    return time.perf_counter() - started, status == 302


def capacity(args, world: dict) -> list[Measure]:
    """Each page alone, for ``--seconds``, with ``--clients`` concurrent clients."""
    clients = args.clients
    anonymous = [Session(args.port) for _ in range(clients)]
    executives = []
    for n in range(clients):
        session = Session(args.port)
        session.sign_in("eve" if n % 2 == 0 else "pam")
        executives.append(session)
    approvers = [a for a in APPROVERS if world["pending"].get(a)]
    deciders = []
    for n in range(clients):
        username = approvers[n % len(approvers)]
        session = Session(args.port)
        session.sign_in(username)
        session.pending = world["pending"][username]
        deciders.append(session)
    warm = args.seconds / 4
    phases = [
        ("sign-in page (the floor)", anonymous, timed_get("/sign-in/")),
        ("portfolio (executive and PM)", executives, timed_get("/")),
        ("launch page", executives, launch_pages(world["launches"])),
        ("inbox (My sign-offs)", deciders, timed_get("/signoffs/")),
        ("decision (POST)", deciders, decide_in_turn),
    ]
    results = []
    for label, sessions, step in phases:
        run_phase(label, sessions, step, warm)  # every worker has served it once before it counts
        measure = run_phase(label, sessions, step, args.seconds)
        print(f"  {label}: {measure.rate:.1f} req/s, p50 {measure.percentile(50):.0f} ms", flush=True)
        results.append(measure)
    return results


def server_report_times(args, since) -> list[float]:
    """Seconds from each report's request to its PDF stored, as the server recorded them, for
    the reports asked for since ``since`` (the client's figure adds the web server's queue)."""
    import psycopg

    with psycopg.connect(f"{args.pg.rstrip('/')}/{args.db}") as connection:
        rows = connection.execute(
            "SELECT EXTRACT(EPOCH FROM finished_at - requested_at) FROM reports_report "
            "WHERE requested_at >= %s AND status = 'ready'",
            [since],
        ).fetchall()
    return sorted(float(seconds) for (seconds,) in rows)


def mixed_load(args, folder: Path) -> list[dict]:
    """The locust file, headless: ``--users`` people for ``--run-time``; its stats rows."""
    prefix = folder / "mixed"
    subprocess.run(
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "scripts" / "locustfile.py"),
            "--headless",
            "--users",
            str(args.users),
            "--spawn-rate",
            str(args.spawn_rate),  # each sign-in is a password hash (half a second of CPU or more): spread out
            "--run-time",
            args.run_time,
            "--host",
            f"http://127.0.0.1:{args.port}",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--stop-timeout",
            "30",
            "--reset-stats",  # the figures count from when all people are spawned, not their sign-in storm
        ],
        cwd=ROOT,
        check=False,
        stdout=(folder / "locust.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    with open(f"{prefix}_stats.csv", newline="") as stats:
        return list(csv.DictReader(stats))


# The report ------------------------------------------------------------------------------------


def report(args, measures: list[Measure], mixed: list[dict], rendered: list[float]) -> tuple[str, bool]:
    floor = measures[0].rate
    lines = [
        f"Load benchmark: gunicorn {args.workers} × {args.worker_class}"
        + (f" ({args.threads} threads)" if args.worker_class == "gthread" else "")
        + f", PostgreSQL, {'Celery on Redis' if args.celery else 'tasks in-process'}, "
        f"{args.launches} launches, PAGE_CACHE_SECONDS={args.page_cache_seconds}"
        + (" (shared in Redis)" if args.celery else "")
        + f", {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end",
        "",
        f"Each page alone: {args.clients} concurrent clients for {args.seconds:.0f} s (after {args.seconds / 4:.0f} s"
        " of warm-up)",
        "",
        "| page | req/s | × sign-in | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    met = True
    for measure in measures:
        ratio = measure.rate / floor if floor else 0.0
        judged = measure.label.startswith(("portfolio", "launch page", "decision"))
        if judged and ratio < RATIO_TARGET:
            met = False
        lines.append(
            f"| {measure.label} | {measure.rate:.1f} | {ratio:.2f}{' ✗' if judged and ratio < RATIO_TARGET else ''} | "
            f"{measure.percentile(50):.0f} | {measure.percentile(95):.0f} | {measure.percentile(99):.0f} | "
            f"{measure.errors} |"
        )
    lines += [
        "",
        f"Mixed load: {args.users} people (scripts/locustfile.py) for {args.run_time}",
        "",
        "| request | count | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    pdf_p95 = None
    for row in mixed:
        if row["Name"] == "Aggregated" or not row["Name"]:
            continue
        lines.append(
            f"| {row['Name'] if row['Type'] == 'PDF' else row['Type'] + ' ' + row['Name']} | {row['Request Count']} | {row['Failure Count']} | "
            f"{float(row['Requests/s']):.1f} | {row['50%']} | {row['95%']} | {row['99%']} | "
            f"{float(row['Max Response Time']):.0f} |"
        )
        if row["Type"] == "PDF":
            pdf_p95 = float(row["95%"]) / 1000
            if pdf_p95 > PDF_TARGET_SECONDS or int(row["Failure Count"]):
                met = False
    if pdf_p95 is None:
        met = False
        lines.append("| PDF ready | no report was asked for in the run: give a longer --run-time | | | | | | |")
    if rendered:
        lines += [
            "",
            f"PDF ready as the server saw it (requested_at → finished_at, {len(rendered)} reports): "
            f"p50 {rendered[len(rendered) // 2]:.1f} s, p95 {rendered[min(len(rendered) - 1, int(len(rendered) * 0.95))]:.1f} s, "
            f"max {rendered[-1]:.1f} s",
        ]
    lines += [
        "",
        f"Targets: portfolio, launch page and decision ≥ {RATIO_TARGET:.1f} × the sign-in page's req/s; "
        f"PDF ready p95 ≤ {PDF_TARGET_SECONDS:.0f} s with {args.users} users: " + ("met" if met else "MISSED"),
    ]
    return "\n".join(lines) + "\n", met


def redis_answers(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 - any failure means "not there"
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL, no db")
    parser.add_argument("--db", default="preflight_bench_load", help="the benchmark's own database (dropped after)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="broker for --celery (a db of its own)")
    parser.add_argument("--celery", action=argparse.BooleanOptionalAction, default=None, help="run a Celery worker")
    parser.add_argument("--port", type=int, default=18600)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per worker with --worker-class gthread")
    parser.add_argument("--launches", type=int, default=1400)
    parser.add_argument("--reviews", type=int, default=60, help="launches waiting for Internal sign-offs")
    parser.add_argument("--clients", type=int, default=10, help="concurrent clients per capacity phase")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each capacity phase")
    parser.add_argument("--users", type=int, default=50, help="people in the mixed load")
    parser.add_argument("--run-time", default="180s", help="length of the mixed load (locust's --run-time)")
    parser.add_argument("--spawn-rate", type=float, default=1.0, help="people starting (signing in) per second")
    parser.add_argument(
        "--page-cache-url",
        default="redis://127.0.0.1:6379/14",
        help="PAGE_CACHE_URL of the server, with --celery (a Redis db of its own; emptied before and after)",
    )
    parser.add_argument(
        "--page-cache-seconds", type=int, default=30, help="PAGE_CACHE_SECONDS of the server (0: pages never kept)"
    )
    parser.add_argument("--out", default="bench_load_results.md", help="where the table is written")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--reuse-db", action="store_true", help="an existing --db is measured again, not rebuilt")
    parser.add_argument("--_seed", help=argparse.SUPPRESS)
    parser.add_argument("--_world", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._seed:
        seed(args.launches, min(args.reviews, args.launches), Path(args._seed))
        return 0
    if args._world:
        world_of_existing(Path(args._world))
        return 0
    if urllib.parse.urlsplit(args.pg).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("Refused: the benchmark uses a PostgreSQL server on this machine only.")
    if args.celery is None:
        args.celery = redis_answers(args.redis)

    folder = Path(tempfile.mkdtemp(prefix="preflight-load-"))
    env = server_env(args, folder)
    web, workers = None, []
    try:
        world = prepare_database(args, env, folder)
        if args.celery:
            import redis

            redis.Redis.from_url(args.redis).flushdb()
            redis.Redis.from_url(args.page_cache_url).flushdb()
            # One worker for the post-commit refreshes and notifications, one of its own for the
            # report renders (REPORTS_QUEUE), so a PDF never waits behind the others.
            workers = [
                start(
                    [str(BIN / "celery"), "-A", "config", "worker", "-l", "warning", "-c", "1", "-Q", queue]
                    + ["-n", f"bench-load-{queue}@%h", "--without-gossip", "--without-mingle"],
                    env,
                    folder / f"celery-{queue}.log",
                )
                for queue in ("celery", "reports")
            ]
        subprocess.run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True)
        web = start(gunicorn_command(args, folder), env, folder / "gunicorn.log")
        wait_for_port(args.port, web)
        print(f"gunicorn on 127.0.0.1:{args.port}; measuring each page alone", flush=True)
        measures = capacity(args, world)
        print(f"Mixed load: {args.users} users for {args.run_time}", flush=True)
        since = datetime.datetime.now(datetime.UTC)
        mixed = mixed_load(args, folder)
        text, met = report(args, measures, mixed, server_report_times(args, since))
        print()
        print(text)
        Path(args.out).write_text(text)
        print(f"Written to {args.out}")
        return 0 if met else 1
    finally:
        stop(web)
        for worker in workers:
            stop(worker)
        if args.celery:
            try:
                import redis

                redis.Redis.from_url(args.redis).flushdb()
                redis.Redis.from_url(args.page_cache_url).flushdb()
            except Exception:  # noqa: BLE001
                pass
        if not (args.keep_db or args.reuse_db):
            drop_database(args)
        if args.keep_db:
            print(f"Logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
