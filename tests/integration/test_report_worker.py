"""Reports rendered by real Celery workers consuming from Redis, and a worker killed in the middle
of a render.

Needs Redis at CELERY_TEST_BROKER_URL (default redis://127.0.0.1:6379/15) and PostgreSQL; CI has
both. The first test runs the worker in a thread of this process (like test_celery_worker.py); the
second starts `celery -A config worker` as a separate process on this test database, lets it begin
a render, kills it with SIGKILL and shows the report counts as stalled, is sent again by the
periodic sweep (by its beat schedule entry) and is finished by another worker.
"""

import hashlib
import json
import os
import signal
import uuid

import pytest
import redis
from celery import Celery, current_app
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.urls import reverse

from config.celery import app as project_app
from reports.choices import ReportKind, ReportStatus
from reports.models import Report
from reports.services import report_request
from reports.tasks import render_report, requeue_stalled_reports  # registered with the worker's app
from tests.builders import ready_launch
from tests.integration.workers import BROKER_URL, require_redis, wait_until, worker_process

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite's shared in-memory test database locks whole tables between threads and is "
        "invisible to other processes; the worker tests run against PostgreSQL (CI's second pass)",
    ),
]


@pytest.fixture
def queue():
    """A queue of the test's own, so concurrent runs on the same Redis never take each other's
    tasks; emptied afterwards, with the message a killed worker left unacknowledged."""
    require_redis()
    name = f"preflight-test-{uuid.uuid4().hex}"
    yield name
    client = redis.Redis.from_url(BROKER_URL)
    client.delete(name)
    for tag, payload in client.hgetall("unacked").items():
        if name in json.loads(payload)[-1:]:  # [message, exchange, routing key]
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


@pytest.fixture
def worker_app(queue):
    """A fresh app configured like the project's, sending to and consuming from ``queue``, made
    current for the test: the project's app may have cached the in-process broker of the eager
    tests that ran before."""
    app = Celery("preflight-integration", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(task_always_eager=False, broker_url=BROKER_URL, result_backend=BROKER_URL, task_default_queue=queue)
    app.set_current()
    yield app
    project_app.set_current()


def thread_worker(app, queue):
    return start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=[queue])


def _status(report: Report) -> Report:
    return Report.objects.defer("pdf").get(pk=report.pk)


def test_a_worker_renders_the_report_and_the_finished_pdf_downloads(worker_app, queue, client):
    launch = ready_launch(slug="assistant")
    with thread_worker(worker_app, queue):
        report = report_request(actor=launch.owner, kind=ReportKind.LAUNCH, language="ko", launch=launch)
        assert wait_until(lambda: _status(report).status != ReportStatus.PENDING), "the worker did not render it"
    report = Report.objects.get(pk=report.pk)
    assert report.status == ReportStatus.READY, report.error
    assert report.attempts == 1

    client.force_login(launch.owner)
    response = client.get(reverse("web:report-download", args=[report.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert hashlib.sha256(response.content).hexdigest() == report.sha256 == response["X-Report-SHA256"]
    assert bytes(report.pdf) == response.content


def test_a_worker_killed_mid_render_leaves_the_report_retried_and_finished(worker_app, queue, settings, tmp_path):
    settings.REPORT_RENDER_TIMEOUT_SECONDS = 3
    launch = ready_launch(slug="assistant")
    report = report_request(actor=launch.owner, kind=ReportKind.LAUNCH, language="en", launch=launch, dispatch=False)
    log_path = tmp_path / "worker.log"
    # its renders pause after they commit their start (the test-only REPORT_RENDER_TEST_PAUSE_SECONDS)
    process = worker_process(queue, log_path, REPORT_RENDER_TEST_PAUSE_SECONDS="60")
    try:
        worker_app.tasks[render_report.name].apply_async([str(report.pk)], queue=queue)
        started = wait_until(lambda: _status(report).started_at is not None, timeout=90)
        assert started, f"the worker never started the render:\n{log_path.read_text()[-3000:]}"
        assert process.poll() is None
        os.kill(process.pid, signal.SIGKILL)  # in the middle of the render (its pause)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    killed = _status(report)
    assert (killed.status, killed.attempts, killed.sha256) == (ReportStatus.PENDING, 1, "")
    assert not killed.is_stalled()  # not yet: a render may take REPORT_RENDER_TIMEOUT_SECONDS
    assert wait_until(lambda: _status(report).is_stalled(), timeout=10), "it never counted as stalled"

    # What beat sends every minute, by the name and options in the schedule, to another worker
    # (this one renders without pausing): the sweep sends the report again, and it is finished.
    entry = settings.CELERY_BEAT_SCHEDULE["requeue-stalled-reports"]
    assert entry["task"] == requeue_stalled_reports.name
    with thread_worker(worker_app, queue):
        result = current_app.send_task(entry["task"], **entry["options"])
        assert result.get(timeout=60) == {"requeued": 1, "failed": 0}
        assert wait_until(lambda: _status(report).status != ReportStatus.PENDING), "the second worker did not finish"
    finished = Report.objects.get(pk=report.pk)
    assert finished.status == ReportStatus.READY, finished.error
    assert finished.attempts == 2
    assert finished.sha256 == hashlib.sha256(bytes(finished.pdf)).hexdigest()
