"""Celery tasks: thin wrappers taking ids and calling the outbox; safe to run twice."""

from celery import shared_task

from .outbox import deliver_outbox


@shared_task(acks_late=True)
def deliver_notifications(message_ids: list[int] | None = None) -> dict[str, int]:
    """Deliver these outbox messages (enqueued after a commit), or, with no ids, every pending
    message that is due (the periodic drain)."""
    return deliver_outbox(message_ids=message_ids)
