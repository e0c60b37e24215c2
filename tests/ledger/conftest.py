"""A launch ready for Internal in every respect but sign-offs (``tests.builders.ready_launch``), its
owner, and an outsider who may not see it. The launch is built once per module (see
``module_transaction``); a module that needs another one overrides ``built_launch``."""

import pytest

from readiness.models import Launch
from tests.builders import ready_launch
from tests.factories import UserFactory


@pytest.fixture(scope="module")
def built_launch():
    """Builds the module's launch (a function, so that a module may override what it builds)."""
    return lambda: ready_launch(
        owner=UserFactory(username="owner", first_name="Olive", last_name="Owner"), slug="assistant"
    )


@pytest.fixture(scope="module")
def shared_launch(module_transaction, built_launch) -> int | None:
    """The primary key of the module's launch, built once per module; None in a module with
    transactional tests, where ``launch`` builds it for each test."""
    return built_launch().pk if module_transaction else None


@pytest.fixture
def launch(shared_launch, built_launch, db) -> Launch:
    """The module's launch, read back for each test (which runs in a savepoint of its own)."""
    if shared_launch is None:
        return built_launch()
    return Launch.objects.select_related("owner").get(pk=shared_launch)


@pytest.fixture
def owner(launch):
    return launch.owner


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")
