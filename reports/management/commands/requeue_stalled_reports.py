"""`manage.py requeue_stalled_reports`: send reports whose render stalled (a worker died, the broker
lost the task) to render again, and give up on those tried too often; what the periodic Celery task
does every minute under beat, for cron or by hand."""

from django.core.management.base import BaseCommand

from reports.services import reports_requeue_stalled


class Command(BaseCommand):
    help = "Send stalled report renders to render again; mark those tried too often as failed."

    def handle(self, *args, **options):
        counts = reports_requeue_stalled()
        self.stdout.write(f"Stalled reports: {counts['requeued']} sent to render again, {counts['failed']} failed.")
