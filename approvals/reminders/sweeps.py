"""The sweeps about sign-offs and facts: stale approvals, overdue requests and their escalation,
expiry warnings."""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from itertools import groupby

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from raci.choices import AREA_FUNCTIONS, FUNCTION_AREAS, Role, TeamFunction
from raci.models import RaciAssignment, Stakeholder
from readiness.checklist import with_checklist_facts
from readiness.choices import Classification
from readiness.models import DataAsset, Launch, RollbackPlan, Runbook
from readiness.people import person_name

from ..choices import NotificationEvent, RequestStatus, WaiverStatus
from ..models import (
    SignoffDecision,
    SignoffRequest,
    Waiver,
)
from ..selectors import approval_age_limit
from ..snapshot import fact_changes, fingerprint, launch_snapshot
from .common import Sent, leads_by_function, local_date, request_names, request_words, standing_approvals, tell

logger = logging.getLogger(__name__)

# A stale notice lists at most this many changed facts (and how many more).
MAX_CHANGES = 10


# 1. Approvals made stale by a change ------------------------------------------------------------


def sweep_stale_approvals(*, now: datetime.datetime) -> list[Sent]:
    """Tell the approver (and whom they decided for) and the launch's owner, once per decision and
    new fingerprint, that the facts an unexpired approval was given on have changed, and how.
    A fixed number of queries: the approvals, their launches' facts, the stale ones' snapshots."""
    decisions = [d for d in standing_approvals().defer("snapshot") if d.decided_at + approval_age_limit() >= now]
    if not decisions:
        return []
    launches = {
        launch.pk: launch
        for launch in with_checklist_facts(Launch.objects.filter(pk__in={d.request.launch_id for d in decisions}))
    }
    current: dict[tuple[int, int], tuple[dict, str]] = {}
    stale = []
    for decision in decisions:
        request = decision.request
        launch = launches[request.launch_id]
        if (launch.pk, request.stage_id) not in current:
            stage = next(s for s in launch.stages.all() if s.pk == request.stage_id)
            snapshot = launch_snapshot(launch, stage)
            current[launch.pk, stage.pk] = (snapshot, fingerprint(snapshot))
        if decision.fingerprint != current[launch.pk, request.stage_id][1]:
            stale.append(decision)
    snapshots = dict(SignoffDecision.objects.filter(pk__in=[d.pk for d in stale]).values_list("pk", "snapshot"))
    sent = []
    # One change staled them: each launch's notices are written in one transaction, so that a person
    # told of several gets one message listing them (``notifications.outbox``), sent after it commits.
    stale.sort(key=lambda decision: decision.request.launch_id)
    for _launch_id, decisions in groupby(stale, key=lambda decision: decision.request.launch_id):
        with transaction.atomic():
            sent += _tell_stale(list(decisions), current, snapshots)
    return sent


def _tell_stale(stale: list, current: dict, snapshots: dict) -> list[Sent]:
    sent = []
    for decision in stale:
        request = decision.request
        snapshot, now_fingerprint = current[request.launch_id, request.stage_id]
        changes = fact_changes(snapshots[decision.pk], snapshot)
        payload = {
            **request_names(request),
            "person": person_name(decision.on_behalf_of),
            "changes": changes[:MAX_CHANGES],
            "more": max(0, len(changes) - MAX_CHANGES),
        }
        sent += tell(
            event=NotificationEvent.SIGNOFF_STALE,
            key=f"decision:{decision.pk}:{now_fingerprint[:32]}",
            launch=request.launch,
            recipients=[decision.decided_by, decision.on_behalf_of, request.launch.owner],
            payload=payload,
            link=request.get_absolute_url(),
            detail=f"{request_words(request)}, {len(changes)} facts changed",
        )
    return sent


# 2. Overdue sign-offs and their escalation -----------------------------------------------------


