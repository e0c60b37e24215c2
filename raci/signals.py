"""Access follows RACI roles, filled slots and team membership, however they change (services, the
admin, imports): every change re-derives the grants on the launches it touches."""

from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from readiness.access import AccessRule, schedule_access_sync, sync_access_of_users

from .models import LaunchStakeholder, RaciAssignment, Stakeholder, Team


class RaciAccess(AccessRule):
    """Everyone with a RACI role on a launch, and whoever fills a slot while serving its function."""

    def viewers(self, launch) -> set[int]:
        raci = RaciAssignment.objects.filter(area__launch=launch).values_list("stakeholder__user_id", flat=True)
        slots = LaunchStakeholder.objects.filter(launch=launch, stakeholder__teams__function=F("function")).values_list(
            "stakeholder__user_id", flat=True
        )
        return set(raci.order_by().union(slots.order_by()))

    def launches_of(self, user_ids: set[int]) -> set[int]:
        raci = RaciAssignment.objects.filter(stakeholder__user_id__in=user_ids).values_list(
            "area__launch_id", flat=True
        )
        slots = LaunchStakeholder.objects.filter(stakeholder__user_id__in=user_ids).values_list("launch_id", flat=True)
        return set(raci.order_by().union(slots.order_by()))


@receiver(post_save, sender=RaciAssignment, dispatch_uid="raci_assignment_saved_syncs_access")
@receiver(post_delete, sender=RaciAssignment, dispatch_uid="raci_assignment_deleted_syncs_access")
def assignment_changed(sender, instance: RaciAssignment, origin=None, **kwargs) -> None:
    schedule_access_sync(instance.area.launch_id, origin)


@receiver(post_save, sender=LaunchStakeholder, dispatch_uid="launch_slot_saved_syncs_access")
@receiver(post_delete, sender=LaunchStakeholder, dispatch_uid="launch_slot_deleted_syncs_access")
def slot_changed(sender, instance: LaunchStakeholder, origin=None, **kwargs) -> None:
    schedule_access_sync(instance.launch_id, origin)


@receiver(m2m_changed, sender=Stakeholder.teams.through, dispatch_uid="team_membership_syncs_access")
def membership_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    if reverse and action == "pre_clear":
        # team.members.clear(): post_clear names nobody and the team has no members left by then, so
        # the people losing the team are noted before they go.
        instance._members_before_clear = set(instance.members.values_list("user_id", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if reverse and action == "post_clear":
        user_ids = instance.__dict__.pop("_members_before_clear", set())
    elif reverse:  # team.members.add(...) / remove(...): pk_set holds the stakeholders
        user_ids = set(Stakeholder.objects.filter(pk__in=pk_set).values_list("user_id", flat=True))
    else:
        user_ids = {instance.user_id}
    sync_access_of_users(user_ids)


@receiver(post_save, sender=Team, dispatch_uid="team_saved_syncs_access")
def team_changed(sender, instance: Team, created: bool, **kwargs) -> None:
    # A team's function may have changed: its members may serve another function now.
    if not created:
        sync_access_of_users(instance.members.values_list("user_id", flat=True))
