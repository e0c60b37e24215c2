"""Logs: JSON lines in production, each carrying the request (id, person, launch) or the Celery task
(id, name) it was written in; an access line per request with its duration; the request id echoed
on the response; INFO by default in production, so the ledger's head line is written."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid

import pytest
from celery import shared_task
from django.urls import path, reverse

from config.logs import ContextFilter, TextFormatter, json_formatter, logging_config
from readiness.services import fact_version
from tests.builders import ready_launch
from tests.factories import UserFactory
from tests.test_settings import run, settings_with


@pytest.fixture
def json_lines():
    """What the root logger writes at INFO, through the production handler's filter and format,
    as a list of parsed JSON lines (read after the code under test ran)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def access_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "preflight.access"]


@pytest.mark.django_db(transaction=True)
def test_every_line_of_a_request_carries_its_id_person_and_launch(client, json_lines, settings):
    """Archiving a launch appends to the ledger, whose anchor line (``LEDGER_ANCHOR=log``) is
    written when the change commits, inside the request: it and the access line carry the request,
    the person and the launch."""
    settings.LEDGER_ANCHOR = ["log"]
    owner = UserFactory(username="pam")
    launch = ready_launch(owner=owner, slug="assistant")
    client.force_login(owner)
    before = len(json_lines())  # building the launch wrote ledger lines of its own
    response = client.post(
        reverse("web:archive-launch", args=[launch.slug]),
        {"seen_version": fact_version(launch), "reason": "Cancelled."},
        HTTP_X_REQUEST_ID="lb-7f3a9c21",
    )
    assert response.status_code == 302
    assert response["X-Request-ID"] == "lb-7f3a9c21"
    lines = json_lines()[before:]
    heads = [
        line
        for line in lines
        if line["logger"] == "preflight.ledger.anchor" and line["message"].startswith("ledger anchor seq=")
    ]
    assert heads, lines
    (access,) = access_lines(lines)
    for line in [*heads, access]:
        assert line["level"] == "INFO"
        assert line["request_id"] == "lb-7f3a9c21"
        assert line["user_id"] == owner.pk
        assert line["launch"] == "assistant"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", line["time"])
    assert access["method"] == "POST"
    assert access["path"] == f"/launches/{launch.slug}/archive/"
    assert access["status"] == 302
    assert access["duration_ms"] > 0
    assert access["client"] == "127.0.0.1"  # the test client's address; through TRUSTED_PROXIES behind a proxy
    assert access["message"].startswith(f"POST /launches/{launch.slug}/archive/ 302 ")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "incoming",
    [
        pytest.param(None, id="none sent"),
        pytest.param("", id="empty"),
        pytest.param("x" * 129, id="too long"),
        pytest.param('abc"\n{"forged": 1}', id="a line break and quotes"),
        pytest.param("-starts-with-a-dash", id="not starting with a letter or digit"),
    ],
)
def test_a_missing_or_malformed_request_id_is_replaced_by_a_fresh_one(client, json_lines, incoming):
    headers = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}
    response = client.get(reverse("web:sign-in"), **headers)
    made = response["X-Request-ID"]
    assert made != incoming and re.fullmatch(r"[0-9a-f]{32}", made)
    (access,) = access_lines(json_lines())
    assert access["request_id"] == made
    assert "user_id" not in access and "launch" not in access  # nobody signed in, no launch named


@pytest.mark.django_db
def test_two_requests_get_two_ids_and_a_uuid_sent_by_the_proxy_is_kept(client, json_lines):
    sent = str(uuid.uuid4())
    first = client.get(reverse("web:sign-in"))["X-Request-ID"]
    second = client.get(reverse("web:sign-in"), HTTP_X_REQUEST_ID=sent)["X-Request-ID"]
    assert second == sent and first != second
    assert [line["request_id"] for line in access_lines(json_lines())] == [first, sent]


@pytest.mark.django_db
def test_a_refused_request_is_logged_with_its_id_and_the_context_ends_with_the_request(client, json_lines):
    """Django logs a 404 after the middleware returned: the record names the request, so it
    carries the id; after the request nothing is bound any more."""
    response = client.get("/launches/nobody-knows/", HTTP_X_REQUEST_ID="req-404")
    assert response.status_code == 302  # not signed in: to the sign-in page
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-404b")
    assert response.status_code == 404
    logging.getLogger("after").warning("outside any request")
    lines = json_lines()
    (not_found,) = [line for line in lines if line["logger"] == "django.request"]
    assert not_found["request_id"] == "req-404b" and not_found["level"] == "WARNING"
    (outside,) = [line for line in lines if line["logger"] == "after"]
    assert not {"request_id", "user_id", "launch"} & outside.keys()


def failing_view(request):
    raise RuntimeError("the view failed on purpose")


urlpatterns = [path("fail/", failing_view)]


