"""Every state change of the sign-off workflow. Each function takes the acting user, runs in one
transaction, checks who may act, locks what it changes, writes history and appends to the ledger.

Errors: ``Http404`` for a launch the actor may not know of, ``PermissionDenied`` for a known but
forbidden action, ``ValidationError`` (naming what is wrong) for a refused state change or bad input.

Locks are always taken in the order launch → requests (by pk) → decisions → ledger head, and
only on the row itself (``of=("self",)``): on PostgreSQL a plain ``select_for_update`` also locks
every joined row (including joins added by default orderings), which would take the launch row
after a request row and deadlock against the stage gate.
"""

from __future__ import annotations

import datetime
from functools import partial

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from raci.choices import Role, TeamFunction
from raci.models import Team
from readiness.access import grant_view, refuse_if_archived, require_change, require_view
from readiness.checklist import Readiness, evaluate, registry, with_checklist_facts
from readiness.history import save_with_history
from readiness.models import Launch, RolloutStage

from . import ledger
from .access import DECIDE_REQUEST, is_executive
from .choices import (
    CLOSED_STATUSES,
    OUTCOMES_NEEDING_COMMENT,
    REQUEST_TRANSITIONS,
    UNWAIVABLE_CHECKS,
    WAIVER_TRANSITIONS,
    LedgerEvent,
    Outcome,
    RequestStatus,
    WaiverStatus,
)
from .models import (
    Acknowledgement,
    InformedNotice,
    SignoffDecision,
    SignoffDelegation,
    SignoffRequest,
    SignoffRequirement,
    StagePolicy,
    Waiver,
)
from .policies import default_requirements, effective_requirements
from .routing import default_addressees, serves_function
from .selectors import person_name
from .snapshot import diff_snapshots, fingerprint, launch_snapshot

User = get_user_model()

# Longest a waiver may run before someone has to look again.
MAX_WAIVER_DAYS = 180


class GateRefused(ValidationError):
    """The stage gate said no; ``readiness`` holds the blockers."""

    def __init__(self, readiness: Readiness) -> None:
        self.readiness = readiness
        lines = [f"{r.title}: {reason}" for r in readiness.blockers for reason in r.reasons] + readiness.refusals
        super().__init__({"stage": [f"May not enter {readiness.stage.name}: {line}" for line in lines]})


def _launch_with_facts(launch_id: int) -> Launch:
    return with_checklist_facts(Launch.objects.filter(pk=launch_id)).get()


def _stage_of(launch: Launch, stage: RolloutStage) -> RolloutStage:
    _expect(stage, RolloutStage, "stage")
    if stage.launch_id != launch.pk:
        raise ValidationError({"stage": f"Stage '{stage.name}' belongs to another launch."})
    return stage


def _expect(value, kind: type, field: str, *, optional: bool = False) -> None:
    """Refuse a value of the wrong type with an error naming the field, not a crash later."""
    if value is None and optional:
        return
    if not isinstance(value, kind):
        raise ValidationError({field: f"Expected {kind.__name__}, got {type(value).__name__}."})


def _addressees_for(launch: Launch, requirement, named: list | None, actor) -> list:
    """The people a request for ``requirement`` goes to: ``named`` (checked) or routed."""
    label = requirement.function_label
    people = (
        list(dict.fromkeys(named))
        if named
        else default_addressees(launch, requirement.function, exclude_user_id=actor.pk)
    )
    if not people:
        raise ValidationError(
            {
                "addressees": f"Nobody can be asked for the {label} sign-off: no Accountable, slot or active team member for that function."
            }
        )
    if any(person.pk == actor.pk for person in people):
        raise ValidationError({"addressees": "You cannot address a sign-off request to yourself."})
    if any(not person.is_active for person in people):
        raise ValidationError({"addressees": "Deactivated people cannot be asked for a sign-off."})
    strangers = [person for person in people if not serves_function(launch, requirement.function, person)]
    if strangers:
        raise ValidationError(
            {
                "addressees": f"{', '.join(person_name(p) for p in strangers)} cannot sign off for {label}: "
                f"not in a {label} team, the launch's {label} slot or the matching area's Accountable."
            }
        )
    if len(people) < requirement.approvals_required:
        raise ValidationError(
            {
                "addressees": f"The {label} sign-off needs {requirement.approvals_required} approvals; only {len(people)} people are asked."
            }
        )
    return people


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
    _expect(approvals_required, int, "approvals_required")
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


