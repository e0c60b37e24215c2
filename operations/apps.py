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
        # (readiness.stage_events.stage_rolled_back, sent by the stage gate); the pages incidents
        # send (notifications.events).
        from readiness.recording import register_ledger_check

        from . import checklist_items, notices, services  # noqa: F401
        from .ledger_checks import (
            failure_reviews_disagree_with_entries,
            incidents_disagree_with_entries,
            rollbacks_disagree_with_entries,
        )

        # verify_ledger cross-checks incidents, post-mortems, rollback executions and failure
        # reviews against their entries.
        register_ledger_check(incidents_disagree_with_entries)
        register_ledger_check(rollbacks_disagree_with_entries)
        register_ledger_check(failure_reviews_disagree_with_entries)