@pytest.mark.django_db
@pytest.mark.urls("tests.test_logs")
def test_an_unhandled_error_is_one_json_line_with_its_traceback_and_the_request(client, json_lines):
    client.raise_request_exception = False
    response = client.get("/fail/", HTTP_X_REQUEST_ID="req-500")
    assert response.status_code == 500 and response["X-Request-ID"] == "req-500"
    lines = json_lines()
    (error,) = [line for line in lines if line["logger"] == "django.request"]
    assert error["level"] == "ERROR" and error["request_id"] == "req-500"
    assert "RuntimeError: the view failed on purpose" in error["exc_info"]
    (access,) = access_lines(lines)
    assert (access["status"], access["request_id"]) == (500, "req-500")


@shared_task(name="tests.test_logs.say_hello")
def say_hello(who: str) -> str:
    logging.getLogger("tests.hello").info("hello %s", who)
    return who


def test_a_task_s_lines_carry_its_id_and_name_and_are_unbound_after_it(json_lines):
    result = say_hello.delay("Pam")  # in-process (no broker in tests): the same signals as a worker
    logging.getLogger("tests.hello").info("after the task")
    hello, after = [line for line in json_lines() if line["logger"] == "tests.hello"]
    assert hello["message"] == "hello Pam"
    assert hello["task_id"] == result.id
    assert hello["task_name"] == "tests.test_logs.say_hello"
    assert "task_id" not in after and "task_name" not in after


def test_the_text_format_names_the_context_after_the_message():
    record = logging.LogRecord("ledger", logging.INFO, __file__, 1, "ledger head #%s %s", (4, "ab"), None)
    record.request_id, record.user_id = "r1", 7
    formatter = TextFormatter("%(levelname)s %(name)s: %(message)s")
    assert formatter.format(record) == "INFO ledger: ledger head #4 ab [request_id=r1 user_id=7]"


# Settings -----------------------------------------------------------------------------------


def test_production_logs_json_at_info_and_development_text_at_warning(monkeypatch):
    production = settings_with(monkeypatch)
    assert (production.LOG_FORMAT, production.LOG_LEVEL) == ("json", "INFO")
    assert production.LOGGING["root"]["level"] == "INFO"
    assert production.LOGGING["formatters"]["default"]["()"] == "config.logs.json_formatter"
    # Right after the probes, which answer before it and so write no access line.
    assert production.MIDDLEWARE[:2] == [
        "monitoring.middleware.ProbeMiddleware",
        "config.logs.RequestContextMiddleware",
    ]
    development = settings_with(monkeypatch, DEBUG="1")
    assert (development.LOG_FORMAT, development.LOG_LEVEL) == ("text", "WARNING")
    overridden = settings_with(monkeypatch, LOG_LEVEL="debug", LOG_FORMAT="TEXT")
    assert (overridden.LOG_FORMAT, overridden.LOG_LEVEL) == ("text", "DEBUG")


_WRITE_AN_ANCHOR_LINE = (
    "import django; django.setup(); from ledger.anchors import LogSink; LogSink().write(12, 'f' * 64)"
)


def test_the_ledger_anchor_line_is_written_to_stdout_as_json_in_production():
    """docs/ledger-anchor.md offers this line as an anchor of the ledger outside the database: with
    the production defaults (no LOG_LEVEL) it reaches stdout, as JSON."""
    done = run(["-c", _WRITE_AN_ANCHOR_LINE], DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL=None, LOG_FORMAT=None)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[-1]["level"] == "INFO"
    assert lines[-1]["logger"] == "preflight.ledger.anchor"
    assert lines[-1]["message"].startswith(f"ledger anchor seq=12 hash={'f' * 64} server=")


def test_an_operator_who_asked_for_the_anchor_line_gets_it_even_at_warning_level():
    """LOG_LEVEL=WARNING quiets the app, but not the anchor the operator chose to keep in the log."""
    done = run(["-c", _WRITE_AN_ANCHOR_LINE], DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING")
    assert done.returncode == 0, done.stderr
    assert "ledger anchor seq=12" in done.stdout
    quiet = run(
        ["-c", "import django; django.setup(); import logging; logging.getLogger('ledger').info('an info line')"],
        DJANGO_SETTINGS_MODULE="config.settings",
        LOG_LEVEL="WARNING",
    )
    assert quiet.returncode == 0, quiet.stderr
    assert "an info line" not in quiet.stdout


def test_noisy_libraries_stay_at_warning_whatever_the_level():
    config = logging_config(level="DEBUG", log_format="json")
    assert config["loggers"]["fontTools"]["level"] == "WARNING"
    assert config["loggers"]["weasyprint.progress"]["level"] == "WARNING"
    assert config["loggers"]["django"] == {"handlers": [], "level": "DEBUG", "propagate": True}
