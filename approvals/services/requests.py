from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger import chain
from ledger.events import LedgerEvent
from notifications import notices
from notifications.preferences import recipient_channels
from notifications.services import deliver_after_commit, notify
from raci.choices import Role
from raci.selectors import serves_function
from readiness.access import access_synced_once, refuse_if_archived, require_change
from readiness.history import save_with_history
from readiness.models import Launch, RolloutStage
from readiness.people import person_name
from readiness.selectors import launch_with_facts
from readiness.validators import clean_text

from ..choices import CLOSED_STATUSES, DecisionOutcome, NotificationEvent, RequestStatus
from ..models import Acknowledgement, AskedAgain, InformedNotice, SignoffDecision, SignoffRequest
from ..policies import effective_requirements
from ..routing import default_addressees
from ..selectors import approval_age_limit
from ..snapshot import fact_changes, fingerprint, launch_snapshot
from ._common import (
    close_request,
    expect_type,
    facts_now,
    locked_request,
    moment,
    refuse_if_closed,
    stage_of,
)

User = get_user_model()


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
                "addressees": _(
                    "Nobody can be asked for the %(function)s sign-off: "
                    "no Accountable, slot or active team member for that function."
                )
                % {"function": label}
            }
        )
    if any(person.pk == actor.pk for person in people):
        raise ValidationError({"addressees": _("You cannot address a sign-off request to yourself.")})
    if any(not person.is_active for person in people):
        raise ValidationError({"addressees": _("Deactivated people cannot be asked for a sign-off.")})
    strangers = [person for person in people if not serves_function(person, requirement.function)]
    if strangers:
        raise ValidationError(
            {
                "addressees": _(
                    "%(people)s cannot sign off for %(function)s: not in any %(function)s team. "
                    "Team administrators decide who serves a function."
                )
                % {"people": ", ".join(person_name(p) for p in strangers), "function": label}
            }
        )
    if len(people) < requirement.approvals_required:
        raise ValidationError(
            {
                "addressees": _(
                    "The %(function)s sign-off needs %(needed)s approvals; only %(asked)s people are asked."
                )
                % {"function": label, "needed": requirement.approvals_required, "asked": len(people)}
            }
        )
    return people


# Requests ----------------------------------------------------------------------------------


