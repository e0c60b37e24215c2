from django.apps import AppConfig


class RaciConfig(AppConfig):
    name = "raci"
    verbose_name = "People and responsibilities (RACI)"

    def ready(self) -> None:
        # Registers the RACI checklist items and the template step that creates areas and slots.
        from . import checks, services  # noqa: F401
