import pytest

from tests.factories import UserFactory


@pytest.fixture
def pm(db):
    return UserFactory(username="pam", first_name="Pam", last_name="Manager")
