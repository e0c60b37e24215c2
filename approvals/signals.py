"""Who may decide a sign-off request, and view its launch because of it, follows the request:
addressees and delegates of an open request who still serve its function. Any change to a
request, its addressees or delegations, however made, re-derives the grants."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from raci.models import Team
from readiness.access import AccessRule, schedule_access_sync

from .choices import CLOSED_STATUSES, PolicyChangeStatus
from .models import PolicyChange, SignoffDelegation, SignoffRequest, SignoffRequestUserObjectPermission


def _deciders(requests) -> dict[int, set[int]]:
    """For each open request, the users who may decide it: addressees and delegates serving its function."""
    requests = list(requests.exclude(status__in=sorted(CLOSED_STATUSES)).prefetch_related("addressees", "delegations"))
    candidates = {
        request.pk: {u.pk for u in request.addressees.all()} | {d.delegate_id for d in request.delegations.all()}
        for request in requests
    }
    everyone = set().union(*candidates.values()) if candidates else set()
    serving: dict[int, set[str]] = {}
    for user_id, function in Team.objects.filter(
        members__user_id__in=everyone, members__user__is_active=True
    ).values_list("members__user_id", "function"):
        serving.setdefault(user_id, set()).add(function)
    return {
        request.pk: {user_id for user_id in candidates[request.pk] if request.function in serving.get(user_id, set())}
        for request in requests
    }


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

    def launches_of(self, user_id: int) -> set[int]:
        addressed = SignoffRequest.objects.filter(addressees__pk=user_id).values_list("launch_id", flat=True)
        delegated = SignoffDelegation.objects.filter(delegate_id=user_id).values_list("request__launch_id", flat=True)
        led = PolicyChange.objects.filter(
            status=PolicyChangeStatus.PENDING,
            function__in=Team.objects.filter(lead__user_id=user_id).values("function"),
        ).values_list("launch_id", flat=True)
        return set(addressed) | set(delegated) | set(led)

    def sync(self, launch) -> None:
        deciders = launch._signoff_deciders = _deciders(SignoffRequest.objects.filter(launch=launch))
        permission = Permission.objects.get(content_type__app_label="approvals", codename="decide_signoffrequest")
        grants = SignoffRequestUserObjectPermission.objects.filter(content_object__launch=launch, permission=permission)
        held = set(grants.values_list("content_object_id", "user_id"))
        entitled = {(request_id, user_id) for request_id, users in deciders.items() for user_id in users}
        for request_id, user_id in held - entitled:
            grants.filter(content_object_id=request_id, user_id=user_id).delete()
        SignoffRequestUserObjectPermission.objects.bulk_create(
            SignoffRequestUserObjectPermission(content_object_id=request_id, user_id=user_id, permission=permission)
            for request_id, user_id in sorted(entitled - held)
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
