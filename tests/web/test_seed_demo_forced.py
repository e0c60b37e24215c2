"""`seed_demo --force` with DEBUG off (a shared staging server, say): the demo is loaded without a
superuser, and loading it again adds nothing. The demo is seeded once for the module (see
``module_transaction``); each test runs in a savepoint of its own."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings

from raci.models import Team
from readiness.models import Launch

pytestmark = pytest.mark.django_db


def force_seed() -> str:
    out = StringIO()
    with override_settings(DEBUG=False):
        call_command("seed_demo", "--force", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def forced(module_transaction) -> str:
    """What the first forced run printed."""
    return force_seed()


def test_seed_demo_forced_with_debug_off_creates_no_superuser_and_says_so(forced):
    users = get_user_model().objects
    assert users.filter(username="pam").exists() and Launch.objects.exists()
    assert not users.filter(is_superuser=True).exists()
    assert not users.filter(is_staff=True).exists()
    assert "No superuser was created (DEBUG is off)" in forced
    assert "admin  superuser" not in forced


def test_the_demo_runs_again_on_a_database_holding_only_the_demo(forced):
    counts = (get_user_model().objects.count(), Team.objects.count(), Launch.objects.count())

    assert "Demo data ready (0 new launches)" in force_seed()
    assert (get_user_model().objects.count(), Team.objects.count(), Launch.objects.count()) == counts
