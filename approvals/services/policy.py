from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from raci.choices import TeamFunction
from readiness.access import refuse_if_archived, require_change
from readiness.history import save_with_history
from readiness.models import RolloutStage

from .. import ledger
from ..choices import LedgerEvent
from ..models import SignoffRequirement, StagePolicy
from ..policies import default_requirements
from ._common import expect_type

# Policies ----------------------------------------------------------------------------------


def _policy_for(stage: RolloutStage, actor) -> StagePolicy:
    """The stage's written policy, created from the risk-tier defaults on first edit."""
    policy = StagePolicy.objects.select_for_update(of=("self",)).filter(stage=stage).first()
    if policy is None:
        policy = save_with_history(StagePolicy(stage=stage), actor=actor, reason="Policy created from defaults")
        for function, count in default_requirements(stage.launch.risk_tier, stage.kind).items():
            save_with_history(
                SignoffRequirement(policy=policy, function=function, approvals_required=count),
                actor=actor,
                reason="Risk-tier default",
            )
    return policy


@transaction.atomic
def policy_set_requirement(*, actor, stage: RolloutStage, function: str, approvals_required: int) -> SignoffRequirement:
    """Require ``approvals_required`` approvals from ``function`` to enter ``stage`` (0 removes it;
    requirements that come from the launch's data cannot be removed this way)."""
    launch = stage.launch
    require_change(actor, launch)
    refuse_if_archived(launch)
    if function not in TeamFunction.values:
        raise ValidationError({"function": f"Unknown function '{function}'."})
    policy = _policy_for(stage, actor)
    requirement = SignoffRequirement.objects.filter(policy=policy, function=function).first() or SignoffRequirement(
        policy=policy, function=function
    )
    expect_type(approvals_required, int, "approvals_required")
    before = requirement.approvals_required if requirement.pk else 0
    requirement.approvals_required = approvals_required
    save_with_history(requirement, actor=actor, reason=f"{function} × {approvals_required} for {stage.name}")
    ledger.append(
        event=LedgerEvent.POLICY_CHANGED,
        launch=launch,
        actor=actor,
        payload={
            "stage": stage.name,
            "function": function,
            "approvals required": {"from": before, "to": approvals_required},
        },
    )
    return requirement


@transaction.atomic
def policy_set_consultation(*, actor, stage: RolloutStage, must_acknowledge: bool) -> StagePolicy:
    require_change(actor, stage.launch)
    refuse_if_archived(stage.launch)
    policy = _policy_for(stage, actor)
    policy.consulted_must_acknowledge = bool(must_acknowledge)
    save_with_history(policy, actor=actor, reason="Consultation rule changed")
    ledger.append(
        event=LedgerEvent.POLICY_CHANGED,
        launch=stage.launch,
        actor=actor,
        payload={"stage": stage.name, "consulted must acknowledge": policy.consulted_must_acknowledge},
    )
    return policy
