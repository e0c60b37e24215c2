"""Celery tasks of the readiness app: thin wrappers taking ids; safe to run twice."""

from celery import shared_task

from .evaluations import refresh_evaluations


@shared_task(acks_late=True)
def refresh_launch_evaluations(launch_ids: list[int] | None = None) -> int:
    """Store the readiness of these launches (every launch with None, the periodic run)."""
    return refresh_evaluations(launch_ids)
