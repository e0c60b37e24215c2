"""What the worker integration tests share: the Redis they need (required in CI, else skipped), a
wait for what a worker does, and `celery -A config worker` started as a process of its own on the
test's PostgreSQL database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.db import connection

BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")
BASE_DIR = Path(__file__).resolve().parents[2]


def require_redis() -> None:
    """Skip the test without Redis; in CI, fail it instead."""
    try:
        reachable = redis.Redis.from_url(BROKER_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        reachable = False
    if not reachable:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI for the Celery integration tests ({BROKER_URL}).")
        pytest.skip(f"Redis not reachable at {BROKER_URL}")


def wait_until(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def worker_process(queue: str, log_path: Path, **environment: str) -> subprocess.Popen:
    """`celery -A config worker` consuming ``queue`` in a process of its own, on this test
    database, with ``environment`` added to its settings' environment; its output goes to
    ``log_path``."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": BROKER_URL,
        **environment,
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-Q", queue]
    command += ["--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO"]
    with log_path.open("wb") as log:
        return subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