# Requests ----------------------------------------------------------------------------------


@transaction.atomic
def signoffs_request(
    *,
    actor,
    launch: Launch,
    stage: RolloutStage,
    due_date: datetime.date | None = None,
    message: str = "",
    functions: list[str] | None = None,
    addressees: dict[str, list] | None = None,
) -> list[SignoffRequest]:
    """Ask for the sign-offs ``stage`` needs: one request per required function (or just
    ``functions``), addressed to ``addressees[function]`` or routed through the RACI. Any open
    request for the same function is superseded by the new one. Consulted people are
    asked to acknowledge; Informed people are recorded as informed."""
    require_change(actor, launch)
    _expect(stage, RolloutStage, "stage")
    _expect(due_date, datetime.date, "due_date", optional=True)
    _expect(message, str, "message")
    if functions is not None and (
        not isinstance(functions, list | tuple) or not all(isinstance(f, str) for f in functions)
    ):
        raise ValidationError({"functions": "Give a list of team functions, e.g. ['legal', 'security']."})
    addressees = addressees or {}
    if not isinstance(addressees, dict) or not all(
        isinstance(people, list | tuple) and all(isinstance(p, User) for p in people) for people in addressees.values()
    ):
        raise ValidationError({"addressees": "Give addressees as {function: [user, ...]}."})
    launch = Launch.objects.select_for_update(of=("self",)).get(pk=launch.pk)
    refuse_if_archived(launch)
    _stage_of(launch, stage)
    if due_date is not None and due_date < timezone.localdate():
        raise ValidationError({"due_date": "The due date is in the past."})
    facts = _launch_with_facts(launch.pk)
    stage = next(s for s in facts.stages.all() if s.pk == stage.pk)
    requirements = {r.function: r for r in effective_requirements(facts, stage)}
    wanted = list(dict.fromkeys(functions)) if functions is not None else list(requirements)
    unknown = [f for f in wanted if f not in requirements]
    if unknown:
        raise ValidationError(
            {
                "functions": f"Not required to enter {stage.name}: {', '.join(unknown)}. Required: {', '.join(requirements) or 'none'}."
            }
        )
    routed = {
        function: _addressees_for(facts, requirements[function], addressees.get(function), actor) for function in wanted
    }
    # Lock every request this call supersedes before anything is written (lock order: launch →
    # requests by pk → ledger head), so a decision on one of them cannot deadlock with us.
    superseded = list(
        SignoffRequest.objects.select_for_update(of=("self",))
        .filter(launch=launch, stage=stage, function__in=wanted)
        .exclude(status__in=sorted(CLOSED_STATUSES))
        .order_by("pk")
    )
    for previous in superseded:
        _close(previous, RequestStatus.SUPERSEDED, actor=actor, reason="Requested again")
    snapshot_hash = fingerprint(launch_snapshot(facts, stage))
    created = []
    for function in wanted:
        requirement, people = requirements[function], routed[function]
        request = SignoffRequest(
            launch=launch,
            stage=stage,
            function=function,
            approvals_required=requirement.approvals_required,
            requested_by=actor,
            due_date=due_date,
            message=message,
        )
        save_with_history(request, actor=actor, reason=f"Requested for {stage.name}")
        request.addressees.set(people)
        for person in people:
            assign_perm(DECIDE_REQUEST, person, request)
            grant_view(person, launch)
        ledger.append(
            event=LedgerEvent.REQUESTED,
            launch=launch,
            actor=actor,
            payload={
                "request": request.pk,
                "stage": stage.name,
                "function": function,
                "approvals required": requirement.approvals_required,
                "addressees": sorted(p.get_username() for p in people),
                "due date": due_date.isoformat() if due_date else None,
            },
            snapshot_hash=snapshot_hash,
        )
        created.append(request)
    _route_consulted_and_informed(facts, stage, actor=actor)
    from .tasks import notify_signoff_request

    for request in created:
        transaction.on_commit(partial(notify_signoff_request.delay, request.pk))
    return created


