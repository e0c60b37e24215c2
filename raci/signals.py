"""Stakeholders on a launch may view it, however they were put there (services, admin, imports)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from readiness.access import grant_view

from .models import LaunchStakeholder, RaciAssignment


@receiver(post_save, sender=RaciAssignment, dispatch_uid="raci_assignment_grants_view")
def assignment_grants_view(sender, instance: RaciAssignment, **kwargs) -> None:
    grant_view(instance.stakeholder.user, instance.area.launch)


@receiver(post_save, sender=LaunchStakeholder, dispatch_uid="launch_slot_grants_view")
def slot_grants_view(sender, instance: LaunchStakeholder, **kwargs) -> None:
    if instance.stakeholder_id:
        grant_view(instance.stakeholder.user, instance.launch)
