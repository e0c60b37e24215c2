"""Who must approve which stage. The owner may raise the bar freely; lowering it below the
risk-tier default — fewer approvals, a default function removed, or a lower risk tier — is a
policy change request that an executive or the function's own lead decides, never the owner."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger import chain
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from raci.choices import TeamFunction
from raci.selectors import is_executive, is_function_lead
from readiness.access import refuse_if_archived, require_change, require_view
from readiness.choices import RiskTier
from readiness.history import save_with_history
from readiness.models import Launch, RolloutStage
from readiness.people import person_name
from readiness.validators import clean_text

from ..choices import POLICY_CHANGE_TRANSITIONS, PolicyChangeStatus
from ..models import PolicyChange, SignoffRequirement, StagePolicy
from ..policies import default_requirements, policy_state
from ._common import expect_type, stage_of

RISK_ORDER = [RiskTier.LOW, RiskTier.MEDIUM, RiskTier.HIGH]


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


def _check_requirement_input(function, approvals_required) -> None:
    if function not in TeamFunction.values:
        raise ValidationError({"function": _("Unknown function '%(function)s'.") % {"function": function}})
    expect_type(approvals_required, int, "approvals_required")
    if isinstance(approvals_required, bool) or not 0 <= approvals_required <= 5:
        raise ValidationError({"approvals_required": _("Give a number of approvals from 0 (not required) to 5.")})


def _default_for(launch: Launch, stage: RolloutStage, function: str) -> int:
    """The tier's default as the locked ``launch`` has it now (``stage.launch`` may be an older copy)."""
    return default_requirements(launch.risk_tier, stage.kind).get(function, 0)


def _apply_requirement(*, actor, stage: RolloutStage, function: str, approvals_required: int, why: dict):
    policy = _policy_for(stage, actor)
    requirement = SignoffRequirement.objects.filter(policy=policy, function=function).first() or SignoffRequirement(
        policy=policy, function=function
    )
    before = requirement.approvals_required if requirement.pk else 0
    requirement.approvals_required = approvals_required
    save_with_history(requirement, actor=actor, reason=f"{function} × {approvals_required} for {stage.name}")
    chain.append(
        event=LedgerEvent.POLICY_CHANGED,
        launch=stage.launch,
        actor=actor,
        payload={
            "stage": stage.name,
            "function": function,
            "approvals required": {"from": before, "to": approvals_required},
            "policy": policy_state(policy),
            **why,
        },
        # The policy row itself was written only if this change created it.
        seal=[row for row in (policy, requirement) if hasattr(row, "_latest_history_row")],
    )
    return requirement


@transaction.atomic
def policy_set_requirement(*, actor, stage: RolloutStage, function: str, approvals_required: int) -> SignoffRequirement:
    """Require ``approvals_required`` approvals from ``function`` to enter ``stage``. The owner may
    not go below the risk-tier default (0 removes a function): that needs ``policy_change_request``.
    Requirements that come from the launch's data cannot be removed at all."""
    launch = Launch.objects.select_for_update(of=("self",), no_key=True).get(pk=stage.launch_id)
    require_change(actor, launch)
    refuse_if_archived(launch)
    _check_requirement_input(function, approvals_required)
    default = _default_for(launch, stage, function)
    if approvals_required < default:
        label = TeamFunction(function).label
        raise ValidationError(
            {
                "approvals_required": _(
                    "The %(tier)s-risk default for %(stage)s is %(default)s %(function)s approval(s); going below it "
                    "needs an executive or the %(function)s lead to agree. Ask with a policy change request."
                )
                % {
                    "tier": launch.get_risk_tier_display().lower(),
                    "stage": stage.name,
                    "default": default,
                    "function": label,
                }
            }
        )
    return _apply_requirement(
        actor=actor, stage=stage, function=function, approvals_required=approvals_required, why={}
    )


