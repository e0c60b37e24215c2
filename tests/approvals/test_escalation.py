"""Escalation of an overdue sign-off reaches people who still hold the post it is escalated to:
an Accountable still serving the area's function (else the function's leads), the owner's
executive while still an executive (else the executive teams' leads), never the person the request
already waits for."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from approvals.reminders import sweep_overdue
from raci.choices import AreaKind, TeamFunction
from raci.services import stakeholder_set_executive
from tests.builders import accountable_of, overdue_by, overdue_ml_request, team_for
from tests.factories import StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


def escalated_to(sent, level: int) -> list:
    return [item.recipient for item in sent if item.key.endswith(f":level{level}")]


def test_a_former_executive_is_not_escalated_to_the_executive_leads_are(launch):
    """The owner's named executive left the executive teams: they no longer see every launch, and
    the escalation must reach someone who can act (the leads of the executive teams)."""
    executives = team_for(TeamFunction.EXECUTIVE)
    boss = StakeholderFactory(user=UserFactory(username="boss"), teams=[executives])
    lead = StakeholderFactory(user=UserFactory(username="lead-exec"), teams=[executives])
    executives.lead = lead
    executives.save()
    admin = UserFactory(username="teamadmin")
    admin.user_permissions.add(Permission.objects.get(codename="manage_teams"))
    admin = User.objects.get(pk=admin.pk)
    stakeholder_set_executive(actor=admin, stakeholder=StakeholderFactory(user=launch.owner), executive=boss)
    boss.teams.remove(executives)  # moved out of leadership; the reporting line was not updated

    sent = sweep_overdue(now=overdue_by(overdue_ml_request(launch), 4))

    assert escalated_to(sent, 2) == [lead.user]


def test_an_accountable_who_left_the_areas_function_gives_way_to_the_function_leads(launch):
    request = overdue_ml_request(launch)
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY)
    ml = team_for(TeamFunction.ML)
    accountable.teams.remove(ml)  # moved to another team; still Accountable on this launch's RACI
    lead = StakeholderFactory(user=UserFactory(username="ml-lead"), teams=[ml])
    ml.lead = lead
    ml.save()

    sent = sweep_overdue(now=overdue_by(request, 2))

    assert escalated_to(sent, 1) == [lead.user]


def test_the_executive_level_skips_an_executive_the_request_already_waits_for(launch):
    """Escalating to the person who is sitting on the sign-off tells nobody new (level one already
    skips them): the executive teams' leads are told instead."""
    request = overdue_ml_request(launch)
    (responsible,) = request.addressees.all()
    executives = team_for(TeamFunction.EXECUTIVE)
    responsible.stakeholder.teams.add(executives)
    lead = StakeholderFactory(user=UserFactory(username="lead-exec"), teams=[executives])
    executives.lead = lead
    executives.save()
    admin = UserFactory(username="teamadmin")
    admin.user_permissions.add(Permission.objects.get(codename="manage_teams"))
    admin = User.objects.get(pk=admin.pk)
    stakeholder_set_executive(
        actor=admin, stakeholder=StakeholderFactory(user=launch.owner), executive=responsible.stakeholder
    )

    sent = sweep_overdue(now=overdue_by(request, 4))

    assert escalated_to(sent, 2) == [lead.user]
