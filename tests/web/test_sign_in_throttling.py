"""Sign-in throttling pauses the client, never the account, and behind a proxy learns the client's
address from the proxy's X-Forwarded-For only when the request really comes from a trusted proxy;
otherwise five wrong passwords from anywhere would lock a person out, again every 15 minutes."""

import ipaddress

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory
from django.urls import reverse

from config.client_ip import client_ip
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
PROXY = "10.0.0.2"
CLIENT_A = "203.0.113.5"
CLIENT_B = "198.51.100.7"


@pytest.fixture
def pam():
    user = UserFactory(username="pam")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)


def sign_in(client, password: str, *, peer: str, forwarded_for: str | None = None, username: str = "pam"):
    extra = {"REMOTE_ADDR": peer}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post(reverse("web:sign-in"), {"username": username, "password": password}, **extra)


def fail_to_the_limit(client, settings, **where):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "wrong", **where)


def test_failures_from_one_client_through_the_proxy_do_not_lock_the_person_out_elsewhere(
    client, pam, settings, behind_proxy
):
    fail_to_the_limit(client, settings, peer=PROXY, forwarded_for=CLIENT_A)

    assert sign_in(client, PASSWORD, peer=PROXY, forwarded_for=CLIENT_B).status_code == 302


def test_the_client_that_failed_is_paused_even_with_the_right_password_or_another_name(
    client, pam, settings, behind_proxy
):
    UserFactory(username="lena").set_password(PASSWORD)
    fail_to_the_limit(client, settings, peer=PROXY, forwarded_for=CLIENT_A)

    assert sign_in(client, PASSWORD, peer=PROXY, forwarded_for=CLIENT_A).status_code == 429
    assert sign_in(client, PASSWORD, peer=PROXY, forwarded_for=CLIENT_A, username="lena").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT_A}


def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(client, pam, settings, behind_proxy):
    attacker = "192.0.2.50"  # talks to the app directly, not through the proxy
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "wrong", peer=attacker, forwarded_for=f"198.18.0.{n}")

    assert sign_in(client, PASSWORD, peer=attacker, forwarded_for="198.18.0.99").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {attacker}
    assert sign_in(client, PASSWORD, peer=PROXY, forwarded_for=CLIENT_B).status_code == 302


def test_a_client_cannot_prepend_an_address_of_its_choosing(client, pam, settings, behind_proxy):
    """The proxy appends the address it saw; what the client wrote stands to the left of it."""
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "wrong", peer=PROXY, forwarded_for=f"198.18.0.{n}, {CLIENT_A}")

    assert sign_in(client, PASSWORD, peer=PROXY, forwarded_for=f"198.18.0.99, {CLIENT_A}").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT_A}


def test_without_trusted_proxies_the_header_is_ignored(client, pam, settings):
    settings.TRUSTED_PROXIES = ()
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "wrong", peer=PROXY, forwarded_for=f"198.18.0.{n}")

    assert sign_in(client, PASSWORD, peer=PROXY, forwarded_for="198.18.0.99").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {PROXY}


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        (PROXY, CLIENT_A, CLIENT_A),
        (PROXY, f"6.6.6.6, {CLIENT_A}, 10.0.0.7", CLIENT_A),  # two of our proxies, then the client
        (PROXY, f" {CLIENT_A} ", CLIENT_A),
        (PROXY, "10.0.0.9", "10.0.0.9"),  # every hop is ours: the first
        (PROXY, None, PROXY),
        (PROXY, "not-an-address", PROXY),
        (PROXY, "2001:db8::1", "2001:db8::1"),
        ("192.0.2.50", CLIENT_A, "192.0.2.50"),
    ],
)
def test_the_client_address_is_the_right_most_hop_no_trusted_proxy_wrote(
    settings, behind_proxy, peer, forwarded_for, expected
):
    meta = {"REMOTE_ADDR": peer}
    if forwarded_for is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded_for
    assert client_ip(RequestFactory().get("/", **meta)) == expected
