"""Preflight's own series on ``/metrics``, asserted after creating real rows: sign-offs pending and
overdue, the outbox, report renders, the ledger's verification, launches whose stage lapsed; and a
scrape costs the same handful of queries however many rows there are."""

import datetime
import uuid

import pytest
import time_machine
from celery import current_app
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.utils import ConnectionHandler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu import Connection
from kombu.exceptions import OperationalError
from prometheus_client.parser import text_string_to_metric_families

from approvals.recertification import recertify
from ledger.models import AnchorStatus, LedgerHead
from monitoring.models import LedgerVerification
from notifications.choices import OutboxStatus
from notifications.models import OutboxMessage
from readiness.models import Launch
from reports.choices import ReportKind, ReportStatus
from reports.models import Report
from tests.builders import launch_at, overdue_ml_request, ready_launch
from tests.factories import UserFactory
from tests.integration.workers import BROKER_URL, require_redis

pytestmark = pytest.mark.django_db

MAX_QUERIES_PER_SCRAPE = 7


def scrape(client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples[name, frozenset(labels.items())]


def test_an_empty_install_reports_zeros_and_a_ledger_never_verified(client):
    samples = scrape(client)
    assert value(samples, "preflight_signoffs_pending", function="legal") == 0
    assert value(samples, "preflight_signoffs_overdue", function="ml") == 0
    assert value(samples, "preflight_outbox_backlog") == 0
    assert value(samples, "preflight_report_renders", kind="launch", status="failed") == 0
    assert value(samples, "preflight_launches_stage_lapsed", stage_kind="beta") == 0
    assert value(samples, "preflight_ledger_verification_timestamp_seconds") == 0
    assert ("preflight_ledger_verification_ok", frozenset()) not in samples
    # In-process tasks: no broker, so no queue figures.
    assert not any(name.startswith("preflight_celery_queue") for name, _ in samples)


def test_pending_and_overdue_signoffs_by_function(client):
    launch = ready_launch()
    request = overdue_ml_request(launch)  # due tomorrow
    samples = scrape(client)
    assert value(samples, "preflight_signoffs_pending", function="ml") == 1
    assert value(samples, "preflight_signoffs_overdue", function="ml") == 0
    with time_machine.travel(request.due_date + datetime.timedelta(days=2)):
        samples = scrape(client)
    assert value(samples, "preflight_signoffs_pending", function="ml") == 1
    assert value(samples, "preflight_signoffs_overdue", function="ml") == 1
    # An archived launch's sign-offs wait for nobody.
    Launch.objects.filter(pk=launch.pk).update(archived=True)
    with time_machine.travel(request.due_date + datetime.timedelta(days=2)):
        samples = scrape(client)
    assert value(samples, "preflight_signoffs_overdue", function="ml") == 0


def test_the_outbox_by_status_backlog_retries_and_the_oldest_due(client):
    recipient = UserFactory()
    now = timezone.now()

    def message(number, status=OutboxStatus.PENDING, due_in=datetime.timedelta(0), attempts=0):
        OutboxMessage.objects.create(
            event="delivery_failed",
            channel="email",
            recipient=recipient,
            key=f"metrics:{number}",
            status=status,
            sent_at=now if status == OutboxStatus.SENT else None,
            next_attempt_at=now + due_in,
            attempts=attempts,
        )

    message(1, due_in=-datetime.timedelta(minutes=10), attempts=3)  # failing, retried, due 10 minutes ago
    message(2)  # due now
    message(3, due_in=datetime.timedelta(hours=2))  # quiet hours: not due
    message(4, status=OutboxStatus.SENT)
    message(5, status=OutboxStatus.FAILED, attempts=30)
    message(6, status=OutboxStatus.DROPPED)
    with time_machine.travel(now, tick=False):
        samples = scrape(client)
    assert value(samples, "preflight_outbox_messages", status="pending") == 3
    assert value(samples, "preflight_outbox_messages", status="sent") == 1
    assert value(samples, "preflight_outbox_messages", status="failed") == 1
    assert value(samples, "preflight_outbox_messages", status="dropped") == 1
    assert value(samples, "preflight_outbox_backlog") == 2
    assert value(samples, "preflight_outbox_retrying") == 1
    assert value(samples, "preflight_outbox_oldest_due_age_seconds") == 600


def test_report_renders_by_kind_and_status_and_the_stalled(client, settings):
    settings.REPORT_RENDER_TIMEOUT_SECONDS = 300
    viewer = UserFactory()
    now = timezone.now()

    def report(status, **fields):
        Report.objects.create(kind=ReportKind.PORTFOLIO, language="en", requested_by=viewer, status=status, **fields)

    report(ReportStatus.PENDING, started_at=now - datetime.timedelta(seconds=301))  # a worker died mid-render
    report(ReportStatus.PENDING, requested_at=now - datetime.timedelta(seconds=400))  # never picked up
    report(ReportStatus.PENDING, started_at=now)  # rendering
    report(ReportStatus.FAILED, error="boom")
    samples = scrape(client)
    assert value(samples, "preflight_report_renders", kind="portfolio", status="pending") == 3
    assert value(samples, "preflight_report_renders", kind="portfolio", status="failed") == 1
    assert value(samples, "preflight_report_renders", kind="portfolio", status="ready") == 0
    assert value(samples, "preflight_report_renders_stalled") == 2


def test_the_ledger_verification_stored_by_the_periodic_job(client, capsys):
    launch = ready_launch()
    with time_machine.travel(timezone.now(), tick=False):
        call_command("record_ledger_verification")
        samples = scrape(client)
    head = LedgerHead.objects.get(pk=1).sequence
    assert head > 0
    assert "Ledger intact" in capsys.readouterr().out
    assert value(samples, "preflight_ledger_verification_ok") == 1
    assert value(samples, "preflight_ledger_verification_entries") == head
    assert value(samples, "preflight_ledger_head_sequence") == head
    assert value(samples, "preflight_ledger_verification_timestamp_seconds") == pytest.approx(
        timezone.now().timestamp(), abs=5
    )
    assert value(samples, "preflight_ledger_verification_age_seconds") == 0

    # Someone rewrites the launch's risk tier behind the services' back.
    Launch.objects.filter(pk=launch.pk).update(risk_tier="high" if launch.risk_tier != "high" else "low")
    with pytest.raises(SystemExit) as exit_code:
        call_command("record_ledger_verification")
    assert exit_code.value.code == 1
    later = timezone.now() + datetime.timedelta(hours=3)
    with time_machine.travel(later, tick=False):
        samples = scrape(client)
    assert value(samples, "preflight_ledger_verification_ok") == 0
    assert value(samples, "preflight_ledger_verification_age_seconds") == pytest.approx(3 * 3600, abs=5)
    newest = LedgerVerification.objects.first()
    assert not newest.ok and "Ledger BROKEN" in capsys.readouterr().err and newest.problem


def test_the_beat_task_stores_an_outcome_and_keeps_ninety_days(client):
    from monitoring.tasks import verify_ledger

    old = LedgerVerification.objects.create(
        started_at=timezone.now() - datetime.timedelta(days=91),
        finished_at=timezone.now() - datetime.timedelta(days=91),
        ok=True,
        checked=0,
        head_hash="0" * 64,
    )
    assert verify_ledger.delay().get() is True
    assert not LedgerVerification.objects.filter(pk=old.pk).exists()
    assert LedgerVerification.objects.count() == 1


def test_launches_in_a_stage_and_those_whose_stage_lapsed(client, settings):
    launch = launch_at("Internal")
    samples = scrape(client)
    assert value(samples, "preflight_launches_in_stage", stage_kind="internal") == 1
    assert value(samples, "preflight_launches_stage_lapsed", stage_kind="internal") == 0
    # The approvals expire: the daily recertification finds the stage no longer holds.
    later = timezone.now() + datetime.timedelta(days=settings.SIGNOFF_MAX_AGE_DAYS + 5)
    with time_machine.travel(later, tick=False):
        assert [change.launch for change in recertify()] == [launch.slug]
        samples = scrape(client)
    assert value(samples, "preflight_launches_stage_lapsed", stage_kind="internal") == 1
    assert value(samples, "preflight_recertification_timestamp_seconds") == later.timestamp()


def test_a_scrape_costs_the_same_few_queries_however_many_rows(client, django_assert_max_num_queries):
    with CaptureQueriesContext(connection) as empty:
        scrape(client)
    launch_at("Internal")
    overdue_ml_request(ready_launch(slug="second", name="Second"))
    call_command("record_ledger_verification")
    with django_assert_max_num_queries(MAX_QUERIES_PER_SCRAPE), CaptureQueriesContext(connection) as full:
        scrape(client)
    assert len(full) == len(empty)


# --- Celery -----------------------------------------------------------------------------------------


def _counted(samples, name: str, task: str) -> float:
    return samples.get((name, frozenset({("task", task)})), 0)


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")  # send_task always sends
def test_tasks_sent_and_those_the_broker_never_got_are_counted(client):
    task = "tests.monitoring.nothing"
    before = scrape(client)
    with Connection("memory://") as memory:
        current_app.send_task(task, connection=memory)
    with Connection("amqp://127.0.0.1:18204//", connect_timeout=1) as down, pytest.raises(OperationalError):  # closed
        current_app.send_task(task, connection=down, retry=False)
    after = scrape(client)
    assert _counted(after, "preflight_celery_tasks_attempted_total", task) == (
        _counted(before, "preflight_celery_tasks_attempted_total", task) + 2
    )
    assert _counted(after, "preflight_celery_tasks_sent_total", task) == (
        _counted(before, "preflight_celery_tasks_sent_total", task) + 1
    )


def test_queue_lengths_are_asked_of_the_broker(client, settings, monkeypatch):
    require_redis()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = BROKER_URL
    queue = f"preflight-metrics-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(current_app.conf, "task_routes", {"tests.monitoring.nothing": {"queue": queue}})
    with Connection(BROKER_URL) as broker:
        waiting = broker.SimpleQueue(queue)
        try:
            for number in range(3):
                waiting.put({"number": number})
            samples = scrape(client)
        finally:
            waiting.queue.delete()
            waiting.close()
    assert value(samples, "preflight_celery_broker_up") == 1
    assert value(samples, "preflight_celery_queue_length", queue=queue) == 3
    assert value(samples, "preflight_celery_queue_length", queue="celery") >= 0


def test_a_broker_down_is_reported_and_the_scrape_still_answers(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:18203/0"  # nothing listens (this helper's ports)
    samples = scrape(client)
    assert value(samples, "preflight_celery_broker_up") == 0
    assert value(samples, "preflight_outbox_backlog") == 0  # the database figures are still there


# --- the database -----------------------------------------------------------------------------------


def test_statements_and_their_errors_are_counted_by_alias(client):
    labels = {"alias": "default", "vendor": connection.vendor}
    before = scrape(client)
    with CaptureQueriesContext(connection) as scraping:
        scrape(client)
    after = scrape(client)
    executed = value(after, "django_db_execute_total", **labels) - value(before, "django_db_execute_total", **labels)
    assert executed >= 2 * len(scraping)  # the two scrapes since ``before``, at least
    with pytest.raises(DatabaseError), transaction.atomic():
        connection.cursor().execute("SELECT * FROM no_such_table")
    errors = scrape(client)
    error_type = next(
        dict(key)["type"]
        for name, key in errors
        if name == "django_db_errors_total" and ("alias", "default") in key and dict(key).get("type")
    )
    assert value(errors, "django_db_errors_total", **labels, type=error_type) >= 1


def test_a_connection_opened_inside_an_execute_wrapper_keeps_the_wrappers_in_order(tmp_path):
    """The counting wrapper goes first: ``execute_wrapper`` pops the last one, its own."""
    from monitoring.database import _measured

    database = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "x")}})
    opened = database["default"]
    seen = []

    def watch(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    try:
        with opened.execute_wrapper(watch), opened.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert opened.execute_wrappers == [_measured]
        assert seen == ["SELECT 1"]
    finally:
        opened.close()


def test_a_database_failing_the_scrape_leaves_the_other_figures(client):
    assert value(scrape(client), "preflight_database_up") == 1
    with pytest.raises(RuntimeError), transaction.atomic():  # rolled back: the table comes back
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE approvals_outboxmessage RENAME TO outbox_gone")
        samples = scrape(client)
        raise RuntimeError("roll back")
    assert value(samples, "preflight_database_up") == 0
    assert not any(name.startswith("preflight_outbox") for name, _ in samples)
    assert any(name.startswith("django_db_errors_total") for name, _ in samples)


def test_the_anchor_lag_when_the_operator_chose_sinks(client, settings, tmp_path, django_assert_max_num_queries):
    settings.LEDGER_ANCHOR = []
    assert ("preflight_ledger_anchor_lag", frozenset()) not in scrape(client)  # nowhere to anchor: no series
    settings.LEDGER_ANCHOR = [f"file:{tmp_path}/anchor-{{server}}.log"]
    ready_launch()  # appended and anchored after commit (which the test's transaction never reaches)
    head = LedgerHead.objects.get(pk=1).sequence
    with django_assert_max_num_queries(MAX_QUERIES_PER_SCRAPE + 1):
        samples = scrape(client)
    assert value(samples, "preflight_ledger_anchor_lag") == head
    assert value(samples, "preflight_ledger_anchor_failing") == 0
    assert value(samples, "preflight_ledger_anchor_timestamp_seconds") == 0
    AnchorStatus.objects.update_or_create(
        pk=1, defaults={"sequence": head, "anchored_at": timezone.now(), "failing_since": timezone.now()}
    )
    samples = scrape(client)
    assert value(samples, "preflight_ledger_anchor_lag") == 0
    assert value(samples, "preflight_ledger_anchor_failing") == 1
    assert value(samples, "preflight_ledger_anchor_timestamp_seconds") > 0
