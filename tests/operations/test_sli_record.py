"""Recording daily SLI values: who may, what values are refused (nothing saved), and a day recorded
again replaces the value with history."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from ledger.events import LedgerEvent
from operations.models import SliActual, SliSource
from operations.services import Measurement, recordable_indicators, sli_record
from raci.choices import AreaKind, Role
from readiness.models import Launch
from tests.factories import UserFactory

TODAY = timezone.localdate
pytestmark = pytest.mark.django_db


def one(indicator="success_rate", value="99.7", day=None):
    return [Measurement(day=day or TODAY() - datetime.timedelta(days=1), indicator=indicator, value=Decimal(value))]


def person(launch, kind, role):
    return launch.areas.get(kind=kind).assignments.get(role=role).stakeholder.user


def test_the_owner_records_a_day_and_recording_it_again_replaces_it_with_history(launch):
    (first,) = sli_record(actor=launch.owner, launch=launch, measurements=one(value="99.1"), source=SliSource.FORM)
    (second,) = sli_record(actor=launch.owner, launch=launch, measurements=one(value="99.8"), source=SliSource.COMMAND)
    assert first.pk == second.pk
    assert SliActual.objects.get().value == Decimal("99.8")
    history = list(second.history.order_by("history_id"))
    assert [h.value for h in history] == [Decimal("99.1"), Decimal("99.8")]
    assert [h.source for h in history] == ["form", "command"]
    assert history[-1].history_user == launch.owner
    assert history[-1].history_change_reason == "Re-recorded from command"


@pytest.mark.parametrize(
    ("indicator", "value", "fragment"),
    [
        ("success_rate", "100.5", "between 0 % and 100 %"),
        ("error_rate", "101", "between 0 % and 100 %"),
        ("latency_p95", "-1", "cannot be negative"),
        ("cost_daily", "-0.01", "cannot be negative"),
        ("cost_monthly", "5", "Unknown indicator"),
        ("uptime", "5", "Unknown indicator"),
    ],
)
def test_values_out_of_range_for_their_indicator_are_refused_and_nothing_is_saved(launch, indicator, value, fragment):
    batch = one("latency_p95", "1200") + one(indicator, value)
    with pytest.raises(ValidationError) as refused:
        sli_record(actor=launch.owner, launch=launch, measurements=batch, source=SliSource.FORM)
    assert fragment in " ".join(refused.value.messages)
    assert not SliActual.objects.exists()


def test_boundaries_of_the_ranges_are_accepted(launch):
    batch = one("success_rate", "100") + one("error_rate", "0") + one("latency_p99", "0") + one("cost_daily", "0")
    assert len(sli_record(actor=launch.owner, launch=launch, measurements=batch, source=SliSource.FORM)) == 4


def test_a_day_in_the_future_is_refused(launch):
    with pytest.raises(ValidationError, match="in the future"):
        sli_record(
            actor=launch.owner,
            launch=launch,
            measurements=one(day=TODAY() + datetime.timedelta(days=1)),
            source=SliSource.FORM,
        )
    assert not SliActual.objects.exists()


def test_the_database_refuses_a_percentage_above_100_whatever_the_door(launch):
    with pytest.raises(IntegrityError), transaction.atomic():
        SliActual.objects.create(
            launch=launch,
            indicator="success_rate",
            day=TODAY(),
            value=Decimal("100.1"),
            source="form",
            recorded_by=launch.owner,
        )


def test_the_responsible_of_the_owning_area_records_its_slis_but_not_others(launch):
    operations = person(launch, AreaKind.INFRASTRUCTURE, Role.RESPONSIBLE)
    assert recordable_indicators(operations, launch) >= {"success_rate", "latency_p95", "cost_daily"}
    sli_record(actor=operations, launch=launch, measurements=one(), source=SliSource.FORM)
    assert SliActual.objects.get().recorded_by == operations


def test_a_viewer_of_the_launch_may_not_record(launch):
    legal = person(launch, AreaKind.POLICY, Role.ACCOUNTABLE)
    assert recordable_indicators(legal, launch) == set()
    with pytest.raises(PermissionDenied):
        sli_record(actor=legal, launch=launch, measurements=one(), source=SliSource.FORM)
    assert not SliActual.objects.exists()


def test_an_outsider_gets_404(launch):
    with pytest.raises(Http404):
        sli_record(actor=UserFactory(), launch=launch, measurements=one(), source=SliSource.FORM)


def test_an_archived_launch_takes_no_values(launch):
    Launch.objects.filter(pk=launch.pk).update(archived=True)
    with pytest.raises(ValidationError, match="archived"):
        sli_record(actor=launch.owner, launch=launch, measurements=one(), source=SliSource.FORM)


def test_people_cannot_claim_the_prometheus_source(launch):
    with pytest.raises(ValidationError, match="command or the form"):
        sli_record(actor=launch.owner, launch=launch, measurements=one(), source=SliSource.PROMETHEUS)


def test_recorded_values_are_ledgered_with_their_history_sealed_and_a_rewrite_is_caught(launch):
    from ledger.models import LedgerEntry
    from ledger.verification import verify

    sli_record(actor=launch.owner, launch=launch, measurements=one(value="98"), source=SliSource.FORM)
    sli_record(actor=launch.owner, launch=launch, measurements=one(value="99.9"), source=SliSource.FORM)
    entries = list(LedgerEntry.objects.filter(event=LedgerEvent.SLI_RECORDED).order_by("sequence"))
    assert [e.payload["values"][0]["value"] for e in entries] == ["98", "99.9"]
    assert [e.payload["values"][0]["replaced"] for e in entries] == [None, "98"]
    assert entries[-1].actor == launch.owner.get_username() and len(entries[-1].seals) == 1
    assert verify().ok, verify().problem
    # Someone with database access rewrites what the history says was recorded.
    SliActual.history.update(value=Decimal("99.99"))
    result = verify()
    assert not result.ok and "HistoricalSliActual" in result.problem and "altered" in result.problem


def test_verify_ledger_catches_a_live_value_rewritten_or_inserted_outside_the_services(launch):
    from ledger.verification import verify

    sli_record(actor=launch.owner, launch=launch, measurements=one(value="98"), source=SliSource.FORM)
    assert verify().ok
    SliActual.objects.update(value=Decimal("99.99"))  # the row the gate reads, history left alone
    result = verify()
    assert not result.ok and "does not match its ledger entry" in result.problem
    SliActual.objects.update(value=Decimal("98"))
    assert verify().ok
    SliActual.objects.create(
        launch=launch,
        indicator="latency_p95",
        day=TODAY() - datetime.timedelta(days=2),
        value=Decimal("900"),
        source="form",
        recorded_by=launch.owner,
    )
    result = verify()
    assert not result.ok and "has no ledger entry" in result.problem
    SliActual.objects.filter(indicator="latency_p95").delete()
    SliActual.objects.all().delete()
    result = verify()
    assert not result.ok and "no longer exists" in result.problem