@transaction.atomic
def policy_set_consultation(*, actor, stage: RolloutStage, must_acknowledge: bool) -> StagePolicy:
    require_change(actor, stage.launch)
    refuse_if_archived(stage.launch)
    expect_type(must_acknowledge, bool, "must_acknowledge")
    policy = _policy_for(stage, actor)
    policy.consulted_must_acknowledge = must_acknowledge
    save_with_history(policy, actor=actor, reason="Consultation rule changed")
    chain.append(
        event=LedgerEvent.POLICY_CHANGED,
        launch=stage.launch,
        actor=actor,
        payload={
            "stage": stage.name,
            "consulted must acknowledge": policy.consulted_must_acknowledge,
            "policy": policy_state(policy),
        },
        seal=[policy],
    )
    return policy


def _apply_risk_tier(*, actor, launch: Launch, risk_tier: str, why: dict) -> Launch:
    before = launch.risk_tier
    launch.risk_tier = risk_tier
    save_with_history(launch, actor=actor, reason=f"Risk tier {before} → {risk_tier}")
    chain.append(
        event=LedgerEvent.RISK_TIER_CHANGED,
        launch=launch,
        actor=actor,
        payload={"risk tier": {"from": before, "to": risk_tier}, **why},
        seal=[launch],
    )
    return launch


@transaction.atomic
def launch_set_risk_tier(*, actor, launch: Launch, risk_tier: str) -> Launch:
    """Raise a launch's risk tier (stricter defaults). Lowering it needs ``policy_change_request``."""
    launch = Launch.objects.select_for_update(of=("self",), no_key=True).get(pk=launch.pk)
    require_change(actor, launch)
    refuse_if_archived(launch)
    if risk_tier not in RISK_ORDER:
        raise ValidationError(
            {"risk_tier": _("Unknown risk tier '%(tier)s'. Choose low, medium or high.") % {"tier": risk_tier}}
        )
    if RISK_ORDER.index(risk_tier) < RISK_ORDER.index(launch.risk_tier):
        raise ValidationError(
            {"risk_tier": _("Lowering the risk tier needs an executive to agree. Ask with a policy change request.")}
        )
    if risk_tier == launch.risk_tier:
        return launch
    return _apply_risk_tier(actor=actor, launch=launch, risk_tier=risk_tier, why={})


@transaction.atomic
def policy_change_request(
    *,
    actor,
    launch: Launch,
    justification: str,
    stage: RolloutStage | None = None,
    function: str | None = None,
    approvals_required: int | None = None,
    risk_tier: str | None = None,
) -> PolicyChange:
    """The owner asks to lower the bar: ``stage`` + ``function`` + ``approvals_required`` below the
    risk-tier default, or a lower ``risk_tier``. Nothing changes until someone else approves."""
    launch = Launch.objects.select_for_update(of=("self",), no_key=True).get(pk=launch.pk)
    require_change(actor, launch)
    refuse_if_archived(launch)
    justification = clean_text(justification, field="justification", required=True)
    if risk_tier is not None:
        if stage is not None or function is not None or approvals_required is not None:
            raise ValidationError({"risk_tier": _("Ask for a lower risk tier on its own, not with a requirement.")})
        if risk_tier not in RISK_ORDER:
            raise ValidationError(
                {"risk_tier": _("Unknown risk tier '%(tier)s'. Choose low, medium or high.") % {"tier": risk_tier}}
            )
        if RISK_ORDER.index(risk_tier) >= RISK_ORDER.index(launch.risk_tier):
            raise ValidationError({"risk_tier": _("Only lowering the risk tier needs a request; raise it directly.")})
        change = PolicyChange(launch=launch, risk_tier=risk_tier)
        what = {"risk tier": {"from": launch.risk_tier, "to": risk_tier}}
    else:
        if stage is None:
            raise ValidationError({"stage": _("Name the stage whose requirement should be lowered.")})
        stage_of(launch, stage)
        _check_requirement_input(function, approvals_required)
        if approvals_required >= _default_for(launch, stage, function):
            raise ValidationError(
                {"approvals_required": _("This is not below the risk-tier default; set it directly instead.")}
            )
        change = PolicyChange(launch=launch, stage=stage, function=function, approvals_required=approvals_required)
        what = {"stage": stage.name, "function": function, "approvals required": approvals_required}
    change.justification = justification
    change.requested_by = actor
    try:
        with transaction.atomic():
            save_with_history(change, actor=actor, reason="Lowering the sign-off bar requested")
    except IntegrityError:
        raise ValidationError({"policy": _("The same change is already waiting for a decision.")}) from None
    chain.append(
        event=LedgerEvent.POLICY_CHANGE_REQUESTED,
        launch=launch,
        actor=actor,
        payload={"change": change.pk, "justification": justification, **what},
        seal=[change],
    )
    return change


