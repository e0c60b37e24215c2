"""Read paths for sign-offs: the state of each required sign-off for a stage, computed from
prefetched rows so that a page of launches costs a fixed number of queries."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, Subquery
from django.db.models.lookups import In
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from raci.choices import AREA_FUNCTIONS, Role, TeamFunction
from raci.models import RaciAssignment, Team
from readiness.i18n import shown_date
from readiness.people import person_name

from .access import DECIDE_CODENAME
from .choices import WAIVER_AREAS, DecisionOutcome, PolicyChangeStatus, RequestStatus, WaiverStatus
from .models import (
    Acknowledgement,
    AskedAgain,
    PolicyChange,
    SignoffDecision,
    SignoffDelegation,
    SignoffRequest,
    SignoffRequestGroupObjectPermission,
    SignoffRequestUserObjectPermission,
    SignoffRequirement,
    Waiver,
)
from .policies import Requirement, consulted_must_acknowledge, effective_requirements
from .snapshot import diff_snapshots, fingerprint, launch_snapshot


def signoff_prefetches() -> list:
    """Related rows the sign-off check, the gate and the snapshot read. A decision's snapshot (the
    facts it covered, the largest column) is left out: only a stale approval's diff reads it, and
    ``load_stale_snapshots`` fetches those at once."""
    decisions = (
        SignoffDecision.objects.defer("snapshot")
        .select_related("decided_by", "on_behalf_of")
        .order_by("decided_at", "pk")
    )
    return [
        Prefetch(
            "signoff_requests",
            queryset=SignoffRequest.objects.order_by("-created_at", "-pk").prefetch_related(
                Prefetch("decisions", queryset=decisions),
                "addressees",
                Prefetch("delegations", queryset=SignoffDelegation.objects.select_related("delegator", "delegate")),
            ),
        ),
        # Each written requirement with the lowest number an approved policy change allowed for
        # it (``policies.effective_requirements``), in the same query.
        Prefetch("stages__signoff_policy__requirements", queryset=requirements_with_approved_floor()),
        Prefetch("acknowledgements", queryset=Acknowledgement.objects.select_related("user")),
        Prefetch("waivers", queryset=Waiver.objects.select_related("requested_by", "decided_by")),
    ]


def requirements_with_approved_floor():
    lowest_approved = (
        PolicyChange.objects.filter(
            stage=OuterRef("policy__stage"), function=OuterRef("function"), status=PolicyChangeStatus.APPROVED
        )
        .order_by("approvals_required")
        .values("approvals_required")[:1]
    )
    return SignoffRequirement.objects.annotate(approved_floor=Subquery(lowest_approved))


def approval_age_limit() -> datetime.timedelta:
    return datetime.timedelta(days=settings.SIGNOFF_MAX_AGE_DAYS)


@dataclass
class SignoffState:
    """How one required sign-off stands."""

    requirement: Requirement
    request: SignoffRequest | None
    fresh_approvals: list[SignoffDecision] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    earlier_objections: list[str] = field(default_factory=list)
    # Approvals that no longer count (stale or expired), each with ``asked_again`` set: whether
    # the owner already asked its approver again on the current facts.
    lapsed_approvals: list[SignoffDecision] = field(default_factory=list)

    @property
    def satisfied(self) -> bool:
        return not self.problems


def open_request(launch, stage, function: str) -> SignoffRequest | None:
    return next(
        (r for r in launch.signoff_requests.all() if r.stage_id == stage.pk and r.function == function and r.is_open),
        None,
    )


def decision_problem(decision: SignoffDecision, *, current_fingerprint: str, current_snapshot: dict, now) -> str | None:
    """Why an approval no longer counts (stale or expired), or None when it is fresh."""
    who = person_name(decision.on_behalf_of)
    if decision.decided_at + approval_age_limit() < now:
        expired_on = shown_date(decision.decided_at + approval_age_limit())
        return _("approval by %(person)s expired on %(date)s") % {"person": who, "date": expired_on}
    if decision.fingerprint != current_fingerprint:
        changes = diff_snapshots(decision.snapshot, current_snapshot)
        shown = "; ".join(changes[:5])
        if len(changes) > 5:
            more = len(changes) - 5
            shown += ngettext("; and %(count)s more", "; and %(count)s more", more) % {"count": more}
        return _("approval by %(person)s is stale — facts changed since: %(changes)s") % {
            "person": who,
            "changes": shown,
        }
    return None


def _stale_approvals(launch, stage, current_fingerprint: str, now) -> list[SignoffDecision]:
    """Current approvals on the stage's open requests whose diff ``decision_problem`` will show:
    unexpired, on other facts than the current ones, snapshot not loaded yet."""
    return [
        decision
        for request in launch.signoff_requests.all()
        if request.stage_id == stage.pk and request.is_open
        for decision in request.current_decisions()
        if decision.outcome == DecisionOutcome.APPROVE
        and decision.fingerprint != current_fingerprint
        and decision.decided_at + approval_age_limit() >= now
        and "snapshot" in decision.get_deferred_fields()
    ]


def load_stale_snapshots(pairs, *, now) -> None:
    """Read the snapshots of the stale approvals of each (launch, stage) in ``pairs`` in one query
    (none when no approval is stale), so the sign-off list never reads one per row."""
    _load_snapshots(
        [
            decision
            for launch, stage in pairs
            if stage is not None
            for decision in _stale_approvals(launch, stage, fingerprint(launch_snapshot(launch, stage)), now)
        ]
    )


def _load_snapshots(decisions: list[SignoffDecision]) -> None:
    if decisions:
        snapshots = dict(SignoffDecision.objects.filter(pk__in={d.pk for d in decisions}).values_list("pk", "snapshot"))
        for decision in decisions:
            decision.snapshot = snapshots[decision.pk]


def prepare_checklist(contexts) -> None:
    """The checklist's preparer (``readiness.checklist.registry.register_preparer``)."""
    if contexts:
        load_stale_snapshots([(c.launch, c.stage) for c in contexts], now=contexts[0].now)


