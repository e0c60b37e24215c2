"""`manage.py verify_report FILE`: is FILE exactly a PDF Preflight issued, which report, which
facts it covers, and do they still hold? Exit 0 issued and current, 1 issued but its facts have
changed since, 2 not issued by Preflight (or changed after) or unreadable."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports.services import report_verify


class Command(BaseCommand):
    help = (
        "Check a report PDF against the record by its SHA-256: exit 0 issued and its facts still hold, "
        "1 issued but the facts changed since, 2 not issued by Preflight or unreadable."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The PDF to check.")

    def handle(self, *args, file: str, **options):
        try:
            data = Path(file).read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}", returncode=2) from None
        check = report_verify(data)
        self.stdout.write(f"SHA-256:      {check.sha256}")
        report = check.report
        if report is None:
            raise CommandError(
                "Not issued by Preflight: no report it issued has exactly these bytes "
                "(it never issued this file, or the file was changed after).",
                returncode=2,
            )
        by = report.requested_by
        lines = [
            "Issued by Preflight.",
            f"Report:       {report.pk}",
            f"Kind:         {report.kind}",
        ]
        if report.launch_id:
            lines.append(f"Launch:       {report.launch.slug} ({report.launch.name})")
        if report.stage_id:
            lines.append(f"Stage:        {report.stage.name}")
        lines += [
            f"Language:     {report.language}",
            f"Asked for by: {by.get_username()}" + (f" ({by.get_full_name()})" if by.get_full_name() else ""),
            f"Asked for at: {_when(report.requested_at)}",
            f"Issued at:    {_when(report.finished_at)}",
            f"Facts:        {report.facts_fingerprint}",
        ]
        if report.ledger_head:
            lines.append(f"Ledger head:  {report.ledger_head}")
        self.stdout.write("\n".join(lines))
        if check.facts_hold:
            self.stdout.write("The facts it shows still hold today.")
            return
        self.stdout.write("The facts have changed since it was issued: ask for a new report.")
        sys.exit(1)


def _when(moment) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else "-"
