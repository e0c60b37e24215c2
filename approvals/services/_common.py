from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from readiness.checklist import with_checklist_facts
from readiness.history import save_with_history
from readiness.models import Launch, RolloutStage
from readiness.validators import COMMENT_MAX_LENGTH

from ..choices import REQUEST_TRANSITIONS
from ..models import SignoffRequest


def moment(now: datetime.datetime | None) -> datetime.datetime:
    """The time a service records: now, or an earlier ``now`` given by a loader of past events
    (``seed_demo``). Interfaces never pass one; the future is refused."""
    current = timezone.now()
    if now is None:
        return current
    if not isinstance(now, datetime.datetime) or timezone.is_naive(now):
        raise ValidationError({"now": "Give an aware datetime."})
    if now > current:
        raise ValidationError({"now": "A service cannot record an event in the future."})
    return now


def launch_with_facts(launch_id: int) -> Launch:
    return with_checklist_facts(Launch.objects.filter(pk=launch_id)).get()


def stage_of(launch: Launch, stage: RolloutStage) -> RolloutStage:
    expect_type(stage, RolloutStage, "stage")
    if stage.launch_id != launch.pk:
        raise ValidationError({"stage": f"Stage '{stage.name}' belongs to another launch."})
    return stage


def expect_type(value, kind: type, field: str, *, optional: bool = False) -> None:
    """Refuse a value of the wrong type with an error naming the field, not a crash later."""
    if value is None and optional:
        return
    if not isinstance(value, kind):
        raise ValidationError({field: f"Expected {kind.__name__}, got {type(value).__name__}."})


def close_request(request: SignoffRequest, status: str, *, actor, reason: str) -> None:
    if status not in REQUEST_TRANSITIONS[request.status]:
        raise ValidationError({"status": f"A {request.get_status_display().lower()} request cannot become {status}."})
    request.status = status
    request.closed_at = timezone.now()
    save_with_history(request, actor=actor, reason=reason)


def locked_request(request: SignoffRequest) -> SignoffRequest:
    return SignoffRequest.objects.select_for_update(of=("self",)).select_related("launch", "stage").get(pk=request.pk)


def refuse_if_closed(request: SignoffRequest) -> None:
    if not request.is_open:
        raise ValidationError(
            {"request": f"This request was {request.get_status_display().lower()}; it can no longer be acted on."}
        )


def clean_text(value, *, field: str, required: bool | str = False, max_length: int = COMMENT_MAX_LENGTH) -> str:
    """A text argument (comment, reason, justification, message) stripped, or a ValidationError
    naming ``field``: not text, a NUL character, over ``max_length`` characters, or empty when
    ``required`` (which may be the message to give). None counts as no text."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({field: f"Expected text, got {type(value).__name__}."})
    if "\x00" in value:
        raise ValidationError({field: "The text contains a NUL character, which is not allowed."})
    value = value.strip()
    if len(value) > max_length:
        raise ValidationError({field: f"At most {max_length} characters are allowed; this text has {len(value)}."})
    if required and not value:
        raise ValidationError({field: required if isinstance(required, str) else f"A {field} is required."})
    return value
