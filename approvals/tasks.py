"""Celery tasks: thin wrappers taking ids and calling the notification code; safe to run twice."""

from celery import shared_task
from django.utils import timezone

from .notifications import deliver_outbox


@shared_task(acks_late=True)
def deliver_notifications(message_ids: list[int] | None = None) -> dict[str, int]:
    """Deliver these outbox messages (enqueued after a commit), or, with no ids, every pending
    message that is due (the periodic drain)."""
    return deliver_outbox(message_ids=message_ids)


@shared_task(acks_late=True)
def send_stale_notices() -> int:
    """Beat, every 15 minutes: tell approvers and owners of approvals a change made stale. Safe to
    run twice: each (decision, new facts) is told once. Returns how many people were told."""
    from .reminders import send_stale_notices as sweep

    return len(sweep(now=timezone.now()))


@shared_task(acks_late=True)
def send_daily_reminders() -> int:
    """Beat, daily at ``REMINDER_HOUR``: overdue sign-offs and escalations, expiry warnings, the
    digests (what ``manage.py send_reminders`` runs). Safe to run twice. Returns how many were told."""
    from .reminders import send_daily_reminders as sweep

    return len(sweep(now=timezone.now()))


@shared_task(acks_late=True)
def recertify_launches() -> int:
    """Beat, daily at ``RECERTIFY_HOUR``: judge every launch in a stage against that stage (what
    ``manage.py recertify`` runs). Safe to run twice: a second run finds nothing changed. Returns
    how many launches changed between holding and not holding."""
    from .recertification import recertify

    return len(recertify(now=timezone.now()))
