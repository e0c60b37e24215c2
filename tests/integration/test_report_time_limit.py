"""A report render over its time limit is stopped by the worker and recorded failed.

`celery -A config worker` with the prefork pool (what bin/start worker runs: time limits need it)
in a process of its own, on this test database, with REPORT_RENDER_TIMEOUT_SECONDS=5: the render
task's soft limit is then 4 s (settings: 80 % of the timeout). Its render pauses for a minute (the
test-only REPORT_RENDER_TEST_PAUSE_SECONDS), so the limit stops it, and the report says so. Needs
Redis and PostgreSQL, like the other worker tests."""

import json
import os
import signal
import subprocess
import sys
import uuid

import pytest
import redis
from celery import Celery
from django.db import connection

from config.celery import app as project_app
from reports.choices import ReportKind, ReportStatus
from reports.models import Report
from reports.services import report_request
from tests.builders import ready_launch
from tests.integration.workers import BASE_DIR, BROKER_URL, require_redis, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the worker is a separate process, which SQLite's in-memory test database is invisible to; "
        "it runs against PostgreSQL (CI's second pass)",
    ),
]


@pytest.fixture
def queue():
    require_redis()
    name = f"preflight-test-{uuid.uuid4().hex}"
    yield name
    client = redis.Redis.from_url(BROKER_URL)
    client.delete(name)
    for tag, payload in client.hgetall("unacked").items():
        if name in json.loads(payload)[-1:]:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


@pytest.fixture
def prefork_worker(queue, tmp_path):
    """A prefork worker of one process consuming ``queue``, its renders held for a minute."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": BROKER_URL,
        "REPORT_RENDER_TIMEOUT_SECONDS": "5",
        "REPORT_RENDER_TEST_PAUSE_SECONDS": "60",
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "1"]
    command += ["-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO"]
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    process.log_path = log_path
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)  # nothing is running by now, nothing left unacknowledged
        process.wait(timeout=10)


def test_a_render_over_its_time_limit_is_stopped_and_recorded_failed(queue, prefork_worker):
    launch = ready_launch(slug="assistant")
    report = report_request(actor=launch.owner, kind=ReportKind.LAUNCH, language="en", launch=launch, dispatch=False)
    sender = Celery("preflight-time-limit", set_as_current=False)
    sender.config_from_object("django.conf:settings", namespace="CELERY")
    sender.conf.update(task_always_eager=False, broker_url=BROKER_URL)
    sender.send_task("reports.tasks.render_report", [str(report.pk)], queue=queue)

    def finished() -> bool:
        return Report.objects.defer("pdf").get(pk=report.pk).status != ReportStatus.PENDING

    log = prefork_worker.log_path
    assert wait_until(finished, timeout=120), f"the render was never stopped:\n{log.read_text()[-3000:]}"
    stopped = Report.objects.get(pk=report.pk)
    assert (stopped.status, stopped.error, stopped.attempts, stopped.sha256) == (
        ReportStatus.FAILED,
        "SoftTimeLimitExceeded",
        1,
        "",
    )
    took = (stopped.finished_at - stopped.started_at).total_seconds()
    assert took < 30, took  # stopped at its soft limit (4 s after the task began), not after the minute's pause
    assert "Soft time limit (4s) exceeded" in log.read_text()
    assert project_app.conf.task_always_eager  # the tests' own app was left as it was
