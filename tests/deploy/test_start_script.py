"""`bin/start` as production runs it: against a fresh PostgreSQL database with DEBUG off, a web
server and a one-shot `bin/start migrate` started at the same moment (the advisory lock lets one
migrate and the other find nothing to do), static files collected and served hashed, compressed
and cached for good, and gunicorn stopped gracefully by SIGTERM.

The same start path the container image runs (its entrypoint is bin/start). Needs the PostgreSQL
server of the test database (it creates and drops a database of its own there): it runs in CI's
PostgreSQL pass and is skipped on SQLite."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import brotli
import psycopg
import pytest
from django.db import connection

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PORTS = range(18100, 18200)  # this test's share of the machine's ports

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="bin/start is tested against PostgreSQL (a database of its own on the test database's server): "
    "CI's PostgreSQL pass runs it",
)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


@pytest.fixture
def database_url():
    """A new, empty database on the test database's server, dropped afterwards."""
    db = connection.settings_dict
    server = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    name = f"preflight_deploy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start(subcommand: str, env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            ["bin/start", subcommand],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def get(port: int, path: str, **headers: str) -> http.client.HTTPResponse:
    """A GET as the proxy forwards it (X-Forwarded-Proto: https), unless ``headers`` say otherwise."""
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    client.request("GET", path, headers={"X-Forwarded-Proto": "https", **headers})
    response = client.getresponse()
    response.body = response.read()
    client.close()
    return response


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"bin/start web exited with {process.returncode}:\n{log.read_text()[-4000:]}"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.25)
    raise AssertionError(f"gunicorn never listened on {port}:\n{log.read_text()[-4000:]}")


def test_the_start_script_migrates_once_collects_serves_hashed_compressed_static_and_stops_gracefully(
    database_url, tmp_path
):
    port = free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL", "PYTHONSAFEPATH", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        LEDGER_KEY=secrets.token_urlsafe(40),
        DATABASE_URL=database_url,
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL=f"https://127.0.0.1:{port}",
        PORT=str(port),
        WEB_CONCURRENCY="2",
        STATIC_ROOT=str(tmp_path / "static"),
        TMPDIR=str(tmp_path),
        PYTHON=sys.executable,
    )
    web_log, migrate_log = tmp_path / "web.log", tmp_path / "migrate.log"
    web = start("web", env, web_log)
    migrate = start("migrate", env, migrate_log)  # a second server's release step, at the same moment
    try:
        assert migrate.wait(timeout=240) == 0, migrate_log.read_text()[-4000:]
        wait_for_port(port, web, web_log)

        # One of the two applied every migration, the other waited for the lock and found nothing to do.
        outputs = sorted([migrate_log.read_text(), web_log.read_text()], key=lambda text: "Applying" in text)
        assert "No migrations to apply." in outputs[0] and "Applying" not in outputs[0]
        assert "Applying readiness.0001" in outputs[1] and "No migrations to apply." not in outputs[1]

        sign_in = get(port, "/sign-in/")
        assert sign_in.status == 200
        assert get(port, "/sign-in/", **{"X-Forwarded-Proto": "http"}).status == 301  # DEBUG off: HTTPS only

        # The page names its stylesheet by a hash of its content.
        stylesheet = re.search(rb'href="(/static/web/preflight\.[0-9a-f]{12}\.css)"', sign_in.body)
        assert stylesheet, sign_in.body[:2000]
        hashed = stylesheet.group(1).decode()
        plain = get(port, hashed, **{"Accept-Encoding": "identity"})
        assert plain.status == 200 and plain.getheader("Content-Encoding") is None
        assert plain.getheader("Cache-Control") == "max-age=315360000, public, immutable"
        gzipped = get(port, hashed, **{"Accept-Encoding": "gzip"})
        assert gzipped.getheader("Content-Encoding") == "gzip"
        assert gzip.decompress(gzipped.body) == plain.body
        brotlied = get(port, hashed, **{"Accept-Encoding": "gzip, br"})
        assert brotlied.getheader("Content-Encoding") == "br"
        assert brotli.decompress(brotlied.body) == plain.body
        assert gzipped.getheader("Vary") == "Accept-Encoding"
        # The unhashed name may change content under the same URL: it is not cached for good.
        unhashed = get(port, "/static/web/preflight.css")
        assert unhashed.status == 200 and "immutable" not in unhashed.getheader("Cache-Control")

        web.send_signal(signal.SIGTERM)  # bin/start exec'd gunicorn: this is its master
        assert web.wait(timeout=60) == 0
        log = web_log.read_text()
        assert "Handling signal: term" in log and "Shutting down: Master" in log
        # The access line is the app's own, one JSON object on stdout (gunicorn writes none).
        access = [json.loads(line) for line in log.splitlines() if '"preflight.access"' in line]
        assert {"path": "/sign-in/", "status": 200, "client": "127.0.0.1"}.items() <= access[0].items()
    finally:
        stop(web)
        stop(migrate)
