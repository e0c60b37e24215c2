#!/usr/bin/env python
"""Fault drill (issue 21, point 6): Preflight under load while its parts fail, one at a time.

Starts its own PostgreSQL cluster and Redis (ports 18510–18512 by default, loopback only), migrates,
seeds launches, starts gunicorn (3 workers) and a Celery worker, and drives load: threads signed in
with a real session and CSRF token post decisions and sign-off requests, exactly as the pages'
forms submit them (the one-time key included), and resubmit the same form on a 5xx, a timeout or
a dropped connection, as a browser's "send again" or a retrying client does. Each fault gets its
own launches and requests, so what each phase recorded is counted exactly:

    redis     Redis killed (SIGKILL) for N seconds, then started again
    celery    the Celery worker killed (SIGKILL), started again N seconds later
    postgres  PostgreSQL stopped (fast shutdown) for N seconds, then started again
    gunicorn  one gunicorn worker killed (SIGKILL) mid-load; the master starts another

Afterwards: every action a client saw succeed is recorded exactly once (none lost, none doubled,
resubmissions included); every 5xx was a 503 with Retry-After while PostgreSQL was down and there
was none otherwise; the outbox drains once the sweep runs; ``verify_ledger`` is clean. Prints the
fault table and exits 1 if any check fails.

    .venv/bin/python scripts/fault_drill.py            # the full drill (about 4 minutes)
    .venv/bin/python scripts/fault_drill.py --short    # CI's form (about a minute and a half)

Needs PostgreSQL's server binaries (``/usr/lib/postgresql/*/bin``), ``redis-server`` and gunicorn.
Run as root, the cluster runs as the ``postgres`` user. Everything it starts it stops."""

from __future__ import annotations

import argparse
import glob
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parents[1]
PASSWORD = "preflight-demo"  # seed_demo's
FAULTS = ("redis", "celery", "postgres", "gunicorn")


def pg_binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"fault drill: PostgreSQL's {name} not found")
    return path


def binaries_missing() -> list[str]:
    missing = [name for name in ("initdb", "pg_ctl") if not glob.glob(f"/usr/lib/postgresql/*/bin/{name}")]
    missing += [name for name in ("redis-server",) if shutil.which(name) is None]
    return missing


def as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


# --- the services -----------------------------------------------------------------------------------


