"""The Prometheus source: who configures it, and the bounds on what the server fetches (SSRF):
only allowed hosts, http(s) only, no redirects followed, a cap on the answer's size. The fetches
go to a real HTTP server the test serves on 127.0.0.1."""

import http.server
import json
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ledger.events import LedgerEvent
from operations.models import PrometheusPull, PrometheusSource, SliActual
from operations.prometheus import PrometheusError, fetch_json, pull_source
from operations.services import prometheus_source_set
from raci.choices import AreaKind, Role

pytestmark = pytest.mark.django_db

QUERIES = {"success_rate": "100 * preflight_success_ratio"}


@pytest.fixture
def allowed(settings):
    settings.PROMETHEUS_ALLOWED_HOSTS = ["127.0.0.1", "prometheus.internal"]
    return settings


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        if self.path.startswith("/huge"):
            body = b'{"status":"success","data":"' + b"x" * 2_000_000 + b'"}'
        else:
            value = "150" if "overflow" in self.path else "99.25"
            series = [{"metric": {"n": str(n)}, "value": [0, value]} for n in range(2 if "many" in self.path else 1)]
            body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": series}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_the_owner_configures_a_source_on_an_allowed_host(launch, allowed):
    source = prometheus_source_set(
        actor=launch.owner, launch=launch, base_url="http://prometheus.internal:9090", queries=QUERIES
    )
    assert source.history.get().history_user == launch.owner


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://169.254.169.254/latest", "not among the Prometheus servers"),
        ("http://localhost:9090", "not among the Prometheus servers"),
        ("ftp://127.0.0.1/", "Only http and https"),
        ("http://user:pw@127.0.0.1:9090", "no user name or password"),
        ("http://127.0.0.1:9090/?x=1", "without a query"),
    ],
)
def test_a_host_outside_the_allowed_list_or_a_bad_url_is_refused(launch, allowed, url, fragment):
    with pytest.raises(ValidationError) as refused:
        prometheus_source_set(actor=launch.owner, launch=launch, base_url=url, queries=QUERIES)
    assert fragment in " ".join(refused.value.messages)
    assert not PrometheusSource.objects.exists()


def test_with_no_allowed_hosts_no_source_can_be_set(launch, settings):
    settings.PROMETHEUS_ALLOWED_HOSTS = []
    with pytest.raises(ValidationError, match="turned off"):
        prometheus_source_set(actor=launch.owner, launch=launch, base_url="http://127.0.0.1:9090", queries=QUERIES)


def test_unknown_indicators_and_empty_queries_are_refused(launch, allowed):
    with pytest.raises(ValidationError, match="Unknown indicators: uptime"):
        prometheus_source_set(
            actor=launch.owner, launch=launch, base_url="http://127.0.0.1:9090", queries={"uptime": "up"}
        )
    with pytest.raises(ValidationError, match="at least one PromQL query"):
        prometheus_source_set(actor=launch.owner, launch=launch, base_url="http://127.0.0.1:9090", queries={})


def test_the_accountable_for_availability_may_configure_the_responsible_may_not(launch, allowed):
    area = launch.areas.get(kind=AreaKind.INFRASTRUCTURE)
    accountable = area.assignments.get(role=Role.ACCOUNTABLE).stakeholder.user
    responsible = area.assignments.get(role=Role.RESPONSIBLE).stakeholder.user
    with pytest.raises(PermissionDenied):
        prometheus_source_set(actor=responsible, launch=launch, base_url="http://127.0.0.1:9090", queries=QUERIES)
    prometheus_source_set(actor=accountable, launch=launch, base_url="http://127.0.0.1:9090", queries=QUERIES)


def test_a_redirect_elsewhere_is_not_followed(allowed, server):
    with pytest.raises(PrometheusError, match="redirect"):
        fetch_json(f"{server}/redirect/api/v1/query")


def test_an_answer_above_the_size_cap_is_refused(allowed, server):
    with pytest.raises(PrometheusError, match="larger than"):
        fetch_json(f"{server}/huge/api/v1/query")


def test_a_host_removed_from_the_allowed_list_is_not_fetched_any_more(launch, allowed, server):
    source = prometheus_source_set(actor=launch.owner, launch=launch, base_url=server, queries=QUERIES)
    allowed.PROMETHEUS_ALLOWED_HOSTS = ["prometheus.internal"]
    pull = pull_source(source)
    assert pull.status == "failed" and "not among the Prometheus servers" in pull.errors[0]
    assert not SliActual.objects.exists()


def test_a_pull_fills_the_missing_days_once_and_is_idempotent(launch, allowed, server, settings):
    settings.PROMETHEUS_BACKFILL_DAYS = 3
    source = prometheus_source_set(actor=launch.owner, launch=launch, base_url=server, queries=QUERIES)
    first = pull_source(source)
    assert (first.status, first.recorded) == ("ok", 3)
    assert {a.source for a in SliActual.objects.all()} == {"prometheus"}
    assert {a.recorded_by for a in SliActual.objects.all()} == {None}
    from ledger.models import LedgerEntry

    (entry,) = LedgerEntry.objects.filter(event=LedgerEvent.SLI_RECORDED)
    assert entry.actor == "scheduled-prometheus-pull" and len(entry.seals) == 3
    second = pull_source(source)
    assert (second.status, second.recorded) == ("ok", 0)
    assert LedgerEntry.objects.filter(event=LedgerEvent.SLI_RECORDED).count() == 1
    assert SliActual.objects.count() == 3 and PrometheusPull.objects.count() == 2


def test_the_scheduled_task_pulls_every_source(launch, allowed, server, settings):
    from operations.tasks import pull_sli_actuals

    settings.PROMETHEUS_BACKFILL_DAYS = 2
    prometheus_source_set(actor=launch.owner, launch=launch, base_url=server, queries=QUERIES)
    assert pull_sli_actuals.delay().get() == 2
    assert settings.CELERY_BEAT_SCHEDULE["pull-sli-actuals"]["task"] == "operations.tasks.pull_sli_actuals"


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("100 * overflow", "is a percentage: 0 to 100"),
        ("many", "returned 2 series"),
    ],
)
def test_an_answer_that_is_not_one_valid_value_records_nothing_and_is_reported(
    launch, allowed, server, settings, query, fragment
):
    settings.PROMETHEUS_BACKFILL_DAYS = 2
    source = prometheus_source_set(actor=launch.owner, launch=launch, base_url=server, queries={"success_rate": query})
    pull = pull_source(source)
    assert pull.status == "failed" and fragment in " ".join(pull.errors)
    assert not SliActual.objects.exists()


def test_an_unreachable_server_is_reported(launch, allowed):
    source = prometheus_source_set(actor=launch.owner, launch=launch, base_url="http://127.0.0.1:9", queries=QUERIES)
    pull = pull_source(source)
    assert pull.status == "failed" and "could not be reached" in pull.errors[0]
    assert len(pull.errors) == 1  # the days after the first failure are not asked again


def test_the_pull_sli_command_does_what_the_task_does(launch, allowed, server, settings, capsys):
    from django.core.management import call_command

    settings.PROMETHEUS_BACKFILL_DAYS = 1
    prometheus_source_set(actor=launch.owner, launch=launch, base_url=server, queries=QUERIES)
    call_command("pull_sli")
    assert f"{launch.slug}: ok, 1 recorded" in capsys.readouterr().out
    assert SliActual.objects.get().value == Decimal("99.25")
