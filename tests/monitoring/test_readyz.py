"""``/readyz``: 200 when the database, the broker (when there is one), the migrations and the
outbox are fine, 503 naming the failing check otherwise, and never an error's text."""

import datetime

import pytest
from django.db import connections
from django.utils import timezone

from notifications.choices import OutboxStatus
from notifications.models import OutboxMessage
from tests.factories import UserFactory
from tests.integration.workers import BROKER_URL, require_redis

pytestmark = pytest.mark.django_db

CLOSED_PORT = 18201  # nothing listens here (this helper's port range)
SECRET = "s3cret-password-never-shown"


def ready(client):
    response = client.get("/readyz")
    return response.status_code, response.json()


def test_ready_when_every_check_passes_and_the_broker_is_not_configured(client):
    status, body = ready(client)
    assert status == 200
    assert body == {
        "status": "ok",
        "checks": {
            "database": {"status": "ok", "detail": "reachable"},
            "broker": {"status": "skipped", "detail": "not configured: tasks run in-process"},
            "migrations": {"status": "ok", "detail": "applied"},
            "outbox_backlog": {"status": "ok", "detail": 0},
        },
    }


@pytest.fixture
def unreachable_database(settings):
    """A second connection, as a read replica would be, to a PostgreSQL port where nothing listens."""
    connections.settings["replica"] = {
        **connections["default"].settings_dict,
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "preflight",
        "USER": "preflight",
        "PASSWORD": SECRET,
        "HOST": "127.0.0.1",
        "PORT": str(CLOSED_PORT),
        "OPTIONS": {"connect_timeout": 2},
    }
    yield
    connections["replica"].close()
    del connections["replica"]
    del connections.settings["replica"]


def test_an_unreachable_database_fails_naming_its_alias_and_not_its_error(client, unreachable_database, caplog):
    status, body = ready(client)
    assert status == 503 and body["status"] == "failing"
    assert body["checks"]["database"] == {"status": "failing", "detail": "unreachable: replica"}
    assert body["checks"]["migrations"]["status"] == "ok"  # the default database still answers
    assert SECRET not in str(body) and str(CLOSED_PORT) not in str(body)
    assert any("database replica" in record.getMessage() for record in caplog.records)  # the error is logged


def test_an_unreachable_broker_fails_without_showing_its_url(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://:{SECRET}@127.0.0.1:{CLOSED_PORT}/0"
    status, body = ready(client)
    assert status == 503
    assert body["checks"]["broker"]["status"] == "failing"
    assert body["checks"]["broker"]["detail"].startswith("error: ")
    assert SECRET not in str(body) and "Traceback" not in str(body)


def test_a_reachable_broker_passes(client, settings):
    require_redis()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = BROKER_URL
    status, body = ready(client)
    assert (status, body["checks"]["broker"]) == (200, {"status": "ok", "detail": "reachable"})


def test_an_unapplied_migration_fails(client, settings):
    settings.MIGRATION_MODULES = {"monitoring": "tests.monitoring.unapplied_migrations"}
    status, body = ready(client)
    assert status == 503
    assert body["checks"]["migrations"]["status"] == "failing"
    assert body["checks"]["migrations"]["detail"].startswith("unapplied: ")


def _messages(*, due: int, later: int = 0, sent: int = 0) -> None:
    recipient = UserFactory()
    now = timezone.now()
    for number in range(due + later + sent):
        OutboxMessage.objects.create(
            event="delivery_failed",
            channel="email",
            recipient=recipient,
            key=f"readyz:{number}",
            status=OutboxStatus.SENT if number >= due + later else OutboxStatus.PENDING,
            sent_at=now if number >= due + later else None,
            next_attempt_at=now + datetime.timedelta(hours=1) if due <= number < due + later else now,
        )


def test_an_outbox_backlog_at_the_threshold_fails(client, settings):
    settings.READYZ_MAX_OUTBOX_BACKLOG = 3
    _messages(due=3)
    status, body = ready(client)
    assert (status, body["checks"]["outbox_backlog"]) == (503, {"status": "failing", "detail": 3})


def test_messages_not_due_yet_or_sent_are_no_backlog(client, settings):
    settings.READYZ_MAX_OUTBOX_BACKLOG = 3
    _messages(due=2, later=5, sent=5)  # quiet hours or back-off; delivered
    status, body = ready(client)
    assert (status, body["checks"]["outbox_backlog"]) == (200, {"status": "ok", "detail": 2})


def test_a_threshold_of_zero_turns_the_outbox_check_off(client, settings):
    settings.READYZ_MAX_OUTBOX_BACKLOG = 0
    _messages(due=4)
    status, body = ready(client)
    assert status == 200
    assert body["checks"]["outbox_backlog"]["status"] == "skipped"


def test_a_failing_probe_logs_its_check_once_and_no_server_error(client, settings, caplog):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{CLOSED_PORT}/0"
    assert client.get("/readyz").status_code == 503
    assert [(record.name, record.levelname) for record in caplog.records] == [("monitoring.readiness", "WARNING")]