class Postgres:
    """A cluster of its own in ``root``, on ``port`` (loopback), trusting local connections."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root / "pg", port
        self.data, self.log = self.root / "data", self.root / "server.log"

    def init(self) -> None:
        self.root.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        initdb = [pg_binary("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        subprocess.run(as_postgres([*initdb, "--no-sync"]), check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} -c fsync=off"
        command = [pg_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options]
        subprocess.run(as_postgres([*command, "start"]), check=True, capture_output=True)

    def stop(self) -> None:
        if self.data.exists():
            command = [pg_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop"]
            subprocess.run(as_postgres(command), check=False, capture_output=True)

    def create_database(self, name: str) -> str:
        command = [pg_binary("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name]
        subprocess.run(command, check=True, capture_output=True)
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"


class Process:
    """A process of ours: started, killed, started again; its output in ``log``."""

    def __init__(self, command: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.command, self.log, self.env = command, log, env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def redis_server(root: Path, port: int) -> Process:
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return Process(command, root / "redis.log")


def children_of(pid: int) -> list[int]:
    children = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.split("/")[2]))
    return children


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"fault drill: nothing answered on port {port}")


def app_environment(database_url: str, broker_url: str, web_port: int, static_root: Path) -> dict[str, str]:
    """Production settings (DEBUG off) over plain HTTP on loopback; the static files, hashed as in
    production, are collected into ``static_root`` (``collect_static``)."""
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "fault-drill-secret-key-" + "s" * 40,
        "LEDGER_KEY": "fault-drill-ledger-key-" + "k" * 20,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"http://127.0.0.1:{web_port}",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "SECURE_PROXY_SSL_HEADER": "",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "LOG_LEVEL": "ERROR",
        "DATABASE_RETRY_AFTER_SECONDS": "1",
        "STATIC_ROOT": str(static_root),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def gunicorn(root: Path, port: int, workers: int, env: dict[str, str]) -> Process:
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--timeout", "30", "--graceful-timeout", "5", "--log-level", "warning"]
    return Process(command, root / "gunicorn.log", env)


def celery_worker(root: Path, env: dict[str, str]) -> Process:
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING"]
    command += ["--without-heartbeat", "--without-gossip", "--without-mingle"]
    return Process(command, root / "celery.log", env)


def collect_static(env: dict[str, str]) -> None:
    """With DEBUG off every page names its stylesheets by their hashed names, from the manifest
    that ``collectstatic`` writes: without it each page is a 500 (as bin/start does, first)."""
    done = manage(env, "collectstatic", "--noinput", "-v0")
    if done.returncode:
        raise SystemExit(f"fault drill: collectstatic failed\n{done.stderr[-3000:]}")


def manage(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )


# --- the clients ------------------------------------------------------------------------------------


class Browser:
    """A signed-in person: cookies, a CSRF token, one connection per request (a timeout, a reset)."""

    def __init__(self, port: int) -> None:
        self.port, self.cookies = port, {}

    def request(self, method: str, path: str, data: list[tuple[str, str]] | None = None, timeout: float = 20):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read().decode("utf-8", "replace")
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
            return response.status, dict(response.getheaders()), content
        finally:
            connection.close()

    def sign_in(self, username: str) -> None:
        from tests.helpers import form_data

        for _ in range(60):
            try:
                status, _headers, html = self.request("GET", "/sign-in/")
                if status == 200:
                    _form, pairs = form_data(
                        html, "/sign-in/", page_path="/sign-in/", username=username, password=PASSWORD
                    )
                    status, _headers, _ = self.request("POST", "/sign-in/", pairs)
                    if status == 302:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{username} could not sign in")


@dataclass
class Tally:
    """What one client saw in one phase."""

    attempts: list[tuple[float, object, bool]] = field(default_factory=list)  # (when, status, Retry-After?)
    successes: int = 0
    refused: int = 0  # actions answered 4xx (not retried)
    given_up: int = 0  # actions never answered a success before the phase ended
    resent: int = 0  # the same form sent again after a 5xx, a timeout or a dropped connection

    def add(self, status, headers: dict | None) -> None:
        retry_after = bool(headers) and any(k.lower() == "retry-after" for k in headers)
        self.attempts.append((time.monotonic(), status, retry_after))


def act(browser: Browser, tally: Tally, page: str, which: str, deadline: float, **fields) -> None:
    """Open ``page``, submit its form ``which`` as a browser does; on a 5xx, a timeout or a dropped
    connection, send the very same form again (same key) until it is answered."""
    from tests.helpers import form_data

    pairs = None
    while pairs is None:
        if time.monotonic() > deadline + 30:
            tally.given_up += 1
            return
        try:
            status, headers, html = browser.request("GET", page)
        except OSError as error:
            tally.add(type(error).__name__, None)
            time.sleep(0.3)
            continue
        tally.add(status, headers)
        if status != 200:
            time.sleep(min(float(headers.get("Retry-After", 1)), 2) if status == 503 else 0.3)
            continue
        _form, pairs = form_data(html, which, page_path=page, **fields)
    sent = 0
    while True:
        if time.monotonic() > deadline + 60:
            tally.given_up += 1
            return
        tally.resent += 1 if sent else 0
        sent += 1
        try:
            status, headers, _ = browser.request("POST", which, pairs)
        except OSError as error:
            tally.add(type(error).__name__, None)
            time.sleep(0.3)
            continue
        tally.add(status, headers)
        if status in (200, 302, 303):
            tally.successes += 1
            return
        if 400 <= status < 500:
            tally.refused += 1
            return
        time.sleep(min(float(headers.get("Retry-After", 1)), 2) if status == 503 else 0.3)


@dataclass
class Client:
    kind: str  # "decide" or "request"
    username: str
    page: str
    fields: dict
    request_pk: int = 0
    launch_pk: int = 0
    tally: Tally = field(default_factory=Tally)
    browser: Browser | None = None

    def sign_in(self, port: int) -> None:
        self.browser = Browser(port)
        self.browser.sign_in(self.username)

    def run(self, until: float, max_actions: int) -> None:
        for _ in range(max_actions):
            if time.monotonic() > until:
                break
            act(self.browser, self.tally, self.page, self.page, until, **self.fields)

    def rows(self) -> int:
        """What the database holds of this client's kind of action, in rows."""
        from approvals.models import SignoffDecision, SignoffRequest

        if self.kind == "decide":
            return SignoffDecision.objects.filter(request_id=self.request_pk).count()
        return SignoffRequest.objects.filter(launch_id=self.launch_pk).count()


# --- the load's targets, on the demo data (seed_demo --force) -----------------------------------------


