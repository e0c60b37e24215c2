from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Sign-offs and approvals"

    def ready(self) -> None:
        # Registers checklist item 1 and the waivers, the access sign-off requests grant, and the
        # ledger's cross-checks of approvals' rows, and the events the workflow and its sweeps tell
        # people about (notifications.events).
        from readiness.access import register_access_rule
        from readiness.models import RolloutStage
        from readiness.services import register_removal_guard

        from . import checklist_items, ledger_checks, notices, signals  # noqa: F401
        from .reminders import wording  # noqa: F401
        from .services.gate import stage_record_kept

        register_access_rule(signals.SignoffAccess())
        _register_sealed_facts()
        register_removal_guard(RolloutStage, stage_record_kept)


def _register_sealed_facts() -> None:
    """Who stands in for whom, and which stale approver the owner asked again, are sealed in the
    ledger whenever a service writes them (readiness.recording); an absence belongs to no launch."""
    from readiness.recording import register_sealed_facts

    from .models import AskedAgain, OutOfOffice

    register_sealed_facts(OutOfOffice, launch=None)
    register_sealed_facts(AskedAgain, launch="request.launch")