def _tier_asked_from(change: PolicyChange) -> str | None:
    """The tier the launch had when ``change`` was asked for, as its ledger entry records it."""
    entry = (
        LedgerEntry.objects.filter(event=LedgerEvent.POLICY_CHANGE_REQUESTED, launch_id=change.launch_id)
        .filter(payload__change=change.pk)
        .first()
    )
    return entry.payload.get("risk tier", {}).get("from") if entry else None


def may_decide_policy_change(user, change: PolicyChange) -> bool:
    """An executive, or for a requirement the lead of a team of its function; never the person
    who asked, nor the launch's owner."""
    if user.pk in (change.requested_by_id, change.launch.owner_id):
        return False
    return is_executive(user) or bool(change.function and is_function_lead(user, change.function))


@transaction.atomic
def policy_change_decide(*, actor, change: PolicyChange, approve: bool, comment: str = "") -> PolicyChange:
    """Approve (the change is applied and ledgered) or reject (with a comment) a request to lower the bar."""
    launch = Launch.objects.select_for_update(of=("self",), no_key=True).get(pk=change.launch_id)
    change = PolicyChange.objects.select_for_update(of=("self",)).select_related("launch", "stage").get(pk=change.pk)
    require_view(actor, launch)
    expect_type(approve, bool, "approve")
    comment = clean_text(comment, field="comment", required=not approve)
    if actor.pk in (change.requested_by_id, launch.owner_id):
        raise PermissionDenied(_("Nobody decides a change to the bar that binds their own launch."))
    if not may_decide_policy_change(actor, change):
        if change.function:
            raise PermissionDenied(
                _("Only an executive or the %(function)s lead may decide this change.")
                % {"function": change.get_function_display()}
            )
        raise PermissionDenied(_("Only an executive may decide this change."))
    refuse_if_archived(launch)
    status = PolicyChangeStatus.APPROVED if approve else PolicyChangeStatus.REJECTED
    if status not in POLICY_CHANGE_TRANSITIONS[change.status]:
        raise ValidationError(
            {"status": _("This change is already %(status)s.") % {"status": change.get_status_display().lower()}}
        )
    if approve and change.risk_tier and (asked_from := _tier_asked_from(change)) != launch.risk_tier:
        raise ValidationError(
            {
                "risk_tier": _(
                    "The risk tier was %(then)s when this was asked and is %(now)s now; the owner must ask again."
                )
                % {"then": RiskTier(asked_from).label if asked_from else "?", "now": launch.get_risk_tier_display()}
            }
        )
    change.status = status
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.decision_comment = comment
    save_with_history(change, actor=actor, reason=f"Policy change {status} by {person_name(actor)}")
    chain.append(
        event=LedgerEvent.POLICY_CHANGE_DECIDED,
        launch=launch,
        actor=actor,
        payload={"change": change.pk, "status": status, "comment": comment},
        seal=[change],
    )
    if approve:
        why = {"approved change": change.pk}
        if change.risk_tier:
            _apply_risk_tier(actor=actor, launch=launch, risk_tier=change.risk_tier, why=why)
        else:
            _apply_requirement(
                actor=actor,
                stage=change.stage,
                function=change.function,
                approvals_required=change.approvals_required,
                why=why,
            )
    return change
