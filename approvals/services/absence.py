"""Out of office: an approver names a colleague of the same function to stand in for a period, so
sign-off requests routed to them meanwhile go to that colleague (``approvals.routing``). Setting
and ending one early are the person's own acts, with history, and sealed in the ledger."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from raci.models import Team
from readiness.history import save_with_history
from readiness.i18n import shown_date
from readiness.people import person_name
from readiness.validators import clean_text

from ..models import OutOfOffice

# Longer than this is not an absence but a change of who serves the function (team administrators).
MAX_ABSENCE_DAYS = 92


def shared_functions(person, delegate) -> set[str]:
    """The functions of the teams ``person`` and ``delegate`` are both members of."""
    return set(
        Team.objects.filter(members__user=person).filter(members__user=delegate).values_list("function", flat=True)
    )


def colleagues(person) -> list:
    """Active people in a team with ``person``: whom they may name to stand in."""
    return list(
        get_user_model()
        .objects.filter(stakeholder__teams__members__user=person, is_active=True)
        .exclude(pk=person.pk)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


@transaction.atomic
def out_of_office_set(
    *, actor, delegate, starts_on: datetime.date, ends_on: datetime.date, reason: str = ""
) -> OutOfOffice:
    """``actor`` will be away from ``starts_on`` to ``ends_on`` (inclusive); ``delegate`` stands in."""
    if not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied(_("Sign in to set who stands in for you."))
    reason = clean_text(reason, field="reason")
    if not isinstance(starts_on, datetime.date) or not isinstance(ends_on, datetime.date):
        raise ValidationError({"starts_on": _("Give the first and the last day of the absence.")})
    today = timezone.localdate()
    if starts_on < today:
        raise ValidationError({"starts_on": _("The absence cannot start in the past.")})
    if ends_on < starts_on:
        raise ValidationError({"ends_on": _("The last day is before the first day.")})
    if (ends_on - starts_on).days + 1 > MAX_ABSENCE_DAYS:
        raise ValidationError(
            {
                "ends_on": _(
                    "An absence lasts at most %(days)s days; for longer, ask a team administrator to change "
                    "who serves the function."
                )
                % {"days": MAX_ABSENCE_DAYS}
            }
        )
    if delegate is None or delegate.pk == actor.pk:
        raise ValidationError({"delegate": _("Choose someone else to stand in for you.")})
    if not delegate.is_active:
        raise ValidationError({"delegate": _("%(person)s is deactivated.") % {"person": person_name(delegate)}})
    if not shared_functions(actor, delegate):
        raise ValidationError(
            {
                "delegate": _("%(person)s is not in a team with you, so cannot stand in for your function.")
                % {"person": person_name(delegate)}
            }
        )
    # Lock the person's periods so two overlapping ones cannot be set at the same moment.
    periods = list(
        OutOfOffice.objects.select_for_update(of=("self",))
        .filter(person=actor, ended_at__isnull=True, ends_on__gte=starts_on, starts_on__lte=ends_on)
        .order_by("starts_on")
    )
    if periods:
        clash = periods[0]
        raise ValidationError(
            {
                "starts_on": _("You are already out of office from %(start)s to %(end)s; end that period first.")
                % {"start": shown_date(clash.starts_on), "end": shown_date(clash.ends_on)}
            }
        )
    return save_with_history(
        OutOfOffice(person=actor, delegate=delegate, starts_on=starts_on, ends_on=ends_on, reason=reason),
        actor=actor,
        reason=f"Out of office {starts_on.isoformat()} to {ends_on.isoformat()}; {person_name(delegate)} stands in",
    )


@transaction.atomic
def out_of_office_end(*, actor, period: OutOfOffice) -> OutOfOffice:
    """End ``period`` now (or cancel one not started yet): only its person may. Requests already
    routed to the colleague stay with them (they may hand them back by delegation)."""
    period = OutOfOffice.objects.select_for_update(of=("self",)).get(pk=period.pk)
    if period.person_id != actor.pk:
        raise PermissionDenied(_("Only the person who is away may end their out-of-office period."))
    if period.ended_at is not None:
        raise ValidationError({"period": _("This out-of-office period was already ended.")})
    if period.ends_on < timezone.localdate():
        raise ValidationError({"period": _("This out-of-office period is over already.")})
    period.ended_at = timezone.now()
    return save_with_history(period, actor=actor, reason="Out of office ended early")
