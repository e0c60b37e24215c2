"""Who may see and change a launch. Governance rules (four eyes, addressees) live in the services.

Unknown launches and launches a user may not see are indistinguishable (404); a launch a user may
see but not change answers 403."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404
from guardian.shortcuts import assign_perm, get_objects_for_user

from .models import Launch

VIEW_LAUNCH = "readiness.view_launch"
CHANGE_LAUNCH = "readiness.change_launch"


def visible_launches(user, queryset: QuerySet | None = None) -> QuerySet:
    """Launches ``user`` may view: their own, those they take part in, and all of them for
    executives (who hold the model-wide view permission)."""
    queryset = queryset if queryset is not None else Launch.objects.all()
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    return get_objects_for_user(user, VIEW_LAUNCH, klass=queryset, accept_global_perms=True)


def can_view(user, launch: Launch) -> bool:
    """Same rule as ``visible_launches``: an object grant, or the model-wide grant executives hold
    (Django's backend ignores model-wide grants when asked about an object)."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.has_perm(VIEW_LAUNCH) or user.has_perm(VIEW_LAUNCH, launch)


def require_view(user, launch: Launch) -> None:
    if not can_view(user, launch):
        raise Http404("No such launch.")


def require_change(user, launch: Launch) -> None:
    """The owner (and whoever was granted change) may change the launch and request sign-offs."""
    require_view(user, launch)
    if not user.has_perm(CHANGE_LAUNCH, launch):
        raise PermissionDenied("Only the launch owner may do this.")


def refuse_if_archived(launch: Launch) -> None:
    if launch.archived:
        raise ValidationError({"launch": f"Launch '{launch.slug}' is archived; nothing about it can change."})


def get_launch_for(user, slug: str, perm: str = VIEW_LAUNCH) -> Launch:
    try:
        launch = Launch.objects.get(slug=slug)
    except Launch.DoesNotExist:
        raise Http404("No such launch.") from None
    require_view(user, launch)
    if perm != VIEW_LAUNCH and not user.has_perm(perm, launch):
        raise PermissionDenied("You may view this launch but not do this.")
    return launch


def grant_view(user, launch: Launch) -> None:
    """Stakeholders on a launch (RACI, slots, addressees, delegates) may view it."""
    if not user.has_perm(VIEW_LAUNCH, launch):
        assign_perm(VIEW_LAUNCH, user, launch)
