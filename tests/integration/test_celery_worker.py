"""Sign-off notifications through a real Celery worker consuming from Redis.

Needs Redis at CELERY_TEST_BROKER_URL (default redis://127.0.0.1:6379/15) and PostgreSQL; CI has
both. The worker runs in a thread of this process with its own database connection, so the test
commits for real.
"""

import os
import time
import uuid

import pytest
import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import connection

from approvals.models import SignoffRequest
from approvals.services import signoffs_request
from approvals.tasks import notify_signoff_request
from config.celery import app as project_app
from tests.builders import ready_launch

BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite's shared in-memory test database locks whole tables between threads; "
        "the worker tests run against PostgreSQL (CI's second pass)",
    ),
]


def _redis_available() -> bool:
    try:
        return redis.Redis.from_url(BROKER_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        return False


@pytest.fixture
def redis_worker():
    """A worker thread consuming a queue of its own, so concurrent test runs on the same Redis
    (CI's two databases, a developer's run) never take each other's tasks."""
    if not _redis_available():
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI for the Celery integration tests ({BROKER_URL}).")
        pytest.skip(f"Redis not reachable at {BROKER_URL}")
    queue = f"preflight-test-{uuid.uuid4().hex}"
    # A fresh app configured like the project's, made current for the test: the project's app
    # may have cached an in-process broker and queues from the eager tests that ran before.
    worker_app = Celery("preflight-integration", set_as_current=False)
    worker_app.config_from_object("django.conf:settings", namespace="CELERY")
    worker_app.conf.update(
        task_always_eager=False, broker_url=BROKER_URL, result_backend=BROKER_URL, task_default_queue=queue
    )
    worker_app.set_current()
    try:
        with start_worker(worker_app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=[queue]):
            yield
    finally:
        project_app.set_current()
        redis.Redis.from_url(BROKER_URL).delete(queue)


def _wait_until(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_requesting_sign_offs_notifies_addressees_through_the_worker(redis_worker):
    launch = ready_launch(slug="assistant")
    requests = signoffs_request(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"))

    def all_notified():
        return not SignoffRequest.objects.filter(pk__in=[r.pk for r in requests], notified_at__isnull=True).exists()

    assert _wait_until(all_notified), "the worker did not process the notifications"
    assert len(mail.outbox) == len(requests)
    request = SignoffRequest.objects.get(pk=requests[0].pk)
    record = request.history.first()
    assert record.history_change_reason == "Addressees notified"
    assert record.history_user == launch.owner  # history knows who, even outside a request


def test_a_notification_task_delivered_twice_sends_one_mail(redis_worker):
    launch = ready_launch(slug="assistant")
    request = signoffs_request(
        actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"), functions=["ml"]
    )[0]
    assert _wait_until(lambda: SignoffRequest.objects.get(pk=request.pk).notified_at is not None)
    results = [notify_signoff_request.delay(request.pk) for _ in range(2)]
    assert [r.get(timeout=60) for r in results] == [False, False]
    assert len(mail.outbox) == 1
