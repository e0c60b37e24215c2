"""Celery tasks: thin wrappers calling the scheduled sweeps and the recertification; safe to run twice."""

from celery import shared_task
from django.utils import timezone

from .recertification import recertify
from .reminders import send_daily_reminders as daily_sweeps
from .reminders import send_stale_notices as stale_sweep


@shared_task(acks_late=True)
def send_stale_notices() -> int:
    """Beat, every 15 minutes: tell approvers and owners of approvals a change made stale. Safe to
    run twice: each (decision, new facts) is told once. Returns how many people were told."""
    return len(stale_sweep(now=timezone.now()))


@shared_task(acks_late=True)
def send_daily_reminders() -> int:
    """Beat, daily at ``REMINDER_HOUR``: overdue sign-offs and escalations, expiry warnings, the
    digests (what ``manage.py send_reminders`` runs). Safe to run twice. Returns how many were told."""
    return len(daily_sweeps(now=timezone.now()))


@shared_task(acks_late=True)
def recertify_launches() -> int:
    """Beat, daily at ``RECERTIFY_HOUR``: judge every launch in a stage against that stage (what
    ``manage.py recertify`` runs). Safe to run twice: a second run finds nothing changed. Returns
    how many launches changed between holding and not holding."""
    return len(recertify(now=timezone.now()))
