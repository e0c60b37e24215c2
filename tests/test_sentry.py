"""Error tracking: with SENTRY_DSN set, an unhandled exception in a view reaches the DSN's server as a
real envelope (here a tiny HTTP server of the test's own), tagged with the request id and without
personal data; without it the SDK is not even imported."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.test_settings import run

PORTS = range(18300, 18400)

# A process like a web server's: the project's settings, one view that fails, the test client.
SCRIPT = """
import sys, types
import django
django.setup()
import django.urls
from django.test import Client, override_settings

def boom(request):
    password = "hunter2-local"  # a local variable: never sent
    raise RuntimeError("the view failed on purpose")

urls = types.ModuleType("boom_urls")
urls.urlpatterns = [django.urls.path("boom/", boom)]
sys.modules["boom_urls"] = urls
with override_settings(ROOT_URLCONF="boom_urls"):
    response = Client(raise_request_exception=False).post(
        "/boom/",
        {"comment": "a-private-comment-from-the-form"},
        HTTP_X_REQUEST_ID="req-sentry-1",
        HTTP_COOKIE="tracking=secret-cookie",
    )
print("status", response.status_code)
print("sentry imported", "sentry_sdk" in sys.modules)
if "sentry_sdk" in sys.modules:
    import sentry_sdk
    print("active", sentry_sdk.get_client().is_active())
    sentry_sdk.flush(timeout=10)
"""


class Collector(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":  # the SDK compresses with Brotli when it is installed
            import brotli

            body = brotli.decompress(body)
        self.server.received.append((self.path, encoding, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_server():
    """A tiny HTTP server on a free port of 18300–18399 keeping what is POSTed to it."""
    for port in PORTS:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), Collector)
            break
        except OSError:
            continue
    else:
        pytest.fail("no free port in 18300-18399")
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def envelope_items(body: bytes) -> list[tuple[dict, dict]]:
    """(item header, payload) of each item of a Sentry envelope: a header line, then pairs of lines."""
    lines = body.split(b"\n")
    items = []
    index = 1
    while index + 1 < len(lines) and lines[index].strip():
        header = json.loads(lines[index])
        payload = json.loads(lines[index + 1]) if lines[index + 1].strip().startswith(b"{") else {}
        items.append((header, payload))
        index += 2
    return items


def test_an_unhandled_view_error_is_delivered_to_the_dsn_without_personal_data(sentry_server):
    port = sentry_server.server_address[1]
    done = run(
        ["-c", SCRIPT],
        DEBUG="1",
        ALLOWED_HOSTS="testserver",
        DJANGO_SETTINGS_MODULE="config.settings",
        SENTRY_DSN=f"http://publickey@127.0.0.1:{port}/42",
        SENTRY_RELEASE="preflight@test",
        SENTRY_ENVIRONMENT="ci",
    )
    assert done.returncode == 0, done.stderr
    assert "status 500" in done.stdout and "active True" in done.stdout
    assert sentry_server.received, "nothing reached the DSN's server"
    events = [
        payload
        for path, _encoding, body in sentry_server.received
        if path == "/api/42/envelope/"
        for header, payload in envelope_items(body)
        if header.get("type") == "event"
    ]
    (event,) = events
    (exception,) = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("RuntimeError", "the view failed on purpose")
    assert (event["release"], event["environment"]) == ("preflight@test", "ci")
    assert event["tags"]["request_id"] == "req-sentry-1"
    assert "user" not in event or not event["user"].get("ip_address")
    sent = json.dumps(event)
    assert "secret-cookie" not in sent and "hunter2-local" not in sent
    assert "a-private-comment-from-the-form" not in sent  # request bodies are never sent
    assert not event.get("request", {}).get("data")


def test_without_a_dsn_nothing_is_initialised_and_nothing_sent(sentry_server):
    done = run(
        ["-c", SCRIPT],
        DEBUG="1",
        ALLOWED_HOSTS="testserver",
        DJANGO_SETTINGS_MODULE="config.settings",
        SENTRY_DSN=None,
    )
    assert done.returncode == 0, done.stderr
    assert "status 500" in done.stdout
    assert "sentry imported False" in done.stdout
    assert sentry_server.received == []
