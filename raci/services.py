"""State changes on teams, people and the RACI."""

from __future__ import annotations

from django.db import transaction

from readiness.access import refuse_if_archived, require_change
from readiness.history import save_with_history
from readiness.launch_templates import TEMPLATES, LaunchTemplate, register_contributor
from readiness.models import Launch

from .choices import STANDARD_AREA_CONCERNS, AreaKind
from .models import LaunchStakeholder, RaciAssignment, ResponsibilityArea, Stakeholder


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
    """Give ``stakeholder`` a RACI role on an area; they may then view the launch (see signals)."""
    require_change(actor, area.launch)
    refuse_if_archived(area.launch)
    assignment = RaciAssignment(area=area, stakeholder=stakeholder, role=role)
    return save_with_history(assignment, actor=actor, reason=f"Assigned {role} on '{area.name}'")


@transaction.atomic
def launch_stakeholder_fill(*, slot: LaunchStakeholder, stakeholder: Stakeholder, actor) -> LaunchStakeholder:
    """Put a person in a launch's function slot; they may then view the launch (see signals)."""
    require_change(actor, slot.launch)
    refuse_if_archived(slot.launch)
    slot.stakeholder = stakeholder
    return save_with_history(slot, actor=actor, reason=f"{slot.get_function_display()} filled by {stakeholder}")


def _contribute_to_template(*, launch: Launch, template: LaunchTemplate, actor) -> None:
    reason = f"Created from template '{template.name}'"
    create_standard_areas(launch=launch, actor=actor, reason=reason)
    for function in template.stakeholder_functions:
        save_with_history(LaunchStakeholder(launch=launch, function=function), actor=actor, reason=reason)


for _template_key in TEMPLATES:
    register_contributor(_template_key, _contribute_to_template)
