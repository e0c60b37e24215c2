"""The load settings (issue 21, point 7): PAGE_CACHE_SECONDS, PAGE_CACHE_URL and REPORTS_QUEUE,
read from the environment with their defaults, and refused at start when malformed."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.test_settings import settings_with

LOAD = {"PAGE_CACHE_SECONDS": None, "PAGE_CACHE_URL": None, "REPORTS_QUEUE": None}


def test_pages_are_kept_30_seconds_in_each_process_in_production_and_never_in_development(monkeypatch):
    production = settings_with(monkeypatch, **LOAD)
    assert production.PAGE_CACHE_SECONDS == 30
    assert production.CACHES["pages"]["BACKEND"].endswith("LocMemCache")
    assert settings_with(monkeypatch, DEBUG="1", **LOAD).PAGE_CACHE_SECONDS == 0


def test_a_redis_url_shares_the_kept_pages(monkeypatch):
    module = settings_with(monkeypatch, **{**LOAD, "PAGE_CACHE_URL": "redis://127.0.0.1:6379/2"})
    assert module.CACHES["pages"]["BACKEND"].endswith("RedisCache")
    assert module.CACHES["pages"]["LOCATION"] == "redis://127.0.0.1:6379/2"
    assert module.CACHES["default"]["BACKEND"].endswith("LocMemCache")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PAGE_CACHE_URL", "memcached://127.0.0.1:11211", "PAGE_CACHE_URL must be a redis://"),
        ("PAGE_CACHE_SECONDS", "-1", "PAGE_CACHE_SECONDS must be an integer from 0 to 3600"),
        ("PAGE_CACHE_SECONDS", "soon", "PAGE_CACHE_SECONDS must be an integer"),
    ],
)
def test_a_malformed_load_setting_stops_the_start(monkeypatch, name, value, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        settings_with(monkeypatch, **{**LOAD, name: value})


def test_report_renders_have_a_queue_of_their_own_only_when_named(monkeypatch):
    default = settings_with(monkeypatch, **LOAD)
    assert "reports.tasks.render_report" not in getattr(default, "CELERY_TASK_ROUTES", {})
    named = settings_with(monkeypatch, **{**LOAD, "REPORTS_QUEUE": "reports"})
    assert named.CELERY_TASK_ROUTES["reports.tasks.render_report"] == {"queue": "reports"}
    assert set(named.CELERY_TASK_QUEUES) == {"celery", "reports"}  # a worker without -Q takes both
