from django.apps import AppConfig


class ReadinessConfig(AppConfig):
    name = "readiness"
    verbose_name = "Launch readiness"

    def ready(self) -> None:
        # Registers the checklist items this app can evaluate from its own facts, and the signal
        # that keeps the owner's grants on a launch.
        from . import checklist_items, signals  # noqa: F401
        from .ledger_checks import (
            agreements_disagree_with_entries,
            sealed_facts_disagree_with_entries,
            serving_versions_disagree_with_entries,
        )
        from .models import (
            SLO,
            DataAsset,
            EvalRun,
            FeedbackChannel,
            Launch,
            QualityBar,
            RollbackPlan,
            RolloutStage,
            Runbook,
            SeverityLevel,
        )
        from .recording import register_ledger_check, register_sealed_facts

        # Every row the gate, the checklist or an approval's snapshot reads is sealed in the ledger
        # when a service writes it (readiness.recording). The launch's stage and tier are also in
        # each entry's launch state; its other fields (owner, version in service, archived) here.
        register_sealed_facts(Launch, launch="")
        for model in (RolloutStage, QualityBar, DataAsset, SLO, SeverityLevel, RollbackPlan, Runbook, FeedbackChannel):
            register_sealed_facts(model, launch="launch")
        register_sealed_facts(EvalRun, launch="quality_bar.launch")
        # verify_ledger cross-checks the version each launch serves, agreed bars and SLOs, and every
        # sealed fact (of every app) against their entries.
        register_ledger_check(serving_versions_disagree_with_entries)
        register_ledger_check(agreements_disagree_with_entries)
        register_ledger_check(sealed_facts_disagree_with_entries, catch_all=True)
