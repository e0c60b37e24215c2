"""The Prometheus source against a real Prometheus server: Debian's ``prometheus`` binary, started
here on 127.0.0.1 with a temporary storage path, scraping every second a tiny exporter this test
serves (``preflight_success_ratio 0.995``). Once a sample is queryable, the pull records the
value through Prometheus's HTTP API.

Skipped with the reason when the binary is missing; with PREFLIGHT_REQUIRE_PROMETHEUS=1 (set by
.ci/run) a missing binary fails instead. Needs no PostgreSQL: it runs on SQLite too."""

import datetime
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from decimal import Decimal

import pytest
from django.utils import timezone

from operations.models import SliActual
from operations.prometheus import pull_source
from operations.services import prometheus_source_set
from tests.builders import ready_launch

PROMETHEUS = os.environ.get("PREFLIGHT_PROMETHEUS_BINARY", "/usr/bin/prometheus")
pytestmark = pytest.mark.django_db


def require_binary(path: str) -> None:
    """Skip, naming what is missing, unless CI requires the test (PREFLIGHT_REQUIRE_PROMETHEUS=1)."""
    if shutil.which(path):
        return
    reason = f"{path} is not installed (Debian: apt-get install prometheus)"
    if os.environ.get("PREFLIGHT_REQUIRE_PROMETHEUS") == "1":
        pytest.fail(f"The Prometheus test is required (PREFLIGHT_REQUIRE_PROMETHEUS=1) but cannot run: {reason}.")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Exporter(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        body = b"# TYPE preflight_success_ratio gauge\npreflight_success_ratio 0.995\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def exporter():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Exporter)
    # Polled often: shutdown() waits for the loop's next poll (half a second by default).
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield httpd.server_port
    httpd.shutdown()
    httpd.server_close()


def _wait_for_sample(base_url: str, deadline: float) -> None:
    url = f"{base_url}/api/v1/query?query=preflight_success_ratio"
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                answer = json.load(response)
            if answer.get("data", {}).get("result"):
                return
            last = "no sample yet"
        except OSError as error:
            last = str(error)
        time.sleep(0.1)
    pytest.fail(f"Prometheus at {base_url} had no sample of the exporter in time ({last}).")


@pytest.fixture(scope="module")
def prometheus(exporter, tmp_path_factory, request):
    require_binary(PROMETHEUS)
    workdir = tmp_path_factory.mktemp("prometheus")
    config = workdir / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: preflight-test\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{exporter}']\n"
    )
    port = _free_port()
    log = open(workdir / "prometheus.log", "wb")  # noqa: SIM115 closed by the finaliser
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def stop():
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()

    request.addfinalizer(stop)
    base_url = f"http://127.0.0.1:{port}"
    _wait_for_sample(base_url, time.monotonic() + 30)
    return base_url


def test_the_pull_records_todays_value_from_a_real_prometheus(prometheus, settings):
    settings.PROMETHEUS_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.PROMETHEUS_BACKFILL_DAYS = 1
    launch = ready_launch()
    source = prometheus_source_set(
        actor=launch.owner,
        launch=launch,
        base_url=prometheus,
        queries={"success_rate": "100 * preflight_success_ratio", "error_rate": "100 * (1 - preflight_success_ratio)"},
    )
    # The pull asks for the days before ``now``: from tomorrow's point of view, that is today, which
    # Prometheus has samples of (a day is never asked about at a moment still to come).
    pull = pull_source(source, now=timezone.now() + datetime.timedelta(days=1))
    assert (pull.status, pull.errors, pull.recorded) == ("ok", [], 2)
    recorded = {a.indicator: a for a in SliActual.objects.filter(launch=launch)}
    assert recorded["success_rate"].value == Decimal("99.500")
    assert recorded["error_rate"].value == Decimal("0.500")
    assert recorded["success_rate"].day == timezone.localdate()
    assert recorded["success_rate"].source == "prometheus"
    # Asked again, the day is there already: nothing new.
    assert pull_source(source, now=timezone.now() + datetime.timedelta(days=1)).recorded == 0


def test_a_query_prometheus_refuses_is_reported_on_the_source(prometheus, settings):
    settings.PROMETHEUS_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.PROMETHEUS_BACKFILL_DAYS = 1
    launch = ready_launch(slug="broken", name="Broken")
    source = prometheus_source_set(
        actor=launch.owner, launch=launch, base_url=prometheus, queries={"latency_p95": "sum(("}
    )
    pull = pull_source(source, now=timezone.now() + datetime.timedelta(days=1))
    assert pull.status == "failed" and "Prometheus refused the query" in pull.errors[0]
    assert not SliActual.objects.filter(launch=launch).exists()


def test_a_missing_binary_skips_with_its_reason_but_fails_when_ci_requires_it(monkeypatch):
    monkeypatch.delenv("PREFLIGHT_REQUIRE_PROMETHEUS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="/nonexistent/prometheus is not installed"):
        require_binary("/nonexistent/prometheus")
    monkeypatch.setenv("PREFLIGHT_REQUIRE_PROMETHEUS", "1")
    with pytest.raises(pytest.fail.Exception, match="required \\(PREFLIGHT_REQUIRE_PROMETHEUS=1\\)"):
        require_binary("/nonexistent/prometheus")
