"""A database operator who rewrites an agreement, or the bar it covers, is caught by verify: the
newest ledger entry of each agreed quality bar and SLO names who agreed and on what definition."""

from decimal import Decimal

import pytest

from approvals.ledger import verify
from readiness.models import SLO, QualityBar
from tests.builders import ready_launch
from tests.factories import UserFactory


@pytest.fixture
def launch(db):
    launch = ready_launch(slug="tampered")
    assert verify().ok
    return launch


def test_an_agreement_written_in_sql_by_someone_else_is_caught(launch):
    bar = launch.quality_bars.get()
    QualityBar.objects.filter(pk=bar.pk).update(agreed_by=UserFactory(username="mallory"))
    result = verify()
    assert not result.ok
    assert f"quality bar #{bar.pk} does not match the agreement recorded in entry #1" in result.problem


def test_a_bar_loosened_in_sql_under_its_agreement_is_caught(launch):
    bar = launch.quality_bars.get()
    QualityBar.objects.filter(pk=bar.pk).update(max_failure_rate=Decimal("0.3"))
    assert f"quality bar #{bar.pk} does not match" in verify().problem


def test_an_agreement_cleared_in_sql_is_caught(launch):
    bar = launch.quality_bars.get()
    QualityBar.objects.filter(pk=bar.pk).update(agreed_by=None, agreed_at=None)
    assert f"quality bar #{bar.pk} is not agreed, but entry #1 records an agreement nothing cleared" in (
        verify().problem
    )


def test_an_slo_target_raised_in_sql_under_its_agreement_is_caught(launch):
    slo = launch.slos.get(indicator="latency_p95")
    SLO.objects.filter(pk=slo.pk).update(target=Decimal("4999"))
    assert f"slo #{slo.pk} does not match" in verify().problem
