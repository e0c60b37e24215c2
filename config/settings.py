"""Preflight settings: one module, configured from the environment.

Every environment variable read here is listed, with its default, when it is required and what it
means, in ONE table: docs/configuration.md (tests/test_configuration_doc.py fails when a variable
read here is missing from it). A missing or malformed value stops the start with an
ImproperlyConfigured naming the variable. Nothing is needed for development: DEBUG defaults on,
with SQLite, tasks in-process and mail written to files.
"""

import datetime
import ipaddress
import re
import socket
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

from .env import (
    env_anchor_sinks,
    env_bool,
    env_choice,
    env_email,
    env_header,
    env_http_url,
    env_int,
    env_list,
    env_networks,
    env_server_id,
    env_str,
    env_url_map,
)
from .logs import LOG_FORMATS, LOG_LEVELS, LOG_STREAMS, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=True)

_DEVELOPMENT_SECRET_KEY = "insecure-development-key-only-used-with-debug-on"
_KEY_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"

SECRET_KEY = env_str("SECRET_KEY")
if not DEBUG:
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off Preflight refuses to start without a secret key: "
            f"export SECRET_KEY to a long random value (e.g. {_KEY_HINT})."
        )
    # The same rule as Django's deploy check (security.W009), enforced instead of merely reported.
    if (
        len(SECRET_KEY) < 50
        or len(set(SECRET_KEY)) < 5
        or SECRET_KEY == _DEVELOPMENT_SECRET_KEY
        or SECRET_KEY.startswith("django-insecure-")
    ):
        raise ImproperlyConfigured(
            "SECRET_KEY is too weak for DEBUG off: it must be at least 50 characters with at least 5 different "
            f"ones, and not the development key (got {len(SECRET_KEY)} characters). Generate one with {_KEY_HINT}."
        )
elif not SECRET_KEY:
    SECRET_KEY = _DEVELOPMENT_SECRET_KEY

# HMAC key chaining the sign-off ledger. Kept apart from SECRET_KEY so that rotating the session
# secret does not break the chain, and so that whoever can rewrite the database still needs it.
_DEVELOPMENT_LEDGER_KEY = "insecure-development-ledger-key-only-used-with-debug-on"
LEDGER_KEY = env_str("LEDGER_KEY")
if not DEBUG:
    if not LEDGER_KEY:
        raise ImproperlyConfigured(
            "LEDGER_KEY is not set. With DEBUG off Preflight refuses to start without the sign-off ledger's HMAC "
            f"key: export LEDGER_KEY to a random value of at least 32 characters (e.g. {_KEY_HINT}) and keep it "
            "safe: the ledger verifies only with the key it was written with."
        )
    if len(LEDGER_KEY) < 32 or LEDGER_KEY in (_DEVELOPMENT_LEDGER_KEY, SECRET_KEY):
        raise ImproperlyConfigured(
            "LEDGER_KEY is too weak for DEBUG off: it must be at least 32 characters, and neither the development "
            f"key nor the SECRET_KEY (got {len(LEDGER_KEY)} characters). Generate one with {_KEY_HINT}."
        )
elif not LEDGER_KEY:
    LEDGER_KEY = _DEVELOPMENT_LEDGER_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "guardian",
    "simple_history",
    "django_htmx",
    "django_filters",
    "axes",
    "readiness",
    "ledger",
    "raci",
    "notifications",
    "approvals",
    "operations",
    "reports",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # A signed-in person's chosen language wins over the cookie and the browser (web.language).
    "web.language.UserLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A resubmitted form (or a retried call with an Idempotency-Key) answers as the first did and
    # records once; the whole keyed POST is one transaction (web.idempotency).
    "web.idempotency.IdempotencyMiddleware",
    # A write that gave up waiting for SQLite's lock answers 503 "try again", not 500.
    "web.busy.DatabaseBusyMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.notifications.header_counts",
            ],
            # {% submission_field %} in every POST form, without a {% load %} (web.idempotency).
            "builtins": ["web.templatetags.submission"],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

