"""Who a sign-off request goes to by default: the RACI first, then the launch's slots, then the team."""

from __future__ import annotations

from raci.choices import AreaKind, Role, TeamFunction
from raci.models import Stakeholder, Team

# The responsibility area whose Accountable speaks for a function, where there is one.
FUNCTION_AREAS: dict[str, str] = {
    TeamFunction.ML: AreaKind.MODEL_QUALITY,
    TeamFunction.PLATFORM: AreaKind.INFRASTRUCTURE,
    TeamFunction.DATA: AreaKind.DATA_RETRIEVAL,
    TeamFunction.PRODUCT: AreaKind.USER_EXPERIENCE,
    TeamFunction.LEGAL: AreaKind.POLICY,
    TeamFunction.COMPLIANCE: AreaKind.POLICY,
    TeamFunction.SECURITY: AreaKind.POLICY,
}


def _serves(stakeholder: Stakeholder, function: str) -> bool:
    return stakeholder.user.is_active and any(team.function == function for team in stakeholder.teams.all())


def default_addressees(launch, function: str, *, exclude_user_id: int) -> list:
    """Users a request for ``function`` is addressed to: the Accountable of the matching area if
    they belong to that function; else the people filling the launch's slot for it; else every
    active member of a team with that function. The requester is never one of them."""
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
        and slot.stakeholder.user.is_active
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


def serves_function(launch, function: str, user) -> bool:
    """May ``user`` sign off for ``function`` on ``launch``: a member of a team of that function,
    the person in the launch's slot for it, or the Accountable of the matching area."""
    if Team.objects.filter(function=function, members__user=user).exists():
        return True
    if launch.stakeholder_slots.filter(function=function, stakeholder__user=user).exists():
        return True
    area_kind = FUNCTION_AREAS.get(function)
    return (
        area_kind is not None
        and launch.areas.filter(
            kind=area_kind, assignments__role=Role.ACCOUNTABLE, assignments__stakeholder__user=user
        ).exists()
    )
