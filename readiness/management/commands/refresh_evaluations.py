"""`manage.py refresh_evaluations`: store every launch's readiness now (for cron, without a broker)."""

from django.core.management.base import BaseCommand

from readiness.evaluations import refresh_evaluations


class Command(BaseCommand):
    help = "Re-evaluate every launch's readiness for its next stage and store it for the portfolio."

    def handle(self, *args, **options):
        stored = refresh_evaluations()
        self.stdout.write(self.style.SUCCESS(f"Stored the readiness of {stored} launches."))