def _route_consulted_and_informed(launch: Launch, stage: RolloutStage, *, actor) -> None:
    for area in launch.areas.all():
        for assignment in area.assignments.all():
            user = assignment.stakeholder.user
            if user.pk == actor.pk or not user.is_active:
                continue
            if (
                assignment.role == Role.CONSULTED
                and not Acknowledgement.objects.filter(stage=stage, user=user).exists()
            ):
                save_with_history(
                    Acknowledgement(launch=launch, stage=stage, user=user, requested_by=actor),
                    actor=actor,
                    reason="Consulted: asked to acknowledge",
                )
            elif (
                assignment.role == Role.INFORMED and not InformedNotice.objects.filter(stage=stage, user=user).exists()
            ):
                save_with_history(
                    InformedNotice(launch=launch, stage=stage, user=user),
                    actor=actor,
                    reason="Informed of the sign-off request",
                )


def _close(request: SignoffRequest, status: str, *, actor, reason: str) -> None:
    if status not in REQUEST_TRANSITIONS[request.status]:
        raise ValidationError({"status": f"A {request.get_status_display().lower()} request cannot become {status}."})
    request.status = status
    request.closed_at = timezone.now()
    save_with_history(request, actor=actor, reason=reason)


def _locked_request(request: SignoffRequest) -> SignoffRequest:
    return SignoffRequest.objects.select_for_update(of=("self",)).select_related("launch", "stage").get(pk=request.pk)


def _refuse_if_closed(request: SignoffRequest) -> None:
    if not request.is_open:
        raise ValidationError(
            {"request": f"This request was {request.get_status_display().lower()}; it can no longer be acted on."}
        )


@transaction.atomic
def signoff_withdraw(*, actor, request: SignoffRequest, reason: str = "") -> SignoffRequest:
    request = _locked_request(request)
    require_change(actor, request.launch)
    refuse_if_archived(request.launch)
    _refuse_if_closed(request)
    _close(request, RequestStatus.WITHDRAWN, actor=actor, reason=reason or "Withdrawn by the owner")
    ledger.append(
        event=LedgerEvent.WITHDRAWN,
        launch=request.launch,
        actor=actor,
        payload={"request": request.pk, "stage": request.stage.name, "function": request.function, "reason": reason},
    )
    return request


# Decisions ---------------------------------------------------------------------------------


def _acting_for(actor, request: SignoffRequest):
    """The addressee ``actor`` decides for: themselves, or whoever delegated to them. Both the
    addressee and their delegate act for the same seat: the newer decision supersedes the other,
    and both stay on the record."""
    if request.addressees.filter(pk=actor.pk).exists():
        return actor
    delegation = request.delegations.filter(delegate=actor).select_related("delegator").first()
    if delegation is not None:
        return delegation.delegator
    raise PermissionDenied("This request is not addressed or delegated to you.")


def _status_from(decisions: list[SignoffDecision], approvals_required: int) -> str:
    outcomes = [decision.outcome for decision in decisions]
    if Outcome.REJECT in outcomes:
        return RequestStatus.REJECTED
    if Outcome.REQUEST_CHANGES in outcomes:
        return RequestStatus.CHANGES_REQUESTED
    if outcomes.count(Outcome.APPROVE) >= approvals_required:
        return RequestStatus.APPROVED
    return RequestStatus.PENDING