_SQLITE_OPTIONS = {
    # Concurrent writers wait instead of failing with "database is locked": every write holds the
    # lock well under this (the largest, a 10,000-row SLI upload, about a second; scripts/
    # bench_sli_upload.py); one that still times out answers 503 "try again" (web.busy).
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL;",
}
# Database connections are kept CONN_MAX_AGE seconds (0: one per request), and checked before
# reuse (CONN_HEALTH_CHECKS) so a connection PostgreSQL closed meanwhile is replaced, not an error.
CONN_MAX_AGE = env_int("CONN_MAX_AGE", 60, min_value=0, max_value=86_400)
CONN_HEALTH_CHECKS = env_bool("CONN_HEALTH_CHECKS", True)
try:
    DATABASES = {
        "default": dj_database_url.config(
            env="DATABASE_URL",
            default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
            conn_max_age=CONN_MAX_AGE,
            conn_health_checks=CONN_HEALTH_CHECKS,
        )
    }
except ValueError as error:  # an unknown scheme
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL Preflight can use: {error}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(_SQLITE_OPTIONS)
else:
    # A database host that drops packets (powered off, a failover to a dead address) must fail a
    # connect within seconds: the request then answers 503 with Retry-After (web.busy), instead of
    # holding a gunicorn worker past its timeout (a 502 from the proxy) until every worker is stuck.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5, min_value=1, max_value=300)
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a sign-in while its username and address are locked out after failures.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# guardian would otherwise create a database user called "AnonymousUser" whose is_anonymous is False.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:sign-in"
LOGIN_REDIRECT_URL = "web:portfolio"
LOGOUT_REDIRECT_URL = "web:sign-in"

# Repeated failed sign-ins (django-axes): after AXES_FAILURE_LIMIT failures from one client address
# that address is refused for AXES_COOLOFF_TIME; a successful sign-in resets the count. The client,
# never the account: keyed on a username, anyone could keep any person locked out. Behind a proxy
# the client's address comes from X-Forwarded-For, read only on requests from TRUSTED_PROXIES
# (config/client_ip.py); without them the header is ignored.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, min_value=1, max_value=100)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, min_value=1, max_value=1440))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ko", "한국어")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# WhiteNoise serves the app's own assets (no CDN); how, and where they are collected to, is set
# under "Serving" at the end.

# Audit history: rows are evidence, never a way to roll governance data back.
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS = True

