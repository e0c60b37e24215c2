from django.apps import AppConfig


class RaciConfig(AppConfig):
    name = "raci"
    verbose_name = "People and responsibilities (RACI)"

    def ready(self) -> None:
        # Registers the RACI checklist items, the template step that creates areas and slots, and
        # the signals that let stakeholders view their launches.
        from . import checklist_items, services, signals  # noqa: F401
