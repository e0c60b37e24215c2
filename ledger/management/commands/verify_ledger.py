"""`manage.py verify_ledger [--head HASH] [--anchors SOURCE [SOURCE ...]]`: exit 0 on an intact
record, 1 naming the first problem (an altered, missing or re-linked entry, a rolled-back head, a
row that disagrees with its entry, an altered history row, a lost anchored entry), 2 for a head or
an anchor source that cannot be read. Anchor sources are merged (``ledger.anchors.read_anchors``):
files of 'SEQUENCE HASH' lines, folders of them (one file per server), logs holding the
'ledger anchor seq=N hash=H' line (plain or JSON, gzipped or not) and s3://bucket/prefix/."""

import re
import sys

from django.core.management.base import BaseCommand, CommandError

from ledger.anchors import AnchorSourceError, read_anchors
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
            "--anchors",
            nargs="+",
            action="extend",
            default=[],
            metavar="SOURCE",
            help="Where anchors were kept outside the database: files, folders, logs, s3://bucket/prefix/.",
        )

    def handle(self, *args, head: str | None, anchors: list[str], **options):
        if head is not None:
            head = _head(head)
        try:
            anchored = read_anchors(anchors)
        except AnchorSourceError as error:
            raise CommandError(f"Cannot read the anchors: {error}", returncode=2) from None
        result = verify(expected_head=head, anchors=anchored)
        if result.ok:
            self.stdout.write(self.style.SUCCESS(f"Ledger intact: {result.checked} entries, head {result.head_hash}."))
            if anchored:
                self.stdout.write(
                    f"Every anchor is in the chain: {len(anchored)} checked, the newest #{anchored[-1][0]}."
                )
            return
        self.stderr.write(f"Ledger BROKEN: {result.problem}.")
        sys.exit(1)
