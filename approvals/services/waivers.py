from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger import chain
from ledger.events import LedgerEvent
from notifications.services import notify
from raci.choices import AREA_FUNCTIONS, Role, TeamFunction
from raci.selectors import serves_function
from readiness.access import refuse_if_archived, require_change, require_view
from readiness.checklist import registry
from readiness.history import save_with_history
from readiness.models import Launch, RolloutStage
from readiness.people import person_name
from readiness.validators import clean_text

from ..access import is_executive
from ..choices import (
    UNWAIVABLE_CHECKS,
    WAIVER_AREAS,
    WAIVER_TRANSITIONS,
    NotificationEvent,
    WaiverStatus,
    unwaivable_reason,
)
from ..models import Waiver
from ._common import expect_type, stage_of

# Longest a waiver may run before someone has to look again.
MAX_WAIVER_DAYS = 180


@transaction.atomic
def waiver_request(
    *, actor, launch: Launch, stage: RolloutStage, check_key: str, justification: str, expires_on: datetime.date
) -> Waiver:
    require_change(actor, launch)
    refuse_if_archived(launch)
    stage_of(launch, stage)
    expect_type(expires_on, datetime.date, "expires_on")
    justification = clean_text(justification, field="justification", required=_("A waiver needs a justification."))
    if check_key in UNWAIVABLE_CHECKS:
        raise ValidationError({"check_key": unwaivable_reason(check_key)})
    if check_key not in registry:
        raise ValidationError({"check_key": _("Unknown checklist item '%(key)s'.") % {"key": check_key}})
    today = timezone.localdate()
    # An approved waiver that has expired no longer stands in the way of asking again.
    live = Waiver.objects.filter(stage=stage, check_key=check_key).filter(
        Q(status=WaiverStatus.PENDING) | Q(status=WaiverStatus.APPROVED, expires_on__gte=today)
    )
    if live.exists():
        raise ValidationError({"check_key": _("A waiver of this item for this stage is already pending or approved.")})
    if expires_on < today:
        raise ValidationError({"expires_on": _("The expiry date is in the past.")})
    if expires_on > today + datetime.timedelta(days=MAX_WAIVER_DAYS):
        raise ValidationError({"expires_on": _("A waiver may run at most %(days)s days.") % {"days": MAX_WAIVER_DAYS}})
    waiver = Waiver(
        launch=launch,
        stage=stage,
        check_key=check_key,
        justification=justification,
        expires_on=expires_on,
        requested_by=actor,
    )
    try:
        with transaction.atomic():
            save_with_history(waiver, actor=actor, reason="Waiver requested")
    except IntegrityError:
        raise ValidationError(
            {"check_key": _("A waiver of this item for this stage is already pending or approved.")}
        ) from None
    chain.append(
        event=LedgerEvent.WAIVER_REQUESTED,
        launch=launch,
        actor=actor,
        payload={
            "waiver": waiver.pk,
            "stage": stage.name,
            "stage id": stage.pk,
            "item": check_key,
            "expires on": expires_on.isoformat(),
            "justification": waiver.justification,
            "requested at": waiver.requested_at.isoformat(),
        },
        seal=[waiver],
    )
    notify(
        event=NotificationEvent.WAIVER_REQUESTED,
        key=f"waiver:{waiver.pk}",
        launch=launch,
        actor=actor,
        recipients=[person for person in _waiver_deciders(waiver) if _may_decide_waiver(person, waiver)],
        payload={
            "launch": launch.name,
            "stage": stage.name,
            "check": check_key,
            "person": person_name(actor),
            "text": waiver.justification,
        },
        link=waiver.get_absolute_url(),
    )
    return waiver


def _waiver_deciders(waiver: Waiver) -> list:
    """Who might decide ``waiver`` (executives and the launch's Accountables, active), to be
    narrowed by ``_may_decide_waiver``, the rule the decision itself applies."""
    return list(
        get_user_model()
        .objects.filter(
            Q(stakeholder__teams__function=TeamFunction.EXECUTIVE)
            | Q(
                stakeholder__assignments__area__launch=waiver.launch,
                stakeholder__assignments__role=Role.ACCOUNTABLE,
            ),
            is_active=True,
        )
        .distinct()
        .order_by("pk")
    )


def _may_decide_waiver(user, waiver: Waiver) -> bool:
    """An executive, or the Accountable of the item's area while they still serve that area's
    function (checked now, when they act, not only when they were made Accountable); never the
    launch's owner, whose launch the waiver binds."""
    if user.pk == waiver.launch.owner_id:
        return False
    if is_executive(user):
        return True
    area_kind = WAIVER_AREAS.get(waiver.check_key)
    return (
        area_kind is not None
        and waiver.launch.areas.filter(
            kind=area_kind, assignments__role=Role.ACCOUNTABLE, assignments__stakeholder__user=user
        ).exists()
        and any(serves_function(user, function) for function in AREA_FUNCTIONS[area_kind])
    )


@transaction.atomic
def waiver_decide(*, actor, waiver: Waiver, approve: bool, comment: str = "") -> Waiver:
    """The area's Accountable or an executive approves or rejects a waiver; never its requester."""
    waiver = Waiver.objects.select_for_update(of=("self",)).select_related("launch", "stage").get(pk=waiver.pk)
    require_view(actor, waiver.launch)
    if actor.pk == waiver.requested_by_id:
        raise PermissionDenied(_("You asked for this waiver; someone else must decide it."))
    if actor.pk == waiver.launch.owner_id:
        raise PermissionDenied(_("You own this launch; someone else must decide its waivers."))
    if not _may_decide_waiver(actor, waiver):
        raise PermissionDenied(_("Only the Accountable for this item's area or an executive may decide this waiver."))
    refuse_if_archived(waiver.launch)
    status = WaiverStatus.APPROVED if approve else WaiverStatus.REJECTED
    if status not in WAIVER_TRANSITIONS[waiver.status]:
        raise ValidationError(
            {"status": _("This waiver is already %(status)s.") % {"status": waiver.get_status_display().lower()}}
        )
    comment = clean_text(comment, field="comment")
    if not approve and not comment:
        raise ValidationError({"comment": _("Say why the waiver is rejected.")})
    waiver.status = status
    waiver.decided_by = actor
    waiver.decided_at = timezone.now()
    waiver.decision_comment = comment
    save_with_history(waiver, actor=actor, reason=f"Waiver {status}")
    chain.append(
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
            "decided at": waiver.decided_at.isoformat(),
        },
        seal=[waiver],
    )
    notify(
        event=NotificationEvent.WAIVER_DECIDED,
        key=f"waiver:{waiver.pk}",
        launch=waiver.launch,
        actor=actor,
        recipients=[waiver.requested_by],
        payload={
            "launch": waiver.launch.name,
            "stage": waiver.stage.name,
            "check": waiver.check_key,
            "person": person_name(actor),
            "outcome": status,
            "text": comment,
        },
        link=waiver.launch.get_absolute_url(),
    )
    return waiver