def stage_signoffs(launch, stage, *, now) -> list[SignoffState]:
    snapshot = launch_snapshot(launch, stage)
    current = fingerprint(snapshot)
    _load_snapshots(_stale_approvals(launch, stage, current, now))  # none when the checklist loaded them
    states = []
    for requirement in effective_requirements(launch, stage):
        label = requirement.function_label
        request = open_request(launch, stage, requirement.function)
        state = SignoffState(requirement, request)
        state.earlier_objections = earlier_objections(launch, request)
        states.append(state)
        if request is None:
            state.problems.append(
                _("%(function)s sign-off has not been requested (%(why)s).")
                % {"function": label, "why": requirement.why}
            )
            continue
        decisions = request.current_decisions()
        state.problems.extend(_objections(label, decisions))
        lapsed = []
        for decision in decisions:
            if decision.outcome != DecisionOutcome.APPROVE:
                continue
            problem = decision_problem(decision, current_fingerprint=current, current_snapshot=snapshot, now=now)
            if problem:
                lapsed.append(problem)
                state.lapsed_approvals.append(decision)
            else:
                state.fresh_approvals.append(decision)
        # The request may have asked for more than the policy asks now: lowering the policy
        # after the request does not lower the bar the approvers were given.
        needed = max(requirement.approvals_required, request.approvals_required)
        if not state.problems and len(state.fresh_approvals) < needed:
            have = len(state.fresh_approvals)
            waiting = ", ".join(person_name(u) for u in request.addressees.all()) or _("nobody")
            if lapsed:
                detail = "; ".join(lapsed)
            elif request.due_date:
                detail = _("waiting for %(people)s, due %(date)s") % {
                    "people": waiting,
                    "date": shown_date(request.due_date),
                }
            else:
                detail = _("waiting for %(people)s") % {"people": waiting}
            state.problems.append(
                _("%(function)s sign-off has %(have)s of %(needed)s fresh approvals; %(detail)s.")
                % {"function": label, "have": have, "needed": needed, "detail": detail}
            )
    _mark_asked_again([d for state in states for d in state.lapsed_approvals], current)
    return states


