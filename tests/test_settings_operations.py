"""What an operator sets for a deployment (issue 21): the site's address, mail, database connections,
logs and error tracking, each refused at start-up, naming the variable, when missing or malformed."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.test_settings import run, settings_with


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"SITE_URL": None}, "SITE_URL is not set", id="no site URL"),
        pytest.param({"SITE_URL": "  "}, "SITE_URL is not set", id="blank site URL"),
        pytest.param({"SITE_URL": "preflight.example.com"}, "SITE_URL must be an http(s) URL", id="no scheme"),
        pytest.param({"SITE_URL": "ftp://preflight.example.com"}, "SITE_URL must be an http(s) URL", id="ftp"),
        pytest.param({"SITE_URL": "https://"}, "SITE_URL must be an http(s) URL", id="no host"),
        pytest.param({"SITE_URL": "https://p.example.com/?a=1"}, "SITE_URL must be an http(s) URL", id="a query"),
        pytest.param({"SITE_URL": "https://p.example.com:https"}, "SITE_URL must be an http(s) URL", id="bad port"),
        pytest.param(
            {"CSRF_TRUSTED_ORIGINS": "preflight.example.com"},
            "CSRF_TRUSTED_ORIGINS must list origins",
            id="origin without scheme",
        ),
        pytest.param(
            {"CSRF_TRUSTED_ORIGINS": "https://a.example.com,https://b.example.com/app"},
            "CSRF_TRUSTED_ORIGINS must list origins such as https://preflight.example.com (scheme and host, "
            "no path), got 'https://b.example.com/app'",
            id="origin with a path",
        ),
        pytest.param({"EMAIL_PORT": "0"}, "EMAIL_PORT must be an integer from 1 to 65535, got 0", id="port 0"),
        pytest.param({"EMAIL_PORT": "smtp"}, "EMAIL_PORT must be an integer, got 'smtp'", id="port by name"),
        pytest.param({"EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "EMAIL_USE_TLS and EMAIL_USE_SSL", id="both"),
        pytest.param({"EMAIL_USE_TLS": "sometimes"}, "EMAIL_USE_TLS must be a boolean", id="TLS unreadable"),
        pytest.param({"EMAIL_USE_SSL": "2"}, "EMAIL_USE_SSL must be a boolean", id="SSL unreadable"),
        pytest.param(
            {"EMAIL_HOST_PASSWORD": "s3cret", "EMAIL_HOST_USER": None},
            "EMAIL_HOST_PASSWORD is set without EMAIL_HOST_USER",
            id="password without user",
        ),
        pytest.param({"EMAIL_TIMEOUT": "0"}, "EMAIL_TIMEOUT must be an integer from 1 to 300, got 0", id="timeout 0"),
        pytest.param(
            {"EMAIL_TIMEOUT": "25", "DATABASE_URL": None},
            "EMAIL_TIMEOUT must be under 20 seconds on SQLite",
            id="timeout over SQLite's",
        ),
        pytest.param(
            {"DEFAULT_FROM_EMAIL": "preflight"},
            "DEFAULT_FROM_EMAIL must be an e-mail address",
            id="from without a domain",
        ),
        pytest.param(
            {"DEFAULT_FROM_EMAIL": "Preflight <pre flight@example.com>"},
            "DEFAULT_FROM_EMAIL must be an e-mail address",
            id="from with a space",
        ),
        pytest.param(
            {"EMAIL_BACKEND": "smtp"}, "EMAIL_BACKEND must be the dotted path of a mail backend class", id="backend"
        ),
        pytest.param(
            {"CELERY_BROKER_URL": "127.0.0.1:6379"},
            "CELERY_BROKER_URL must be a broker URL",
            id="broker without scheme",
        ),
        pytest.param({"CONN_MAX_AGE": "-1"}, "CONN_MAX_AGE must be an integer from 0 to 86400, got -1", id="age"),
        pytest.param({"CONN_HEALTH_CHECKS": "perhaps"}, "CONN_HEALTH_CHECKS must be a boolean", id="health"),
        pytest.param(
            {"DATABASE_URL": "oracle2://db.example.com/preflight"},
            "DATABASE_URL is not a database URL Preflight can use",
            id="unknown database scheme",
        ),
        pytest.param(
            {"LOG_LEVEL": "LOUD"},
            "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'LOUD'",
            id="log level",
        ),
        pytest.param({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be one of json, text, got 'xml'", id="log format"),
        pytest.param({"LOG_STREAM": "file"}, "LOG_STREAM must be one of stdout, stderr, got 'file'", id="log stream"),
        pytest.param({"SENTRY_DSN": "not a dsn"}, "SENTRY_DSN is not a valid DSN", id="sentry DSN"),
        pytest.param(
            {"SENTRY_TRACES_SAMPLE_PERCENT": "150"},
            "SENTRY_TRACES_SAMPLE_PERCENT must be an integer from 0 to 100, got 150",
            id="sentry sample",
        ),
        pytest.param(
            {"OUTBOX_RETENTION_DAYS": "-1"}, "OUTBOX_RETENTION_DAYS must be an integer from 0", id="outbox retention"
        ),
        pytest.param(
            {"LOGIN_ATTEMPT_RETENTION_DAYS": "a month"},
            "LOGIN_ATTEMPT_RETENTION_DAYS must be an integer, got 'a month'",
            id="login retention",
        ),
        pytest.param(
            {"REPORT_PDF_RETENTION_DAYS": "-30"}, "REPORT_PDF_RETENTION_DAYS must be an integer from 0", id="pdfs"
        ),
        pytest.param({"HOUSEKEEPING_HOUR": "24"}, "HOUSEKEEPING_HOUR must be an integer from 0 to 23", id="hour"),
    ],
)
def test_a_missing_or_malformed_operations_setting_is_refused_naming_it(monkeypatch, overrides, message):
    with pytest.raises(ImproperlyConfigured) as refused:
        settings_with(monkeypatch, **overrides)
    assert message in str(refused.value)


def test_a_mail_password_is_never_echoed_back(monkeypatch):
    with pytest.raises(ImproperlyConfigured) as refused:
        settings_with(monkeypatch, EMAIL_HOST_PASSWORD="hunter2-smtp", EMAIL_HOST_USER=None)
    assert "hunter2" not in str(refused.value)


def test_a_production_deployment_reads_its_site_mail_and_connections(monkeypatch):
    configured = settings_with(
        monkeypatch,
        SITE_URL="https://preflight.example.com:8443/",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="587",
        EMAIL_HOST_USER="preflight",
        EMAIL_HOST_PASSWORD="app-password",
        EMAIL_USE_TLS="1",
        EMAIL_TIMEOUT="15",
        DEFAULT_FROM_EMAIL="Preflight <preflight@example.com>",
        DATABASE_URL="postgres://preflight@db.example.com:5432/preflight",
        CONN_MAX_AGE="300",
        CONN_HEALTH_CHECKS="0",
        HOUSEKEEPING_HOUR="4",
    )
    assert configured.SITE_URL == "https://preflight.example.com:8443"
    assert configured.CSRF_TRUSTED_ORIGINS == ["https://preflight.example.com:8443"]
    assert (configured.EMAIL_HOST, configured.EMAIL_PORT) == ("smtp.example.com", 587)
    assert (configured.EMAIL_HOST_USER, configured.EMAIL_HOST_PASSWORD) == ("preflight", "app-password")
    assert (configured.EMAIL_USE_TLS, configured.EMAIL_USE_SSL, configured.EMAIL_TIMEOUT) == (True, False, 15)
    assert configured.DEFAULT_FROM_EMAIL == configured.SERVER_EMAIL == "Preflight <preflight@example.com>"
    database = configured.DATABASES["default"]
    assert (database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"]) == (300, False)
    assert configured.CELERY_BEAT_SCHEDULE["housekeeping"]["schedule"].hour == {4}


def test_the_defaults_need_nothing_and_keep_connections_healthy(monkeypatch):
    production = settings_with(monkeypatch, DATABASE_URL="postgres://preflight@db.example.com/preflight")
    database = production.DATABASES["default"]
    assert (database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"]) == (60, True)
    assert production.CSRF_TRUSTED_ORIGINS == ["https://preflight.example.com"]
    assert (production.EMAIL_PORT, production.EMAIL_USE_TLS, production.EMAIL_USE_SSL) == (25, False, False)
    assert production.SENTRY_DSN == "" and production.SENTRY_ENVIRONMENT == "production"
    assert (production.OUTBOX_RETENTION_DAYS, production.LOGIN_ATTEMPT_RETENTION_DAYS) == (30, 90)
    assert production.REPORT_PDF_RETENTION_DAYS == 90
    development = settings_with(monkeypatch, DEBUG="1", SITE_URL=None, DATABASE_URL=None)
    assert development.SITE_URL == "http://127.0.0.1:8000"
    assert development.DATABASES["default"]["CONN_MAX_AGE"] == 0  # SQLite: a connection per request


def test_explicit_trusted_origins_replace_the_derived_one(monkeypatch):
    configured = settings_with(monkeypatch, CSRF_TRUSTED_ORIGINS="https://a.example.com, http://b.example.com:8080")
    assert configured.CSRF_TRUSTED_ORIGINS == ["https://a.example.com", "http://b.example.com:8080"]


def test_without_site_url_the_process_refuses_to_start_and_says_what_to_set():
    result = run(["manage.py", "check"], SITE_URL=None)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SITE_URL is not set" in result.stderr
    assert "https://preflight.example.com" in result.stderr
