"""``manage.py housekeeping``: what beat runs daily (``web.housekeeping``), for cron users."""

from django.core.management.base import BaseCommand

from web.housekeeping import housekeeping


class Command(BaseCommand):
    help = (
        "Delete expired sessions, old sign-in records, sent outbox messages and the PDFs of old reports, "
        "each after its retention (LOGIN_ATTEMPT_RETENTION_DAYS, OUTBOX_RETENTION_DAYS, REPORT_PDF_RETENTION_DAYS)."
    )

    def handle(self, *args, **options) -> None:
        for what, count in housekeeping().items():
            self.stdout.write(f"{what}: {count} deleted")
