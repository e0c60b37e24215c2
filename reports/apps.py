from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = gettext_lazy("Readiness reports")

    def ready(self) -> None:
        # The notice that a report is ready (notifications.events).
        from . import notices  # noqa: F401
