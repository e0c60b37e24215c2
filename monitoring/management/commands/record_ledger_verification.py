"""`manage.py record_ledger_verification`: what beat runs every LEDGER_VERIFY_INTERVAL_MINUTES, for
cron without a broker. Verifies the ledger, stores the outcome for /metrics, exits 1 if broken."""

import sys

from django.core.management.base import BaseCommand

from monitoring.services import ledger_verification_record


class Command(BaseCommand):
    help = "Verify the sign-off ledger and store the outcome that /metrics reports; exit 1 if it is broken."

    def handle(self, *args, **options):
        record = ledger_verification_record()
        if record.ok:
            self.stdout.write(f"Ledger intact: {record.checked} entries, head {record.head_hash}. Recorded.")
            return
        self.stderr.write(f"Ledger BROKEN: {record.problem}. Recorded.")
        sys.exit(1)
