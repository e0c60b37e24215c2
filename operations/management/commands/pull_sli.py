"""`manage.py pull_sli`: what the scheduled task does (operations.tasks.pull_sli_actuals), by hand
or from cron where no Celery beat runs: pull every launch's missing daily SLI values from its
Prometheus source."""

from django.core.management.base import BaseCommand

from operations.prometheus import pull_all


class Command(BaseCommand):
    help = "Pull missing daily SLI values from every launch's Prometheus source."

    def handle(self, *args, **options):
        for pull in pull_all():
            self.stdout.write(f"{pull.source.launch.slug}: {pull.status}, {pull.recorded} recorded")
            for error in pull.errors:
                self.stdout.write(f"  {error}")
