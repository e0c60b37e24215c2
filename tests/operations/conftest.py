"""People and launches for the operations tests: the owner, a Responsible and an Accountable of
the launch, a viewer (Informed) who may see but not act, and an outsider who may not see it."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from operations.services import Measurement, incident_report
from raci.choices import Role
from readiness.models import Launch
from tests.builders import ready_launch
from tests.factories import UserFactory
from tests.helpers import give_view


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """A ready launch (and its owner), built once per module; returns its primary key."""
    return ready_launch(owner=UserFactory(username="owner", first_name="Olive", last_name="Owner")).pk


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    """The module's ready launch, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.select_related("owner").get(pk=shared_launch)


@pytest.fixture
def owner(launch):
    return launch.owner


def _person(launch, role):
    return launch.areas.order_by("pk").first().assignments.get(role=role).stakeholder


@pytest.fixture
def responsible(launch):
    return _person(launch, Role.RESPONSIBLE).user


@pytest.fixture
def accountable(launch):
    return _person(launch, Role.ACCOUNTABLE).user


@pytest.fixture
def viewer(launch):
    return give_view(UserFactory(username="viewer"), launch)


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


def ago(**kwargs) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**kwargs)


def report(launch, actor=None, *, severity="P2", detected=None, **kwargs):
    return incident_report(
        actor=actor or launch.owner,
        launch=launch,
        title=kwargs.pop("title", f"{severity} outage"),
        severity=severity,
        user_impact=kwargs.pop("user_impact", "Answers failed for 3% of users."),
        detected_at=detected or ago(hours=2),
        **kwargs,
    )


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
