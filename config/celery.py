import os

from celery import Celery
from celery.signals import setup_logging, worker_process_init, worker_ready

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


@worker_process_init.connect  # each process of a prefork pool, as it starts
@worker_ready.connect  # a solo pool's one process
def load_the_report_renderer(**_kwargs) -> None:
    """Import the PDF renderer (WeasyPrint, its fonts, the report templates' code) when a worker
    starts, not inside the first report's render: a second or two a process, taken off the
    first PDF each worker makes (issue 21, point 7)."""
    import reports.documents  # noqa: F401
    import reports.rendering  # noqa: F401
