"""Celery tasks of the web layer: thin, taking nothing but what beat gives; safe to run twice."""

from celery import shared_task

from .housekeeping import housekeeping as run_housekeeping


@shared_task
def housekeeping() -> dict[str, int]:
    """Daily under ``celery beat`` (HOUSEKEEPING_HOUR): delete what has served its time."""
    return run_housekeeping()
