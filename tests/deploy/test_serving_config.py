"""How Preflight is served in production, as configured: gunicorn's settings from the environment,
WhiteNoise's hashed and compressed static files with DEBUG off (the finders with it on), the Celery
task time limits, a report render's inside the stalled-render timeout, and the rendering of a
report from the collected (hashed) static files."""

import os
import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from reports.rendering import BASE_URL, static_path
from tests.test_settings import settings_with

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = PROJECT_ROOT / "gunicorn.conf.py"
GUNICORN_VARIABLES = ("BIND", "PORT", "WEB_CONCURRENCY", "GUNICORN_TIMEOUT", "GUNICORN_GRACEFUL_TIMEOUT")


def gunicorn_config(monkeypatch, **environment: str) -> dict:
    for name in (*GUNICORN_VARIABLES, "GUNICORN_MAX_REQUESTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF))


# gunicorn -----------------------------------------------------------------------------------


def test_gunicorn_by_default_runs_two_workers_per_cpu_and_one_on_port_8000_with_graceful_restarts(monkeypatch):
    config = gunicorn_config(monkeypatch)
    assert config["workers"] == 2 * len(os.sched_getaffinity(0)) + 1
    assert config["bind"] == ["0.0.0.0:8000"]
    assert (config["timeout"], config["graceful_timeout"]) == (30, 30)
    assert (config["max_requests"], config["max_requests_jitter"]) == (1000, 100)
    assert config["accesslog"] is None  # the app writes the access lines (preflight.access), as JSON


def test_gunicorn_reads_workers_port_bind_and_timeouts_from_the_environment(monkeypatch):
    config = gunicorn_config(
        monkeypatch, WEB_CONCURRENCY="3", PORT="18123", GUNICORN_TIMEOUT="45", GUNICORN_MAX_REQUESTS="0"
    )
    assert (config["workers"], config["bind"], config["timeout"]) == (3, ["0.0.0.0:18123"], 45)
    assert (config["max_requests"], config["max_requests_jitter"]) == (0, 0)  # never restarted
    assert gunicorn_config(monkeypatch, BIND="unix:/run/preflight.sock", PORT="9000")["bind"] == [
        "unix:/run/preflight.sock"
    ]


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("WEB_CONCURRENCY", "many", "WEB_CONCURRENCY must be an integer, got 'many'"),
        ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY must be an integer from 1 to 256, got 0"),
        ("PORT", "70000", "PORT must be an integer from 1 to 65535, got 70000"),
        ("GUNICORN_TIMEOUT", "0", "GUNICORN_TIMEOUT must be an integer from 1 to 3600, got 0"),
    ],
)
def test_gunicorn_refuses_a_bad_value_naming_it(monkeypatch, name, raw, message):
    with pytest.raises(ImproperlyConfigured) as refused:
        gunicorn_config(monkeypatch, **{name: raw})
    assert str(refused.value) == message


# Static files -------------------------------------------------------------------------------


