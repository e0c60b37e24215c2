from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """What happens after a stage is entered: incidents, SLI actuals, failure reviews, rollbacks
    that happened and recertification. Depends on raci and readiness, never on approvals."""

    name = "operations"
    verbose_name = "Operations after launch"

    def ready(self) -> None:
        # Registers checklist item 15, "operating within SLOs".
        from . import checklist_items  # noqa: F401
