"""A launch ready for Internal in every respect but sign-offs (``tests.builders.ready_launch``), its
owner, and an outsider who may not see it."""

import pytest

from tests.builders import ready_launch
from tests.factories import UserFactory


@pytest.fixture
def owner(db):
    return UserFactory(username="owner", first_name="Olive", last_name="Owner")


@pytest.fixture
def launch(owner):
    return ready_launch(owner=owner, slug="assistant")


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")