# Celery: with no broker configured, tasks run in-process so one machine needs nothing else.
CELERY_TASK_ALWAYS_EAGER = not env_str("CELERY_BROKER_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "memory://localhost/"
if "://" not in CELERY_BROKER_URL:
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL must be a broker URL such as redis://127.0.0.1:6379/0 or amqp://host (or unset to run "
        "tasks in-process)"
    )
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Beat reads crontab schedules in this zone: the daily reminders run at REMINDER_HOUR site time.
CELERY_TIMEZONE = TIME_ZONE
REMINDER_HOUR = env_int("REMINDER_HOUR", 7, min_value=0, max_value=23)
# Hour of the day (site time) beat recertifies every launch in a stage; before the reminders, so
# an owner reads the lapse the same morning.
RECERTIFY_HOUR = env_int("RECERTIFY_HOUR", 6, min_value=0, max_value=23)
# Run by `celery -A config beat` (exactly one): mail the outbox still holds, e.g. because the broker
# was down when a request was saved. Without a broker nothing schedules: run
# `manage.py deliver_notifications` from cron instead.
CELERY_BEAT_SCHEDULE = {
    # Checks decay with time (approvals expire, evidence ages): the stored readiness the portfolio
    # reads is recomputed hourly, so it is never older than a day even when nothing changes.
    "refresh-evaluations": {
        "task": "readiness.tasks.refresh_launch_evaluations",
        "schedule": 3600.0,
        "options": {"expires": 3500},
    },
    "deliver-notifications": {
        "task": "notifications.tasks.deliver_notifications",
        "schedule": 60.0,
        "options": {"expires": 55},  # a tick no worker took in time is dropped, not piled up
    },
    # A report whose worker died mid-render (or whose task the broker lost) is sent to render again
    # once REPORT_RENDER_TIMEOUT_SECONDS have passed; without a broker, renders run in-process.
    # Each launch's daily SLI values from its Prometheus source (operations): the days still
    # missing, up to yesterday. Without a broker, run `manage.py pull_sli` from cron instead.
    "pull-sli-actuals": {
        "task": "operations.tasks.pull_sli_actuals",
        "schedule": 86400.0,
        "options": {"expires": 3600},
    },
    "requeue-stalled-reports": {
        "task": "reports.tasks.requeue_stalled_reports",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # An approval made stale by a change is news while it can still be re-decided: checked often.
    "stale-approval-notices": {
        "task": "approvals.tasks.send_stale_notices",
        "schedule": 15 * 60.0,
        "options": {"expires": 14 * 60},
    },
    # Once a day: overdue sign-offs and their escalation, expiry warnings, each person's digest.
    # Missing a day is harmless: the next run finds what is still due (each notice is sent once).
    "daily-reminders": {
        "task": "approvals.tasks.send_daily_reminders",
        "schedule": crontab(hour=REMINDER_HOUR, minute=0),
        "options": {"expires": 6 * 3600},
    },
    # Once a day: does the stage each launch is in still hold (approvals.recertification)?
    # Missing a day is harmless: the next run finds what changed, and runs twice record nothing new.
    "recertify-launches": {
        "task": "approvals.tasks.recertify_launches",
        "schedule": crontab(hour=RECERTIFY_HOUR, minute=30),
        "options": {"expires": 6 * 3600},
    },
}

# Prometheus sources (operations): the URL is chosen by a launch's owner and fetched by the server,
# so only these hosts are ever asked (SSRF); requests time out quickly, never follow redirects and
# read at most PROMETHEUS_MAX_RESPONSE_BYTES.
PROMETHEUS_ALLOWED_HOSTS = env_list("PROMETHEUS_ALLOWED_HOSTS", [])
PROMETHEUS_TIMEOUT_SECONDS = 5
PROMETHEUS_MAX_RESPONSE_BYTES = 1_000_000
# How many days back a pull fills in missing values.
PROMETHEUS_BACKFILL_DAYS = 31
# The most values one SLI CSV (upload or ``record_sli``) may hold: all are validated before the
# write, which then holds the database for about a second per 10,000 rows.
SLI_UPLOAD_MAX_ROWS = env_int("SLI_UPLOAD_MAX_ROWS", 10_000, min_value=1, max_value=100_000)

# Slack: one incoming webhook per team (by the team's name), from the environment only (secrets).
SLACK_WEBHOOKS = env_url_map("SLACK_WEBHOOKS")
SLACK_TIMEOUT_SECONDS = 5

# Governance settings.
# Chasing (approvals.reminders): when an overdue sign-off is escalated, how early expiries are announced.
REMINDER_ESCALATION_DAYS = env_int("REMINDER_ESCALATION_DAYS", 2, min_value=1, max_value=365)
EXPIRY_WARNING_DAYS = env_int("EXPIRY_WARNING_DAYS", 14, min_value=1, max_value=365)
SIGNOFF_MAX_AGE_DAYS = env_int("SIGNOFF_MAX_AGE_DAYS", 90, min_value=1, max_value=3650)
# An evaluation run older than this (by its run date) no longer counts as evidence (item 12).
EVIDENCE_MAX_AGE_DAYS = env_int("EVIDENCE_MAX_AGE_DAYS", 90, min_value=1, max_value=3650)
# The slowest response a launch's severity policy may promise for P0 and P1 (item 4), in minutes.
SEVERITY_P0_MAX_RESPONSE_MINUTES = env_int("SEVERITY_P0_MAX_RESPONSE_MINUTES", 60, min_value=1, max_value=10080)
SEVERITY_P1_MAX_RESPONSE_MINUTES = env_int("SEVERITY_P1_MAX_RESPONSE_MINUTES", 240, min_value=1, max_value=10080)
if SEVERITY_P0_MAX_RESPONSE_MINUTES > SEVERITY_P1_MAX_RESPONSE_MINUTES:
    raise ImproperlyConfigured(
        "SEVERITY_P0_MAX_RESPONSE_MINUTES must not exceed SEVERITY_P1_MAX_RESPONSE_MINUTES: a P0 is answered no "
        f"slower than a P1 (got {SEVERITY_P0_MAX_RESPONSE_MINUTES} and {SEVERITY_P1_MAX_RESPONSE_MINUTES})."
    )

# The widest exposure a stage of each kind may have (percent of users): a wider Internal stage is
# really a Beta, a wider Beta really a Full. A custom stage wider than a limit is gated at least as
# the kind above it.
INTERNAL_MAX_EXPOSURE_PERCENT = env_int("INTERNAL_MAX_EXPOSURE_PERCENT", 5, min_value=1, max_value=99)
BETA_MAX_EXPOSURE_PERCENT = env_int("BETA_MAX_EXPOSURE_PERCENT", 50, min_value=1, max_value=99)
if INTERNAL_MAX_EXPOSURE_PERCENT > BETA_MAX_EXPOSURE_PERCENT:
    raise ImproperlyConfigured(
        "INTERNAL_MAX_EXPOSURE_PERCENT must not exceed BETA_MAX_EXPOSURE_PERCENT "
        f"(got {INTERNAL_MAX_EXPOSURE_PERCENT} and {BETA_MAX_EXPOSURE_PERCENT})."
    )

# Facts dated after now (evaluation runs, agreements, audits, rehearsals, reviews, decisions) are
# refused, allowing for this much clock skew between machines; dates get a day, for time zones.
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
FUTURE_TOLERANCE_DAYS = 1

# --- Ledger anchor (issue 21; ledger/anchors.py, docs/ledger-anchor.md) ---------------------------
# After every commit that appended to the ledger, the head is copied to each sink listed here,
# outside the database; `verify_ledger --anchors` merges them. Logged by default in production
# (the log pipeline keeps it), nothing by default in development.
LEDGER_ANCHOR = env_anchor_sinks("LEDGER_ANCHOR", "" if DEBUG else "log")
# The earlier single-file setting: still honoured, as one more `file:` sink.
LEDGER_ANCHOR_FILE = env_str("LEDGER_ANCHOR_FILE")
# This server's name in anchor file names (`{server}`) and records; the host name by default.
SERVER_ID = env_server_id("SERVER_ID", re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:63] or "server")
# An S3-compatible endpoint (MinIO, Ceph, ...) for `s3://` sinks; empty: AWS (or AWS_ENDPOINT_URL_S3).
# Credentials and region come from boto3's usual places (AWS_ACCESS_KEY_ID, an instance role, ...).
LEDGER_ANCHOR_S3_ENDPOINT_URL = env_http_url("LEDGER_ANCHOR_S3_ENDPOINT_URL")
# Every minute: the head written to every sink if a write after a commit failed (or never ran);
# the newest head covers every entry before it. Without a broker, cron `anchor_ledger_head`.
CELERY_BEAT_SCHEDULE["anchor-ledger-head"] = {
    "task": "ledger.tasks.anchor_ledger_head",
    "schedule": 60.0,
    "options": {"expires": 55},
}

