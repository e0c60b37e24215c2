"""``/healthz`` answers from the process alone, and all three endpoints are answered ahead of the
middleware stack: no session or database, no host check, no HTTPS redirect."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_without_a_query_even_for_a_signed_in_browser(client, django_assert_num_queries):
    client.force_login(UserFactory(username="pam"))  # a session cookie the language middleware would load
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers and not response.cookies


def test_the_same_session_on_any_other_path_does_query(client):
    """The control: past the probe middleware, this client's session is read from the database."""
    client.force_login(UserFactory(username="pam"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/healthz/").status_code == 404
    assert len(queries) > 0


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_answer_a_host_not_in_allowed_hosts(path, settings):
    """Probes address a server by its IP; pages still refuse such a host."""
    settings.ALLOWED_HOSTS = ["preflight.example.com"]
    client = Client(HTTP_HOST="10.1.2.3:8000")
    assert client.get(path, REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/sign-in/").status_code == 400


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_are_not_redirected_to_https(path, settings):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    assert client.get(path).status_code == 200
    redirected = client.get("/sign-in/")
    assert redirected.status_code == 301 and redirected["Location"].startswith("https://")


def test_only_get_and_head_are_probes(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 404
    assert client.get("/healthz/").status_code == 404  # exact paths only
