"""Celery tasks of monitoring: thin, safe to run twice."""

from celery import shared_task

from .services import ledger_verification_record


@shared_task
def verify_ledger() -> bool:
    """Under ``celery beat`` every ``LEDGER_VERIFY_INTERVAL_MINUTES``: verify the ledger and store
    the outcome that ``/metrics`` reports."""
    return ledger_verification_record().ok
