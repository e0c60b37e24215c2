"""A launch's owner holds its grants however the launch was created or handed over (services or
the admin): every save re-derives them, so a new owner gets them and the old one loses them."""

from django.db.models.signals import post_save
from django.dispatch import receiver
from simple_history.signals import post_create_historical_record

from .access import schedule_access_sync
from .evaluations import evaluate_after_commit
from .models import Launch


@receiver(post_save, sender=Launch, dispatch_uid="launch_saved_syncs_access")
def launch_saved(sender, instance: Launch, **kwargs) -> None:
    schedule_access_sync(instance.pk)


def _launch_id_of(instance) -> int | None:
    """The launch a changed row belongs to: itself, its ``launch``, its ``launch_lookup`` path (a
    RACI row's area), or its sign-off request's launch."""
    if isinstance(instance, Launch):
        return instance.pk
    if launch_id := getattr(instance, "launch_id", None):
        return launch_id
    lookup = getattr(instance, "launch_lookup", None)
    if lookup:
        target = instance
        for step in lookup.split("__")[:-1]:
            target = getattr(target, step, None)
        return getattr(target, "launch_id", None)
    request = getattr(instance, "request", None)
    return getattr(request, "launch_id", None)


@receiver(post_create_historical_record, dispatch_uid="history_reevaluates_launch")
def history_written(sender, instance, **kwargs) -> None:
    """Every audited change that touches a launch (facts, RACI, requests, decisions) re-evaluates
    its stored readiness after the commit."""
    launch_id = _launch_id_of(instance)
    if launch_id:
        evaluate_after_commit(launch_id)
