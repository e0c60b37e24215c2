"""Failure reviews: failure cases counted per feedback channel and period, and review meetings with
the actions they decide. Recorded by those who answer for the launch in service (its owner and its
Responsible or Accountable people, ``operations.access``); an action's owner marks it done. Each
service runs in one transaction with the launch locked, validates, and writes history. Item 11 reads
when each channel was last reviewed, so a review is ledgered (``failure_review``) with its channel
and date: a review written or moved in SQL shows up in ``verify_ledger``."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger.events import LedgerEvent
from raci.models import RaciAssignment, Stakeholder
from readiness.access import refuse_if_archived, require_view
from readiness.history import save_with_history
from readiness.i18n import shown_date
from readiness.models import FeedbackChannel, Launch
from readiness.recording import record
from readiness.services.facts import lock_launch

from ..access import may_respond, require_respond
from ..models import FailureCount, FailureReview, ReviewAction


def _operated_launch(actor, launch: Launch) -> Launch:
    """The launch locked for the transaction, after checking ``actor`` may write its operating record."""
    launch = lock_launch(launch)
    require_respond(actor, launch)
    refuse_if_archived(launch)
    return launch


def _people_on_raci(launch: Launch, stakeholders: Iterable[Stakeholder]) -> set[int]:
    ids = {stakeholder.pk for stakeholder in stakeholders}
    return set(
        RaciAssignment.objects.filter(area__launch=launch, stakeholder__in=ids).values_list("stakeholder_id", flat=True)
    )


@transaction.atomic
def failure_count_record(
    *, actor, channel: FeedbackChannel, period_start: datetime.date, period_end: datetime.date, cases: int
) -> FailureCount:
    """Record how many failure cases ``channel`` caught from ``period_start`` to ``period_end``.
    Recording the same period again replaces the number (the history keeps the old one)."""
    _operated_launch(actor, channel.launch)
    count = FailureCount.objects.filter(channel=channel, period_start=period_start).first()
    reason = "Failure cases corrected" if count else "Failure cases counted"
    count = count or FailureCount(channel=channel, period_start=period_start)
    count.period_end, count.cases, count.recorded_by, count.recorded_at = period_end, cases, actor, timezone.now()
    return save_with_history(count, actor=actor, reason=reason)


@transaction.atomic
def failure_review_record(
    *,
    actor,
    channel: FeedbackChannel,
    held_on: datetime.date,
    attendees: Iterable[Stakeholder],
    decisions: str,
    actions: Iterable[Mapping] = (),
) -> FailureReview:
    """Record a review meeting of ``channel``'s failure cases, with the actions it decided; each
    action (``description``, ``owner`` a Stakeholder, ``due_on``) is owned by a person on the
    launch's RACI. All or nothing: one bad action saves nothing."""
    launch = _operated_launch(actor, channel.launch)
    attendees = list(attendees)
    if not attendees:
        raise ValidationError({"attendees": _("Name who attended the review.")})
    actions = [dict(action) for action in actions]
    on_raci = _people_on_raci(launch, [action["owner"] for action in actions if action.get("owner")])
    review = save_with_history(
        FailureReview(channel=channel, held_on=held_on, decisions=decisions, recorded_by=actor),
        actor=actor,
        reason="Failure review recorded",
    )
    review.attendees.set(attendees)
    for number, action in enumerate(actions, start=1):
        owner = action.get("owner")
        if owner is not None and owner.pk not in on_raci:
            raise ValidationError(
                {
                    "actions": _(
                        "Action %(number)s: %(person)s is not on the launch's RACI; an action is owned by someone who is."
                    )
                    % {"number": number, "person": owner.display_name}
                }
            )
        item = ReviewAction(
            review=review, description=action.get("description", ""), owner=owner, due_on=action.get("due_on")
        )
        try:
            save_with_history(item, actor=actor, reason="Review action recorded")
        except ValidationError as error:
            raise ValidationError(
                {
                    "actions": [
                        _("Action %(number)s: %(problem)s") % {"number": number, "problem": message}
                        for message in error.messages
                    ]
                }
            ) from None
    record(
        event=LedgerEvent.FAILURE_REVIEW_RECORDED,
        launch=launch,
        actor=actor,
        payload={"review": review.pk, "channel": channel.pk, "held on": review.held_on.isoformat()},
        seal=[review],
    )
    return review


@transaction.atomic
def review_action_complete(*, actor, action: ReviewAction, done_on: datetime.date | None = None) -> ReviewAction:
    """Mark a review action done, by its owner or by someone who may operate the launch."""
    launch = lock_launch(action.review.channel.launch)
    require_view(actor, launch)
    action = ReviewAction.objects.select_related("owner").get(pk=action.pk)
    if action.owner.user_id != actor.pk and not may_respond(actor, launch):
        raise PermissionDenied(_("Only the action's owner or the launch's operators may mark it done."))
    refuse_if_archived(launch)
    if action.done_on is not None:
        raise ValidationError(
            {"done_on": _("This action was already marked done on %(date)s.") % {"date": shown_date(action.done_on)}}
        )
    action.done_on = done_on or timezone.localdate()
    if action.done_on > timezone.localdate():
        raise ValidationError({"done_on": _("An action is done once it is done, not in advance.")})
    return save_with_history(action, actor=actor, reason="Review action done")
