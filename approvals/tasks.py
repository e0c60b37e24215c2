"""Celery tasks: thin wrappers taking ids and calling the notification code; safe to run twice."""

from celery import shared_task

from .notifications import signoff_request_notify


@shared_task(acks_late=True)
def notify_signoff_request(request_id: int) -> bool:
    return signoff_request_notify(request_id=request_id)
