"""`manage.py recertify`: judge every launch in a stage against the stage it is in, once, by hand
or from cron — the same work beat's daily task does — and say what changed. Running it again
changes nothing."""

from django.core.management.base import BaseCommand

from approvals.models import StageStanding
from approvals.recertification import recertify


class Command(BaseCommand):
    help = (
        "Recertify every launch that is in a stage: record in the ledger and tell the owner when the stage it "
        "entered no longer holds, and record when it holds again. Safe to run any number of times."
    )

    def handle(self, *args, **options):
        changes = recertify()
        for change in changes:
            self.stdout.write(change.line())
        lapsed = StageStanding.objects.filter(holds=False, launch__archived=False).count()
        if not changes:
            self.stdout.write(f"Nothing changed; {lapsed} launches are in a stage that no longer holds.")
            return
        self.stdout.write(f"{len(changes)} changed; {lapsed} launches are in a stage that no longer holds.")
