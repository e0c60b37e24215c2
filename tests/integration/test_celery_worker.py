"""Sign-off notifications through the outbox and a real Celery worker consuming from Redis.

Needs Redis at CELERY_TEST_BROKER_URL (default redis://127.0.0.1:6379/15) and PostgreSQL; CI has
both. The worker runs in a thread of this process with its own database connection, so the test
commits for real.
"""

import uuid

import pytest
import redis
from celery import Celery, current_app
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.db import connection
from kombu.exceptions import OperationalError

from approvals.models import SignoffRequest
from approvals.services import signoffs_request
from config.celery import app as project_app
from notifications.choices import OutboxStatus
from notifications.models import OutboxMessage
from notifications.tasks import deliver_notifications
from tests.builders import ready_launch
from tests.integration.workers import BROKER_URL, require_redis, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite's shared in-memory test database locks whole tables between threads; "
        "the worker tests run against PostgreSQL (CI's second pass)",
    ),
]


@pytest.fixture
def redis_worker():
    """A worker thread consuming a queue of its own, so concurrent test runs on the same Redis
    (CI's two databases, a developer's run) never take each other's tasks."""
    require_redis()
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


def sent(requests) -> bool:
    messages = OutboxMessage.objects.filter(subject_id__in=[r.pk for r in requests])
    return messages.exists() and not messages.exclude(status=OutboxStatus.SENT).exists()


def test_requesting_sign_offs_notifies_addressees_through_the_worker(redis_worker):
    launch = ready_launch(slug="assistant")
    requests = signoffs_request(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"))

    assert wait_until(lambda: sent(requests)), "the worker did not deliver the outbox"
    recipients = sorted(p.email for r in requests for p in r.addressees.all())
    assert sorted(m.to[0] for m in mail.outbox) == recipients
    # Delivery is plumbing: the governance record gets no history row from the worker.
    for request in requests:
        assert {h.history_change_reason for h in request.history.all()} == {f"Requested for {request.stage.name}"}


def test_a_delivery_task_run_twice_sends_one_mail(redis_worker):
    launch = ready_launch(slug="assistant")
    requests = signoffs_request(
        actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"), functions=["ml"]
    )
    assert wait_until(lambda: sent(requests))
    ids = list(OutboxMessage.objects.values_list("pk", flat=True))
    results = [deliver_notifications.delay(ids), deliver_notifications.delay()]
    assert [r.get(timeout=60)["sent"] for r in results] == [0, 0]
    assert len(mail.outbox) == 1


def test_mail_the_broker_missed_is_sent_by_the_periodic_drain(redis_worker, monkeypatch):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to the broker. Connection refused.")

    # The worker app's own task object: the shared-task proxy would resolve to another app at undo.
    monkeypatch.setattr(current_app.tasks[deliver_notifications.name], "delay", broker_down)
    launch = ready_launch(slug="assistant")
    requests = signoffs_request(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"))
    assert SignoffRequest.objects.filter(pk__in=[r.pk for r in requests]).count() == len(requests)
    assert OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count() == len(requests)
    assert mail.outbox == []

    # What beat sends every minute, by the name and options in the schedule, to the worker.
    entry = settings.CELERY_BEAT_SCHEDULE["deliver-notifications"]
    result = current_app.send_task(entry["task"], **entry["options"])
    assert result.get(timeout=60)["sent"] == len(requests)
    assert sent(requests)
    assert len(mail.outbox) == len(requests)
