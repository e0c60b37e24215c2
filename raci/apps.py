from django.apps import AppConfig


class RaciConfig(AppConfig):
    name = "raci"
    verbose_name = "People and responsibilities (RACI)"

    def ready(self) -> None:
        # Registers the RACI checklist items, the template step that creates areas and slots, the
        # access that RACI roles, slots and executive teams grant, and the signals that keep it.
        from readiness.access import register_access_rule, register_portfolio_viewer

        from . import checklist_items, services, signals  # noqa: F401
        from .selectors import is_executive

        register_access_rule(signals.RaciAccess())
        register_portfolio_viewer(is_executive)
