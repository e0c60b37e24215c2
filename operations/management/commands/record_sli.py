"""`manage.py record_sli SLUG FILE.csv [--as USERNAME]`: record a launch's daily SLI values.

The CSV format is described in ``operations.sli_csv`` (header ``date,indicator,value``). All rows
are recorded or none: a bad row prints its line and column and the command exits 1 with nothing
saved. A day already recorded is replaced (history keeps the earlier value); a day already holding
the same value is left alone, so running a file twice records it once. At most
``SLI_UPLOAD_MAX_ROWS`` rows (10,000 by default). The values are
recorded as ``--as`` (default: the launch's owner), who must be allowed to record them."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError
from django.http import Http404

from operations.models import SliSource
from operations.services import sli_record
from operations.sli_csv import parse_sli_csv
from readiness.models import Launch


class Command(BaseCommand):
    help = "Record daily SLI values (CSV: date,indicator,value) for a launch; all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The launch's slug.")
        parser.add_argument("file", help="CSV file with the header date,indicator,value.")
        parser.add_argument("--as", dest="username", help="Who measured and records the values (default: the owner).")

    def handle(self, *args, slug: str, file: str, username: str | None = None, **options):
        launch = Launch.objects.filter(slug=slug).select_related("owner").first()
        if launch is None:
            raise CommandError(f"Unknown launch '{slug}'.")
        actor = launch.owner
        if username:
            actor = get_user_model().objects.filter(username=username, is_active=True).first()
            if actor is None:
                raise CommandError(f"Unknown or inactive user '{username}'.")
        try:
            text = Path(file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from None
        try:
            measurements = parse_sli_csv(text)
            actuals = sli_record(actor=actor, launch=launch, measurements=measurements, source=SliSource.COMMAND)
        except ValidationError as error:
            raise CommandError(f"{file}: nothing recorded.\n" + "\n".join(error.messages)) from None
        except (PermissionDenied, Http404) as error:
            raise CommandError(f"{actor.get_username()} may not record SLI values of '{slug}': {error}") from None
        except OperationalError as error:
            if "is locked" not in str(error):  # SQLite gave up waiting for another writer
                raise
            raise CommandError(f"{file}: nothing recorded; the database was busy ({error}). Run it again.") from None
        for actual in actuals:
            self.stdout.write(f"{actual.day.isoformat()}  {actual.indicator:<13} {actual.value.normalize():f}")
        unchanged = len(measurements) - len(actuals)
        self.stdout.write(
            self.style.SUCCESS(
                f"Recorded {len(actuals)} value(s) for '{slug}' as {actor.get_username()}."
                + (f" {unchanged} day(s) already held the same value and were left as they were." if unchanged else "")
            )
        )