@transaction.atomic
def signoff_decide(
    *,
    actor,
    request: SignoffRequest,
    outcome: str,
    comment: str = "",
    expected_fingerprint: str | None = None,
) -> SignoffDecision:
    """Approve, reject or request changes. Supersedes the addressee's previous decision, stores
    the snapshot of the facts decided on, and appends to the ledger.

    ``expected_fingerprint`` is the fingerprint of the facts the approver was shown; when the
    facts changed since, the decision is refused with what changed, so nobody approves facts
    they never saw. Pages and the API pass it; scripts may omit it."""
    request = _locked_request(request)
    require_view(actor, request.launch)
    if actor.pk == request.requested_by_id:
        raise PermissionDenied("You raised this request; someone else must decide it.")
    on_behalf_of = _acting_for(actor, request)
    refuse_if_archived(request.launch)
    _refuse_if_closed(request)
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": f"Unknown outcome '{outcome}'. Choose approve, reject or request_changes."})
    _expect(comment or "", str, "comment")
    comment = (comment or "").strip()
    if outcome in OUTCOMES_NEEDING_COMMENT and not comment:
        raise ValidationError({"comment": f"A comment is required to {Outcome(outcome).label.lower()}."})

    facts = _launch_with_facts(request.launch_id)
    stage = next(s for s in facts.stages.all() if s.pk == request.stage_id)
    snapshot = launch_snapshot(facts, stage)
    if expected_fingerprint is not None and expected_fingerprint != fingerprint(snapshot):
        shown = next((d.snapshot for d in request.decisions.all() if d.fingerprint == expected_fingerprint), None)
        changes = "; ".join(diff_snapshots(shown, snapshot)) if shown else "reload to see them"
        raise ValidationError({"request": f"The facts changed since you opened this request: {changes}."})
    now = timezone.now()
    for previous in SignoffDecision.objects.select_for_update(of=("self",)).filter(
        request=request, on_behalf_of=on_behalf_of, superseded_at__isnull=True
    ):
        previous.superseded_at = now
        previous._history_user = actor
        previous._change_reason = "Superseded by a newer decision"
        previous.save(update_fields=["superseded_at"])
    decision = SignoffDecision(
        request=request,
        decided_by=actor,
        on_behalf_of=on_behalf_of,
        outcome=outcome,
        comment=comment,
        fingerprint=fingerprint(snapshot),
        snapshot=snapshot,
        decided_at=now,
    )
    try:
        with transaction.atomic():
            save_with_history(decision, actor=actor, reason=Outcome(outcome).label)
    except IntegrityError:
        raise ValidationError(
            {"request": "Someone decided this request at the same moment; reload and try again."}
        ) from None
    current = list(SignoffDecision.objects.filter(request=request, superseded_at__isnull=True))
    request.status = _status_from(current, request.approvals_required)
    save_with_history(request, actor=actor, reason=f"{Outcome(outcome).label} by {person_name(actor)}")
    ledger.append(
        event=LedgerEvent.DECIDED,
        launch=request.launch,
        actor=actor,
        payload={
            "request": request.pk,
            "decision": decision.pk,
            "stage": request.stage.name,
            "function": request.function,
            "outcome": outcome,
            "comment": comment,
            "on behalf of": on_behalf_of.get_username(),
        },
        snapshot_hash=decision.fingerprint,
    )
    return decision


