"""Celery tasks of the readiness app: thin wrappers taking ids; safe to run twice."""

from celery import shared_task

from .evaluations import launches_refreshed, refresh_evaluations


@shared_task(acks_late=True)
def refresh_launch_evaluations(launch_ids: list[int] | None = None) -> int:
    """Store the readiness of these launches (every launch with None, the periodic run); for the
    launches a change touched, tell the apps that store more of them (``launches_refreshed``)."""
    stored = refresh_evaluations(launch_ids)
    if launch_ids is not None:
        launches_refreshed.send(sender=refresh_launch_evaluations, launch_ids=list(launch_ids))
    return stored