if not DEBUG:
    # HTTPS only, on by default; behind a TLS-terminating proxy that sets X-Forwarded-Proto (and
    # strips it from client requests). Set SECURE_PROXY_SSL_HEADER empty when not behind one.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, min_value=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = env_header("SECURE_PROXY_SSL_HEADER", ("HTTP_X_FORWARDED_PROTO", "https"))
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)

# Monitoring (monitoring/, docs/monitoring.md): /healthz, /readyz and /metrics are answered by the
# first middleware, before sessions, languages, the host check and the HTTPS redirect; request and
# database figures under django-prometheus' names (its middleware pair; monitoring.database counts
# statements without changing the database ENGINE).
INSTALLED_APPS += ["monitoring"]
MIDDLEWARE = [
    "monitoring.middleware.ProbeMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    *MIDDLEWARE,
]
# Counted just inside django-axes, which stays last.
MIDDLEWARE.insert(
    MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "django_prometheus.middleware.PrometheusAfterMiddleware"
)
METRICS_ALLOWED_IPS = (
    env_networks("METRICS_ALLOWED_IPS")
    if env_list("METRICS_ALLOWED_IPS", None) is not None
    else (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))  # unset: loopback only
)
METRICS_TOKEN = env_str("METRICS_TOKEN")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured(
        f"METRICS_TOKEN must be at least 32 characters (got {len(METRICS_TOKEN)}); generate one with {_KEY_HINT}."
    )
