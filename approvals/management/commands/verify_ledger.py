"""`manage.py verify_ledger [--head HASH]`: exit 0 on an intact chain, 1 naming the first broken entry."""

import sys

from django.core.management.base import BaseCommand

from approvals.ledger import verify


class Command(BaseCommand):
    help = "Recompute the sign-off ledger's hash chain; exit 1 at the first broken entry."

    def add_arguments(self, parser):
        parser.add_argument("--head", help="The head hash you expect (e.g. printed on a report); catches truncation.")

    def handle(self, *args, head: str | None, **options):
        result = verify(expected_head=head)
        if result.ok:
            self.stdout.write(self.style.SUCCESS(f"Ledger intact: {result.checked} entries, head {result.head_hash}."))
            return
        self.stderr.write(f"Ledger BROKEN: {result.problem}.")
        sys.exit(1)