def demo_clients(deciders: int) -> list[Client]:
    """One owner asking again for hr-helpdesk's Internal sign-offs (it replaces the open requests),
    and up to ``deciders`` approvers each deciding again an open request of another launch."""
    from django.urls import reverse

    from approvals.models import SignoffRequest
    from readiness.models import Launch

    helpdesk = Launch.objects.get(slug="hr-helpdesk")
    clients = [
        Client(
            "request",
            helpdesk.owner.username,
            reverse("web:request-signoffs", args=[helpdesk.slug]),
            {"button": "Request sign-offs"},
            launch_pk=helpdesk.pk,
        )
    ]
    seen: set[str] = set()
    for request in SignoffRequest.objects.exclude(launch=helpdesk).exclude(status__in=["withdrawn", "superseded"]):
        for person in request.addressees.filter(is_active=True):
            if len(clients) > deciders or person.username in seen:
                continue
            if person.pk in (request.requested_by_id, request.launch.owner_id) or request.launch.archived:
                continue
            seen.add(person.username)
            page = reverse("web:decide", args=[request.pk])
            clients.append(Client("decide", person.username, page, {"outcome": "approve"}, request_pk=request.pk))
    return clients


# --- the drill ----------------------------------------------------------------------------------------


@dataclass
class Phase:
    fault: str
    clients: list[Client]
    fault_window: tuple[float, float] = (0.0, 0.0)
    tallies: list[Tally] = field(default_factory=list)
    rows_before: list[int] = field(default_factory=list)
    rows_after: list[int] = field(default_factory=list)


def inject(fault: str, *, redis: Process, worker: Process, postgres: Postgres, web: Process, down: float):
    """Break one part for ``down`` seconds (or, for a gunicorn worker, once); the window it was out."""
    started = time.monotonic()
    if fault == "redis":
        redis.kill()
        time.sleep(down)
        redis.start()
    elif fault == "celery":
        worker.kill()
        time.sleep(down)
        worker.start()
    elif fault == "postgres":
        postgres.stop()
        time.sleep(down)
        postgres.start()
    elif fault == "gunicorn":
        victims = children_of(web.process.pid)
        if victims:
            os.kill(victims[0], signal.SIGKILL)
    return started, time.monotonic()


def judge(phase: Phase, per_request: int) -> dict:
    attempts = [attempt for tally in phase.tallies for attempt in tally.attempts]
    successes = sum(tally.successes for tally in phase.tallies)
    lost = doubled = 0
    for client, tally, before, after in zip(
        phase.clients, phase.tallies, phase.rows_before, phase.rows_after, strict=True
    ):
        per_action = per_request if client.kind == "request" else 1
        recorded = (after - before) / per_action
        lost += max(0, tally.successes - recorded)
        doubled += max(0, recorded - tally.successes)
    start, end = phase.fault_window
    grace = 3.0  # a request answered just after the restart may still have begun during the outage
    outage_503 = other_5xx = errors = 0
    for when, status, retry_after in attempts:
        if isinstance(status, int) and status >= 500:
            in_outage = phase.fault == "postgres" and start <= when <= end + grace
            if status == 503 and retry_after and in_outage:
                outage_503 += 1
            else:
                other_5xx += 1
        elif not isinstance(status, int) or status >= 400:
            errors += 1
    return {
        "fault": phase.fault,
        "requests": len(attempts),
        "successes": successes,
        "resent": sum(tally.resent for tally in phase.tallies),
        "503s": outage_503,
        "other 5xx": other_5xx,
        "other errors": errors + sum(tally.refused + tally.given_up for tally in phase.tallies),
        "lost": lost if lost == int(lost) else round(lost, 2),
        "doubled": doubled if doubled == int(doubled) else round(doubled, 2),
    }


def print_table(rows: list[dict]) -> None:
    columns = list(rows[0])
    widths = {column: max(len(column), *(len(str(row[column])) for row in rows)) for column in columns}
    print(" | ".join(column.ljust(widths[column]) for column in columns))
    print("-+-".join("-" * widths[column] for column in columns))
    for row in rows:
        print(" | ".join(str(row[column]).ljust(widths[column]) for column in columns))