READYZ_MAX_OUTBOX_BACKLOG = env_int("READYZ_MAX_OUTBOX_BACKLOG", 1000, min_value=0, max_value=10_000_000)
# How long /readyz and a scrape wait for the broker before calling it down.
READYZ_BROKER_TIMEOUT_SECONDS = 2
LEDGER_VERIFY_INTERVAL_MINUTES = env_int("LEDGER_VERIFY_INTERVAL_MINUTES", 60, min_value=1, max_value=10080)
CELERY_BEAT_SCHEDULE["verify-ledger"] = {
    "task": "monitoring.tasks.verify_ledger",
    "schedule": LEDGER_VERIFY_INTERVAL_MINUTES * 60.0,
    "options": {"expires": LEDGER_VERIFY_INTERVAL_MINUTES * 60.0 - 5},
}

# Reports: a render that has not finished this long after it started (or was asked for) is taken
# as lost (a worker died, the broker dropped it); asking again renders it anew.
REPORT_RENDER_TIMEOUT_SECONDS = env_int("REPORT_RENDER_TIMEOUT_SECONDS", 300, min_value=1)
# For tests only: a render sleeps this long after committing its start, so the worker-kill test
# (tests/integration/test_report_worker.py) can kill a worker in the middle of one. Never set it.
REPORT_RENDER_TEST_PAUSE_SECONDS = env_int("REPORT_RENDER_TEST_PAUSE_SECONDS", 0, min_value=0, max_value=600)

# Serving (gunicorn, WhiteNoise, Celery workers): how bin/start runs Preflight in production;
# docs/deploy.md. With DEBUG off, static files are served from STATIC_ROOT, filled by
# `collectstatic` (bin/start web does it): each under a name carrying its content's hash, with
# gzip and Brotli copies, and WhiteNoise sends those hashed names with a year-long immutable
# Cache-Control. With DEBUG on (`make run`, the tests) they come straight from the apps' folders.
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
WHITENOISE_USE_FINDERS = DEBUG
# The reports' TrueType fonts are not compressed: only WeasyPrint reads them, from disk, and
# compressing their 4 MB (with gzip and Brotli) took three quarters of collectstatic's time.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "ttf")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Every task is bounded: told to stop (SoftTimeLimitExceeded, which it may catch and record) after
# the soft limit, killed after the hard one. Limits need the prefork pool (bin/start worker's).
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 600, min_value=1, max_value=86_400)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 660, min_value=2, max_value=86_400)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_TASK_TIME_LIMIT must be above CELERY_TASK_SOFT_TIME_LIMIT, so a task told to stop has time to "
        f"record why (got {CELERY_TASK_TIME_LIMIT} and {CELERY_TASK_SOFT_TIME_LIMIT})."
    )
