"""With ``PROMETHEUS_MULTIPROC_DIR`` (several gunicorn workers per server), ``/metrics`` sums the
counters every process of the server wrote: two real processes, one counting requests, the other
reading them."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

COUNT_REQUESTS = """
import django; django.setup()
from django.test import Client
client = Client(HTTP_HOST="localhost")
for _ in range(3):
    assert client.get("/no-such-page/").status_code == 404
"""

READ_METRICS = """
import django; django.setup()
from django.test import Client
assert Client(HTTP_HOST="localhost").get("/no-such-page/").status_code == 404
from prometheus_client import generate_latest
from monitoring.views import _process_registry
print(generate_latest(_process_registry()).decode())
"""


def run(code: str, directory: Path) -> str:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{directory / 'unused.sqlite3'}",
        "PROMETHEUS_MULTIPROC_DIR": str(directory / "metrics"),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_metrics_sum_the_counters_of_every_process_of_the_server(tmp_path):
    (tmp_path / "metrics").mkdir()
    run(COUNT_REQUESTS, tmp_path)  # a worker that served three requests and went on
    exposed = run(READ_METRICS, tmp_path)  # the one Prometheus reached, which served one
    assert 'django_http_requests_total_by_method_total{method="GET"} 4.0' in exposed
    assert len(list((tmp_path / "metrics").glob("counter_*.db"))) == 2  # one file per process
