"""State changes on incidents, post-mortems, action items and rollback executions.

Every service takes the acting user, runs in one transaction, checks who may act
(``operations.access``), refuses archived launches, validates through the model's ``clean()``
and writes history. Incidents are read by the stage gate ("Incident post-mortems", "Open P0 and P1
incidents"), so their changes and post-mortems are appended to the ledger through
``readiness.recording`` (operations never imports approvals).

Reporting an incident, and changing its severity, pages everyone its severity level names on the
launch (the severity policy resolved through the RACI) who was not paged about it yet, through the
outbox in their language and on their channels; ``Incident.notified`` records whom that reached."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger.events import LedgerEvent
from notifications.services import notify
from raci.models import Stakeholder
from readiness.access import refuse_if_archived, require_view
from readiness.choices import Severity
from readiness.history import save_with_history
from readiness.models import Launch
from readiness.people import person_name
from readiness.recording import record
from readiness.stage_events import stage_rolled_back
from readiness.validators import clean_text

from ..access import is_lower_severity, may_respond, require_lower_severity, require_respond
from ..choices import IncidentEvent
from ..models import ActionItem, Incident, PostMortem, RollbackExecution
from ..selectors import severity_pages

# Fields a person may set on an incident (the rest are who reported it and when).
INCIDENT_FIELDS = (
    "title",
    "severity",
    "user_impact",
    "detected_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
)
TIME_FIELDS = ("detected_at", "acknowledged_at", "mitigated_at", "resolved_at")


def _moment(value, field: str, *, required: bool = False) -> datetime.datetime | None:
    if value is None:
        if required:
            raise ValidationError({field: _("Give the time.")})
        return None
    if not isinstance(value, datetime.datetime) or timezone.is_naive(value):
        raise ValidationError({field: _("Give an aware date and time.")})
    if value > timezone.now():
        raise ValidationError({field: _("This time is in the future.")})
    return value


def _people(values: Iterable, field: str) -> list[Stakeholder]:
    people = list(values or ())
    for person in people:
        if not isinstance(person, Stakeholder):
            raise ValidationError(
                {field: _("Expected people (stakeholders), got %(type)s.") % {"type": type(person).__name__}}
            )
    return people


def incident_payload(incident: Incident) -> dict:
    """What the ledger keeps of an incident: what the gate reads of it."""

    def iso(value):
        return value.isoformat() if value else None

    return {
        "incident": incident.pk,
        "title": incident.title,
        "severity": incident.severity,
        "detected": iso(incident.detected_at),
        "acknowledged": iso(incident.acknowledged_at),
        "mitigated": iso(incident.mitigated_at),
        "resolved": iso(incident.resolved_at),
    }


def _locked_launch(actor, launch: Launch) -> Launch:
    require_view(actor, launch)
    locked = Launch.objects.select_for_update(of=("self",), no_key=True).get(pk=launch.pk)
    require_respond(actor, locked)
    refuse_if_archived(locked)
    return locked


def _locked_incident(actor, incident: Incident) -> tuple[Launch, Incident]:
    if not isinstance(incident, Incident):
        raise ValidationError({"incident": _("Expected an incident.")})
    launch = _locked_launch(actor, incident.launch)
    return launch, Incident.objects.select_for_update().get(pk=incident.pk)


def _page(incident: Incident, *, launch: Launch, actor, event: str, before: str = "") -> None:
    """Tell everyone ``incident``'s severity level names who has not been paged about it yet
    (once each, however often the severity changes or the call is repeated), and record in
    ``notified`` whom that reached: people the policy names but who cannot be told (inactive, not
    seeing the launch) stay out, so its review names them. Whoever reported it or changed the
    severity is paged too when the level names them: a page goes to the role, and it is their
    proof that the page went out."""
    level, named = severity_pages(launch_id=launch.pk, severity=incident.severity)
    paged = {person.pk for person in incident.notified.all()}
    named = [person for person in named if person.pk not in paged]
    if not named:
        return
    payload = {
        "launch": launch.name,
        "severity": incident.severity,
        "response_minutes": level.response_minutes,
        "person": person_name(actor),
        "text": incident.title,
        **({"from": before} if before else {}),
    }
    told = notify(
        event=event,
        key=f"incident:{incident.pk}",
        launch=launch,
        actor=None,
        recipients=[person.user for person in named],
        payload=payload,
        link=incident.get_absolute_url(),
    )
    reached = {user.pk for user in told}
    incident.notified.add(*[person for person in named if person.user_id in reached])


def _save_incident(
    incident: Incident, *, actor, launch: Launch, reason: str, event: LedgerEvent, responders, page=None, extra=None
) -> Incident:
    """Save with history, set the responders (when given), page with ``page`` (an
    ``IncidentEvent``, when given) and ledger what the gate reads, whom it paged included."""
    save_with_history(incident, actor=actor, reason=reason)
    if responders is not None:
        incident.responders.set(responders)
    if page is not None:
        _page(incident, launch=launch, actor=actor, event=page, before=(extra or {}).get("severity from", ""))
    payload = incident_payload(incident)
    payload["notified"] = sorted(incident.notified.values_list("pk", flat=True))
    payload.update(extra or {})
    record(event=event, launch=launch, actor=actor, payload=payload, seal=[incident])
    return incident


@transaction.atomic
def incident_report(
    *,
    actor,
    launch: Launch,
    title: str,
    severity: str,
    user_impact: str,
    detected_at: datetime.datetime,
    acknowledged_at: datetime.datetime | None = None,
    mitigated_at: datetime.datetime | None = None,
    resolved_at: datetime.datetime | None = None,
    responders: Iterable[Stakeholder] = (),
) -> Incident:
    """Record an incident on ``launch``; its times may be given at once when reported afterwards.
    Pages everyone its severity level names (``_page``)."""
    locked = _locked_launch(actor, launch)
    if severity not in Severity.values:
        raise ValidationError({"severity": _("Choose a severity from P0 to P3.")})
    incident = Incident(
        launch=locked,
        title=clean_text(title, field="title", required=_("Give the incident a title."), max_length=200),
        severity=severity,
        user_impact=clean_text(user_impact, field="user_impact", required=_("Say what the incident did to users.")),
        detected_at=_moment(detected_at, "detected_at", required=True),
        acknowledged_at=_moment(acknowledged_at, "acknowledged_at"),
        mitigated_at=_moment(mitigated_at, "mitigated_at"),
        resolved_at=_moment(resolved_at, "resolved_at"),
        reported_by=actor,
    )
    return _save_incident(
        incident,
        actor=actor,
        launch=locked,
        reason=f"Reported ({severity})",
        event=LedgerEvent.INCIDENT_RECORDED,
        responders=_people(responders, "responders"),
        page=IncidentEvent.REPORTED,
    )


@transaction.atomic
def incident_update(
    *, actor, incident: Incident, responders: Iterable[Stakeholder] | None = None, **changes
) -> Incident:
    """Correct what an incident records. ``changes`` names fields of ``INCIDENT_FIELDS``;
    ``responders``, when given, replaces the list.

    Lowering the severity (P1 → P3) needs the Accountable of the area that answers for incidents or
    an executive (``operations.access.require_lower_severity``; an executive may change the
    severity alone without being a responder); raising it is anyone's who may respond. A changed
    severity is its own ledger entry (``incident_severity``), saying from what and on whose
    authority, and pages whoever the new level names who was not paged yet (``_page``)."""
    unknown = set(changes) - set(INCIDENT_FIELDS)
    if unknown:
        raise ValidationError({field: _("This field cannot be changed here.") for field in sorted(unknown)})
    if not isinstance(incident, Incident):
        raise ValidationError({"incident": _("Expected an incident.")})
    if "severity" in changes and changes["severity"] not in Severity.values:
        raise ValidationError({"severity": _("Choose a severity from P0 to P3.")})
    require_view(actor, incident.launch)
    launch = Launch.objects.select_for_update(of=("self",), no_key=True).get(pk=incident.launch_id)
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    before = incident.severity
    lowering = "severity" in changes and is_lower_severity(changes["severity"], before)
    severity_only = set(changes) <= {"severity"} and responders is None
    lowered_by = require_lower_severity(actor, launch) if lowering else ""
    if not (severity_only and lowered_by):  # anything else is the responders' work
        require_respond(actor, launch)
    refuse_if_archived(launch)
    for field, value in changes.items():
        if field in TIME_FIELDS:
            value = _moment(value, field, required=field == "detected_at")
        elif field == "title":
            value = clean_text(value, field="title", required=_("Give the incident a title."), max_length=200)
        elif field == "user_impact":
            value = clean_text(value, field="user_impact", required=_("Say what the incident did to users."))
        setattr(incident, field, value)
    if incident.resolved_at is None and hasattr(incident, "postmortem"):
        raise ValidationError({"resolved_at": _("The incident has a post-mortem; it stays resolved.")})
    if incident.severity == before:
        event, reason, extra, page = LedgerEvent.INCIDENT_CHANGED, "Changed", {}, None
    else:
        event, reason = LedgerEvent.INCIDENT_SEVERITY_CHANGED, f"Severity {before} → {incident.severity}"
        extra = {"severity from": before, **({"lowered by": lowered_by} if lowering else {})}
        page = IncidentEvent.SEVERITY_CHANGED
    return _save_incident(
        incident,
        actor=actor,
        launch=launch,
        reason=reason,
        event=event,
        responders=None if responders is None else _people(responders, "responders"),
        page=page,
        extra=extra,
    )


def _step(*, actor, incident: Incident, field: str, at, reason: str, already: str) -> Incident:
    launch, incident = _locked_incident(actor, incident)
    if getattr(incident, field) is not None:
        raise ValidationError({field: already})
    setattr(incident, field, _moment(at, field) or timezone.now())
    return _save_incident(
        incident, actor=actor, launch=launch, reason=reason, event=LedgerEvent.INCIDENT_CHANGED, responders=None
    )


@transaction.atomic
def incident_acknowledge(*, actor, incident: Incident, at: datetime.datetime | None = None) -> Incident:
    return _step(
        actor=actor,
        incident=incident,
        field="acknowledged_at",
        at=at,
        reason="Acknowledged",
        already=_("The incident is already acknowledged."),
    )


@transaction.atomic
def incident_mitigate(*, actor, incident: Incident, at: datetime.datetime | None = None) -> Incident:
    return _step(
        actor=actor,
        incident=incident,
        field="mitigated_at",
        at=at,
        reason="Mitigated",
        already=_("The incident is already mitigated."),
    )


@transaction.atomic
def incident_resolve(*, actor, incident: Incident, at: datetime.datetime | None = None) -> Incident:
    return _step(
        actor=actor,
        incident=incident,
        field="resolved_at",
        at=at,
        reason="Resolved",
        already=_("The incident is already resolved."),
    )


@transaction.atomic
def postmortem_record(
    *, actor, incident: Incident, summary: str, root_cause: str, action_items: list[dict]
) -> PostMortem:
    """Record the post-mortem of a resolved incident with at least one action item, each
    ``{"description", "owner" (a Stakeholder on the RACI), "due_date"}``. One per incident."""
    launch, incident = _locked_incident(actor, incident)
    if incident.resolved_at is None:
        raise ValidationError({"incident": _("A post-mortem is written once the incident is resolved.")})
    if PostMortem.objects.filter(incident=incident).exists():
        raise ValidationError({"incident": _("This incident already has a post-mortem.")})
    if not action_items:
        raise ValidationError({"action_items": _("A post-mortem needs at least one action item.")})
    postmortem = save_with_history(
        PostMortem(
            incident=incident,
            summary=clean_text(summary, field="summary", required=_("Summarise what happened.")),
            root_cause=clean_text(root_cause, field="root_cause", required=_("Say what caused the incident.")),
            written_by=actor,
        ),
        actor=actor,
        reason="Post-mortem recorded",
    )
    items = []
    for number, data in enumerate(action_items, start=1):
        owner, due_date = data.get("owner"), data.get("due_date")
        if not isinstance(owner, Stakeholder):
            raise ValidationError({"action_items": _("Action item %(number)s has no owner.") % {"number": number}})
        if not isinstance(due_date, datetime.date):
            raise ValidationError({"action_items": _("Action item %(number)s has no due date.") % {"number": number}})
        item = ActionItem(
            postmortem=postmortem,
            description=clean_text(
                data.get("description"),
                field="action_items",
                required=_("Action item %(number)s says nothing to do.") % {"number": number},
                max_length=500,
            ),
            owner=owner,
            due_date=due_date,
        )
        try:
            items.append(save_with_history(item, actor=actor, reason="Action item from the post-mortem"))
        except ValidationError as error:
            raise ValidationError(
                {"action_items": [_("Action item %(number)s: ") % {"number": number} + m for m in error.messages]}
            ) from None
    record(
        event=LedgerEvent.POSTMORTEM_RECORDED,
        launch=launch,
        actor=actor,
        payload={
            "incident": incident.pk,
            "postmortem": postmortem.pk,
            "action items": [
                {"owner": item.owner.user.get_username(), "due": item.due_date.isoformat()} for item in items
            ],
        },
        seal=[postmortem],
    )
    return postmortem


@transaction.atomic
def action_item_complete(*, actor, item: ActionItem) -> ActionItem:
    """Mark an action item done: its owner, the launch owner or a Responsible/Accountable."""
    if not isinstance(item, ActionItem):
        raise ValidationError({"item": _("Expected an action item.")})
    item = (
        ActionItem.objects.select_for_update().select_related("postmortem__incident__launch", "owner").get(pk=item.pk)
    )
    launch = item.postmortem.incident.launch
    require_view(actor, launch)
    if item.owner.user_id != actor.pk and not may_respond(actor, launch):
        raise PermissionDenied(
            _(
                "Only the action item's owner, the launch owner or its Responsible or Accountable people may complete it."
            )
        )
    refuse_if_archived(launch)
    if item.completed_at is not None:
        raise ValidationError({"item": _("This action item is already done.")})
    item.completed_at, item.completed_by = timezone.now(), actor
    return save_with_history(item, actor=actor, reason="Completed")


# Rollbacks ------------------------------------------------------------------------------------


@receiver(stage_rolled_back, dispatch_uid="operations_records_rollback_execution")
def record_rollback_execution(
    sender,
    *,
    launch: Launch,
    actor,
    from_stage,
    to_stage,
    reason: str,
    at: datetime.datetime,
    duration: datetime.timedelta | None = None,
    incident_id: int | None = None,
    **kwargs,
) -> RollbackExecution:
    """Every ``stage_rollback`` is recorded as an execution, in the rollback's transaction: the
    gate sends ``readiness.stage_events.stage_rolled_back`` (approvals does not know this app),
    and a refusal here (an incident of another launch, a negative duration) undoes the rollback."""
    if duration is not None and not isinstance(duration, datetime.timedelta):
        raise ValidationError({"duration": _("Give how long it took as a duration.")})
    incident = None
    if incident_id is not None:
        if isinstance(incident_id, bool) or not isinstance(incident_id, int):
            raise ValidationError({"incident": _("Name the incident by its number.")})
        incident = Incident.objects.filter(pk=incident_id, launch_id=launch.pk).first()
        if incident is None:
            raise ValidationError({"incident": _("The incident belongs to another launch.")})
    return save_with_history(
        RollbackExecution(
            launch=launch,
            from_stage=from_stage,
            to_stage=to_stage,
            from_stage_name=from_stage.name,
            to_stage_name=to_stage.name,
            performed_by=actor,
            reason=reason,
            rolled_back_at=at,
            duration=duration,
            incident=incident,
        ),
        actor=actor,
        reason=f"Rolled back from {from_stage.name} to {to_stage.name}",
    )