@transaction.atomic
@access_synced_once()
def signoffs_request(
    *,
    actor,
    launch: Launch,
    stage: RolloutStage,
    due_date: datetime.date | None = None,
    message: str = "",
    functions: list[str] | None = None,
    addressees: dict[str, list] | None = None,
    now: datetime.datetime | None = None,
) -> list[SignoffRequest]:
    """Ask for the sign-offs ``stage`` needs: one request per required function (or just
    ``functions``), addressed to ``addressees[function]`` or routed through the RACI. Any open
    request for the same function is superseded by the new one. Consulted people are
    asked to acknowledge; Informed people are recorded as informed."""
    require_change(actor, launch)
    now = moment(now)
    expect_type(stage, RolloutStage, "stage")
    expect_type(due_date, datetime.date, "due_date", optional=True)
    message = clean_text(message, field="message")
    if functions is not None and (
        not isinstance(functions, list | tuple) or not all(isinstance(f, str) for f in functions)
    ):
        raise ValidationError({"functions": _("Give a list of team functions, e.g. ['legal', 'security'].")})
    addressees = addressees or {}
    if not isinstance(addressees, dict) or not all(
        isinstance(people, list | tuple) and all(isinstance(p, User) for p in people) for people in addressees.values()
    ):
        raise ValidationError({"addressees": _("Give addressees as {function: [user, ...]}.")})
    launch = Launch.objects.select_for_update(of=("self",), no_key=True).get(pk=launch.pk)
    refuse_if_archived(launch)
    stage_of(launch, stage)
    if due_date is not None and due_date < timezone.localdate():
        raise ValidationError({"due_date": _("The due date is in the past.")})
    facts = launch_with_facts(launch.pk)
    stage = next(s for s in facts.stages.all() if s.pk == stage.pk)
    requirements = {r.function: r for r in effective_requirements(facts, stage)}
    wanted = list(dict.fromkeys(functions)) if functions is not None else list(requirements)
    unknown = [f for f in wanted if f not in requirements]
    if unknown:
        raise ValidationError(
            {
                "functions": _("Not required to enter %(stage)s: %(unknown)s. Required: %(required)s.")
                % {"stage": stage.name, "unknown": ", ".join(unknown), "required": ", ".join(requirements) or _("none")}
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
        close_request(previous, RequestStatus.SUPERSEDED, actor=actor, reason="Requested again")
    replaced = {previous.function: previous for previous in superseded}
    snapshot_hash = fingerprint(launch_snapshot(facts, stage))
    created, message_ids = [], []
    # How each addressee wants to be told, read once for every request of this call.
    channels = recipient_channels(
        NotificationEvent.SIGNOFF_REQUESTED, {p.pk: p for people in routed.values() for p in people}.values()
    )
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
            created_at=now,
            replaces=replaced.get(function),
        )
        save_with_history(request, actor=actor, reason=f"Requested for {stage.name}")
        request.addressees.set(people)  # grants them the decision and the view (approvals.signals)
        message_ids += _tell_addressees(request, people, channels)
        chain.append(
            event=LedgerEvent.REQUESTED,
            launch=launch,
            actor=actor,
            payload={
                "request": request.pk,
                "stage": stage.name,
                "stage id": stage.pk,
                "function": function,
                "approvals required": requirement.approvals_required,
                "addressees": sorted(p.get_username() for p in people),
                "due date": due_date.isoformat() if due_date else None,
                "replaces": request.replaces_id,
            },
            snapshot_hash=snapshot_hash,
            seal=[request, *([request.replaces] if request.replaces else [])],
        )
        created.append(request)
    _route_consulted_and_informed(facts, stage, actor=actor)
    # The mails are written here and sent after commit; sending can never undo or fail the request.
    deliver_after_commit(message_ids)
    return created


def _tell_addressees(request: SignoffRequest, people: list, channels: dict[int, list[str]]) -> list[int]:
    """Write each active addressee's "sign-off requested" notice and messages (on the channels
    ``channels`` says, read once for every request of the call); the request is the messages'
    subject, so one withdrawn or superseded before delivery is not sent. Returns the messages' ids.
    Addressees are chosen by the routing and given the view by the request itself: nobody to filter."""
    payload = {
        "launch": request.launch.name,
        "stage": request.stage.name,
        "function": request.function,
        "person": person_name(request.requested_by),
        "due": request.due_date.isoformat() if request.due_date else None,
        "text": request.message,
    }
    link = request.get_absolute_url()
    return notices.write(
        event=NotificationEvent.SIGNOFF_REQUESTED,
        key=f"request:{request.pk}",
        launch=request.launch,
        told=[(person, payload, link) for person in people if person.is_active],
        channels=channels,
        subject=request,
    )


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
                acknowledgement = save_with_history(
                    Acknowledgement(launch=launch, stage=stage, user=user, requested_by=actor),
                    actor=actor,
                    reason="Consulted: asked to acknowledge",
                )
                notify(
                    event=NotificationEvent.ACKNOWLEDGEMENT_REQUESTED,
                    key=f"acknowledgement:{acknowledgement.pk}",
                    launch=launch,
                    actor=actor,
                    recipients=[user],
                    payload={"launch": launch.name, "stage": stage.name, "person": person_name(actor)},
                    link=acknowledgement.get_absolute_url(),
                )
            elif (
                assignment.role == Role.INFORMED and not InformedNotice.objects.filter(stage=stage, user=user).exists()
            ):
                save_with_history(
                    InformedNotice(launch=launch, stage=stage, user=user),
                    actor=actor,
                    reason="Informed of the sign-off request",
                )


@transaction.atomic
def signoff_withdraw(*, actor, signoff: SignoffRequest, reason: str = "") -> SignoffRequest:
    signoff = locked_request(signoff)
    require_change(actor, signoff.launch)
    refuse_if_archived(signoff.launch)
    refuse_if_closed(signoff)
    reason = clean_text(reason, field="reason")
    close_request(signoff, RequestStatus.WITHDRAWN, actor=actor, reason=reason or "Withdrawn by the owner")
    chain.append(
        event=LedgerEvent.WITHDRAWN,
        launch=signoff.launch,
        actor=actor,
        payload={"request": signoff.pk, "stage": signoff.stage.name, "function": signoff.function, "reason": reason},
        seal=[signoff],
    )
    notify(
        event=NotificationEvent.SIGNOFF_WITHDRAWN,
        key=f"request:{signoff.pk}",
        launch=signoff.launch,
        actor=actor,
        recipients=signoff.addressees.all(),
        payload={
            "launch": signoff.launch.name,
            "stage": signoff.stage.name,
            "function": signoff.function,
            "person": person_name(actor),
            "text": reason,
        },
        link=signoff.launch.get_absolute_url(),
    )
    return signoff


# Asking a stale approver again ------------------------------------------------------------------

# An "asked again" notice lists at most this many changed facts (and how many more).
MAX_CHANGES_TOLD = 10


@transaction.atomic
def signoff_ask_again(*, actor, signoff: SignoffRequest, approver) -> tuple[AskedAgain, bool]:
    """The owner asks ``approver``, whose approval on ``signoff`` no longer counts (the facts
    changed since, or it expired), to decide again: on the same request, so the other approvals
    stand, and to the same seat (their delegate, when one decided for them, is asked too). Told
    once, with what changed. Asking again about the same facts changes nothing: returns the
    earlier record and False."""
    signoff = locked_request(signoff)
    require_change(actor, signoff.launch)
    refuse_if_archived(signoff.launch)
    refuse_if_closed(signoff)
    names = {"person": person_name(approver), "function": signoff.get_function_display()}
    decision = (
        SignoffDecision.objects.filter(
            request=signoff, on_behalf_of=approver, superseded_at__isnull=True, outcome=DecisionOutcome.APPROVE
        )
        .select_related("decided_by", "on_behalf_of")
        .first()
    )
    if decision is None:
        raise ValidationError({"approver": _("%(person)s has no approval on this request to ask again for.") % names})
    snapshot = facts_now(signoff)
    current = fingerprint(snapshot)
    expired = decision.decided_at + approval_age_limit() < timezone.now()
    if decision.fingerprint == current and not expired:
        raise ValidationError(
            {"approver": _("The approval by %(person)s still counts; there is nothing to ask again.") % names}
        )
    earlier = AskedAgain.objects.filter(decision=decision, fingerprint=current).first()
    if earlier is not None:
        return earlier, False
    if not approver.is_active or not serves_function(approver, signoff.function):
        raise ValidationError(
            {
                "approver": _(
                    "%(person)s no longer serves %(function)s; request the sign-off again to ask someone who does."
                )
                % names
            }
        )
    asked = save_with_history(
        AskedAgain(request=signoff, decision=decision, approver=approver, fingerprint=current, asked_by=actor),
        actor=actor,
        reason=f"Asked {person_name(approver)} again: the approval no longer counts",
    )
    changes = fact_changes(decision.snapshot, snapshot) if decision.fingerprint != current else []
    notify(
        event=NotificationEvent.SIGNOFF_ASKED_AGAIN,
        key=f"asked-again:{decision.pk}:{current[:32]}",
        launch=signoff.launch,
        actor=actor,
        recipients=list(dict.fromkeys([decision.on_behalf_of, decision.decided_by])),
        payload={
            **{"launch": signoff.launch.name, "stage": signoff.stage.name, "function": signoff.function},
            "person": person_name(actor),
            "approved": decision.decided_at.date().isoformat(),
            "expired": expired and not changes,
            "changes": changes[:MAX_CHANGES_TOLD],
            "more": max(0, len(changes) - MAX_CHANGES_TOLD),
        },
        link=signoff.get_absolute_url(),
    )
    return asked, True
