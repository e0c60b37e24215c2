"""``/metrics`` is open to the addresses in ``METRICS_ALLOWED_IPS`` (loopback only by default), the
client's address read as for sign-ins (``X-Forwarded-For`` only from ``TRUSTED_PROXIES``), or to
``Authorization: Bearer <METRICS_TOKEN>``; everyone else gets 403 and no figure."""

import ipaddress

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.test_settings import settings_with

pytestmark = pytest.mark.django_db

TOKEN = "a-metrics-token-for-tests-0123456789-abcdef"


def networks(*items: str):
    return tuple(ipaddress.ip_network(item) for item in items)


def scrape(client, address: str, **headers):
    return client.get("/metrics", REMOTE_ADDR=address, **headers)


def refused(response) -> bool:
    return response.status_code == 403 and b"preflight_" not in response.content


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_may_scrape_by_default(client, address):
    response = scrape(client, address)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"preflight_signoffs_pending" in response.content


@pytest.mark.parametrize("address", ["203.0.113.5", "10.0.0.7", "::2", "not-an-address", ""])
def test_any_other_address_is_refused_by_default(client, address):
    assert refused(scrape(client, address))


def test_the_listed_networks_replace_loopback(client, settings):
    settings.METRICS_ALLOWED_IPS = networks("10.0.0.0/8", "fd00::/8")
    assert scrape(client, "10.20.30.40").status_code == 200
    assert scrape(client, "fd00::1").status_code == 200
    assert refused(scrape(client, "127.0.0.1"))
    assert refused(scrape(client, "11.0.0.1"))


def test_an_empty_list_leaves_only_the_token(client, settings):
    settings.METRICS_ALLOWED_IPS = ()
    settings.METRICS_TOKEN = TOKEN
    assert refused(scrape(client, "127.0.0.1"))
    assert scrape(client, "127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


class TestBehindAProxy:
    @pytest.fixture(autouse=True)
    def proxy(self, settings):
        settings.TRUSTED_PROXIES = networks("10.0.0.2/32")
        settings.METRICS_ALLOWED_IPS = networks("192.0.2.0/24")

    def test_the_client_a_trusted_proxy_names_is_allowed(self, client):
        assert scrape(client, "10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.7").status_code == 200

    def test_the_header_from_an_untrusted_address_is_ignored(self, client):
        assert refused(scrape(client, "203.0.113.9", HTTP_X_FORWARDED_FOR="192.0.2.7"))

    def test_an_address_written_in_front_of_the_real_client_is_ignored(self, client):
        assert refused(scrape(client, "10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.7, 203.0.113.9"))

    def test_the_proxy_itself_is_not_an_allowed_client(self, client):
        assert refused(scrape(client, "10.0.0.2"))


class TestToken:
    @pytest.fixture(autouse=True)
    def token(self, settings):
        settings.METRICS_TOKEN = TOKEN

    def test_the_right_token_opens_metrics_from_anywhere(self, client):
        assert scrape(client, "203.0.113.5", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
        assert scrape(client, "203.0.113.5", HTTP_AUTHORIZATION=f"bearer {TOKEN}").status_code == 200

    @pytest.mark.parametrize(
        "authorization",
        [f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN, f"Token {TOKEN}"],
    )
    def test_a_wrong_token_is_refused(self, client, authorization):
        assert refused(scrape(client, "203.0.113.5", HTTP_AUTHORIZATION=authorization))

    def test_no_token_is_refused(self, client):
        assert refused(scrape(client, "203.0.113.5"))


def test_without_a_token_configured_no_bearer_opens_metrics(client, settings):
    settings.METRICS_TOKEN = ""
    assert refused(scrape(client, "203.0.113.5", HTTP_AUTHORIZATION="Bearer "))


class TestSettings:
    def test_the_default_is_loopback_and_no_token(self, monkeypatch):
        module = settings_with(monkeypatch, METRICS_ALLOWED_IPS=None, METRICS_TOKEN=None)
        assert module.METRICS_ALLOWED_IPS == networks("127.0.0.0/8", "::1/128")
        assert module.METRICS_TOKEN == ""

    def test_networks_are_read_and_an_empty_value_means_none(self, monkeypatch):
        module = settings_with(monkeypatch, METRICS_ALLOWED_IPS="10.0.0.0/8, 192.0.2.5")
        assert module.METRICS_ALLOWED_IPS == networks("10.0.0.0/8", "192.0.2.5/32")
        assert settings_with(monkeypatch, METRICS_ALLOWED_IPS="").METRICS_ALLOWED_IPS == ()

    def test_a_bad_network_is_refused(self, monkeypatch):
        with pytest.raises(ImproperlyConfigured, match="METRICS_ALLOWED_IPS"):
            settings_with(monkeypatch, METRICS_ALLOWED_IPS="10.0.0.0/8, intranet")

    def test_a_short_token_is_refused(self, monkeypatch):
        with pytest.raises(ImproperlyConfigured, match="METRICS_TOKEN must be at least 32"):
            settings_with(monkeypatch, METRICS_TOKEN="short")

    def test_the_outbox_threshold_and_verification_interval_are_bounded(self, monkeypatch):
        with pytest.raises(ImproperlyConfigured, match="READYZ_MAX_OUTBOX_BACKLOG"):
            settings_with(monkeypatch, READYZ_MAX_OUTBOX_BACKLOG="-1")
        module = settings_with(monkeypatch, READYZ_MAX_OUTBOX_BACKLOG=None, LEDGER_VERIFY_INTERVAL_MINUTES="15")
        assert module.CELERY_BEAT_SCHEDULE["verify-ledger"]["schedule"] == 900.0
