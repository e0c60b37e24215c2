"""`manage.py anchor_ledger_head [--force]`: write the ledger's current head to every anchor sink
(LEDGER_ANCHOR) if anchoring is behind, or anyway with --force. What beat runs every minute; cron
it where no broker runs. Exit 0 written (or nothing to do), 1 a sink failed, 2 no sink configured."""

import sys

from django.core.management.base import BaseCommand, CommandError

from ledger.anchors import anchor_head, anchor_status, configured_sinks


class Command(BaseCommand):
    help = "Write the ledger's head to every anchor sink if anchoring is behind (or always, with --force)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Write the head even if it is already anchored.")

    def handle(self, *args, force: bool, **options):
        sinks = configured_sinks()
        if not sinks:
            raise CommandError("No anchor sink is configured: set LEDGER_ANCHOR (docs/ledger-anchor.md).", returncode=2)
        result = anchor_head(only_if_behind=not force)
        if result.failed:
            for failure in result.failed:
                self.stderr.write(f"Anchoring head #{result.sequence} FAILED: {failure}")
            sys.exit(1)
        if result.written:
            names = ", ".join(sink.spec for sink in sinks)
            self.stdout.write(self.style.SUCCESS(f"Anchored head #{result.sequence} to {names}."))
            return
        state = anchor_status()
        self.stdout.write(f"Nothing to do: head #{state.head_sequence} is anchored (at {state.anchored_at}).")
