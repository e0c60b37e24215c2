"""The launch RACI tests start from, built once per module (see ``module_transaction``): a module
overrides ``shared_launch`` to build its own. ``ledger_stays_intact`` checks the ledger after each
test of a module that asks for it."""

import pytest

from ledger.verification import verify
from readiness.models import Launch
from tests.builders import ready_launch


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """A ready launch, built once per module; returns its primary key."""
    return ready_launch().pk


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    """The module's launch, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.select_related("owner").get(pk=shared_launch)


@pytest.fixture
def ledger_stays_intact(db):
    """After the test, ``verify_ledger`` still finds the record whole."""
    yield
    result = verify()
    assert result.ok, result.problem
