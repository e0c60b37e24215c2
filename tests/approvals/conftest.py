"""People and a launch for sign-off tests: the owner, the addressee (legal), a delegate in the
same team, an approver on another launch, a stakeholder who only views, an executive and an outsider."""

import pytest
from django.contrib.auth import get_user_model

from raci.choices import Role, TeamFunction
from readiness.models import Launch
from tests.builders import ready_launch
from tests.factories import LaunchFactory, RaciAssignmentFactory, StakeholderFactory, TeamFactory, UserFactory
from tests.helpers import give_view


@pytest.fixture
def legal_team(db):
    return TeamFactory(name="Legal", function=TeamFunction.LEGAL)


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


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int | None:
    """The primary key of ``built_launch()``, built once per module (see ``module_transaction``);
    None in a module with transactional tests, where ``launch`` builds it for each test."""
    return built_launch().pk if module_transaction else None


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    """The module's launch, read back for each test (which runs in a savepoint of its own)."""
    if shared_launch is None:
        return built_launch()
    return Launch.objects.get(pk=shared_launch)


def built_launch() -> Launch:
    """A launch ready for Internal in every respect but sign-offs, with RACI-routed stakeholders, and
    its owner, Olive."""
    return ready_launch(owner=UserFactory(username="owner", first_name="Olive", last_name="Owner"), slug="assistant")


@pytest.fixture
def owner(launch):
    return get_user_model().objects.get(pk=launch.owner_id)


@pytest.fixture
def viewer(launch):
    """A stakeholder on the launch (Informed) who may view it but decides nothing."""
    stakeholder = StakeholderFactory(user=UserFactory(username="viewer"))
    RaciAssignmentFactory(area=launch.areas.first(), stakeholder=stakeholder, role=Role.INFORMED)
    give_view(stakeholder.user, launch)
    return stakeholder.user
