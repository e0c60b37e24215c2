"""`manage.py verify_ledger [--head HASH] [--anchors FILE]`: exit 0 on an intact record, 1 naming
the first problem (an altered, missing or re-linked entry, a rolled-back head, a row that
disagrees with its entry, an altered history row, a lost anchored entry)."""

import re
import sys

from django.core.management.base import BaseCommand, CommandError

from ledger.chain import read_anchors
from ledger.verification import verify

HASH = re.compile(r"[0-9a-f]{64}")


def _head(value: str) -> str:
    value = value.strip().lower()
    if not HASH.fullmatch(value):
        raise CommandError("--head needs the 64 hexadecimal characters printed as the ledger head.", returncode=2)
    return value


class Command(BaseCommand):
    help = "Recompute the sign-off ledger and cross-check the rows the gate reads; exit 1 at the first problem."

    def add_arguments(self, parser):
        parser.add_argument("--head", help="The head you expect (e.g. printed on a report).")
        parser.add_argument(
            "--anchors", help="A file of 'SEQUENCE HASH' lines kept outside the database (LEDGER_ANCHOR_FILE)."
        )

    def handle(self, *args, head: str | None, anchors: str | None, **options):
        if head is not None:
            head = _head(head)
        try:
            anchored = read_anchors(anchors) if anchors else []
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read the anchors: {error}", returncode=2) from None
        result = verify(expected_head=head, anchors=anchored)
        if result.ok:
            self.stdout.write(self.style.SUCCESS(f"Ledger intact: {result.checked} entries, head {result.head_hash}."))
            return
        self.stderr.write(f"Ledger BROKEN: {result.problem}.")
        sys.exit(1)
