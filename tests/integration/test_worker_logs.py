"""A real Celery worker (`celery -A config worker`, a process of its own consuming from Redis) logs as
the web does: JSON lines on stdout whose task lines carry the task's id and name, and the id of
the request that sent it, in the format of settings.LOGGING rather than Celery's own.

Needs Redis at CELERY_TEST_BROKER_URL (default redis://127.0.0.1:6379/15) and PostgreSQL; CI has both."""

from __future__ import annotations

import json
import os
import signal
import uuid

import pytest
import redis
from celery import Celery
from django.db import connection

from config.logs import bind, unbind
from tests.integration.workers import BROKER_URL, require_redis, wait_until, worker_process

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the worker is another process, which sees only a real database: CI's PostgreSQL pass",
    ),
]


def json_lines(path) -> list[dict]:
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            lines.append({"not json": raw})
    return lines


def test_a_worker_s_task_lines_carry_the_task_id_and_name_as_json(tmp_path):
    require_redis()
    queue = f"preflight-test-{uuid.uuid4().hex}"
    log_path = tmp_path / "worker.log"
    process = worker_process(queue, log_path, LOG_FORMAT="json", LOG_LEVEL="INFO", LOG_STREAM="stdout")
    sender = Celery("preflight-logs-test", broker=BROKER_URL, set_as_current=False)
    try:
        tokens = bind(request_id="req-sent-the-task")  # as during a request that sends a task
        try:
            result = sender.send_task("web.tasks.housekeeping", queue=queue)
        finally:
            unbind(tokens)

        def housekeeping_logged() -> bool:
            return any(line.get("logger") == "web.housekeeping" for line in json_lines(log_path))

        assert wait_until(housekeeping_logged, timeout=60), log_path.read_text()
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except Exception:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        redis.Redis.from_url(BROKER_URL).delete(queue)
        sender.close()

    lines = json_lines(log_path)
    (done,) = [line for line in lines if line.get("logger") == "web.housekeeping"]
    assert done["level"] == "INFO" and done["message"].startswith("Housekeeping: ")
    assert (done["task_id"], done["task_name"]) == (result.id, "web.tasks.housekeeping")
    assert done["request_id"] == "req-sent-the-task"  # one id from the request through its tasks
    # Celery's own lines about the task go through the same handler, in the same format.
    assert any(line.get("logger", "").startswith("celery") for line in lines)
    # No log record in Celery's own format ("[time: INFO/MainProcess] ..."): only its start-up
    # banner (printed, not logged; `worker --quiet` drops it) and Python's warnings are not JSON.
    raw = [line["not json"] for line in lines if "not json" in line]
    assert not [line for line in raw if "/MainProcess]" in line or "/ForkPoolWorker" in line], raw
