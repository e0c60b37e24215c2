"""Who a sign-off request goes to by default: the RACI first, then the launch's slots, then the team.
Whoever it is must serve the function: be an active member of a team of it."""

from __future__ import annotations

from django.utils import timezone

from raci.choices import FUNCTION_AREAS, Role
from raci.models import Stakeholder, Team

from .models import OutOfOffice


def _serves(stakeholder: Stakeholder, function: str) -> bool:
    """Reads the prefetched teams of a stakeholder from ``with_checklist_facts``."""
    return stakeholder.user.is_active and any(team.function == function for team in stakeholder.teams.all())


def default_addressees(launch, function: str, *, exclude_user_id: int) -> list:
    """The routed addressees (``routed_addressees``), each away one replaced by whoever stands in
    for them (``standing_in``)."""
    return standing_in(
        routed_addressees(launch, function, exclude_user_id=exclude_user_id),
        function,
        excluded={exclude_user_id, launch.owner_id},
    )


def standing_in(users: list, function: str, *, excluded: set[int], day=None) -> list:
    """``users`` with each one out of office on ``day`` (today) replaced by their stand-in, who
    must be active, serve ``function`` in a team with them, not be in ``excluded`` (the requester,
    the launch's owner: separation of duties) nor asked already; otherwise the person stays asked.
    One query, and one more per person away. A stand-in carries ``stands_in_for`` for the pages."""
    if not users:
        return users
    day = day or timezone.localdate()
    away = {
        period.person_id: period
        for period in OutOfOffice.objects.filter(
            person__in=[u.pk for u in users], ended_at__isnull=True, starts_on__lte=day, ends_on__gte=day
        ).select_related("delegate")
    }
    if not away:
        return users
    asked = {u.pk for u in users}
    result = []
    for user in users:
        period = away.get(user.pk)
        delegate = period.delegate if period else None
        if (
            delegate is not None
            and delegate.is_active
            and delegate.pk not in excluded
            and delegate.pk not in asked
            and _same_team(user.pk, delegate.pk, function)
        ):
            delegate.stands_in_for = user
            asked.add(delegate.pk)
            result.append(delegate)
        else:
            result.append(user)
    return result


def _same_team(person_id: int, delegate_id: int, function: str) -> bool:
    return Team.objects.filter(function=function, members__user=person_id).filter(members__user=delegate_id).exists()


def routed_addressees(launch, function: str, *, exclude_user_id: int) -> list:
    """Users a request for ``function`` is addressed to: the Accountable of the matching area if
    they serve the function; else the people filling the launch's slot for it who serve it; else
    every active member of a team with that function. The requester is never one of them."""
    area_kind = FUNCTION_AREAS.get(function)
    for area in launch.areas.all():
        if area.kind != area_kind:
            continue
        people = [a.stakeholder for a in area.assignments.all() if a.role == Role.ACCOUNTABLE]
        users = [p.user for p in people if _serves(p, function) and p.user_id != exclude_user_id]
        if users:
            return users
    slot_users = [
        slot.stakeholder.user
        for slot in launch.stakeholder_slots.all()
        if slot.function == function
        and slot.stakeholder
        and _serves(slot.stakeholder, function)
        and slot.stakeholder.user_id != exclude_user_id
    ]
    if slot_users:
        return slot_users
    members = (
        Stakeholder.objects.filter(teams__function=function, user__is_active=True)
        .exclude(user_id=exclude_user_id)
        .select_related("user")
        .distinct()
    )
    return [member.user for member in members]
