"""Settings come from the environment and refuse to start on an unsafe or unreadable configuration.

Most cases execute ``config/settings.py`` afresh in this process with a chosen environment (a new
module object; Django's own settings are untouched), which is fast. A few run real processes to
show what an operator sees: a refused start and a clean ``check --deploy``."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_header, env_int

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = PROJECT_ROOT / "config" / "settings.py"

SECRET_KEY = "a-long-random-test-secret-key-0123456789-abcdefghij"
LEDGER_KEY = "a-random-test-ledger-key-0123456789-klmnop"
# What a production deployment sets; each test changes one thing.
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": SECRET_KEY,
    "LEDGER_KEY": LEDGER_KEY,
    "ALLOWED_HOSTS": "preflight.example.com",
    "SITE_URL": "https://preflight.example.com",
    "SIGNOFF_MAX_AGE_DAYS": None,
    "EVIDENCE_MAX_AGE_DAYS": None,
    "SEVERITY_P0_MAX_RESPONSE_MINUTES": None,
    "SEVERITY_P1_MAX_RESPONSE_MINUTES": None,
    "SECURE_SSL_REDIRECT": None,
    "SECURE_HSTS_SECONDS": None,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": None,
    "SECURE_HSTS_PRELOAD": None,
    "SECURE_PROXY_SSL_HEADER": None,
    "SESSION_COOKIE_SECURE": None,
    "CSRF_COOKIE_SECURE": None,
}


def settings_with(monkeypatch, **overrides: str | None) -> ModuleType:
    """Execute the settings module with the production environment plus ``overrides`` (None
    removes a variable) and return it as a fresh module."""
    for name, value in {**PRODUCTION, **overrides}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("config._settings_under_test", SETTINGS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(args: list[str], **overrides: str | None) -> subprocess.CompletedProcess:
    """Run ``python args`` in the project with the production environment plus ``overrides``."""
    env = {**os.environ}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # manage.py picks config.settings itself
    env.pop("PYTHONSAFEPATH", None)  # `-c` must be able to import from the working directory
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests only; never in deployment
    for name, value in {**PRODUCTION, **overrides}.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


# Reading typed values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "bounds", "message"),
    [
        ("-1", {"min_value": 1, "max_value": 3650}, "LIMIT must be an integer from 1 to 3650, got -1"),
        ("3651", {"min_value": 1, "max_value": 3650}, "LIMIT must be an integer from 1 to 3650, got 3651"),
        ("-5", {"min_value": 0}, "LIMIT must be an integer of at least 0, got -5"),
        ("11", {"max_value": 10}, "LIMIT must be an integer of at most 10, got 11"),
        ("ten", {"min_value": 1}, "LIMIT must be an integer, got 'ten'"),
    ],
)
def test_an_integer_outside_its_bounds_is_refused_naming_the_variable_and_the_range(monkeypatch, raw, bounds, message):
    monkeypatch.setenv("LIMIT", raw)
    with pytest.raises(ImproperlyConfigured) as refused:
        env_int("LIMIT", 5, **bounds)
    assert str(refused.value) == message


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), ("3650", 3650), (None, 90), ("  ", 90)])
def test_an_integer_within_its_bounds_or_unset_is_read(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("LIMIT", raising=False)
    else:
        monkeypatch.setenv("LIMIT", raw)
    assert env_int("LIMIT", 90, min_value=1, max_value=3650) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ("HTTP_X_DEFAULT", "on")),
        ("", None),
        ("X-Forwarded-Proto: https", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("HTTP_X_FORWARDED_PROTO:https", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("X-Forwarded-Ssl: on", ("HTTP_X_FORWARDED_SSL", "on")),
    ],
)
def test_a_header_setting_reads_as_a_request_meta_key_and_value(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("HEADER", raising=False)
    else:
        monkeypatch.setenv("HEADER", raw)
    assert env_header("HEADER", ("HTTP_X_DEFAULT", "on")) == expected


# What DEBUG off refuses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"SECRET_KEY": None}, "SECRET_KEY is not set", id="no secret key"),
        pytest.param({"SECRET_KEY": ""}, "SECRET_KEY is not set", id="empty secret key"),
        pytest.param({"SECRET_KEY": "short"}, "SECRET_KEY is too weak for DEBUG off", id="5-character secret key"),
        pytest.param({"SECRET_KEY": "x" * 49}, "at least 50 characters", id="49-character secret key"),
        pytest.param({"SECRET_KEY": "ab" * 30}, "at least 5 different", id="secret key of two characters"),
        pytest.param(
            {"SECRET_KEY": "insecure-development-key-only-used-with-debug-on"},
            "not the development key",
            id="the development secret key",
        ),
        pytest.param({"LEDGER_KEY": None}, "LEDGER_KEY is not set", id="no ledger key"),
        pytest.param({"LEDGER_KEY": "k" * 31}, "LEDGER_KEY is too weak for DEBUG off", id="31-character ledger key"),
        pytest.param(
            {"LEDGER_KEY": SECRET_KEY}, "neither the development key nor the SECRET_KEY", id="ledger = secret"
        ),
        pytest.param(
            {"SIGNOFF_MAX_AGE_DAYS": "-1"},
            "SIGNOFF_MAX_AGE_DAYS must be an integer from 1 to 3650, got -1",
            id="negative sign-off age",
        ),
        pytest.param(
            {"SIGNOFF_MAX_AGE_DAYS": "3651"},
            "SIGNOFF_MAX_AGE_DAYS must be an integer from 1 to 3650, got 3651",
            id="sign-off age over ten years",
        ),
        pytest.param(
            {"EVIDENCE_MAX_AGE_DAYS": "0"},
            "EVIDENCE_MAX_AGE_DAYS must be an integer from 1 to 3650, got 0",
            id="evidence age of zero",
        ),
        pytest.param(
            {"SEVERITY_P0_MAX_RESPONSE_MINUTES": "0"},
            "SEVERITY_P0_MAX_RESPONSE_MINUTES must be an integer from 1 to 10080, got 0",
            id="P0 limit of zero",
        ),
        pytest.param(
            {"SEVERITY_P1_MAX_RESPONSE_MINUTES": "soon"},
            "SEVERITY_P1_MAX_RESPONSE_MINUTES must be an integer, got 'soon'",
            id="unreadable P1 limit",
        ),
        pytest.param(
            {"SEVERITY_P0_MAX_RESPONSE_MINUTES": "300"},
            "SEVERITY_P0_MAX_RESPONSE_MINUTES must not exceed SEVERITY_P1_MAX_RESPONSE_MINUTES",
            id="P0 limit above P1's",
        ),
        pytest.param(
            {"INTERNAL_MAX_EXPOSURE_PERCENT": "60"},
            "INTERNAL_MAX_EXPOSURE_PERCENT must not exceed BETA_MAX_EXPOSURE_PERCENT",
            id="Internal limit above Beta's",
        ),
        pytest.param(
            {"BETA_MAX_EXPOSURE_PERCENT": "100"},
            "BETA_MAX_EXPOSURE_PERCENT must be an integer from 1 to 99, got 100",
            id="Beta limit of 100",
        ),
        pytest.param(
            {"SECURE_HSTS_SECONDS": "-1"},
            "SECURE_HSTS_SECONDS must be an integer of at least 0, got -1",
            id="negative HSTS",
        ),
        pytest.param(
            {"SECURE_PROXY_SSL_HEADER": "https"},
            "SECURE_PROXY_SSL_HEADER must be 'Header-Name: value'",
            id="proxy header without a value",
        ),
        pytest.param({"DEBUG": "maybe"}, "DEBUG must be a boolean", id="unreadable DEBUG"),
        pytest.param(
            {"TRUSTED_PROXIES": "10.0.0.1, proxy.internal"},
            "TRUSTED_PROXIES must list IP addresses or networks separated by commas, got 'proxy.internal'",
            id="proxy named by host name",
        ),
    ],
)
def test_an_unsafe_or_unreadable_production_setting_is_refused_with_a_clear_message(monkeypatch, overrides, message):
    with pytest.raises(ImproperlyConfigured) as refused:
        settings_with(monkeypatch, **overrides)
    assert message in str(refused.value)
    if "is not set" in message or "too weak" in message:
        assert "secrets.token_urlsafe" in str(refused.value), "says how to generate a key"


def test_a_refused_key_is_never_echoed_back(monkeypatch):
    with pytest.raises(ImproperlyConfigured) as refused:
        settings_with(monkeypatch, SECRET_KEY="hunter2-but-short")
    assert "hunter2" not in str(refused.value)
    assert "got 17 characters" in str(refused.value)


def test_debug_off_enforces_https_with_hsts_and_trusts_the_proxy_header_by_default(monkeypatch):
    settings = settings_with(monkeypatch)
    assert settings.DEBUG is False
    assert settings.SECURE_SSL_REDIRECT is True
    assert settings.SECURE_HSTS_SECONDS == 31_536_000
    assert settings.SECURE_HSTS_INCLUDE_SUBDOMAINS is True
    assert settings.SECURE_HSTS_PRELOAD is True
    assert settings.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
    assert settings.SESSION_COOKIE_SECURE is True
    assert settings.CSRF_COOKIE_SECURE is True
    assert settings.LEDGER_KEY == LEDGER_KEY
    assert settings.SIGNOFF_MAX_AGE_DAYS == 90


def test_each_https_setting_can_be_configured_or_turned_off(monkeypatch):
    settings = settings_with(
        monkeypatch,
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="no",
        SECURE_HSTS_PRELOAD="off",
        SECURE_PROXY_SSL_HEADER="",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
    )
    assert settings.SECURE_SSL_REDIRECT is False
    assert settings.SECURE_HSTS_SECONDS == 3600
    assert settings.SECURE_HSTS_INCLUDE_SUBDOMAINS is False
    assert settings.SECURE_HSTS_PRELOAD is False
    assert settings.SECURE_PROXY_SSL_HEADER is None
    assert settings.SESSION_COOKIE_SECURE is False
    assert settings.CSRF_COOKIE_SECURE is False


def test_the_proxy_header_can_name_another_header(monkeypatch):
    settings = settings_with(monkeypatch, SECURE_PROXY_SSL_HEADER="X-Forwarded-Ssl: on")
    assert settings.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_SSL", "on")


def test_debug_on_without_keys_starts_with_fixed_development_keys_and_no_https_rules(monkeypatch):
    settings = settings_with(monkeypatch, DEBUG="1", SECRET_KEY=None, LEDGER_KEY=None)
    assert settings.DEBUG is True
    assert settings.SECRET_KEY == "insecure-development-key-only-used-with-debug-on"
    assert settings.LEDGER_KEY == "insecure-development-ledger-key-only-used-with-debug-on"
    assert not hasattr(settings, "SECURE_SSL_REDIRECT")


def test_debug_on_uses_a_ledger_key_from_the_environment(monkeypatch):
    settings = settings_with(monkeypatch, DEBUG="1", LEDGER_KEY="local-ledger-key")
    assert settings.LEDGER_KEY == "local-ledger-key"


# What an operator sees ----------------------------------------------------------------------


def test_with_a_weak_secret_key_the_process_refuses_to_start():
    result = run(["manage.py", "check"], SECRET_KEY="12345")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is too weak for DEBUG off" in result.stderr


def test_check_deploy_with_debug_off_and_proper_values_reports_no_issue_at_all():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."
    assert result.stderr == ""


def test_evidence_age_and_severity_limits_default_to_90_days_one_hour_and_four_hours(monkeypatch):
    configured = settings_with(monkeypatch)
    assert configured.EVIDENCE_MAX_AGE_DAYS == 90
    assert configured.SEVERITY_P0_MAX_RESPONSE_MINUTES == 60
    assert configured.SEVERITY_P1_MAX_RESPONSE_MINUTES == 240
    assert (configured.INTERNAL_MAX_EXPOSURE_PERCENT, configured.BETA_MAX_EXPOSURE_PERCENT) == (5, 50)


def test_evidence_age_and_severity_limits_come_from_the_environment(monkeypatch):
    configured = settings_with(
        monkeypatch,
        EVIDENCE_MAX_AGE_DAYS="30",
        SEVERITY_P0_MAX_RESPONSE_MINUTES="15",
        SEVERITY_P1_MAX_RESPONSE_MINUTES="15",
    )
    assert configured.EVIDENCE_MAX_AGE_DAYS == 30
    assert (configured.SEVERITY_P0_MAX_RESPONSE_MINUTES, configured.SEVERITY_P1_MAX_RESPONSE_MINUTES) == (15, 15)


def test_trusted_proxies_read_as_networks_and_default_to_none(monkeypatch):
    import ipaddress

    assert settings_with(monkeypatch, TRUSTED_PROXIES=None).TRUSTED_PROXIES == ()
    configured = settings_with(monkeypatch, TRUSTED_PROXIES="10.0.0.5, 172.16.0.0/12,fd00::/8")
    assert configured.TRUSTED_PROXIES == (
        ipaddress.ip_network("10.0.0.5/32"),
        ipaddress.ip_network("172.16.0.0/12"),
        ipaddress.ip_network("fd00::/8"),
    )
    assert configured.AXES_LOCKOUT_PARAMETERS == ["ip_address"]  # the client, never the account
