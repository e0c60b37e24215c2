import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from operations.services import Measurement
from readiness.models import Launch
from tests.builders import ready_launch


@pytest.fixture
def launch(db) -> Launch:
    return ready_launch()


def serving(launch: Launch, stage_name: str = "Internal") -> Launch:
    """The launch as if it had entered ``stage_name`` (the gate's own tests cover getting there)."""
    Launch.objects.filter(pk=launch.pk).update(current_stage=launch.stages.get(name=stage_name))
    launch.refresh_from_db()
    return launch


def period_days() -> list[datetime.date]:
    """The days item 15 judges today: the month of yesterday, through yesterday."""
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    return [yesterday.replace(day=n) for n in range(1, yesterday.day + 1)]


def values(indicator: str, *numbers, days=None) -> list[Measurement]:
    days = days or period_days()
    return [
        Measurement(day=day, indicator=indicator, value=Decimal(str(n))) for day, n in zip(days, numbers, strict=False)
    ]
