"""`seed_demo` is for development: with DEBUG off it refuses (forced, see test_seed_demo); it
never mixes the demo into a database holding real people or teams (a real `eve` made an executive,
demo `lena` with the published password in the real Legal team), forced or not."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from raci.choices import TeamFunction
from raci.models import Stakeholder, Team
from readiness.models import Launch
from tests.factories import StakeholderFactory, UserFactory

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


def force_seed(settings) -> str:
    settings.DEBUG = False
    out = StringIO()
    call_command("seed_demo", "--force", stdout=out)
    return out.getvalue()


def assert_refused_and_nothing_written(settings, *named: str) -> None:
    before = (get_user_model().objects.count(), Team.objects.count(), Stakeholder.objects.count())
    with pytest.raises(CommandError) as refused:
        force_seed(settings)
    assert refused.value.returncode != 0
    message = str(refused.value)
    assert message.startswith("Refusing to load demo data into a database that holds real people or teams")
    for name in named:
        assert name in message
    assert (get_user_model().objects.count(), Team.objects.count(), Stakeholder.objects.count()) == before
    assert not Launch.objects.exists()


def test_a_real_person_named_like_a_demo_login_stops_the_demo(settings):
    eve = StakeholderFactory(user=UserFactory(username="eve", first_name="Eve", last_name="Real"))

    assert_refused_and_nothing_written(settings, "eve")
    assert not eve.teams.exists()  # not made an executive


def test_a_real_team_stops_the_demo_before_a_demo_person_joins_it(settings):
    legal = Team.objects.create(name="Legal", function=TeamFunction.COMPLIANCE)
    Team.objects.create(name="Risk office", function=TeamFunction.LEGAL)

    assert_refused_and_nothing_written(settings, "Legal", "Risk office")
    assert not legal.members.exists()
    assert not get_user_model().objects.filter(username="lena").exists()


def test_any_real_person_stops_the_demo(settings):
    UserFactory(username="alice")

    assert_refused_and_nothing_written(settings, "alice")
