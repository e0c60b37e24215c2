"""State changes on teams, people and the RACI."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from readiness.access import refuse_if_archived, require_change
from readiness.history import delete_with_history, save_with_history
from readiness.launch_templates import TEMPLATES, LaunchTemplate, register_contributor
from readiness.models import Launch

from .choices import STANDARD_AREA_CONCERNS, AreaKind
from .models import LaunchStakeholder, RaciAssignment, ResponsibilityArea, Stakeholder, Team


@transaction.atomic
def create_standard_areas(
    *, launch: Launch, actor, reason: str = "Standard responsibility areas"
) -> list[ResponsibilityArea]:
    areas = []
    for kind, concerns in STANDARD_AREA_CONCERNS.items():
        area = ResponsibilityArea(launch=launch, kind=kind, name=AreaKind(kind).label, concerns=list(concerns))
        areas.append(save_with_history(area, actor=actor, reason=reason))
    return areas


@transaction.atomic
def raci_assign(*, area: ResponsibilityArea, stakeholder: Stakeholder, role: str, actor) -> RaciAssignment:
    """Give ``stakeholder`` a RACI role on an area; they may then view the launch. An Accountable
    for an area whose decisions need a function must serve that function (see the model)."""
    require_change(actor, area.launch)
    refuse_if_archived(area.launch)
    assignment = RaciAssignment(area=area, stakeholder=stakeholder, role=role)
    return save_with_history(assignment, actor=actor, reason=f"Assigned {role} on '{area.name}'")


@transaction.atomic
def launch_stakeholder_fill(*, slot: LaunchStakeholder, stakeholder: Stakeholder, actor) -> LaunchStakeholder:
    """Put a person who serves the slot's function in it; they may then view the launch."""
    require_change(actor, slot.launch)
    refuse_if_archived(slot.launch)
    slot.stakeholder = stakeholder
    return save_with_history(slot, actor=actor, reason=f"{slot.get_function_display()} filled by {stakeholder}")


# Team membership: who serves a function. Never the launch owner's choice.

MANAGE_TEAMS = "raci.manage_teams"


def _require_team_admin(actor, stakeholder: Stakeholder) -> None:
    if not (actor.is_active and actor.has_perm(MANAGE_TEAMS)):
        raise PermissionDenied("Only team administrators may change who serves a function.")
    if stakeholder.user_id == actor.pk:
        raise PermissionDenied("Nobody changes their own team membership; ask another team administrator.")


@transaction.atomic
def team_add_member(*, actor, team: Team, stakeholder: Stakeholder) -> Stakeholder:
    """Make ``stakeholder`` serve ``team``'s function; they may then be asked to sign off for it."""
    _require_team_admin(actor, stakeholder)
    stakeholder = Stakeholder.objects.select_for_update().get(pk=stakeholder.pk)
    if stakeholder.teams.filter(pk=team.pk).exists():
        raise ValidationError({"team": f"{stakeholder.display_name} is already in {team.name}."})
    stakeholder._history_user = actor
    stakeholder._change_reason = f"Joined {team.name}"
    stakeholder.teams.add(team)
    return stakeholder


@transaction.atomic
def team_remove_member(*, actor, team: Team, stakeholder: Stakeholder) -> Stakeholder:
    """``stakeholder`` no longer serves ``team``'s function: they cannot decide its sign-offs, fill
    its slots or be Accountable where it is needed, and lose the views only that gave them."""
    _require_team_admin(actor, stakeholder)
    stakeholder = Stakeholder.objects.select_for_update().get(pk=stakeholder.pk)
    if not stakeholder.teams.filter(pk=team.pk).exists():
        raise ValidationError({"team": f"{stakeholder.display_name} is not in {team.name}."})
    team = Team.objects.select_for_update().get(pk=team.pk)
    if team.lead_id == stakeholder.pk:
        team.lead = None
        save_with_history(team, actor=actor, reason=f"{stakeholder.display_name} left the team")
    stakeholder._history_user = actor
    stakeholder._change_reason = f"Left {team.name}"
    stakeholder.teams.remove(team)
    return stakeholder


@transaction.atomic
def team_set_lead(*, actor, team: Team, stakeholder: Stakeholder | None) -> Team:
    """Name the team's lead (a member), or none."""
    if stakeholder is not None:
        _require_team_admin(actor, stakeholder)
    elif not actor.has_perm(MANAGE_TEAMS):
        raise PermissionDenied("Only team administrators may change who leads a team.")
    team = Team.objects.select_for_update().get(pk=team.pk)
    team.lead = stakeholder
    who = stakeholder.display_name if stakeholder else "nobody"
    return save_with_history(team, actor=actor, reason=f"Lead: {who}")


@transaction.atomic
def raci_unassign(*, actor, assignment: RaciAssignment) -> None:
    """Take a RACI role away; the person keeps viewing the launch only if another role grants it."""
    launch = assignment.area.launch
    require_change(actor, launch)
    refuse_if_archived(launch)
    delete_with_history(assignment, actor=actor, reason=f"Removed {assignment.role} on '{assignment.area.name}'")


@transaction.atomic
def launch_stakeholder_clear(*, actor, slot: LaunchStakeholder) -> LaunchStakeholder:
    """Empty a launch's function slot."""
    require_change(actor, slot.launch)
    refuse_if_archived(slot.launch)
    slot.stakeholder = None
    return save_with_history(slot, actor=actor, reason=f"{slot.get_function_display()} slot emptied")


def _contribute_to_template(*, launch: Launch, template: LaunchTemplate, actor) -> None:
    reason = f"Created from template '{template.name}'"
    create_standard_areas(launch=launch, actor=actor, reason=reason)
    for function in template.stakeholder_functions:
        save_with_history(LaunchStakeholder(launch=launch, function=function), actor=actor, reason=reason)


for _template_key in TEMPLATES:
    register_contributor(_template_key, _contribute_to_template)
