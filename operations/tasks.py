"""Scheduled work of operations (Celery): thin tasks calling the domain, safe to run twice."""

from celery import shared_task


@shared_task(name="operations.tasks.pull_sli_actuals")
def pull_sli_actuals() -> int:
    """Pull every launch's missing daily SLI values from its Prometheus source (idempotent: days
    already recorded are skipped). Returns how many values were recorded."""
    from .prometheus import pull_all

    return sum(pull.recorded for pull in pull_all())
