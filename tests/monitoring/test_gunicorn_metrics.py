"""Under gunicorn (gunicorn.conf.py, two workers), ``/metrics`` sums the counters of both workers,
whichever one answers the scrape: multiprocess mode is on by default, in a directory of the
server's own, removed when it stops."""

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(18230, 18250)  # this helper's range
SHARED = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())  # as gunicorn.conf.py


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def start(tmp_path: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2", "DEBUG": "1"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.sqlite3'}"  # never migrated: no page reads it
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with (tmp_path / "gunicorn.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "config.wsgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def test_metrics_count_the_requests_of_every_worker(tmp_path):
    for port in PORTS:
        server = start(tmp_path, port)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        if server.poll() is None:
            break
        # The port was taken: try the next one.
    else:
        pytest.fail("gunicorn could not start on any port of " + str(PORTS))
    try:
        for _ in range(10):
            assert get(f"{base}/no-such-page/")[0] == 404
        requests = 'django_http_requests_total_by_method_total{method="GET"}'
        for _ in range(4):  # scrapes land on either worker: each shows both workers' requests
            status, body = get(f"{base}/metrics")
            assert status == 200
            assert f"{requests} 10.0" in body
            assert "preflight_database_up 0.0" in body  # the empty database: the scrape still answers
        directories = list(SHARED.glob(f"preflight-metrics-{server.pid}"))
        assert directories and any(directories[0].glob("counter_*.db"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not (SHARED / f"preflight-metrics-{server.pid}").exists()