@transaction.atomic
def signoff_delegate(*, actor, request: SignoffRequest, delegate, reason: str = "") -> SignoffDelegation:
    """An addressee hands their decision to another member of a team of the request's function."""
    request = _locked_request(request)
    require_view(actor, request.launch)
    if not request.addressees.filter(pk=actor.pk).exists():
        raise PermissionDenied("Only an addressee of this request may delegate it.")
    refuse_if_archived(request.launch)
    _refuse_if_closed(request)
    if delegate.pk == actor.pk:
        raise ValidationError({"delegate": "You cannot delegate to yourself."})
    if delegate.pk == request.requested_by_id:
        raise ValidationError({"delegate": "The person who raised the request cannot decide it."})
    if not delegate.is_active:
        raise ValidationError({"delegate": f"{person_name(delegate)} is deactivated."})
    shared = Team.objects.filter(function=request.function, members__user=actor).filter(members__user=delegate)
    if not shared.exists():
        raise ValidationError(
            {"delegate": f"{person_name(delegate)} is not in a {request.get_function_display()} team with you."}
        )
    if request.delegations.filter(delegator=actor).exists():
        raise ValidationError({"delegate": "You have already delegated this request."})
    if request.addressees.filter(pk=delegate.pk).exists():
        raise ValidationError(
            {"delegate": f"{person_name(delegate)} is already asked for this sign-off in their own right."}
        )
    if request.delegations.filter(delegate=delegate).exists():
        raise ValidationError({"delegate": f"{person_name(delegate)} already decides this request for someone else."})
    delegation = save_with_history(
        SignoffDelegation(request=request, delegator=actor, delegate=delegate, reason=reason),
        actor=actor,
        reason=f"Delegated to {person_name(delegate)}",
    )
    assign_perm(DECIDE_REQUEST, delegate, request)
    grant_view(delegate, request.launch)
    ledger.append(
        event=LedgerEvent.DELEGATED,
        launch=request.launch,
        actor=actor,
        payload={"request": request.pk, "from": actor.get_username(), "to": delegate.get_username(), "reason": reason},
    )
    return delegation


@transaction.atomic
def acknowledge(*, actor, acknowledgement: Acknowledgement, comment: str = "") -> Acknowledgement:
    """A Consulted person acknowledges a stage, optionally with a comment."""
    acknowledgement = (
        Acknowledgement.objects.select_for_update(of=("self",))
        .select_related("launch", "stage")
        .get(pk=acknowledgement.pk)
    )
    require_view(actor, acknowledgement.launch)
    if acknowledgement.user_id != actor.pk:
        raise PermissionDenied("Only the person consulted may acknowledge.")
    refuse_if_archived(acknowledgement.launch)
    if acknowledgement.acknowledged_at is not None:
        raise ValidationError(
            {"acknowledgement": f"Already acknowledged on {acknowledgement.acknowledged_at.date().isoformat()}."}
        )
    _expect(comment or "", str, "comment")
    comment = comment or ""
    acknowledgement.acknowledged_at = timezone.now()
    acknowledgement.comment = comment.strip()
    save_with_history(acknowledgement, actor=actor, reason="Acknowledged")
    ledger.append(
        event=LedgerEvent.ACKNOWLEDGED,
        launch=acknowledgement.launch,
        actor=actor,
        payload={"stage": acknowledgement.stage.name, "comment": acknowledgement.comment},
    )
    return acknowledgement


# Stage gate --------------------------------------------------------------------------------


