from django.apps import AppConfig


class ReadinessConfig(AppConfig):
    name = "readiness"
    verbose_name = "Launch readiness"

    def ready(self) -> None:
        # Registers the checklist items this app can evaluate from its own facts, and the signal
        # that keeps the owner's grants on a launch.
        from . import checklist_items, signals  # noqa: F401