def _mark_asked_again(decisions: list[SignoffDecision], current_fingerprint: str) -> None:
    """Set ``asked_again`` on each lapsed approval (one query, none when nothing lapsed or when an
    earlier call on the same rows set it: a page may read the sign-offs twice)."""
    decisions = [d for d in decisions if getattr(d, "asked_again_on", None) != current_fingerprint]
    if not decisions:
        return
    asked = set(
        AskedAgain.objects.filter(decision__in=decisions, fingerprint=current_fingerprint)
        .order_by()
        .values_list("decision_id", flat=True)
    )
    for decision in decisions:
        decision.asked_again = decision.pk in asked
        decision.asked_again_on = current_fingerprint


def earlier_objections(launch, request: SignoffRequest | None) -> list[str]:
    """Rejections and change requests on the requests this one replaced: asking again never takes
    an objection off the record, it stands beside the new decisions."""
    by_pk = {r.pk: r for r in launch.signoff_requests.all()}
    notes = []
    previous = by_pk.get(request.replaces_id) if request is not None else None
    while previous is not None:
        for decision in previous.decisions.all():
            if decision.outcome == DecisionOutcome.APPROVE:
                continue
            values = {
                "person": person_name(decision.on_behalf_of),
                "date": shown_date(decision.decided_at),
                "comment": decision.comment,
            }
            if decision.outcome == DecisionOutcome.REJECT:
                notes.append(_("Earlier, %(person)s rejected on %(date)s: %(comment)s (asked again since).") % values)
            else:
                notes.append(
                    _("Earlier, %(person)s asked for changes on %(date)s: %(comment)s (asked again since).") % values
                )
        previous = by_pk.get(previous.replaces_id)
    return notes


def _objections(label: str, decisions: list[SignoffDecision]) -> list[str]:
    problems = []
    for decision in decisions:
        who = person_name(decision.on_behalf_of)
        if decision.outcome == DecisionOutcome.REJECT:
            problems.append(
                _("%(function)s sign-off was rejected by %(person)s: %(comment)s")
                % {"function": label, "person": who, "comment": decision.comment}
            )
        elif decision.outcome == DecisionOutcome.REQUEST_CHANGES:
            problems.append(
                _("%(function)s sign-off: %(person)s requested changes: %(comment)s")
                % {"function": label, "person": who, "comment": decision.comment}
            )
    return problems


def standing_objections(launch, stage, required_functions: set[str]) -> list[str]:
    """Rejections on open requests of functions the policy no longer requires: any rejection
    blocks until its request is withdrawn, so editing the policy cannot overrule it."""
    problems = []
    for request in launch.signoff_requests.all():
        if request.stage_id == stage.pk and request.is_open and request.function not in required_functions:
            problems.extend(_objections(request.get_function_display(), request.current_decisions()))
    return problems


def acknowledgement_problems(launch, stage) -> list[str]:
    if not consulted_must_acknowledge(stage):
        return []
    consulted = {
        a.stakeholder.user_id: a.stakeholder
        for area in launch.areas.all()
        for a in area.assignments.all()
        if a.role == Role.CONSULTED
    }
    acknowledged = {
        ack.user_id for ack in launch.acknowledgements.all() if ack.stage_id == stage.pk and ack.acknowledged_at
    }
    return [
        _("%(person)s (Consulted) has not acknowledged entering %(stage)s.")
        % {"person": person.display_name, "stage": stage.name}
        for user_id, person in sorted(consulted.items())
        if user_id not in acknowledged
    ]


def requests_awaiting(user):
    """Open requests ``user`` may decide (addressed or delegated to them) and has not yet decided,
    or whose owner asked them again since their approval lapsed.

    Reads the object permission granted when a request is addressed or delegated, without the
    superuser shortcut: a superuser's inbox holds only what is addressed to them. The grant tables
    are read directly (the user's rows and their groups' rows: what guardian's ``has_perm`` accepts)
    rather than through guardian's ``get_objects_for_user``, whose general query (casts, a subquery
    of the user's groups) costs more Python to build, and the header of every page builds this."""
    if not user.is_authenticated or not user.is_active:
        return SignoffRequest.objects.none()
    granted = SignoffRequestUserObjectPermission.objects.filter(user=user, permission__codename=DECIDE_CODENAME)
    granted_to_group = SignoffRequestGroupObjectPermission.objects.filter(
        group__user=user, permission__codename=DECIDE_CODENAME
    )
    decided = SignoffDecision.objects.filter(decided_by=user, superseded_at__isnull=True)
    # Asked again by the owner (``signoff_ask_again``): their approval lapsed and waits for them anew.
    asked_again = AskedAgain.objects.filter(
        Q(approver=user) | Q(decision__decided_by=user), decision__superseded_at__isnull=True
    )
    return (
        SignoffRequest.objects.filter(
            Q(pk__in=granted.values("content_object_id")) | Q(pk__in=granted_to_group.values("content_object_id")),
            (~Q(pk__in=decided.values("request_id")) & Q(status=RequestStatus.PENDING))
            | (
                Q(pk__in=asked_again.values("request_id"))
                & Q(status__in=[RequestStatus.PENDING, RequestStatus.APPROVED])
            ),
            ~Q(requested_by=user),
            ~Q(launch__owner=user),
            launch__archived=False,
        )
        .select_related("launch", "stage", "requested_by")
        .order_by("due_date", "created_at")
    )


