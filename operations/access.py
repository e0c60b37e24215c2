"""Who may act on a launch's operating record (incidents, failure reviews).

Incidents are the work of the people who answer for the launch in service: its owner and the
people Responsible or Accountable in any of its responsibility areas. Consulted and Informed
people, approvers and executives see incidents (as they see the launch) but do not record them.
An action item may also be completed by the person who owns it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from raci.choices import AREA_FUNCTIONS, AreaKind, Role
from raci.models import RaciAssignment
from raci.selectors import is_executive, serves_function
from readiness.access import require_view
from readiness.choices import Severity

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


# Lowering an incident's severity ------------------------------------------------------------------
#
# Item 14 ("Open P0 and P1 incidents") and item 13 (post-mortems of P0/P1) read the severity, so the
# owner cannot clear them alone by calling a P1 a P3. A lower severity is the call of the area that
# answers for incidents (infrastructure: the area whose Accountable also decides waivers of the
# incident checks) or of an executive, never of the launch's owner; raising it is anyone's who may
# respond.


def is_lower_severity(new: str, old: str) -> bool:
    """``new`` is less severe than ``old`` (P3 is lower than P1)."""
    return Severity.values.index(new) > Severity.values.index(old)


def _incident_accountables(launch) -> list:
    """The Accountables of ``launch``'s infrastructure area who still serve its function."""
    return [
        assignment.stakeholder.user
        for assignment in RaciAssignment.objects.filter(
            area__launch_id=launch.pk, area__kind=AreaKind.INFRASTRUCTURE, role=Role.ACCOUNTABLE
        ).select_related("stakeholder__user")
        if any(serves_function(assignment.stakeholder.user, f) for f in AREA_FUNCTIONS[AreaKind.INFRASTRUCTURE])
    ]


def severity_lowered_by(user, launch) -> str:
    """Why ``user`` may lower the severity of ``launch``'s incidents ("accountable", "executive"),
    or "" when they may not."""
    if not (user.is_authenticated and user.is_active) or user.pk == launch.owner_id:
        return ""
    if any(person.pk == user.pk for person in _incident_accountables(launch)):
        return "accountable"
    return "executive" if is_executive(user) else ""


def require_lower_severity(user, launch) -> str:
    """As ``severity_lowered_by``; refuses (403) naming who may."""
    allowed = severity_lowered_by(user, launch)
    if allowed:
        return allowed
    area = launch.areas.filter(kind=AreaKind.INFRASTRUCTURE).first()
    if area is None:
        raise PermissionDenied(_("Only an executive may lower an incident's severity on this launch."))
    raise PermissionDenied(
        _("Only the Accountable for “%(area)s” or an executive may lower an incident's severity; ask them.")
        % {"area": area.name}
    )
