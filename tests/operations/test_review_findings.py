"""Findings of the hostile review of issue 11's operations work, each proven by a test that failed
before its fix."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from approvals.services import stage_rollback
from ledger.events import LedgerEvent
from ledger.verification import verify
from operations import prometheus
from operations.models import PrometheusPull, RollbackExecution, SliActual
from operations.prometheus import PrometheusError, pull_all, pull_source, query_value
from operations.services import prometheus_source_set
from operations.sli_csv import parse_sli_csv
from tests.builders import launch_at

pytestmark = pytest.mark.django_db

QUERIES = {"success_rate": "100 * preflight_success_ratio"}


@pytest.fixture
def allowed(settings):
    settings.PROMETHEUS_ALLOWED_HOSTS = ["127.0.0.1", "prometheus.internal"]
    settings.PROMETHEUS_BACKFILL_DAYS = 1
    return settings


def _answer(value):
    return {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [0, value]}]}}


# --- 1. A Prometheus answer Preflight cannot read crashed the whole daily pull ---------------------


@pytest.mark.parametrize(
    "answer",
    [
        _answer("1e30"),  # a finite number too large to quantize: decimal.InvalidOperation
        {"status": "success", "data": {"resultType": "scalar", "result": None}},  # TypeError
        {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}},  # KeyError
        {"status": "success", "data": {"resultType": "vector", "result": ["x"]}},  # TypeError
        [],  # not an object: AttributeError
        {"status": "success", "data": "nothing"},  # AttributeError
    ],
)
def test_an_unreadable_answer_is_a_prometheus_error(launch, allowed, monkeypatch, answer):
    source = prometheus_source_set(actor=launch.owner, launch=launch, base_url="http://127.0.0.1:9090", queries=QUERIES)
    monkeypatch.setattr(prometheus, "fetch_json", lambda url: answer)
    with pytest.raises(PrometheusError):
        query_value(source, "q", datetime.datetime.now(datetime.UTC))


def test_one_source_answering_nonsense_does_not_stop_the_others(launch, allowed, monkeypatch):
    other = launch_at("Internal", slug="other", name="Other")
    bad = prometheus_source_set(actor=launch.owner, launch=launch, base_url="http://127.0.0.1:9090", queries=QUERIES)
    good = prometheus_source_set(
        actor=other.owner, launch=other, base_url="http://prometheus.internal:9090", queries=QUERIES
    )
    monkeypatch.setattr(
        prometheus, "fetch_json", lambda url: _answer("1e30" if url.startswith("http://127.0.0.1") else "99.9")
    )
    pulls = {pull.source_id: pull for pull in pull_all()}
    assert pulls[bad.pk].status == "failed" and "not a" in " ".join(pulls[bad.pk].errors)
    assert (pulls[good.pk].status, pulls[good.pk].recorded) == ("ok", 1)
    assert list(SliActual.objects.values_list("launch_id", flat=True)) == [other.pk]
    assert PrometheusPull.objects.count() == 2


def test_a_value_too_large_for_the_column_is_reported_not_raised(launch, allowed, monkeypatch):
    source = prometheus_source_set(actor=launch.owner, launch=launch, base_url="http://127.0.0.1:9090", queries=QUERIES)
    monkeypatch.setattr(prometheus, "fetch_json", lambda url: _answer("1e12"))  # latency-like, 16 digits with .000
    source.queries = {"latency_p95": "q"}
    source.save()
    pull = pull_source(source)
    assert pull.status == "failed" and not SliActual.objects.exists()


# --- 2. A CSV cell longer than the csv module's field limit gave a 500 / a traceback -----------------


def test_a_huge_csv_cell_is_a_validation_error_naming_the_line():
    text = "date,indicator,value\n2026-11-01,success_rate,99\n2026-11-02,success_rate," + "9" * 200_000 + "\n"
    with pytest.raises(ValidationError) as raised:
        parse_sli_csv(text)
    assert "Line 3" in " ".join(raised.value.messages)


def test_a_huge_csv_cell_uploaded_is_refused_on_the_form(client, launch):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    client.force_login(launch.owner)
    body = ("date,indicator,value\n2026-11-02,success_rate," + "9" * 200_000 + "\n").encode()
    response = client.post(
        reverse("web:sli-upload", args=[launch.slug]),
        {"file": SimpleUploadedFile("values.csv", body, content_type="text/csv")},
    )
    assert response.status_code == 200 and "Line 2" in response.content.decode()
    assert not SliActual.objects.exists()


# --- 3. A rollback execution rewritten in SQL went unnoticed by verify_ledger -----------------------


@pytest.mark.parametrize(
    "change",
    [
        {"reason": "Planned drill"},
        {"duration": datetime.timedelta(minutes=1)},
        {"to_stage_name": "Beta"},
    ],
)
def test_verify_ledger_catches_a_rollback_execution_rewritten_in_sql(change):
    launch = launch_at("Beta")
    stage_rollback(
        actor=launch.owner,
        launch=launch,
        stage=launch.stages.get(name="Internal"),
        reason="p95 doubled",
        duration=datetime.timedelta(minutes=40),
    )
    assert verify().ok
    RollbackExecution.objects.update(**change)
    result = verify()
    assert not result.ok and "rollback" in result.problem


def test_verify_ledger_catches_a_rollback_execution_invented_in_sql():
    launch = launch_at("Beta")
    stage_rollback(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"), reason="p95 doubled")
    execution = RollbackExecution.objects.get()
    execution.pk = None
    execution.save()
    result = verify()
    assert not result.ok and "rollback" in result.problem


def test_verify_ledger_catches_a_rollback_execution_deleted_in_sql():
    launch = launch_at("Full")
    stage_rollback(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Beta"), reason="First")
    stage_rollback(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"), reason="Second")
    assert verify().ok
    RollbackExecution.objects.filter(reason="Second").delete()
    result = verify()
    assert not result.ok and "no rollback execution" in result.problem


# --- 4. Item 11 reads failure review dates, yet a review written or moved in SQL went unnoticed ------


def _failure_review(launch, held_on):
    from operations.services import failure_review_record
    from raci.choices import AreaKind
    from tests.builders import accountable_of

    return failure_review_record(
        actor=launch.owner,
        channel=launch.feedback_channels.get(),
        held_on=held_on,
        attendees=[accountable_of(launch, AreaKind.MODEL_QUALITY)],
        decisions="Retrain the intent classifier on the refund cases.",
    )


def test_a_failure_review_is_ledgered():
    from django.utils import timezone

    from ledger.models import LedgerEntry

    launch = launch_at("Internal")
    review = _failure_review(launch, timezone.localdate())
    (entry,) = LedgerEntry.objects.filter(event=LedgerEvent.FAILURE_REVIEW_RECORDED)
    assert entry.payload["review"] == review.pk and entry.payload["held on"] == review.held_on.isoformat()
    assert verify().ok


def test_verify_ledger_catches_a_failure_review_invented_or_moved_in_sql():
    from django.utils import timezone

    from operations.models import FailureReview

    launch = launch_at("Internal")
    review = _failure_review(launch, timezone.localdate() - datetime.timedelta(days=30))
    assert verify().ok
    FailureReview.objects.filter(pk=review.pk).update(held_on=timezone.localdate())  # the cadence looks kept
    result = verify()
    assert not result.ok and "failure review" in result.problem
    FailureReview.objects.filter(pk=review.pk).update(held_on=review.held_on)
    assert verify().ok
    invented = FailureReview.objects.create(
        channel=review.channel, held_on=timezone.localdate(), decisions="None", recorded_by=launch.owner
    )
    result = verify()
    assert not result.ok and f"failure review #{invented.pk}" in result.problem
    invented.delete()
    FailureReview.objects.filter(pk=review.pk).delete()
    result = verify()
    assert not result.ok and "no longer exists" in result.problem


# --- 5. Items 13 and 14 named times in UTC, not in the server's time zone ------------------------------


def test_items_13_and_14_give_dates_and_times_in_the_time_zone(launch, settings):
    from django.utils import timezone

    from readiness.checklist import evaluate, with_checklist_facts
    from readiness.models import Launch

    from .conftest import report

    settings.TIME_ZONE = "Asia/Seoul"
    with timezone.override("Asia/Seoul"):
        now = timezone.now()
        # Resolved at 20:00 UTC ten days ago: already the next day in Seoul (05:00).
        resolved = (
            (now - datetime.timedelta(days=10))
            .astimezone(datetime.UTC)
            .replace(hour=20, minute=0, second=0, microsecond=0)
        )
        report(
            launch,
            severity="P1",
            detected=resolved - datetime.timedelta(hours=3),
            acknowledged_at=resolved - datetime.timedelta(hours=2),
            mitigated_at=resolved - datetime.timedelta(hours=1),
            resolved_at=resolved,
            title="Resolved",
        )
        detected = (
            (now - datetime.timedelta(days=1))
            .astimezone(datetime.UTC)
            .replace(hour=16, minute=30, second=0, microsecond=0)
        )
        report(launch, severity="P0", detected=detected, title="Open")
        facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
        results = {r.key: r for r in evaluate(facts, now=now).results}
        seoul_resolved = timezone.localtime(resolved).date().isoformat()
        assert seoul_resolved in " ".join(results["incidents_reviewed"].reasons)
        seoul_detected = timezone.localtime(detected).strftime("%Y-%m-%d %H:%M")
        assert seoul_detected in " ".join(results["no_open_major_incident"].reasons)


# --- 6. A server dripping its answer held the daily pull (every launch's) for as long as it liked ------


class _Drip:
    """An HTTP server that answers 200 and then one byte every 0.3 seconds, never finishing."""

    def __init__(self):
        import http.server
        import threading
        import time

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                try:
                    for _ in range(200):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.3)
                except OSError:
                    pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


def test_an_answer_dripped_slowly_is_cut_off_at_the_timeout(allowed):
    import time

    allowed.PROMETHEUS_TIMEOUT_SECONDS = 1
    drip = _Drip()
    try:
        started = time.monotonic()
        with pytest.raises(PrometheusError, match="took longer"):
            prometheus.fetch_json(f"{drip.url}/api/v1/query")
        assert time.monotonic() - started < 4
    finally:
        drip.httpd.shutdown()


def test_a_refusal_with_an_http_error_still_reports_prometheus_reason(allowed):
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = b'{"status":"error","error":"bad query"}'
            self.send_response(400)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        answer = prometheus.fetch_json(f"http://127.0.0.1:{httpd.server_address[1]}/api/v1/query")
        assert answer == {"status": "error", "error": "bad query"}
    finally:
        httpd.shutdown()


# --- 7. A CSV value with more decimals than kept was refused without naming its line -------------------


def test_a_value_with_too_many_decimals_is_refused_naming_its_line(launch):
    from django.utils import timezone

    from operations.models import SliSource
    from operations.services import sli_record

    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    text = f"date,indicator,value\n{yesterday},success_rate,99.5\n{yesterday},latency_p95,1840.12345\n"
    with pytest.raises(ValidationError) as raised:
        sli_record(actor=launch.owner, launch=launch, measurements=parse_sli_csv(text), source=SliSource.COMMAND)
    assert "Line 3" in " ".join(raised.value.messages)
    assert not SliActual.objects.exists()


def test_a_value_too_large_to_keep_is_refused_naming_its_line(launch):
    from django.utils import timezone

    from operations.models import SliSource
    from operations.services import sli_record

    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    text = f"date,indicator,value\n{yesterday},latency_p95,123456789012345\n"
    with pytest.raises(ValidationError) as raised:
        sli_record(actor=launch.owner, launch=launch, measurements=parse_sli_csv(text), source=SliSource.COMMAND)
    assert "Line 2" in " ".join(raised.value.messages)


# --- 8. A value a person recorded while the pull was asking Prometheus was overwritten by the pull -----


def test_a_day_recorded_by_a_person_during_the_pull_is_left_alone(launch, allowed, monkeypatch):
    from decimal import Decimal

    from django.utils import timezone

    from operations.models import SliSource
    from operations.services import Measurement, sli_record

    source = prometheus_source_set(actor=launch.owner, launch=launch, base_url="http://127.0.0.1:9090", queries=QUERIES)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    def person_records_meanwhile(url):
        sli_record(
            actor=launch.owner,
            launch=launch,
            measurements=[Measurement(day=yesterday, indicator="success_rate", value=Decimal("97.5"))],
            source=SliSource.FORM,
        )
        return _answer("99.9")

    monkeypatch.setattr(prometheus, "fetch_json", person_records_meanwhile)
    pull = pull_source(source)
    actual = SliActual.objects.get()
    assert (actual.value, actual.source) == (Decimal("97.5"), "form")
    assert (pull.status, pull.recorded) == ("ok", 0)
    assert verify().ok
