"""`manage.py readiness_report SLUG -o FILE [--lang ko]`, `... SLUG --checklist STAGE -o FILE` and
`... --portfolio --user NAME -o FILE`: the same PDFs as the web app, rendered here and now (no
worker needed), as a named person (a launch's owner by default); asking again while the facts are
unchanged writes the stored report. Exit 2 on an unknown launch, stage or person, or a launch the
person may not see; 1 if the render fails."""

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from raci.selectors import preferred_language
from readiness.models import Launch
from reports.choices import ReportKind, ReportStatus
from reports.models import Report
from reports.services import report_render, report_request


class Command(BaseCommand):
    help = "Write a launch readiness report, a stage checklist or the portfolio report as PDF."

    def add_arguments(self, parser):
        parser.add_argument("slug", nargs="?", help="The launch (its short name).")
        parser.add_argument("--checklist", metavar="STAGE", help="The checklist of this stage (its name).")
        parser.add_argument("--portfolio", action="store_true", help="The portfolio report of --user.")
        parser.add_argument(
            "--user", help="Who asks: the report shows what they may see (default: the launch's owner)."
        )
        parser.add_argument(
            "--lang",
            choices=[code for code, _name in settings.LANGUAGES],
            help="Language of the report (default: the person's chosen language, else English).",
        )
        parser.add_argument("-o", "--output", required=True, help="The PDF file to write.")

    def handle(self, *args, slug, checklist, portfolio, user, lang, output, **options):
        if portfolio == bool(slug):
            raise CommandError("Name a launch (SLUG), or ask for --portfolio, not both.", returncode=2)
        if portfolio and checklist:
            raise CommandError("--checklist is a launch's: it cannot go with --portfolio.", returncode=2)
        if portfolio and not user:
            raise CommandError(
                "The portfolio report shows what one person may see: name them with --user.", returncode=2
            )
        launch = stage = None
        if slug:
            launch = Launch.objects.select_related("owner").filter(slug=slug).first()
            if launch is None:
                raise CommandError(f"No launch '{slug}'.", returncode=2)
        actor = self._person(user) if user else launch.owner
        if checklist:
            stages = list(launch.stages.all())
            stage = next((s for s in stages if s.name.casefold() == checklist.casefold()), None)
            if stage is None:
                names = ", ".join(s.name for s in sorted(stages, key=lambda s: s.order)) or "none"
                raise CommandError(f"Launch '{slug}' has no stage '{checklist}' (its stages: {names}).", returncode=2)
        kind = ReportKind.PORTFOLIO if portfolio else ReportKind.CHECKLIST if stage else ReportKind.LAUNCH
        language = lang or preferred_language(actor) or settings.LANGUAGE_CODE
        try:
            report = report_request(
                actor=actor, kind=kind, language=language, launch=launch, stage=stage, dispatch=False
            )
        except Http404:
            raise CommandError(f"{actor.get_username()} may not see launch '{slug}'.", returncode=2) from None
        except ValidationError as error:
            raise CommandError(" ".join(error.messages), returncode=2) from None
        if report.status != ReportStatus.READY:
            report = report_render(str(report.pk))
        if report.status != ReportStatus.READY:
            raise CommandError(f"Rendering report {report.pk} failed: {report.error}", returncode=1)
        pdf = bytes(Report.objects.values_list("pdf", flat=True).get(pk=report.pk))
        try:
            Path(output).write_bytes(pdf)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror or error}", returncode=2) from None
        self.stdout.write(f"Wrote {output}: {report.get_kind_display()} {report.pk}, SHA-256 {report.sha256}.")

    def _person(self, username: str):
        person = get_user_model().objects.filter(username=username, is_active=True).first()
        if person is None:
            raise CommandError(f"No active user '{username}'.", returncode=2)
        return person
