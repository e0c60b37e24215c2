from django.apps import AppConfig


class ReadinessConfig(AppConfig):
    name = "readiness"
    verbose_name = "Launch readiness"

    def ready(self) -> None:
        # Registers the checklist items this app can evaluate from its own facts, the signal that
        # keeps the owner's grants on a launch, and the ledger's cross-checks of this app's rows
        # (the version in service, agreements) and of every sealed fact.
        from . import checklist_items, ledger_checks, signals  # noqa: F401
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
        from .recording import register_sealed_facts

        # Every row the gate, the checklist or an approval's snapshot reads is sealed in the ledger
        # when a service writes it (readiness.recording). The launch's stage and tier are also in
        # each entry's launch state; its other fields (owner, version in service, archived) here.
        register_sealed_facts(Launch, launch="")
        for model in (RolloutStage, QualityBar, DataAsset, SLO, SeverityLevel, RollbackPlan, Runbook, FeedbackChannel):
            register_sealed_facts(model, launch="launch")
        register_sealed_facts(EvalRun, launch="quality_bar.launch")
