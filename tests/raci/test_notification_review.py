"""Hostile review of the notifications (issue 10): the escalation line cannot be set by the person
it escalates about, on any admin path."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from raci.choices import TeamFunction
from raci.models import Stakeholder
from tests.builders import team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import admin_url

pytestmark = pytest.mark.django_db


def test_nobody_names_their_own_executive_by_adding_their_own_stakeholder_in_the_admin(client):
    """A team administrator who owns launches and has no stakeholder row yet must not be able to add
    one for themselves with an executive of their choosing (their escalations would go there)."""
    boss = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)], title="Friendly VP")
    owner = UserFactory(is_staff=True)
    owner.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_stakeholder", "change_stakeholder", "add_stakeholder", "manage_teams"]
        )
    )
    client.force_login(owner)

    response = client.post(
        admin_url(Stakeholder, "add"), {"user": owner.pk, "title": "PM", "executive": boss.pk, "teams": []}
    )

    assert response.status_code == 403
    mine = Stakeholder.objects.filter(user=owner).first()
    assert mine is None or mine.executive_id is None


def test_a_team_administrator_adds_someone_elses_stakeholder_with_an_executive_through_the_service(client):
    boss = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)], title="VP")
    admin = UserFactory(is_staff=True)
    admin.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_stakeholder", "change_stakeholder", "add_stakeholder", "manage_teams"]
        )
    )
    client.force_login(admin)
    person = UserFactory()

    response = client.post(
        admin_url(Stakeholder, "add"), {"user": person.pk, "title": "PM", "executive": boss.pk, "teams": []}
    )

    assert response.status_code == 302
    added = Stakeholder.objects.get(user=person)
    assert added.executive == boss
    assert added.history.first().history_change_reason == f"Executive: {boss.display_name}"