# A render is stopped (and recorded failed) well before the stalled-report sweep would send it
# again at REPORT_RENDER_TIMEOUT_SECONDS, and killed before that too: one report never renders twice at once.
REPORT_RENDER_SOFT_TIME_LIMIT = max(1, REPORT_RENDER_TIMEOUT_SECONDS * 8 // 10)
REPORT_RENDER_TIME_LIMIT = max(REPORT_RENDER_SOFT_TIME_LIMIT + 1, REPORT_RENDER_TIMEOUT_SECONDS * 9 // 10)
CELERY_TASK_ANNOTATIONS = {
    "reports.tasks.render_report": {
        "soft_time_limit": REPORT_RENDER_SOFT_TIME_LIMIT,
        "time_limit": REPORT_RENDER_TIME_LIMIT,
    }
}
# Tasks are acknowledged late (after they ran): a worker takes one at a time, so a long render does
# not hold others back in its prefetch; a process is replaced after 200 tasks (WeasyPrint's memory).
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_MAX_TASKS_PER_CHILD = 200

# --- Operations (issue 21): site, mail, logs, error tracking, housekeeping ---------------------
# Each is read from the environment and refused at start-up when missing or malformed; all are in
# docs/configuration.md.

# Where people reach the site, for the absolute links in mail and chat; the origin CSRF trusts.
SITE_URL = env_http_url("SITE_URL", "http://127.0.0.1:8000" if DEBUG else "")
if not SITE_URL:
    raise ImproperlyConfigured(
        "SITE_URL is not set. With DEBUG off Preflight needs the address people reach it at, for the links in "
        "its mail: export SITE_URL, e.g. https://preflight.example.com."
    )


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# Behind a proxy that rewrites the Host or the scheme, Django's CSRF check compares the browser's
# Origin with these (scheme://host[:port]); by default the site's own origin.
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [_origin(SITE_URL)])
for _trusted in CSRF_TRUSTED_ORIGINS:
    if not _trusted.startswith(("http://", "https://")) or _origin(_trusted) != _trusted.rstrip("/"):
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS must list origins such as https://preflight.example.com (scheme and host, "
            f"no path), got {_trusted!r}"
        )

# Mail: by default messages are written to files under sent_mail/ so a single machine needs no
# mail server; set EMAIL_BACKEND to django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST etc.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
if not all(part.isidentifier() for part in EMAIL_BACKEND.split(".")) or "." not in EMAIL_BACKEND:
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND must be the dotted path of a mail backend class, e.g. "
        f"django.core.mail.backends.smtp.EmailBackend, got {EMAIL_BACKEND!r}"
    )
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "sent_mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, min_value=1, max_value=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
if EMAIL_HOST_PASSWORD and not EMAIL_HOST_USER:
    raise ImproperlyConfigured("EMAIL_HOST_PASSWORD is set without EMAIL_HOST_USER: set both, or neither.")
# STARTTLS (usually port 587) or TLS from the first byte (usually 465): one or the other.
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "EMAIL_USE_TLS and EMAIL_USE_SSL are both on: use EMAIL_USE_TLS for STARTTLS (usually port 587) or "
        "EMAIL_USE_SSL for implicit TLS (usually port 465), not both."
    )
# Seconds an SMTP server may take to answer before the attempt fails and is retried later. Without
# it a server that never answers holds the delivering worker, and the message's lock, for ever
# (on SQLite the database's write lock, so there it must be shorter than SQLite's wait, 20 s).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, min_value=1, max_value=300)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and EMAIL_TIMEOUT >= _SQLITE_OPTIONS["timeout"]:
    raise ImproperlyConfigured(
        f"EMAIL_TIMEOUT must be under {_SQLITE_OPTIONS['timeout']} seconds on SQLite (its wait for the write "
        f"lock a delivery holds), got {EMAIL_TIMEOUT}"
    )
DEFAULT_FROM_EMAIL = env_email("DEFAULT_FROM_EMAIL", "preflight@localhost")
# Django's own mail (errors to ADMINS, none by default) comes from the same address.
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Logs: one line per record to stdout, JSON with DEBUG off (for a log pipeline), text with it on;
# every line of a request carries its id, the person and the launch, every task line the task's id
# and name (config/logs.py). INFO in production, so the access lines are written (the ledger's
# anchor line, with LEDGER_ANCHOR=log, is written at any level: ledger/anchors.py).
LOG_FORMAT = env_choice("LOG_FORMAT", LOG_FORMATS, "text" if DEBUG else "json")
LOG_LEVEL = env_choice("LOG_LEVEL", LOG_LEVELS, "WARNING" if DEBUG else "INFO", upper=True)
# Management commands set stderr (manage.py), so their own output stays readable by scripts.
LOG_STREAM = env_choice("LOG_STREAM", LOG_STREAMS, "stdout")
LOGGING = logging_config(level=LOG_LEVEL, log_format=LOG_FORMAT, stream=LOG_STREAM)
# Right after the probes (which answer before it, so load balancers' checks write no access line).
MIDDLEWARE.insert(MIDDLEWARE.index("monitoring.middleware.ProbeMiddleware") + 1, "config.logs.RequestContextMiddleware")
# Celery keeps the logging configured here (config.celery connects its setup_logging signal).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Error tracking (optional): with SENTRY_DSN set, unhandled errors of requests and tasks are sent
# to Sentry (or a compatible service), without personal data (send_default_pii off).
SENTRY_DSN = env_str("SENTRY_DSN").strip()
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production")
SENTRY_RELEASE = env_str("SENTRY_RELEASE")
SENTRY_TRACES_SAMPLE_RATE = env_int("SENTRY_TRACES_SAMPLE_PERCENT", 0, min_value=0, max_value=100) / 100
if SENTRY_DSN:
    from .sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=SENTRY_RELEASE or None,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )

# Housekeeping (web.housekeeping; `manage.py housekeeping`, or beat daily at HOUSEKEEPING_HOUR):
# what is deleted after how many days. 0 keeps it for ever. Expired sessions always go.
HOUSEKEEPING_HOUR = env_int("HOUSEKEEPING_HOUR", 3, min_value=0, max_value=23)
LOGIN_ATTEMPT_RETENTION_DAYS = env_int("LOGIN_ATTEMPT_RETENTION_DAYS", 90, min_value=0, max_value=36_500)
OUTBOX_RETENTION_DAYS = env_int("OUTBOX_RETENTION_DAYS", 30, min_value=0, max_value=36_500)
REPORT_PDF_RETENTION_DAYS = env_int("REPORT_PDF_RETENTION_DAYS", 90, min_value=0, max_value=36_500)
CELERY_BEAT_SCHEDULE["housekeeping"] = {
    "task": "web.tasks.housekeeping",
    "schedule": crontab(hour=HOUSEKEEPING_HOUR, minute=15),
    "options": {"expires": 6 * 3600},
}

# Load (issue 21, point 7; docs/performance.md, "Load"). The portfolio, launch pages and My
# sign-offs are kept PAGE_CACHE_SECONDS per person and served again while the ledger, the stored
# evaluations and the header's counts are unchanged (web/page_cache.py); 0 turns it off.
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 0 if DEBUG else 30, min_value=0, max_value=3600)
CACHES = globals().get("CACHES") or {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PAGE_CACHE_URL = env_str("PAGE_CACHE_URL")
if PAGE_CACHE_URL and not PAGE_CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"PAGE_CACHE_URL must be a redis://, rediss:// or unix:// URL (got {PAGE_CACHE_URL!r}).")
CACHES["pages"] = (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": PAGE_CACHE_URL, "KEY_PREFIX": "preflight"}
    if PAGE_CACHE_URL
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "preflight-pages",
        "OPTIONS": {"MAX_ENTRIES": 500},
    }
)
# REPORTS_QUEUE: report renders go to a queue of their own, so a PDF never waits behind the
# post-commit refreshes and notifications a busy site sends; a worker started without -Q consumes
# both queues, and a worker of its own for reports is `celery -A config worker -Q reports`.
REPORTS_QUEUE = env_str("REPORTS_QUEUE")
if REPORTS_QUEUE:
    CELERY_TASK_QUEUES = {"celery": {}, REPORTS_QUEUE: {}}
    CELERY_TASK_ROUTES = {
        **globals().get("CELERY_TASK_ROUTES", {}),
        "reports.tasks.render_report": {"queue": REPORTS_QUEUE},
    }

# Faults (issue 21, point 6): a submission's answer is kept this long, so that a form sent again
# (or an API call retried with its Idempotency-Key) answers the same without acting twice
# (web.idempotency); and the Retry-After of the 503 answered while the database is down or busy
# (web.busy).
SUBMISSION_RETENTION_HOURS = env_int("SUBMISSION_RETENTION_HOURS", 48, min_value=1, max_value=8760)
DATABASE_RETRY_AFTER_SECONDS = env_int("DATABASE_RETRY_AFTER_SECONDS", 10, min_value=1, max_value=3600)