def sweep_overdue(*, now: datetime.datetime) -> list[Sent]:
    """Pending requests past their due date: their undecided addressees (and the delegates they
    chose) are told once; after ``REMINDER_ESCALATION_DAYS`` the Accountable of the function's area
    is told (level 1), after twice that the owner's executive (level 2). Each level once."""
    today = local_date(now)
    requests = list(
        SignoffRequest.objects.filter(status=RequestStatus.PENDING, launch__archived=False, due_date__lt=today)
        .select_related("launch__owner__stakeholder__executive__user", "stage")
        .prefetch_related(
            "addressees", "delegations__delegate", "decisions", "launch__owner__stakeholder__executive__teams"
        )
        .order_by("due_date", "pk")
    )
    if not requests:
        return []
    escalation = settings.REMINDER_ESCALATION_DAYS
    accountables = _accountables_by_area({r.launch_id for r in requests})
    leads = leads_by_function()
    sent = []
    for request in requests:
        waiting = _waiting_on(request)
        days = (today - request.due_date).days
        payload = {
            **request_names(request),
            "due": request.due_date.isoformat(),
            "days": days,
            "people": [person_name(person) for person in waiting],
        }
        link = request.get_absolute_url()
        words = f"{request_words(request)}, due {request.due_date.isoformat()}"
        sent += tell(
            event=NotificationEvent.SIGNOFF_OVERDUE,
            key=f"request:{request.pk}",
            launch=request.launch,
            recipients=waiting,
            payload=payload,
            link=link,
            detail=words,
        )
        for level, after, choose in ((1, escalation, _level_one), (2, 2 * escalation, _level_two)):
            if days < after:
                break
            people = choose(request, waiting, accountables, leads)
            if not people:
                logger.warning(
                    "Sign-off request %s is %s days overdue but there is nobody to escalate to at level %s.",
                    request.pk,
                    days,
                    level,
                )
            sent += tell(
                event=NotificationEvent.SIGNOFF_ESCALATED,
                key=f"request:{request.pk}:level{level}",
                launch=request.launch,
                recipients=people,
                payload={**payload, "level": level},
                link=link,
                detail=f"{words}, {days} days overdue (level {level})",
            )
    return sent


def _waiting_on(request: SignoffRequest) -> list:
    """Addressees who have not decided (nor had a delegate decide for them), with their delegates."""
    decided = {d.on_behalf_of_id for d in request.decisions.all() if d.superseded_at is None}
    delegates = {d.delegator_id: d.delegate for d in request.delegations.all()}
    people = []
    for addressee in request.addressees.all():
        if addressee.pk in decided:
            continue
        people.append(addressee)
        if addressee.pk in delegates:
            people.append(delegates[addressee.pk])
    return people


def _accountables_by_area(launch_ids: set[int]) -> dict[tuple[int, str], list]:
    """(launch, area kind) → the area's Accountables who still serve one of its functions (someone
    who moved to another team since keeps the RACI role but is no longer whom the area answers to,
    as for waivers), for all ``launch_ids`` in two queries."""
    found = defaultdict(list)
    for assignment in (
        RaciAssignment.objects.filter(
            area__launch_id__in=launch_ids, role=Role.ACCOUNTABLE, stakeholder__user__is_active=True
        )
        .select_related("area", "stakeholder__user")
        .prefetch_related("stakeholder__teams")
    ):
        functions = AREA_FUNCTIONS.get(assignment.area.kind)
        if functions and not any(team.function in functions for team in assignment.stakeholder.teams.all()):
            continue
        found[assignment.area.launch_id, assignment.area.kind].append(assignment.stakeholder.user)
    return found


def _level_one(request: SignoffRequest, waiting: list, accountables, leads) -> list:
    """The Accountable of the area that speaks for the request's function; when that is whom the
    request waits for (requests are routed to them first) or there is no such area, the leads of
    the function's teams. Never the people it waits for: escalating to them tells nobody new."""
    waited = {person.pk for person in waiting}
    area = FUNCTION_AREAS.get(request.function)
    people = [p for p in accountables.get((request.launch_id, area), []) if p.pk not in waited]
    return people or [p for p in leads.get(request.function, []) if p.pk not in waited]