def test_with_debug_off_static_files_are_hashed_and_compressed_and_served_only_from_static_root(monkeypatch, tmp_path):
    production = settings_with(monkeypatch, STATIC_ROOT=str(tmp_path))
    assert production.STORAGES["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert production.WHITENOISE_USE_FINDERS is False
    assert production.STATIC_ROOT == tmp_path


def test_with_debug_on_static_files_come_from_the_apps_unhashed(monkeypatch):
    development = settings_with(monkeypatch, DEBUG="1", STATIC_ROOT=None)
    assert development.STORAGES["staticfiles"]["BACKEND"] == "django.contrib.staticfiles.storage.StaticFilesStorage"
    assert development.WHITENOISE_USE_FINDERS is True
    assert development.STATIC_ROOT == PROJECT_ROOT / "staticfiles"


def test_a_report_reads_a_collected_hashed_file_from_static_root_and_nothing_outside_it(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    collected = settings.STATIC_ROOT / "reports" / "report.0123456789ab.css"
    collected.parent.mkdir(parents=True)
    collected.write_text("html { color: black }")
    (tmp_path / "secret.txt").write_text("not a static file")

    assert static_path(f"{BASE_URL}static/reports/report.0123456789ab.css") == collected.resolve()
    assert static_path(f"{BASE_URL}static/reports/report.css") is not None  # the app's own, by the finders
    assert static_path(f"{BASE_URL}static/reports/missing.0123456789ab.css") is None
    assert static_path(f"{BASE_URL}static/../secret.txt") is None
    assert static_path(f"{BASE_URL}static/{tmp_path}/secret.txt") is None  # an absolute path is no escape
    (settings.STATIC_ROOT / "link").symlink_to(tmp_path / "secret.txt")
    assert static_path(f"{BASE_URL}static/link") is None  # nor a link out of it


# Celery time limits --------------------------------------------------------------------------


def test_every_task_has_a_soft_and_a_hard_time_limit_and_a_render_stops_before_it_would_be_sent_again(monkeypatch):
    production = settings_with(monkeypatch, REPORT_RENDER_TIMEOUT_SECONDS="300")
    assert (production.CELERY_TASK_SOFT_TIME_LIMIT, production.CELERY_TASK_TIME_LIMIT) == (600, 660)
    limits = production.CELERY_TASK_ANNOTATIONS["reports.tasks.render_report"]
    assert limits == {"soft_time_limit": 240, "time_limit": 270}
    assert limits["soft_time_limit"] < limits["time_limit"] < production.REPORT_RENDER_TIMEOUT_SECONDS

    tight = settings_with(monkeypatch, REPORT_RENDER_TIMEOUT_SECONDS="5")
    assert tight.CELERY_TASK_ANNOTATIONS["reports.tasks.render_report"] == {"soft_time_limit": 4, "time_limit": 5}


def test_task_time_limits_are_read_from_the_environment_and_a_hard_limit_not_above_the_soft_one_is_refused(
    monkeypatch,
):
    custom = settings_with(monkeypatch, CELERY_TASK_SOFT_TIME_LIMIT="120", CELERY_TASK_TIME_LIMIT="150")
    assert (custom.CELERY_TASK_SOFT_TIME_LIMIT, custom.CELERY_TASK_TIME_LIMIT) == (120, 150)
    with pytest.raises(ImproperlyConfigured, match="CELERY_TASK_TIME_LIMIT must be above CELERY_TASK_SOFT_TIME_LIMIT"):
        settings_with(monkeypatch, CELERY_TASK_SOFT_TIME_LIMIT="120", CELERY_TASK_TIME_LIMIT="120")
    with pytest.raises(ImproperlyConfigured, match="CELERY_TASK_SOFT_TIME_LIMIT must be an integer"):
        settings_with(monkeypatch, CELERY_TASK_SOFT_TIME_LIMIT="ten minutes")


def test_the_project_celery_app_gives_the_render_task_its_own_limits_and_others_the_global_ones(settings):
    import reports.tasks  # noqa: F401 — registers the tasks, as the worker's autodiscovery does
    from config.celery import app

    render = app.tasks["reports.tasks.render_report"]
    assert (render.soft_time_limit, render.time_limit) == (
        settings.REPORT_RENDER_SOFT_TIME_LIMIT,
        settings.REPORT_RENDER_TIME_LIMIT,
    )
    assert render.time_limit < settings.REPORT_RENDER_TIMEOUT_SECONDS
    sweep = app.tasks["reports.tasks.requeue_stalled_reports"]
    assert (sweep.soft_time_limit, sweep.time_limit) == (
        settings.CELERY_TASK_SOFT_TIME_LIMIT,
        settings.CELERY_TASK_TIME_LIMIT,
    )
    assert app.conf.worker_prefetch_multiplier == 1