@transaction.atomic
def stage_advance(*, actor, launch: Launch, stage: RolloutStage) -> Readiness:
    """Move ``launch`` forward to ``stage`` only when its checklist passes and every sign-off is
    approved and fresh. Locks the launch and the stage's requests first, so a decision racing
    the advance is either seen by the gate or waits for it."""
    require_change(actor, launch)
    locked = Launch.objects.select_for_update(of=("self",)).get(pk=launch.pk)
    refuse_if_archived(locked)
    _stage_of(locked, stage)
    list(
        SignoffRequest.objects.select_for_update(of=("self",))
        .filter(launch=locked, stage=stage)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    facts = _launch_with_facts(locked.pk)
    stage = next(s for s in facts.stages.all() if s.pk == stage.pk)
    current = facts.current_stage
    if current is not None and stage.order <= current.order:
        raise ValidationError({"stage": f"{stage.name} is not after {current.name}; go back with a rollback instead."})
    expected = facts.next_stage()
    if stage.pk != expected.pk:
        raise ValidationError(
            {"stage": f"Stages are entered in order: the next stage is {expected.name}, not {stage.name}."}
        )
    readiness = evaluate(facts, stage)
    if not readiness.may_enter:
        raise GateRefused(readiness)
    previous_name = current.name if current else "planning"
    locked.current_stage = stage
    save_with_history(locked, actor=actor, reason=f"Advanced from {previous_name} to {stage.name}")
    ledger.append(
        event=LedgerEvent.STAGE_ADVANCED,
        launch=locked,
        actor=actor,
        payload={
            "from": previous_name,
            "to": stage.name,
            "exposure percent": format(stage.exposure_percent.normalize(), "f"),
            "checklist": {r.key: str(r.status) for r in readiness.results},
        },
        snapshot_hash=fingerprint(launch_snapshot(facts, stage)),
    )
    return readiness


def _is_accountable(user, launch: Launch) -> bool:
    return launch.areas.filter(assignments__role=Role.ACCOUNTABLE, assignments__stakeholder__user=user).exists()


@transaction.atomic
def stage_rollback(*, actor, launch: Launch, stage: RolloutStage, reason: str) -> Launch:
    """Go back to an earlier stage. Always allowed to the owner and the launch's Accountables."""
    require_view(actor, launch)
    # Lock only the launch row: PostgreSQL cannot lock the nullable side of the stage join.
    locked = Launch.objects.select_for_update(of=("self",)).select_related("current_stage").get(pk=launch.pk)
    if actor.pk != locked.owner_id and not _is_accountable(actor, locked):
        raise PermissionDenied("Only the launch owner or an Accountable may roll the launch back.")
    refuse_if_archived(locked)
    _stage_of(locked, stage)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the launch is rolled back."})
    current = locked.current_stage
    if current is None or stage.order >= current.order:
        raise ValidationError({"stage": f"{stage.name} is not before the current stage; nothing to roll back."})
    locked.current_stage = stage
    save_with_history(locked, actor=actor, reason=f"Rolled back from {current.name} to {stage.name}: {reason}")
    ledger.append(
        event=LedgerEvent.STAGE_ROLLED_BACK,
        launch=locked,
        actor=actor,
        payload={"from": current.name, "to": stage.name, "reason": reason},
    )
    return locked


# Waivers -----------------------------------------------------------------------------------

# The area whose Accountable may approve a waiver of each checklist item (executives may approve any).
WAIVER_AREAS = {
    "failure_rate_agreed": "model_quality",
    "quality_evidence": "model_quality",
    "data_classified": "data_retrieval",
    "pii_policy": "policy",
    "incident_owner": "infrastructure",
    "slos_defined": "infrastructure",
    "monitoring_dashboard": "infrastructure",
    "rollback_plan": "infrastructure",
    "incident_runbook": "infrastructure",
    "feedback_loop": "user_experience",
}


@transaction.atomic
def waiver_request(
    *, actor, launch: Launch, stage: RolloutStage, check_key: str, justification: str, expires_on: datetime.date
) -> Waiver:
    require_change(actor, launch)
    refuse_if_archived(launch)
    _stage_of(launch, stage)
    _expect(expires_on, datetime.date, "expires_on")
    _expect(justification, str, "justification")
    if check_key in UNWAIVABLE_CHECKS:
        raise ValidationError({"check_key": "Sign-offs cannot be waived; they are the approval itself."})
    if check_key not in registry:
        raise ValidationError({"check_key": f"Unknown checklist item '{check_key}'."})
    live = Waiver.objects.filter(
        stage=stage, check_key=check_key, status__in=[WaiverStatus.PENDING, WaiverStatus.APPROVED]
    )
    if live.exists():
        raise ValidationError({"check_key": "A waiver of this item for this stage is already pending or approved."})
    today = timezone.localdate()
    if expires_on < today:
        raise ValidationError({"expires_on": "The expiry date is in the past."})
    if expires_on > today + datetime.timedelta(days=MAX_WAIVER_DAYS):
        raise ValidationError({"expires_on": f"A waiver may run at most {MAX_WAIVER_DAYS} days."})
    waiver = Waiver(
        launch=launch,
        stage=stage,
        check_key=check_key,
        justification=justification.strip(),
        expires_on=expires_on,
        requested_by=actor,
    )
    try:
        with transaction.atomic():
            save_with_history(waiver, actor=actor, reason="Waiver requested")
    except IntegrityError:
        raise ValidationError(
            {"check_key": "A waiver of this item for this stage is already pending or approved."}
        ) from None
    ledger.append(
        event=LedgerEvent.WAIVER_REQUESTED,
        launch=launch,
        actor=actor,
        payload={
            "waiver": waiver.pk,
            "stage": stage.name,
            "item": check_key,
            "expires on": expires_on.isoformat(),
            "justification": waiver.justification,
        },
    )
    return waiver


def _may_decide_waiver(user, waiver: Waiver) -> bool:
    if is_executive(user):
        return True
    area_kind = WAIVER_AREAS.get(waiver.check_key)
    return (
        area_kind is not None
        and waiver.launch.areas.filter(
            kind=area_kind, assignments__role=Role.ACCOUNTABLE, assignments__stakeholder__user=user
        ).exists()
    )


@transaction.atomic
def waiver_decide(*, actor, waiver: Waiver, approve: bool, comment: str = "") -> Waiver:
    """The area's Accountable or an executive approves or rejects a waiver; never its requester."""
    waiver = Waiver.objects.select_for_update(of=("self",)).select_related("launch", "stage").get(pk=waiver.pk)
    require_view(actor, waiver.launch)
    if actor.pk == waiver.requested_by_id:
        raise PermissionDenied("You asked for this waiver; someone else must decide it.")
    if not _may_decide_waiver(actor, waiver):
        raise PermissionDenied("Only the Accountable for this item's area or an executive may decide this waiver.")
    refuse_if_archived(waiver.launch)
    status = WaiverStatus.APPROVED if approve else WaiverStatus.REJECTED
    if status not in WAIVER_TRANSITIONS[waiver.status]:
        raise ValidationError({"status": f"This waiver is already {waiver.get_status_display().lower()}."})
    if not approve and not comment.strip():
        raise ValidationError({"comment": "Say why the waiver is rejected."})
    waiver.status = status
    waiver.decided_by = actor
    waiver.decided_at = timezone.now()
    waiver.decision_comment = comment.strip()
    save_with_history(waiver, actor=actor, reason=f"Waiver {status}")
    ledger.append(
        event=LedgerEvent.WAIVER_DECIDED,
        launch=waiver.launch,
        actor=actor,
        payload={
            "waiver": waiver.pk,
            "stage": waiver.stage.name,
            "item": waiver.check_key,
            "status": status,
            "expires on": waiver.expires_on.isoformat(),
            "justification": waiver.justification,
            "comment": waiver.decision_comment,
        },
    )
    return waiver


# Notifications -----------------------------------------------------------------------------


@transaction.atomic
def signoff_request_notify(*, request_id: int) -> bool:
    """E-mail the addressees of a request once. Safe to run twice: returns False when already sent
    or no longer open."""
    from django.core.mail import send_mail

    request = (
        SignoffRequest.objects.select_for_update(of=("self",))
        .select_related("launch", "stage", "requested_by")
        .filter(pk=request_id)
        .first()
    )
    if request is None or request.notified_at is not None or not request.is_open:
        return False
    recipients = [u.email for u in request.addressees.all() if u.email]
    if recipients:
        due = f" by {request.due_date.isoformat()}" if request.due_date else ""
        send_mail(
            subject=f"[Preflight] {request.launch.name}: {request.get_function_display()} sign-off for {request.stage.name}",
            message=(
                f"{person_name(request.requested_by)} asks for your sign-off{due} to move {request.launch.name} "
                f"to {request.stage.name}.\n\n{request.message}"
            ),
            from_email=None,
            recipient_list=recipients,
        )
    request.notified_at = timezone.now()
    save_with_history(request, actor=request.requested_by, reason="Addressees notified")
    return True
