"""Preflight settings: one module, configured from the environment.

Environment variables:
    DEBUG              "1"/"0" (default "1" so that `make run` works out of the box)
    SECRET_KEY         required when DEBUG is off: at least 50 characters
    LEDGER_KEY         HMAC key of the sign-off ledger; required when DEBUG is off: at least 32 characters
    ALLOWED_HOSTS      comma-separated (default: localhost names when DEBUG is on)
    DATABASE_URL       e.g. postgres://postgres@127.0.0.1:5432/preflight (default: SQLite file)
    CELERY_BROKER_URL  e.g. redis://127.0.0.1:6379/0 (default: tasks run in-process)
    SIGNOFF_MAX_AGE_DAYS  days after which an approval expires, 1–3650 (default 90)
    EVIDENCE_MAX_AGE_DAYS  days after which an evaluation run no longer counts as evidence, 1–3650 (default 90)
    INTERNAL_MAX_EXPOSURE_PERCENT, BETA_MAX_EXPOSURE_PERCENT  the widest Internal and Beta stages,
                       1–99 (defaults 5 and 50; Internal's at most Beta's)
    SEVERITY_P0_MAX_RESPONSE_MINUTES, SEVERITY_P1_MAX_RESPONSE_MINUTES  the slowest response a
                       launch's P0 and P1 may promise, 1–10080 (defaults 60 and 240; P0's at most P1's)
    REPORT_RENDER_TIMEOUT_SECONDS  a report render not finished this long after it started (or was
                       sent) is stalled and sent again (default 300)
    PROMETHEUS_ALLOWED_HOSTS  comma-separated hosts (or host:port) a launch's Prometheus source may
                       name; the server fetches only these (default empty: no Prometheus pulls)
    SLI_UPLOAD_MAX_ROWS  the most SLI values one CSV upload or ``record_sli`` file may hold,
                       1–100000 (default 10000); a bigger file is refused, naming the limit
    EMAIL_BACKEND      Django mail backend (default: files under sent_mail/)
    SLACK_WEBHOOKS     a JSON object mapping a team's name to its Slack incoming-webhook URL, e.g.
                       {"Legal": "https://hooks.slack.com/services/..."} (default: no Slack); the
                       team's members who keep Slack on are told in that channel. Secrets: from
                       the environment only, never in the database or the logs
    REMINDER_HOUR      hour of the day (0–23, in TIME_ZONE) beat runs the daily reminders: overdue
                       sign-offs, escalations, expiry warnings and each person's digest (default 7)
    RECERTIFY_HOUR     hour of the day (0–23, in TIME_ZONE) beat recertifies every launch in a stage
                       (default 6)
    REMINDER_ESCALATION_DAYS  a sign-off overdue this many days is escalated to the Accountable of
                       its area, twice as many to the launch owner's executive, 1–365 (default 2)
    TRUSTED_PROXIES    comma-separated addresses or networks of the reverse proxies in front of the
                       app (e.g. 10.0.0.0/8); only requests from them have their X-Forwarded-For read
                       for the client's address (default empty: the header is ignored)
    SUBMISSION_RETENTION_HOURS  how long a form submission's answer is kept so that sending it again
                       answers the same without acting twice, 1–8760 (default 48)
    DATABASE_RETRY_AFTER_SECONDS  the Retry-After of the 503 answered while the database cannot
                       be reached or is busy, 1–3600 (default 10)
    EXPIRY_WARNING_DAYS  how many days before an approval, waiver, PII audit, rollback rehearsal or
                       runbook review expires its people are warned, 1–365 (default 14)
    With DEBUG off, HTTPS is enforced; each part can be turned off:
    SECURE_SSL_REDIRECT (1), SECURE_HSTS_SECONDS (31536000), SECURE_HSTS_INCLUDE_SUBDOMAINS (1),
    SECURE_HSTS_PRELOAD (1), SECURE_PROXY_SSL_HEADER ("X-Forwarded-Proto: https"; empty: off),
    SESSION_COOKIE_SECURE (1), CSRF_COOKIE_SECURE (1)
"""

import datetime
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_header, env_int, env_list, env_networks, env_str, env_url_map

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
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(_SQLITE_OPTIONS)

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
# Where the site is served, for the absolute links in notification mails.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
LANGUAGES = [("en", "English"), ("ko", "한국어")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves the app's own assets (no CDN): from STATIC_ROOT after `collectstatic`, and
# straight from the apps' static folders when nothing has been collected (development, tests).
WHITENOISE_USE_FINDERS = True

# Audit history: rows are evidence, never a way to roll governance data back.
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS = True

# Celery: with no broker configured, tasks run in-process so one machine needs nothing else.
CELERY_TASK_ALWAYS_EAGER = not env_str("CELERY_BROKER_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "memory://localhost/"
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

# Mail: by default messages are written to files under sent_mail/ so a single machine needs no
# mail server; set EMAIL_BACKEND (and EMAIL_HOST etc.) to send for real.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "sent_mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "preflight@localhost")
# Seconds an SMTP server may take to answer before the attempt fails and is retried later. Without
# it a server that never answers holds the delivering worker, and the message's lock, for ever
# (on SQLite the database's write lock); shorter than SQLite's wait for that lock (20 s).
EMAIL_TIMEOUT = 10
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

# A file the operator keeps outside the database; every ledger append writes "SEQUENCE HASH" to it.
LEDGER_ANCHOR_FILE = env_str("LEDGER_ANCHOR_FILE")

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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# Reports: a render that has not finished this long after it started (or was asked for) is taken
# as lost (a worker died, the broker dropped it); asking again renders it anew.
REPORT_RENDER_TIMEOUT_SECONDS = env_int("REPORT_RENDER_TIMEOUT_SECONDS", 300, min_value=1)
# For tests only: a render sleeps this long after committing its start, so the worker-kill test
# (tests/integration/test_report_worker.py) can kill a worker in the middle of one. Never set it.
REPORT_RENDER_TEST_PAUSE_SECONDS = env_int("REPORT_RENDER_TEST_PAUSE_SECONDS", 0, min_value=0, max_value=600)

# Faults (issue 21, point 6): a submission's answer is kept this long, so that a form sent again
# (or an API call retried with its Idempotency-Key) answers the same without acting twice
# (web.idempotency); and the Retry-After of the 503 answered while the database is down or busy
# (web.busy).
SUBMISSION_RETENTION_HOURS = env_int("SUBMISSION_RETENTION_HOURS", 48, min_value=1, max_value=8760)
DATABASE_RETRY_AFTER_SECONDS = env_int("DATABASE_RETRY_AFTER_SECONDS", 10, min_value=1, max_value=3600)
