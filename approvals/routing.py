"""Who a sign-off request goes to by default: the RACI first, then the launch's slots, then the team.
Whoever it is must serve the function: be an active member of a team of it."""

from __future__ import annotations

from raci.choices import FUNCTION_AREAS, Role
from raci.models import Stakeholder


def _serves(stakeholder: Stakeholder, function: str) -> bool:
    """Reads the prefetched teams of a stakeholder from ``with_checklist_facts``."""
    return stakeholder.user.is_active and any(team.function == function for team in stakeholder.teams.all())


def default_addressees(launch, function: str, *, exclude_user_id: int) -> list:
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
