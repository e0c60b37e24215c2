"""People and a launch for sign-off tests: the owner, the addressee (legal), a delegate in the
same team, an approver on another launch, a stakeholder who only views, an executive and an outsider."""

import pytest
from django.db import transaction

from raci.choices import Role, TeamFunction
from tests.builders import ready_launch
from tests.factories import LaunchFactory, RaciAssignmentFactory, StakeholderFactory, TeamFactory, UserFactory
from tests.helpers import give_view


@pytest.fixture
def legal_team(db):
    return TeamFactory(name="Legal", function=TeamFunction.LEGAL)


@pytest.fixture
def owner(db):
    return UserFactory(username="owner", first_name="Olive", last_name="Owner")


@pytest.fixture
def addressee(legal_team):
    return StakeholderFactory(
        user=UserFactory(username="addressee", first_name="Ada", last_name="Dressee"), teams=[legal_team]
    ).user


@pytest.fixture
def delegate(legal_team):
    return StakeholderFactory(
        user=UserFactory(username="delegate", first_name="Del", last_name="Egate"), teams=[legal_team]
    ).user


@pytest.fixture
def other_approver(legal_team):
    """A legal approver on a different launch."""
    user = StakeholderFactory(user=UserFactory(username="other"), teams=[legal_team]).user
    other_launch = LaunchFactory(slug="other-launch")
    give_view(user, other_launch)
    return user


@pytest.fixture
def executive(db):
    user = UserFactory(username="exec")
    StakeholderFactory(user=user, teams=[TeamFactory(name="Leadership", function=TeamFunction.EXECUTIVE)])
    return user


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


@pytest.fixture
def launch(owner):
    """A launch ready for Internal in every respect but sign-offs, with RACI-routed stakeholders."""
    return ready_launch(owner=owner, slug="assistant")


@pytest.fixture(scope="module")
def shared_launch(django_db_setup, django_db_blocker) -> int:
    """What ``launch`` builds (and its ``owner``), built once per module in a transaction rolled back
    at the module's end; returns the launch's primary key. A module whose tests all start from that
    launch overrides ``launch`` and ``owner`` to read it back from the database (see ``test_requests``);
    each test then runs inside it in a savepoint of its own (like ``setUpTestData``). Not for a module
    with transactional tests (``transaction=True``, threads): the shared transaction stays open until
    the module ends, and pytest-django runs those tests last in their module."""
    with django_db_blocker.unblock(), transaction.atomic():
        owner = UserFactory(username="owner", first_name="Olive", last_name="Owner")
        yield ready_launch(owner=owner, slug="assistant").pk
        transaction.set_rollback(True)


@pytest.fixture
def viewer(launch):
    """A stakeholder on the launch (Informed) who may view it but decides nothing."""
    stakeholder = StakeholderFactory(user=UserFactory(username="viewer"))
    RaciAssignmentFactory(area=launch.areas.first(), stakeholder=stakeholder, role=Role.INFORMED)
    give_view(stakeholder.user, launch)
    return stakeholder.user
