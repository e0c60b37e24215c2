import os

from celery import Celery
from celery.signals import setup_logging

from .logs import connect_celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("preflight")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task lines carry the task's id and name (config.logs).
connect_celery()


@setup_logging.connect(weak=False)
def _keep_django_logging(**kwargs) -> None:
    """A worker or beat logs as the web does (settings.LOGGING, applied by django.setup()):
    connecting this signal stops Celery from installing its own handlers and format."""
