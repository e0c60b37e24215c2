"""The locust file (scripts/locustfile.py) puts only this machine under load, and only for a
bounded time: locust itself refuses any other run before a single request is sent."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCUST = Path(sys.executable).parent / "locust"


def run_locust(*args: str) -> subprocess.CompletedProcess:
    if not LOCUST.exists():
        pytest.skip("locust is not installed (pip install -r requirements.txt)")
    return subprocess.run(
        [str(LOCUST), "-f", str(ROOT / "scripts" / "locustfile.py"), "--headless", "-u", "1", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "host", ["http://10.0.0.5:8000", "https://preflight.example.com", "http://127.0.0.1.example.com"]
)
def test_a_host_that_is_not_loopback_is_refused(host):
    result = run_locust("--host", host, "--run-time", "1s")

    assert result.returncode != 0
    assert "is not loopback" in result.stdout + result.stderr


def test_a_run_without_a_time_limit_is_refused():
    result = run_locust("--host", "http://127.0.0.1:18699")

    assert result.returncode != 0
    assert "give --run-time" in result.stdout + result.stderr


def test_a_bounded_run_on_loopback_starts_and_stops_in_time():
    # Nothing listens on the port: the people cannot sign in, but the run starts and ends on time.
    result = run_locust("--host", "http://127.0.0.1:18699", "--run-time", "2s", "--only-summary")

    assert "is not loopback" not in result.stdout + result.stderr
    assert "give --run-time" not in result.stdout + result.stderr
    assert "sign-in page" in result.stdout + result.stderr
