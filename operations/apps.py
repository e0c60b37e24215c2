from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """What happens after a stage is entered: incidents, SLI actuals, failure reviews, rollbacks
    that happened and recertification. Depends on notifications, raci and readiness, never on
    approvals."""

    name = "operations"
    verbose_name = "Operations after launch"

    def ready(self) -> None:
        # Checklist items 13 and 14 (incidents) and 15 (operating within SLOs), and the missed-review
        # rule of item 11; the receiver that records every rollback executed
        # (readiness.stage_events.stage_rolled_back, sent by the stage gate); verify_ledger's
        # cross-checks of incidents, post-mortems, rollback executions, failure reviews and daily
        # SLI values against their entries; the pages incidents send (notifications.events).
        from . import checklist_items, ledger_checks, notices, services  # noqa: F401