def drill(args) -> int:
    root = Path(tempfile.mkdtemp(prefix="preflight-drill-"))
    root.chmod(0o755)
    postgres = Postgres(root, args.port)
    redis = redis_server(root, args.port + 1)
    web_port = args.port + 2
    started: list = []
    failures: list[str] = []
    try:
        t0 = time.monotonic()
        postgres.init()
        postgres.start()
        started.append(postgres)
        database_url = postgres.create_database("preflight_drill")
        redis.start()
        started.append(redis)
        wait_for_port(args.port + 1)
        env = app_environment(database_url, f"redis://127.0.0.1:{args.port + 1}/0", web_port, root / "static")
        collect_static(env)
        migrated = manage(env, "migrate", "--noinput", "-v0")
        if migrated.returncode:
            raise SystemExit(f"fault drill: migrate failed\n{migrated.stderr[-3000:]}")
        print(f"migrated in {time.monotonic() - t0:.0f} s", flush=True)

        seeded = manage(env, "seed_demo", "--force")
        if seeded.returncode:
            raise SystemExit(f"fault drill: seed_demo failed\n{seeded.stderr[-3000:]}")
        print(f"seeded at {time.monotonic() - t0:.0f} s", flush=True)
        os.environ.update({k: env[k] for k in env if k not in os.environ or os.environ[k] != env[k]})
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        sys.path.insert(0, str(BASE_DIR))
        import django

        django.setup()
        from django.db import connections

        clients = demo_clients(args.clients - 1)

        worker = celery_worker(root, env)
        worker.start()
        started.append(worker)
        web = gunicorn(root, web_port, args.workers, env)
        web.start()
        started.append(web)
        wait_for_port(web_port)
        for client in clients:
            client.sign_in(web_port)
        # How many requests one "Request sign-offs" makes: one action, before the clock starts.
        requester = clients[0]
        before = requester.rows()
        warm_up = Tally()
        act(requester.browser, warm_up, requester.page, requester.page, time.monotonic() + 60, **requester.fields)
        per_request = requester.rows() - before
        if not warm_up.successes or per_request < 1:
            raise SystemExit(f"fault drill: the warm-up request did not succeed ({warm_up.attempts})")
        print(f"{len(clients)} clients signed in at {time.monotonic() - t0:.0f} s", flush=True)

        phases = []
        for fault in args.faults:
            phase = Phase(fault, clients, tallies=[Tally() for _ in clients])
            connections.close_all()
            phase.rows_before = [client.rows() for client in clients]
            connections.close_all()
            until = time.monotonic() + args.phase_seconds
            for client, tally in zip(clients, phase.tallies, strict=True):
                client.tally = tally
            threads = [
                threading.Thread(target=client.run, args=(until, args.max_actions), daemon=True) for client in clients
            ]
            for thread in threads:
                thread.start()
            time.sleep(args.phase_seconds * 0.25)
            phase.fault_window = inject(fault, redis=redis, worker=worker, postgres=postgres, web=web, down=args.down)
            for thread in threads:
                thread.join(timeout=args.phase_seconds + 120)
            connections.close_all()
            phase.rows_after = [client.rows() for client in clients]
            phases.append(phase)
            print(f"{fault}: done at {time.monotonic() - t0:.0f} s", flush=True)

        # The sweep (beat's deliver-notifications, or cron's command) sends what the broker missed.
        connections.close_all()
        swept = manage(env, "deliver_notifications")
        from notifications.choices import OutboxStatus
        from notifications.models import OutboxMessage

        deadline = time.monotonic() + 60
        while OutboxMessage.objects.filter(status=OutboxStatus.PENDING).exists() and time.monotonic() < deadline:
            time.sleep(1)
        backlog = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count()
        verified = manage(env, "verify_ledger")

        rows = [judge(phase, per_request) for phase in phases]
        print_table(rows)
        for row in rows:
            if row["lost"] or row["doubled"]:
                failures.append(f"{row['fault']}: {row['lost']} lost, {row['doubled']} doubled")
            if row["other 5xx"]:
                failures.append(f"{row['fault']}: {row['other 5xx']} answers were 5xx outside the database outage")
            if row["successes"] == 0:
                failures.append(f"{row['fault']}: no action succeeded")
        if not any(row["503s"] for row in rows if row["fault"] == "postgres") and "postgres" in args.faults:
            failures.append("postgres: no 503 with Retry-After was seen while it was down")
        print(f"outbox backlog after the sweep: {backlog}" + ("" if swept.returncode == 0 else " (sweep failed)"))
        if backlog:
            failures.append(f"{backlog} outbox messages still pending after recovery")
        print(f"verify_ledger: exit {verified.returncode}: {verified.stdout.strip().splitlines()[-1:]}")
        if verified.returncode:
            failures.append(f"verify_ledger failed: {verified.stdout[-500:]} {verified.stderr[-500:]}")
        print(f"total {time.monotonic() - t0:.0f} s")
    finally:
        for service in reversed(started):
            service.stop()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="CI's form: shorter phases and outages")
    parser.add_argument("--port", type=int, default=18510, help="PostgreSQL's port; Redis +1, gunicorn +2")
    parser.add_argument("--faults", nargs="+", choices=FAULTS, default=list(FAULTS))
    parser.add_argument("--keep", action="store_true", help="keep the logs and the cluster's directory")
    args = parser.parse_args(argv)
    args.workers = 3
    if args.short:
        args.clients, args.phase_seconds, args.down, args.max_actions = 2, 10.0, 4.0, 200
    else:
        args.clients, args.phase_seconds, args.down, args.max_actions = 6, 45.0, 15.0, 2000
    missing = binaries_missing()
    if missing:
        print(f"fault drill: missing {', '.join(missing)}")
        return 2
    return drill(args)


if __name__ == "__main__":
    sys.exit(main())
