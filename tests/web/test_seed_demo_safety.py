"""`seed_demo` is for development: with DEBUG off it refuses, and forced it makes no superuser."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from readiness.models import Launch

pytestmark = pytest.mark.django_db


def test_seed_demo_refuses_to_run_with_debug_off_and_creates_nothing(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError) as refused:
        call_command("seed_demo", stdout=StringIO())

    assert refused.value.returncode != 0
    message = str(refused.value)
    assert message.startswith("Refusing to load demo data with DEBUG off")
    assert "preflight-demo" in message and "--force" in message
    assert not get_user_model().objects.exists()
    assert not Launch.objects.exists()


def test_seed_demo_forced_with_debug_off_creates_no_superuser_and_says_so(settings):
    settings.DEBUG = False
    out = StringIO()

    call_command("seed_demo", "--force", stdout=out)

    users = get_user_model().objects
    assert users.filter(username="pam").exists() and Launch.objects.exists()
    assert not users.filter(is_superuser=True).exists()
    assert not users.filter(is_staff=True).exists()
    assert "No superuser was created (DEBUG is off)" in out.getvalue()
    assert "admin  superuser" not in out.getvalue()