def _serves(user, function) -> Q:
    """``user`` is a member of a team of ``function``: a condition on ``Team``."""
    return Q(function=function, members__user=user)


def waivers_awaiting(user):
    """Pending waivers ``user`` may decide, on launches not archived: every one for an executive;
    for anyone else those of items whose area they are Accountable for on that launch while they
    serve one of the area's functions. Never their own requests. One query, however many launches.

    The same rule as ``approvals.services.waivers._may_decide_waiver`` (which the service applies
    when the decision is made), written as a query so that a list costs one. The Accountable rule
    is one subquery over the user's Accountable assignments, the area's kind matched to the waived
    item and the functions to the teams of the assignment's person (a user has one stakeholder, so
    those are the user's teams), rather than two subqueries per kind of area: the header of every
    page counts these, and building the query cost more than running it."""
    if not user.is_authenticated or not user.is_active:
        return Waiver.objects.none()
    executive = Team.objects.filter(_serves(user, TeamFunction.EXECUTIVE))
    of_the_item_s_area = Q()
    for kind, functions in AREA_FUNCTIONS.items():
        items = sorted(key for key, area_kind in WAIVER_AREAS.items() if area_kind == kind)
        of_the_item_s_area |= Q(
            In(OuterRef("check_key"), items), area__kind=kind, stakeholder__teams__function__in=sorted(functions)
        )
    accountable = RaciAssignment.objects.filter(
        of_the_item_s_area, area__launch=OuterRef("launch"), role=Role.ACCOUNTABLE, stakeholder__user=user
    )
    return (
        Waiver.objects.filter(
            Exists(executive) | Exists(accountable),
            ~Q(requested_by=user),
            ~Q(launch__owner=user),
            status=WaiverStatus.PENDING,
            launch__archived=False,
        )
        .select_related("launch", "stage", "requested_by")
        .order_by("expires_on", "requested_at", "pk")
    )


def policy_changes_awaiting(user):
    """Pending requests to lower a launch's bar that ``user`` may decide, on launches not archived:
    every one for an executive; a requirement change of a function for that function's lead. Never
    one they asked for, nor one on a launch they own. One query.

    The same rule as ``approvals.services.policy.may_decide_policy_change``, written as a query:
    one subquery for both cases (a team of the user's that is executive, or of the change's function
    and led by them)."""
    if not user.is_authenticated or not user.is_active:
        return PolicyChange.objects.none()
    deciding_team = Team.objects.filter(
        _serves(user, TeamFunction.EXECUTIVE)
        | (_serves(user, OuterRef("function")) & Q(lead__user=user) & ~Q(function=""))
    )
    return (
        PolicyChange.objects.filter(
            Exists(deciding_team),
            ~Q(requested_by=user),
            ~Q(launch__owner=user),
            status=PolicyChangeStatus.PENDING,
            launch__archived=False,
        )
        .select_related("launch", "stage", "requested_by")
        .order_by("requested_at", "pk")
    )


VERSIONS_SHOWN = 10


def version_changes(launch, *, limit: int = VERSIONS_SHOWN) -> list[LedgerEntry]:
    """The launch's latest serving-version changes, newest first, as the ledger recorded them
    (``from``, ``to``, the stage it was in; who and when). One query."""
    return list(
        LedgerEntry.objects.filter(launch=launch, event=LedgerEvent.VERSION_CHANGED).order_by("-sequence")[:limit]
    )
