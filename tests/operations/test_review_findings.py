"""Findings of the hostile review of issue 11's operations work, each proven by a test that failed
before its fix."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from approvals.ledger import verify
from approvals.services import stage_rollback
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
