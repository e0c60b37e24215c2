"""``make bench`` keeps working: ``scripts/benchmark.py --tiny`` builds its whole world (the demo's
people, a portfolio, a small giant through every service it calls) and measures every page it
measures, in a subprocess as ``make bench`` runs it, in a few seconds."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_benchmark(*args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "benchmark.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_tiny_benchmark_builds_measures_and_prints_every_line():
    result = run_benchmark("--tiny")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "verify_ledger over" in result.stdout and "intact" in result.stdout
    for line in (
        "portfolio, executive ",
        "portfolio, PM, q=launch 09",
        "launch page, owner, full response",
        "launch page, Accountable, rows without rendering",
    ):
        assert line in result.stdout
    assert "Tiny run: no target judged." in result.stdout
    assert "First run" not in result.stdout  # the minute-long first run is not part of the tiny run


def test_the_benchmark_refuses_an_unknown_option():
    result = run_benchmark("--tiny", "--no-such-option")

    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr
