"""With the broker unreachable, a committed action still answers success (issue 21, point 6).

Tasks are sent to a real Redis URL on a port nothing listens on (eager mode off), so every hand-over
to a worker fails the way it does when Redis is down: kombu's ``OperationalError`` after a refused
connection. The requests commit for real (transactional tests), so the steps run after commit
exactly as in production, each catching its own failure (``readiness.postcommit``)."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery
from django.db import transaction
from django.urls import reverse

from approvals.models import SignoffDecision, SignoffRequest
from approvals.services import signoffs_request
from config.celery import app as project_app
from notifications.choices import OutboxStatus
from notifications.models import OutboxMessage
from notifications.tasks import deliver_notifications
from readiness.postcommit import after_commit, enqueue
from reports.choices import ReportStatus
from reports.models import Report
from tests.builders import ready_launch
from tests.helpers import submit

pytestmark = pytest.mark.django_db(transaction=True)

CLOSED_PORT = 18590  # in this helper's range; nothing may listen on it
DEAD_BROKER = f"redis://127.0.0.1:{CLOSED_PORT}/0"
BASE_DIR = Path(__file__).resolve().parents[2]


def port_is_closed() -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", CLOSED_PORT)) != 0


@pytest.fixture
def broker_down():
    """The project's Celery configuration with eager mode off and the broker at a closed port."""
    assert port_is_closed(), f"something listens on {CLOSED_PORT}: the test needs it closed"
    dead = Celery("preflight-broker-down", set_as_current=False)
    dead.config_from_object("django.conf:settings", namespace="CELERY")
    dead.conf.update(task_always_eager=False, broker_url=DEAD_BROKER, result_backend=None)
    dead.set_current()
    try:
        yield dead
    finally:
        project_app.set_current()


def page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response


def test_a_decision_saved_while_the_broker_is_down_answers_success_and_is_recorded_once(client, broker_down, caplog):
    launch = ready_launch()
    (request,) = signoffs_request(
        actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"), functions=["ml"]
    )
    approver = request.addressees.get()
    url = reverse("web:decide", args=[request.pk])
    with caplog.at_level(logging.ERROR):
        after = submit(client, page(client, approver, url), url, outcome="approve")
    assert after.status_code == 302  # saved, and said so
    assert SignoffDecision.objects.filter(request=request).count() == 1
    # Both hand-overs after the commit failed, each on its own, and said what will do the work.
    assert "the periodic run will" in caplog.text
    assert "stay pending for the periodic drain" in caplog.text
    # A decision tells the requester: the message waits in the outbox for the periodic drain.
    assert OutboxMessage.objects.filter(status=OutboxStatus.PENDING).exists()


def test_a_sign_off_request_while_the_broker_is_down_answers_success(client, broker_down, caplog):
    launch = ready_launch()
    url = reverse("web:request-signoffs", args=[launch.slug])
    with caplog.at_level(logging.ERROR):
        after = submit(client, page(client, launch.owner, url), url, button="Request sign-offs")
    assert after.status_code == 302
    requests = SignoffRequest.objects.filter(launch=launch, status="pending")
    assert requests.exists()
    pending = OutboxMessage.objects.filter(status=OutboxStatus.PENDING, subject_id__in=[r.pk for r in requests])
    assert pending.count() == requests.count()  # nothing lost: the drain sends them once Redis is back
    assert "stay pending for the periodic drain" in caplog.text


def test_a_report_asked_for_while_the_broker_is_down_stays_pending_for_the_sweep(client, broker_down, caplog):
    launch = ready_launch()
    client.force_login(launch.owner)
    with caplog.at_level(logging.ERROR):
        response = client.post(reverse("web:report-request", args=[launch.slug]), {"kind": "launch", "language": "en"})
    assert response.status_code == 302
    report = Report.objects.get(launch=launch)
    assert report.status == ReportStatus.PENDING
    assert "the sweep will send it again" in caplog.text


def test_one_failing_step_after_commit_keeps_neither_the_others_nor_the_caller_from_going_on(caplog):
    ran = []

    def fails():
        raise RuntimeError("the anchor's disk is full")

    with caplog.at_level(logging.ERROR), transaction.atomic():
        after_commit(lambda: ran.append("first"))
        after_commit(fails)
        after_commit(lambda: ran.append("last"))
    assert ran == ["first", "last"]
    assert "the anchor's disk is full" in caplog.text


def test_a_refused_broker_is_not_asked_again_for_a_moment(broker_down, caplog):
    """The first hand-over tries (and Celery retries) the connection; the next ones within the
    pause answer at once, so a burst of saves during an outage does not wait on the broker each."""
    log = logging.getLogger("tests.broker_down")
    with caplog.at_level(logging.ERROR):
        assert enqueue(deliver_notifications, [1], log=log, failure="could not send %s") is False
        started = time.monotonic()
        for _ in range(20):
            assert enqueue(deliver_notifications, [1], log=log, failure="could not send %s") is False
    assert time.monotonic() - started < 0.5
    assert caplog.text.count("not tried") == 20


def test_seed_demo_loads_while_the_broker_is_down(tmp_path):
    assert port_is_closed()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": DEAD_BROKER,
        "DEBUG": "1",
    }
    for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-3000:]
    assert "Demo data ready" in done.stdout
    assert "the periodic run will" in done.stderr  # the refresh it could not send, said once
