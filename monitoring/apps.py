from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class MonitoringConfig(AppConfig):
    """Health probes and Prometheus metrics for the people who run Preflight: an interface beside
    ``web`` that reads every app's rows and changes nothing but its own record of ledger checks."""

    name = "monitoring"
    verbose_name = gettext_lazy("Monitoring")

    def ready(self) -> None:
        # Counts the Celery tasks this process sends (and tries to send) to the broker, and the
        # statements and connections of every database connection it opens.
        from . import celery_signals, database  # noqa: F401
