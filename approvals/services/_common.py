from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from readiness.history import save_with_history
from readiness.models import Launch, RolloutStage
from readiness.selectors import launch_with_facts

from ..choices import REQUEST_TRANSITIONS
from ..models import SignoffRequest
from ..snapshot import launch_snapshot


def moment(now: datetime.datetime | None) -> datetime.datetime:
    """The time a service records: now, or an earlier ``now`` given by a loader of past events
    (``seed_demo``). Interfaces never pass one; the future is refused."""
    current = timezone.now()
    if now is None:
        return current
    if not isinstance(now, datetime.datetime) or timezone.is_naive(now):
        raise ValidationError({"now": _("Give an aware datetime.")})
    if now > current:
        raise ValidationError({"now": _("A service cannot record an event in the future.")})
    return now


def facts_now(signoff: SignoffRequest) -> dict:
    """The snapshot of the launch's facts for the request's stage as they stand now: what a
    decision taken now is on (``signoff_decide``, ``signoff_ask_again``)."""
    facts = launch_with_facts(signoff.launch_id)
    return launch_snapshot(facts, next(s for s in facts.stages.all() if s.pk == signoff.stage_id))


def stage_of(launch: Launch, stage: RolloutStage) -> RolloutStage:
    expect_type(stage, RolloutStage, "stage")
    if stage.launch_id != launch.pk:
        raise ValidationError({"stage": _("Stage '%(stage)s' belongs to another launch.") % {"stage": stage.name}})
    return stage


def expect_type(value, kind: type, field: str, *, optional: bool = False) -> None:
    """Refuse a value of the wrong type with an error naming the field, not a crash later."""
    if value is None and optional:
        return
    if not isinstance(value, kind):
        raise ValidationError(
            {
                field: _("Expected %(expected)s, got %(type)s.")
                % {"expected": kind.__name__, "type": type(value).__name__}
            }
        )


def close_request(request: SignoffRequest, status: str, *, actor, reason: str) -> None:
    if status not in REQUEST_TRANSITIONS[request.status]:
        raise ValidationError(
            {
                "status": _("A %(status)s request cannot become %(new)s.")
                % {"status": request.get_status_display().lower(), "new": status}
            }
        )
    request.status = status
    request.closed_at = timezone.now()
    save_with_history(request, actor=actor, reason=reason)


def locked_request(request: SignoffRequest) -> SignoffRequest:
    return SignoffRequest.objects.select_for_update(of=("self",)).select_related("launch", "stage").get(pk=request.pk)


def refuse_if_closed(request: SignoffRequest) -> None:
    if not request.is_open:
        raise ValidationError(
            {
                "request": _("This request was %(status)s; it can no longer be acted on.")
                % {"status": request.get_status_display().lower()}
            }
        )
