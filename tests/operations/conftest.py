"""People and launches for the operations tests: the owner, a Responsible and an Accountable of
the launch, a viewer (Informed) who may see but not act, and an outsider who may not see it."""

import datetime

import pytest
from django.utils import timezone

from operations.services import incident_report
from raci.choices import Role
from tests.builders import ready_launch
from tests.factories import UserFactory
from tests.helpers import give_view


@pytest.fixture
def launch(db):
    return ready_launch(owner=UserFactory(username="owner", first_name="Olive", last_name="Owner"))


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
