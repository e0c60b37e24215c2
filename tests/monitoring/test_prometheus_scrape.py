"""A real Prometheus (Debian's binary, as in tests/integration/test_prometheus.py) scrapes
``/metrics`` of a live server: one job with the bearer token reads Preflight's figures, one
without it from an address no longer allowed is refused (its target is down).

Skipped with the reason when the binary is missing; with PREFLIGHT_REQUIRE_PROMETHEUS=1 (set by
.ci/run) a missing binary fails instead."""

import json
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
from pytest_django.live_server_helper import LiveServer

from tests.builders import overdue_ml_request, ready_launch
from tests.integration.test_prometheus import PROMETHEUS, require_binary

# Ports of this helper's range: Prometheus, and the first of these the live server can bind (a port
# a previous run's server closed stays in TIME_WAIT for a minute, and Django's test server does not
# reuse addresses).
PROMETHEUS_PORT = 18210
SERVER_PORTS = range(18211, 18230)
TOKEN = "a-metrics-token-for-the-scrape-test-0123456789"


@pytest.fixture
def live_preflight(transactional_db):
    for port in SERVER_PORTS:
        try:
            server = LiveServer(f"127.0.0.1:{port}")
        except OSError:
            continue
        break
    else:
        pytest.fail(f"No free port for the live server in {SERVER_PORTS}")
    yield f"127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def prometheus(live_preflight, tmp_path):
    require_binary(PROMETHEUS)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 500ms\n  scrape_timeout: 500ms\n"
        "scrape_configs:\n"
        "  - job_name: with-token\n"
        f"    authorization:\n      credentials: {TOKEN}\n"
        f"    static_configs:\n      - targets: ['{live_preflight}']\n"
        "  - job_name: without-token\n"
        f"    static_configs:\n      - targets: ['{live_preflight}']\n"
    )
    with (tmp_path / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://127.0.0.1:{PROMETHEUS_PORT}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def query(base_url: str, promql: str) -> dict[str, float]:
    """The instant vector ``promql`` as {job: value}; {} while Prometheus is not answering yet."""
    url = f"{base_url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            answer = json.load(response)
    except OSError:
        return {}
    return {row["metric"].get("job", ""): float(row["value"][1]) for row in answer["data"]["result"]}


def eventually(base_url: str, promql: str, expected: dict[str, float], timeout: float = 30.0) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    found = {}
    while time.monotonic() < deadline:
        found = query(base_url, promql)
        if found == expected:
            break
        time.sleep(0.1)
    return found


def test_prometheus_scrapes_with_the_token_and_is_refused_without(settings, live_preflight, prometheus):
    settings.METRICS_ALLOWED_IPS = ()  # not even loopback: the token alone opens /metrics
    settings.METRICS_TOKEN = TOKEN
    overdue_ml_request(ready_launch())
    assert eventually(prometheus, "up", {"with-token": 1, "without-token": 0}) == {"with-token": 1, "without-token": 0}
    assert eventually(prometheus, 'preflight_signoffs_pending{function="ml"}', {"with-token": 1}) == {"with-token": 1}
    assert query(prometheus, "preflight_ledger_head_sequence")["with-token"] > 0
    # Request figures too (a page; the probes themselves are answered before they are counted).
    with urllib.request.urlopen(f"http://{live_preflight}/sign-in/", timeout=5) as page:
        assert page.status == 200
    requests = 'django_http_requests_total_by_method_total{method="GET"} > 0'  # counted since the process began
    assert eventually(prometheus, f"count({requests}) by (job)", {"with-token": 1}) == {"with-token": 1}
