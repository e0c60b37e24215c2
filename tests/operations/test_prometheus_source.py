"""The Prometheus source: who configures it, and the bounds on what the server fetches (SSRF):
only allowed hosts, http(s) only, no redirects followed, a cap on the answer's size. The fetches
go to a real HTTP server the test serves on 127.0.0.1."""

import datetime
import http.server
import json
import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ledger.events import LedgerEvent
from ledger.verification import verify
from operations import prometheus
from operations.models import PrometheusPull, PrometheusSource, SliActual, SliSource
from operations.prometheus import PrometheusError, fetch_json, pull_all, pull_source, query_value
from operations.services import Measurement, prometheus_source_set, sli_record
from raci.choices import AreaKind, Role
from tests.builders import launch_at

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
    # Polled often: shutdown() waits for the loop's next poll (half a second by default).
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
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
        ("100 * overflow", "enter a percentage between 0 % and 100 %"),
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


# --- answers Preflight cannot read, slow answers, refusals, and a person recording meanwhile ---


def _answer(value):
    return {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [0, value]}]}}


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
    allowed.PROMETHEUS_BACKFILL_DAYS = 1
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
    allowed.PROMETHEUS_BACKFILL_DAYS = 1
    source = prometheus_source_set(actor=launch.owner, launch=launch, base_url="http://127.0.0.1:9090", queries=QUERIES)
    monkeypatch.setattr(prometheus, "fetch_json", lambda url: _answer("1e12"))  # latency-like, 16 digits with .000
    source.queries = {"latency_p95": "q"}
    source.save()
    pull = pull_source(source)
    assert pull.status == "failed" and not SliActual.objects.exists()


class _Drip:
    """An HTTP server that answers 200 and then one byte every 0.1 seconds, never finishing."""

    def __init__(self):
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
                        time.sleep(0.1)
                except OSError:
                    pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


def test_an_answer_dripped_slowly_is_cut_off_at_the_timeout(allowed):
    allowed.PROMETHEUS_TIMEOUT_SECONDS = 0.5  # each byte comes well within it; the whole answer never does
    drip = _Drip()
    try:
        started = time.monotonic()
        with pytest.raises(PrometheusError, match="took longer"):
            prometheus.fetch_json(f"{drip.url}/api/v1/query")
        assert time.monotonic() - started < 4
    finally:
        drip.httpd.shutdown()


def test_a_refusal_with_an_http_error_still_reports_prometheus_reason(allowed):
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
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        answer = prometheus.fetch_json(f"http://127.0.0.1:{httpd.server_address[1]}/api/v1/query")
        assert answer == {"status": "error", "error": "bad query"}
    finally:
        httpd.shutdown()


def test_a_day_recorded_by_a_person_during_the_pull_is_left_alone(launch, allowed, monkeypatch):
    allowed.PROMETHEUS_BACKFILL_DAYS = 1
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
