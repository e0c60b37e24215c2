"""Who may act on a launch's operating record (incidents, failure reviews).

Incidents are the work of the people who answer for the launch in service: its owner and the
people Responsible or Accountable in any of its responsibility areas. Consulted and Informed
people, approvers and executives see incidents (as they see the launch) but do not record them.
An action item may also be completed by the person who owns it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from raci.choices import Role
from raci.models import RaciAssignment
from readiness.access import require_view

RESPONDING_ROLES = (Role.RESPONSIBLE, Role.ACCOUNTABLE)


def may_respond(user, launch) -> bool:
    """The owner, or someone Responsible or Accountable on the launch (one query at most; none
    when the launch's areas come with their assignments)."""
    if not (user.is_authenticated and user.is_active):
        return False
    if user.pk == launch.owner_id:
        return True
    areas = getattr(launch, "_prefetched_objects_cache", {}).get("areas")
    if areas is not None and all("assignments" in getattr(a, "_prefetched_objects_cache", {}) for a in areas):
        return any(
            assignment.role in RESPONDING_ROLES and assignment.stakeholder.user_id == user.pk
            for area in areas
            for assignment in area.assignments.all()
        )
    return RaciAssignment.objects.filter(
        area__launch_id=launch.pk, role__in=RESPONDING_ROLES, stakeholder__user_id=user.pk
    ).exists()


def require_respond(user, launch) -> None:
    """404 for those who may not see the launch, 403 for those who may see but not respond."""
    require_view(user, launch)
    if not may_respond(user, launch):
        raise PermissionDenied(
            _("Only the launch owner and the people Responsible or Accountable on its RACI may record its operations.")
        )
