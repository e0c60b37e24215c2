"""Who may decide a sign-off request, and view its launch because of it, follows the request:
addressees and delegates of an open request who still serve its function. Any change to a
request, its addressees or delegations, however made, re-derives the grants."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from raci.models import Team
from readiness.access import AccessRule, schedule_access_sync
from readiness.evaluations import launches_refreshed

from .access import DECIDE_CODENAME
from .choices import CLOSED_STATUSES, PolicyChangeStatus
from .models import PolicyChange, SignoffDelegation, SignoffRequest, SignoffRequestUserObjectPermission
from .recertification import recertify


def _deciders(requests) -> dict[int, set[int]]:
    """For each open request of ``requests``, the users who may decide it: addressees and delegates
    serving its function (a request nobody may decide has no entry). Every change of a role on the
    launch asks this, so it reads (request, function, person) rows, addressees and delegates in one
    query, and the candidates' functions in another; no model instances."""
    open_requests = requests.exclude(status__in=sorted(CLOSED_STATUSES))
    addressed = SignoffRequest.addressees.through.objects.filter(signoffrequest__in=open_requests).values_list(
        "signoffrequest_id", "signoffrequest__function", "user_id"
    )
    delegated = SignoffDelegation.objects.filter(request__in=open_requests).values_list(
        "request_id", "request__function", "delegate_id"
    )
    candidates = set(addressed.order_by().union(delegated.order_by()))
    serving: dict[int, set[str]] = {}
    for user_id, function in Team.objects.filter(
        members__user_id__in={user_id for _, _, user_id in candidates}, members__user__is_active=True
    ).values_list("members__user_id", "function"):
        serving.setdefault(user_id, set()).add(function)
    deciders: dict[int, set[int]] = {}
    for request_id, function, user_id in candidates:
        if function in serving.get(user_id, ()):
            deciders.setdefault(request_id, set()).add(user_id)
    return deciders


def _leads_asked(launch) -> set[int]:
    """Leads of the functions a pending policy change on ``launch`` would lower: they decide it."""
    functions = PolicyChange.objects.filter(launch=launch, status=PolicyChangeStatus.PENDING).exclude(function="")
    return set(
        Team.objects.filter(function__in=functions.values("function"), lead__isnull=False).values_list(
            "lead__user_id", flat=True
        )
    )


class SignoffAccess(AccessRule):
    """Addressees and delegates of open requests who serve the function, and the leads asked to
    decide a policy change, may view the launch."""

    def viewers(self, launch) -> set[int]:
        # ``sync`` runs first and leaves the deciders on the launch; both need the same answer.
        deciders = getattr(launch, "_signoff_deciders", None)
        if deciders is None:
            deciders = _deciders(SignoffRequest.objects.filter(launch=launch))
        return set().union(*deciders.values()) | _leads_asked(launch)

    def launches_of(self, user_ids: set[int]) -> set[int]:
        addressed = SignoffRequest.objects.filter(addressees__pk__in=user_ids).values_list("launch_id", flat=True)
        delegated = SignoffDelegation.objects.filter(delegate_id__in=user_ids).values_list(
            "request__launch_id", flat=True
        )
        led = PolicyChange.objects.filter(
            status=PolicyChangeStatus.PENDING,
            function__in=Team.objects.filter(lead__user_id__in=user_ids).values("function"),
        ).values_list("launch_id", flat=True)
        return set(addressed.order_by().union(delegated.order_by(), led.order_by()))

    def sync(self, launch) -> None:
        """One query reads the decide grants held on the launch's requests; after most changes they
        already match. The permission row is looked up only to create a grant (each time: a flush
        recreates it)."""
        deciders = launch._signoff_deciders = _deciders(SignoffRequest.objects.filter(launch=launch))
        entitled = {(request_id, user_id) for request_id, users in deciders.items() for user_id in users}
        held = {}
        for pk, request_id, user_id in SignoffRequestUserObjectPermission.objects.filter(
            content_object__launch=launch,
            permission__content_type__app_label="approvals",
            permission__codename=DECIDE_CODENAME,
        ).values_list("pk", "content_object_id", "user_id"):
            held[request_id, user_id] = pk
        stale = [pk for grant, pk in held.items() if grant not in entitled]
        if stale:
            SignoffRequestUserObjectPermission.objects.filter(pk__in=stale).delete()
        missing = sorted(entitled - held.keys())
        if missing:
            permission = Permission.objects.get(content_type__app_label="approvals", codename=DECIDE_CODENAME)
            SignoffRequestUserObjectPermission.objects.bulk_create(
                SignoffRequestUserObjectPermission(content_object_id=request_id, user_id=user_id, permission=permission)
                for request_id, user_id in missing
            )


@receiver(post_save, sender=SignoffRequest, dispatch_uid="signoff_request_saved_syncs_access")
@receiver(post_save, sender=PolicyChange, dispatch_uid="policy_change_saved_syncs_access")
def request_saved(sender, instance, **kwargs) -> None:
    schedule_access_sync(instance.launch_id)


@receiver(m2m_changed, sender=SignoffRequest.addressees.through, dispatch_uid="addressees_sync_access")
def addressees_changed(sender, instance, action: str, reverse: bool, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear") and not reverse:
        schedule_access_sync(instance.launch_id)


@receiver(post_save, sender=SignoffDelegation, dispatch_uid="delegation_saved_syncs_access")
@receiver(post_delete, sender=SignoffDelegation, dispatch_uid="delegation_deleted_syncs_access")
def delegation_changed(sender, instance: SignoffDelegation, origin=None, **kwargs) -> None:
    schedule_access_sync(instance.request.launch_id, origin)


@receiver(launches_refreshed, dispatch_uid="changed_launches_are_recertified")
def recertify_changed_launches(sender, launch_ids: list[int], **kwargs) -> None:
    """A change to a launch committed: does the stage it is in still hold? (The daily run asks
    again for every launch, since time alone undoes a stage.)"""
    recertify(launch_ids=launch_ids)
