"""The launch most page tests start from: Pam Okafor's ready launch ``assistant``, built once per
module (see ``module_transaction``). A module that needs another world overrides ``shared_launch``."""

import pytest

from readiness.models import Launch
from tests.builders import ready_launch
from tests.factories import UserFactory


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """Pam Okafor's ready launch, slug ``assistant``, built once per module; returns its primary key."""
    return ready_launch(owner=UserFactory(username="pam", first_name="Pam", last_name="Okafor"), slug="assistant").pk


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    """The module's launch, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.select_related("owner").get(pk=shared_launch)