def _level_two(request: SignoffRequest, waiting: list, accountables, leads) -> list:
    """The executive the launch owner reports to (``Stakeholder.executive``); else the leads of the
    executive teams. Never the people it waits for, as at level one."""
    waited = {person.pk for person in waiting}
    try:
        executive = request.launch.owner.stakeholder.executive
    except Stakeholder.DoesNotExist:
        executive = None
    # Still an executive (``raci.selectors.is_executive``): one who left the executive teams no
    # longer sees every launch nor decides for it, whatever reporting line was left behind.
    if (
        executive is not None
        and executive.user.is_active
        and any(team.function == TeamFunction.EXECUTIVE for team in executive.teams.all())
        and executive.user_id not in waited
    ):
        return [executive.user]
    return [p for p in leads.get(TeamFunction.EXECUTIVE, []) if p.pk not in waited]


# 3. Expiry warnings ------------------------------------------------------------------------------


def sweep_expiring(*, now: datetime.datetime) -> list[Sent]:
    """Warn, ``EXPIRY_WARNING_DAYS`` ahead, before approvals, waivers, PII audits, rollback
    rehearsals and runbook reviews lapse; once per thing and expiry date, so a renewed fact that
    nears its new date is news again. Archived launches are left alone."""
    today = local_date(now)
    horizon = today + datetime.timedelta(days=settings.EXPIRY_WARNING_DAYS)
    sent = []
    for decision in standing_approvals().defer("snapshot"):
        expires = decision.decided_at + approval_age_limit()
        if not now <= expires <= now + datetime.timedelta(days=settings.EXPIRY_WARNING_DAYS):
            continue
        request, date = decision.request, local_date(expires).isoformat()
        sent += tell(
            event=NotificationEvent.SIGNOFF_EXPIRING,
            key=f"decision:{decision.pk}:{date}",
            launch=request.launch,
            recipients=[request.launch.owner, decision.decided_by, decision.on_behalf_of],
            payload={**request_names(request), "person": person_name(decision.on_behalf_of), "date": date},
            link=request.get_absolute_url(),
            detail=f"approval of the {request_words(request)} expires {date}",
        )
    for fact, key, launch, name, date, also in _expiring_facts(today, horizon):
        sent += tell(
            event=NotificationEvent.FACT_EXPIRING,
            key=f"{key}:{date.isoformat()}",
            launch=launch,
            recipients=[launch.owner, *also],
            payload={"launch": launch.name, "fact": fact, "name": name, "date": date.isoformat()},
            link=launch.get_absolute_url(),
            detail=f"{fact.replace('_', ' ')} {name} due {date.isoformat()}".replace("  ", " "),
        )
    return sent


def _expiring_facts(today: datetime.date, horizon: datetime.date):
    """(fact, key, launch, name, expiry date, others to tell) for each fact lapsing by ``horizon``."""
    waivers = Waiver.objects.filter(
        Q(launch__current_stage__isnull=True) | Q(stage__order__gte=F("launch__current_stage__order")),
        status=WaiverStatus.APPROVED,
        launch__archived=False,
        expires_on__gte=today,
        expires_on__lte=horizon,
    ).select_related("launch__owner", "decided_by")
    for waiver in waivers:
        yield "waiver", f"waiver:{waiver.pk}", waiver.launch, waiver.check_key, waiver.expires_on, [waiver.decided_by]
    live = {"launch__archived": False}
    for asset in DataAsset.objects.filter(
        classification=Classification.PERSONAL, last_audit_at__isnull=False, audit_interval_days__isnull=False, **live
    ).select_related("launch__owner"):
        due = asset.audit_due_on()
        if today <= due <= horizon:
            yield "pii_audit", f"asset:{asset.pk}", asset.launch, asset.name, due, []
    for plan in RollbackPlan.objects.filter(last_rehearsed_at__isnull=False, **live).select_related("launch__owner"):
        due = plan.last_rehearsed_at + datetime.timedelta(days=plan.max_rehearsal_age_days)
        if today <= due <= horizon:
            yield "rollback_rehearsal", f"rollback:{plan.pk}", plan.launch, "", due, []
    for runbook in Runbook.objects.filter(last_reviewed_at__isnull=False, **live).select_related("launch__owner"):
        due = runbook.last_reviewed_at + datetime.timedelta(days=runbook.review_interval_days)
        if today <= due <= horizon:
            yield "runbook_review", f"runbook:{runbook.pk}", runbook.launch, "", due, []
