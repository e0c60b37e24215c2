"""`manage.py send_reminders`: run the scheduled chasing once, by hand or from cron — stale
approvals, overdue sign-offs and their escalation, expiry warnings and the daily digests, the same
work beat's tasks do — and say what was sent. Running it again sends nothing new."""

import datetime
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from approvals.reminders import send_daily_reminders


class Command(BaseCommand):
    help = (
        "Send what is due: stale-approval notices, overdue reminders and escalations, expiry warnings and the "
        "daily digests. Each person is told each thing once, however often this runs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--now",
            help="Run as of this past moment (ISO 8601, e.g. 2026-11-24T07:00; without an offset, site time), "
            "e.g. to replay a day the scheduler missed.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would be sent, and write and send nothing."
        )

    def handle(self, *args, now: str | None, dry_run: bool, **options):
        moment = self._moment(now)
        if dry_run:
            with transaction.atomic():
                sent = send_daily_reminders(now=moment)
                transaction.set_rollback(True)  # nothing written, so no mail is queued either
        else:  # each notice commits as it is written: what was sent stays sent if a later one fails
            sent = send_daily_reminders(now=moment)
        for item in sent:
            self.stdout.write(item.line())
        if not sent:
            self.stdout.write("Nothing new to send: everyone has been told about everything due.")
            return
        kinds = Counter(item.line().split(" → ")[0] for item in sent)
        parts = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        verb = "Would send" if dry_run else "Sent"
        self.stdout.write(f"{verb} {len(sent)} notices ({parts}).")

    def _moment(self, raw: str | None) -> datetime.datetime:
        if raw is None:
            return timezone.now()
        try:
            moment = datetime.datetime.fromisoformat(raw)
        except ValueError:
            raise CommandError(
                f"--now must be an ISO 8601 date and time, e.g. 2026-11-24T07:00; got {raw!r}."
            ) from None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        if moment > timezone.now():
            raise CommandError(f"--now must not be in the future (got {moment.isoformat()}): it replays a past day.")
        return moment
