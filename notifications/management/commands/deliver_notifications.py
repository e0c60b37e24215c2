"""`manage.py deliver_notifications`: send the outbox's pending messages that are due, by hand or from
cron; the same work the periodic Celery task does, for machines without a broker or beat."""

from django.core.management.base import BaseCommand
from django.db.models import Count, Min

from notifications.choices import OutboxStatus
from notifications.models import OutboxMessage
from notifications.outbox import DRAIN_LIMIT, deliver_outbox


class Command(BaseCommand):
    help = "Deliver pending notification mail that is due; failures are recorded and retried later."

    def add_arguments(self, parser):
        parser.add_argument(
            "--limit", type=int, default=DRAIN_LIMIT, help=f"Send at most this many (default {DRAIN_LIMIT})."
        )

    def handle(self, *args, limit: int, **options):
        counts = deliver_outbox(limit=limit)
        waiting = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).aggregate(
            count=Count("pk"), next_at=Min("next_attempt_at")
        )
        summary = ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
        pending = f"{waiting['count']} pending"
        if waiting["next_at"]:
            pending += f", next due {waiting['next_at'].isoformat(timespec='seconds')}"
        self.stdout.write(f"Outbox: {summary}; {pending}.")
