from django.apps import AppConfig


class ReadinessConfig(AppConfig):
    name = "readiness"
    verbose_name = "Launch readiness"

    def ready(self) -> None:
        # Registers the checklist items this app can evaluate from its own facts.
        from . import checklist_items  # noqa: F401
