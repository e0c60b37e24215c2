"""A database operator who rewrites an agreement, or the bar it covers, is caught by verify: the
newest ledger entry of each agreed quality bar and SLO names who agreed and on what definition."""

from decimal import Decimal

import pytest

from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from raci.choices import AreaKind
from raci.services import slo_remove
from readiness.models import SLO, QualityBar
from readiness.services import fact_change, fact_version
from tests.builders import accountable_of, ready_launch
from tests.factories import UserFactory


def agreed_in(bar: QualityBar) -> int:
    """The sequence of the entry recording ``bar``'s agreement."""
    [sequence] = [
        entry.sequence
        for entry in LedgerEntry.objects.filter(event=LedgerEvent.BAR_AGREED)
        if entry.payload["quality bar"] == bar.pk
    ]
    return sequence


@pytest.fixture(scope="module")
def built_launch():
    """This module's launch, built once for it (see the ledger conftest)."""
    return lambda: ready_launch(slug="tampered")


@pytest.fixture
def launch(launch):
    """The conftest's launch, built from ``built_launch`` above, verified before the test tampers."""
    assert verify().ok
    return launch


def test_an_agreement_written_in_sql_by_someone_else_is_caught(launch):
    bar = launch.quality_bars.get()
    QualityBar.objects.filter(pk=bar.pk).update(agreed_by=UserFactory(username="mallory"))
    result = verify()
    assert not result.ok
    assert f"quality bar #{bar.pk} does not match the agreement recorded in entry #{agreed_in(bar)}" in result.problem


def test_a_bar_loosened_in_sql_under_its_agreement_is_caught(launch):
    bar = launch.quality_bars.get()
    QualityBar.objects.filter(pk=bar.pk).update(max_failure_rate=Decimal("0.3"))
    assert f"quality bar #{bar.pk} does not match" in verify().problem


def test_an_agreement_cleared_in_sql_is_caught(launch):
    bar = launch.quality_bars.get()
    QualityBar.objects.filter(pk=bar.pk).update(agreed_by=None, agreed_at=None)
    assert f"quality bar #{bar.pk} is not agreed, but entry #{agreed_in(bar)} records an agreement nothing cleared" in (
        verify().problem
    )


def test_an_slo_target_raised_in_sql_under_its_agreement_is_caught(launch):
    slo = launch.slos.get(indicator="latency_p95")
    SLO.objects.filter(pk=slo.pk).update(target=Decimal("4999"))
    assert f"slo #{slo.pk} does not match" in verify().problem


def test_an_agreed_bar_deleted_in_sql_is_caught(launch):
    bar = launch.quality_bars.get()
    QualityBar.objects.filter(pk=bar.pk).delete()
    assert verify().problem == (
        f"quality bar #{bar.pk} recorded in entry #{agreed_in(bar)} no longer exists, and no entry records its removal"
    )


def test_a_redefined_bar_deleted_in_sql_is_caught_too(launch):
    """Once the owner changed the bar (ledgered, agreement cleared), only the Accountable may drop it:
    a bar deleted behind the services' back is caught whatever its newest entry says."""
    bar = launch.quality_bars.get()
    fact_change(actor=launch.owner, fact=bar, seen_version=fact_version(bar), values={"min_samples": 500})
    assert verify().ok
    QualityBar.objects.filter(pk=bar.pk).delete()
    assert f"quality bar #{bar.pk} recorded in entry #" in verify().problem


def test_an_slo_removed_through_the_service_verifies_and_one_deleted_in_sql_does_not(launch):
    latency, success = launch.slos.get(indicator="latency_p95"), launch.slos.get(indicator="success_rate")
    operations = accountable_of(launch, AreaKind.INFRASTRUCTURE).user
    slo_remove(actor=operations, slo=latency, seen_version=fact_version(latency), reason="p99 covers it")
    assert verify().ok
    SLO.objects.filter(pk=success.pk).delete()
    assert f"slo #{success.pk} recorded in entry #" in verify().problem
