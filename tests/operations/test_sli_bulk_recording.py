"""Recording many SLI values at once (a 10,000-row CSV): every value is written with its history
and sealed in one ledger entry, in a number of queries that does not grow per row, within a
transaction that holds SQLite's write lock briefly; a bad row, or too many rows, refuses the whole
file before any transaction starts; recording the same file again writes nothing."""

import datetime
import math
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from operations.models import SliActual, SliSource
from operations.services import sli_record
from operations.sli_csv import parse_sli_csv
from readiness.history import save_with_history
from readiness.recording import record

pytestmark = pytest.mark.django_db

INDICATORS = ["success_rate", "latency_p50", "latency_p95", "latency_p99", "error_rate", "cost_daily"]


def csv_text(rows: int, *, value=lambda n, indicator: "99.5" if indicator.endswith("rate") else str(100 + n % 900)):
    """``rows`` values, six indicators a day, going back from yesterday (9,999 rows: 1,667 days)."""
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    lines = ["date,indicator,value"]
    for n in range(rows):
        day = yesterday - datetime.timedelta(days=n // len(INDICATORS))
        indicator = INDICATORS[n % len(INDICATORS)]
        lines.append(f"{day.isoformat()},{indicator},{value(n, indicator)}")
    return "\n".join(lines) + "\n"


def upload(launch, text: str, source=SliSource.FORM):
    return sli_record(actor=launch.owner, launch=launch, measurements=parse_sli_csv(text), source=source)


def batch_statements(model, rows: int) -> int:
    """INSERT statements the database needs for ``rows`` rows of ``model``: one on PostgreSQL;
    on SQLite Django 5.2 caps a statement at 999 parameters."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    return math.ceil(rows / connection.ops.bulk_batch_size(fields, [None] * rows))


def test_a_9999_row_upload_records_every_row_with_history_and_a_verifying_ledger(launch):
    written = upload(launch, csv_text(9999))
    assert len(written) == SliActual.objects.filter(launch=launch).count() == 9999
    history = SliActual.history.filter(launch_id=launch.pk)
    assert history.count() == 9999
    assert set(history.values_list("history_user", "history_change_reason", "history_type").distinct()) == {
        (launch.owner.pk, "Recorded from form", "+")
    }
    (entry,) = LedgerEntry.objects.filter(event=LedgerEvent.SLI_RECORDED)
    assert len(entry.payload["values"]) == len(entry.seals) == 9999
    assert {seal["id"] for seal in entry.seals} == set(history.values_list("history_id", flat=True))
    result = verify()
    assert result.ok, result.problem


def test_a_big_upload_costs_a_fixed_few_queries_plus_one_insert_per_database_batch(
    launch, django_assert_max_num_queries
):
    counts = {}
    for rows, end in ((100, 100), (2000, 2100)):
        text = csv_text(end)
        measurements = parse_sli_csv(text)[end - rows :]  # fresh days each time: every row is new
        with CaptureQueriesContext(connection) as queries:
            sli_record(actor=launch.owner, launch=launch, measurements=measurements, source=SliSource.FORM)
        counts[rows] = len(queries)
    statements = {
        rows: batch_statements(SliActual, rows) + batch_statements(SliActual.history.model, rows) for rows in counts
    }
    # Nothing per row: 20 times the rows cost only the extra INSERTs the database's parameter
    # limit forces (none on PostgreSQL, where the count is the same).
    assert counts[2000] - counts[100] == statements[2000] - statements[100]
    assert statements[2000] <= 2000 // 50
    with django_assert_max_num_queries(counts[100] - statements[100] + statements[2000]):
        upload(launch, csv_text(2000, value=lambda n, indicator: "98.5" if indicator.endswith("rate") else "7"))


def test_one_bad_row_refuses_the_whole_big_file_naming_its_line_and_column(launch):
    lines = csv_text(9999).splitlines()
    lines[4999] = lines[4999].rsplit(",", 1)[0] + ",slow"  # line 5000 of the file
    with pytest.raises(ValidationError) as refused:
        upload(launch, "\n".join(lines))
    assert refused.value.messages == ["Line 5000, column value: 'slow' is not a number."]
    assert not SliActual.objects.exists() and not SliActual.history.exists()
    assert not LedgerEntry.objects.filter(event=LedgerEvent.SLI_RECORDED).exists()


def test_a_file_over_the_limit_is_refused_naming_the_limit(launch, settings, tmp_path):
    settings.SLI_UPLOAD_MAX_ROWS = 50
    with pytest.raises(ValidationError, match=r"more than 50 rows, the most one upload takes \(SLI_UPLOAD_MAX_ROWS\)"):
        upload(launch, csv_text(51))
    path = tmp_path / "sli.csv"
    path.write_text(csv_text(51), encoding="utf-8")
    with pytest.raises(CommandError, match="more than 50 rows"):
        call_command("record_sli", launch.slug, str(path))
    assert not SliActual.objects.exists()
    assert len(upload(launch, csv_text(50))) == 50  # the limit itself is allowed


def test_the_service_refuses_more_values_than_the_limit_whatever_the_door(launch, settings):
    measurements = parse_sli_csv(csv_text(6))
    settings.SLI_UPLOAD_MAX_ROWS = 5
    with pytest.raises(ValidationError, match=r"There are 6 values; at most 5 are recorded at once"):
        sli_record(actor=launch.owner, launch=launch, measurements=measurements, source=SliSource.COMMAND)
    assert not SliActual.objects.exists()


def test_recording_the_same_file_again_writes_nothing_and_a_changed_day_only_that_day(launch):
    text = csv_text(600)
    assert len(upload(launch, text)) == 600
    entries, history = LedgerEntry.objects.count(), SliActual.history.count()
    assert upload(launch, text) == []
    assert (LedgerEntry.objects.count(), SliActual.history.count()) == (entries, history)
    lines = text.splitlines()
    day, indicator, _value = lines[8].split(",")
    lines[8] = f"{day},{indicator},321"
    (changed,) = upload(launch, "\n".join(lines))
    assert (changed.indicator, changed.day.isoformat(), changed.value) == (indicator, day, Decimal("321"))
    assert SliActual.history.count() == history + 1
    newest = SliActual.history.filter(id=changed.pk).latest("history_id")
    assert (newest.history_type, newest.history_change_reason) == ("~", "Re-recorded from form")
    entry = LedgerEntry.objects.latest("sequence")
    assert entry.payload["values"] == [{"indicator": indicator, "day": day, "value": "321", "replaced": _value}]
    assert verify().ok


def test_the_same_value_from_another_source_is_recorded_again(launch):
    upload(launch, csv_text(12))
    assert len(upload(launch, csv_text(12), source=SliSource.COMMAND)) == 12
    assert set(SliActual.objects.values_list("source", flat=True)) == {"command"}
    assert verify().ok


def test_values_recorded_one_by_one_before_bulk_recording_still_verify_with_bulk_entries(launch):
    """Entries written one saved row at a time (as every recording was before bulk writes) and
    bulk entries replacing some of their days verify together, each row against its newest entry."""
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    old = []
    for indicator in ("success_rate", "latency_p95"):
        actual = SliActual(launch=launch, indicator=indicator, day=yesterday, value=Decimal("90"), source="form")
        actual.recorded_by = launch.owner
        old.append(save_with_history(actual, actor=launch.owner, reason="Recorded from form"))
    with transaction.atomic():
        record(
            event=LedgerEvent.SLI_RECORDED,
            launch=launch,
            actor=launch.owner,
            payload={
                "source": "form",
                "values": [
                    {"indicator": a.indicator, "day": a.day.isoformat(), "value": "90", "replaced": None} for a in old
                ],
            },
            seal=old,
        )
    assert verify().ok
    written = upload(launch, csv_text(12))  # replaces both old days, adds ten
    assert len(written) == 12
    assert verify().ok
    SliActual.objects.filter(indicator="latency_p95", day=yesterday).update(value=Decimal("90"))
    result = verify()
    assert not result.ok and "does not match its ledger entry" in result.problem


# --- a CSV cell or value the columns cannot keep is refused naming its line -------------------


def test_a_huge_csv_cell_is_a_validation_error_naming_the_line():
    text = "date,indicator,value\n2026-11-01,success_rate,99\n2026-11-02,success_rate," + "9" * 200_000 + "\n"
    with pytest.raises(ValidationError) as raised:
        parse_sli_csv(text)
    assert "Line 3" in " ".join(raised.value.messages)


def test_a_value_with_too_many_decimals_is_refused_naming_its_line(launch):
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    text = f"date,indicator,value\n{yesterday},success_rate,99.5\n{yesterday},latency_p95,1840.12345\n"
    with pytest.raises(ValidationError) as raised:
        sli_record(actor=launch.owner, launch=launch, measurements=parse_sli_csv(text), source=SliSource.COMMAND)
    assert "Line 3" in " ".join(raised.value.messages)
    assert not SliActual.objects.exists()


def test_a_value_too_large_to_keep_is_refused_naming_its_line(launch):
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    text = f"date,indicator,value\n{yesterday},latency_p95,123456789012345\n"
    with pytest.raises(ValidationError) as raised:
        sli_record(actor=launch.owner, launch=launch, measurements=parse_sli_csv(text), source=SliSource.COMMAND)
    assert "Line 2" in " ".join(raised.value.messages)
