"""Who may see and change a launch. Governance rules (four eyes, addressees) live in the services.

Unknown launches and launches a user may not see are indistinguishable (404); a launch a user may
see but not change answers 403.

Access follows roles. The object permissions on a launch are never granted by hand: they are
derived from the roles people hold — the owner changes it, and whatever the registered access
rules name (RACI, filled slots, addressees of open sign-off requests...) may view it — and
``sync_launch_access`` makes the stored grants match after every change of a role, so removing a
role takes its view away unless another role still grants it. Executives see every launch
through the portfolio rule, not through a grant. ``readiness`` knows nothing of the apps above it:
they register their rules from ``AppConfig.ready()``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from guardian.shortcuts import get_objects_for_user

from .models import Launch, LaunchUserObjectPermission

VIEW_LAUNCH = "readiness.view_launch"
CHANGE_LAUNCH = "readiness.change_launch"


class AccessRule:
    """A source of launch access an app contributes. Override what applies."""

    def viewers(self, launch: Launch) -> set[int]:
        """Ids of the users this rule lets view ``launch``."""
        return set()

    def launches_of(self, user_ids: set[int]) -> set[int]:
        """Ids of the launches on which this rule may grant any of ``user_ids`` something. Asked once
        for all the users a change concerns (a team's members, say), so answer for the set at once:
        a query per user would make each change of membership cost a query per member and rule."""
        return set()

    def sync(self, launch: Launch) -> None:
        """Bring the app's own object permissions on ``launch``'s rows up to date."""


_rules: list[AccessRule] = []
_portfolio_viewers: list[Callable[[object], bool]] = []


def register_access_rule(rule: AccessRule) -> None:
    if not any(type(existing) is type(rule) for existing in _rules):
        _rules.append(rule)


def register_portfolio_viewer(predicate: Callable[[object], bool]) -> None:
    """``predicate(user)`` says whether the user sees every launch (executives)."""
    if predicate not in _portfolio_viewers:
        _portfolio_viewers.append(predicate)


def sees_every_launch(user) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or any(predicate(user) for predicate in _portfolio_viewers)


def visible_launches(user, queryset: QuerySet | None = None) -> QuerySet:
    """Launches ``user`` may view: those a role on them grants, and all of them for executives."""
    queryset = queryset if queryset is not None else Launch.objects.all()
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if sees_every_launch(user):
        return queryset
    # Model-wide grants mean nothing here: "executive" has one definition (the portfolio rule).
    return get_objects_for_user(user, VIEW_LAUNCH, klass=queryset, accept_global_perms=False)


def can_view(user, launch: Launch) -> bool:
    """Same rule as ``visible_launches``."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.pk == launch.owner_id or sees_every_launch(user) or user.has_perm(VIEW_LAUNCH, launch)


def require_view(user, launch: Launch) -> None:
    if not can_view(user, launch):
        raise Http404("No such launch.")


def require_change(user, launch: Launch) -> None:
    """The owner may change the launch and request sign-offs."""
    require_view(user, launch)
    if user.pk != launch.owner_id and not user.has_perm(CHANGE_LAUNCH, launch):
        raise PermissionDenied(_("Only the launch owner may do this."))


def refuse_if_archived(launch: Launch) -> None:
    if launch.archived:
        raise ValidationError(
            {"launch": _("Launch '%(slug)s' is archived; nothing about it can change.") % {"slug": launch.slug}}
        )


def get_launch_for(user, slug: str, perm: str = VIEW_LAUNCH) -> Launch:
    try:
        launch = Launch.objects.get(slug=slug)
    except Launch.DoesNotExist:
        raise Http404("No such launch.") from None
    require_view(user, launch)
    if perm == CHANGE_LAUNCH:
        require_change(user, launch)
    elif perm != VIEW_LAUNCH and not user.has_perm(perm, launch):
        raise PermissionDenied(_("You may view this launch but not do this."))
    return launch


def get_of_launch(queryset: QuerySet, launch: Launch, pk, *, path: str | None = None):
    """The row ``pk`` of ``queryset`` that belongs to ``launch`` (a launch the caller fetched with
    ``get_launch_for``, so access is settled), reached through ``path`` (by default the model's
    ``launch_lookup``, else ``launch``). A row of another launch answers 404 like an unknown one."""
    path = path or getattr(queryset.model, "launch_lookup", "launch")
    try:
        return queryset.get(pk=pk, **{path: launch})
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404("No such record.") from None


# Keeping the stored grants equal to what the roles entitle ------------------------------------


def _sync_grants(launch: Launch, entitled: dict[str, set[int]]) -> None:
    """Make the stored grants on ``launch`` of each permission (by codename) equal to the users
    ``entitled`` names for it. One query reads every held grant: after most changes of a role the
    grants already match and nothing else runs. The permission rows are looked up only to create a
    grant, and each time, not cached in the process: they can be recreated (a flush)."""
    held: dict[str, set[int]] = {codename: set() for codename in entitled}
    stale = []
    for pk, codename, user_id in LaunchUserObjectPermission.objects.filter(
        content_object=launch,
        permission__content_type__app_label="readiness",
        permission__codename__in=sorted(entitled),
    ).values_list("pk", "permission__codename", "user_id"):
        held[codename].add(user_id)
        if user_id not in entitled[codename]:
            stale.append(pk)
    if stale:
        LaunchUserObjectPermission.objects.filter(pk__in=stale).delete()
    missing = {
        codename: sorted(users - held[codename]) for codename, users in entitled.items() if users - held[codename]
    }
    if missing:
        permissions = {
            permission.codename: permission
            for permission in Permission.objects.filter(
                content_type__app_label="readiness", codename__in=sorted(missing)
            )
        }
        LaunchUserObjectPermission.objects.bulk_create(
            LaunchUserObjectPermission(content_object=launch, permission=permissions[codename], user_id=user_id)
            for codename, user_ids in missing.items()
            for user_id in user_ids
        )


def launch_viewers(launch: Launch) -> set[int]:
    """Everyone a role entitles to view ``launch``: its owner and whom the access rules name."""
    entitled = {launch.owner_id}
    for rule in _rules:
        entitled |= rule.viewers(launch)
    return entitled


def sync_launch_access(launch: Launch) -> None:
    """Make the stored object permissions on ``launch`` match the roles: view for everyone a role
    entitles, change for the owner alone, and each app's own object permissions."""
    if launch.pk is None:
        return
    for rule in _rules:
        rule.sync(launch)
    _sync_grants(launch, {"view_launch": launch_viewers(launch), "change_launch": {launch.owner_id}})


_deferred = threading.local()


@contextmanager
def access_synced_once() -> Iterator[None]:
    """Inside, changes of roles only note their launch; its access is derived once on the way out
    (a service that adds many roles pays for one sync per launch, not one per row). Use it inside
    the transaction, so the grants commit with the roles."""
    if getattr(_deferred, "launch_ids", None) is not None:
        yield
        return
    _deferred.launch_ids = set()
    try:
        yield
        pending = _deferred.launch_ids
    finally:
        _deferred.launch_ids = None
    for launch in Launch.objects.filter(pk__in=pending).order_by("pk"):
        sync_launch_access(launch)


def schedule_access_sync(launch_id: int, origin=None) -> None:
    """Derive ``launch_id``'s access now, or once at the end of ``access_synced_once``. ``origin``
    is a delete signal's origin: rows cascading from a launch being deleted need nothing."""
    if getattr(origin, "model", type(origin)) is Launch:
        return
    pending = getattr(_deferred, "launch_ids", None)
    if pending is not None:
        pending.add(launch_id)
        return
    launch = Launch.objects.filter(pk=launch_id).first()
    if launch is not None:
        sync_launch_access(launch)


def settle_access(launch_id: int) -> None:
    """Inside ``access_synced_once``, derive ``launch_id``'s access now if a change put it off, so
    a question asked of the stored grants meanwhile (who may be told of an event) has the answer
    the roles give (a later change in the block puts it off again). Outside, nothing is pending."""
    pending = getattr(_deferred, "launch_ids", None)
    if pending and launch_id in pending:
        pending.discard(launch_id)
        launch = Launch.objects.filter(pk=launch_id).first()
        if launch is not None:
            sync_launch_access(launch)


def sync_access_of_users(user_ids: Iterable[int]) -> None:
    """Re-derive access on every launch where these users hold, or might gain, something (after a
    change that is not about one launch, such as team membership)."""
    user_ids = set(user_ids)
    if not user_ids:
        return
    granted = LaunchUserObjectPermission.objects.filter(user_id__in=user_ids).values_list(
        "content_object_id", flat=True
    )
    owned = Launch.objects.filter(owner_id__in=user_ids).values_list("pk", flat=True)
    launch_ids = set(granted.order_by().union(owned.order_by()))
    for rule in _rules:
        launch_ids |= rule.launches_of(user_ids)
    for launch_id in sorted(launch_ids):
        schedule_access_sync(launch_id)
