"""Access follows roles: whoever a role entitles may view a launch, and taking the role away takes
the view away unless another role still grants it. The owner alone changes it, and handing a
launch over moves that. Executives — members of an executive team, one definition — see all."""

import pytest
from django.contrib.auth.models import Permission
from guardian.shortcuts import get_perms

from approvals.access import DECIDE_REQUEST
from approvals.services import signoff_withdraw, signoffs_request
from raci.choices import AreaKind, Role, TeamFunction
from raci.models import LaunchStakeholder, RaciAssignment
from raci.services import launch_stakeholder_clear, raci_unassign, team_add_member, team_remove_member
from readiness.access import can_view, visible_launches
from readiness.models import Launch
from readiness.services import fact_version
from tests.builders import ready_launch, team_for
from tests.factories import RaciAssignmentFactory, StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """The launch and its owner, built once per module (see ``module_transaction``)."""
    return ready_launch(owner=UserFactory(username="owner"), slug="roles").pk


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    """The module's launch, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.select_related("owner").get(pk=shared_launch)


@pytest.fixture
def owner(launch):
    return launch.owner


@pytest.fixture
def team_admin(db):
    user = UserFactory(username="teamadmin")
    user.user_permissions.add(Permission.objects.get(codename="manage_teams"))
    return user


def sees(user, launch) -> bool:
    return can_view(user, Launch.objects.get(pk=launch.pk)) and visible_launches(user).filter(pk=launch.pk).exists()


def test_a_raci_role_grants_the_view_and_removing_it_takes_it_away(launch, owner):
    person = StakeholderFactory()
    area = launch.areas.get(kind=AreaKind.USER_EXPERIENCE)
    assignment = RaciAssignmentFactory(area=area, stakeholder=person, role=Role.INFORMED)
    assert sees(person.user, launch)

    raci_unassign(actor=owner, assignment=assignment, seen_version=fact_version(assignment))

    assert not sees(person.user, launch)


def test_another_role_keeps_the_view_when_one_is_removed(launch, owner):
    person = StakeholderFactory()
    first = RaciAssignmentFactory(area=launch.areas.get(kind=AreaKind.POLICY), stakeholder=person, role=Role.INFORMED)
    RaciAssignmentFactory(area=launch.areas.get(kind=AreaKind.DATA_RETRIEVAL), stakeholder=person, role=Role.CONSULTED)

    raci_unassign(actor=owner, assignment=first, seen_version=fact_version(first))

    assert sees(person.user, launch)


def test_emptying_a_slot_takes_its_holder_s_view_away(launch, owner):
    slot = LaunchStakeholder.objects.filter(launch=launch, function=TeamFunction.CUSTOMER_SUPPORT).first()
    holder = slot.stakeholder.user
    assert sees(holder, launch)

    launch_stakeholder_clear(actor=owner, slot=slot, seen_version=fact_version(slot))

    assert not sees(holder, launch)


def test_leaving_the_team_ends_the_view_a_slot_gave_and_rejoining_restores_it(launch, team_admin):
    slot = LaunchStakeholder.objects.filter(launch=launch, function=TeamFunction.BUSINESS).first()
    holder = slot.stakeholder
    team = team_for(TeamFunction.BUSINESS)

    team_remove_member(actor=team_admin, team=team, stakeholder=holder)
    assert not sees(holder.user, launch)

    team_add_member(actor=team_admin, team=team, stakeholder=holder)
    assert sees(holder.user, launch)


def test_an_addressee_who_leaves_the_team_loses_the_request_and_the_view(launch, owner, team_admin):
    lawyer = StakeholderFactory(user=UserFactory(username="lawyer"), teams=[team_for(TeamFunction.LEGAL)])
    (request,) = signoffs_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        functions=[TeamFunction.LEGAL],
        addressees={TeamFunction.LEGAL: [lawyer.user]},
    )
    assert lawyer.user.has_perm(DECIDE_REQUEST, request) and sees(lawyer.user, launch)

    team_remove_member(actor=team_admin, team=team_for(TeamFunction.LEGAL), stakeholder=lawyer)

    lawyer.user = type(lawyer.user).objects.get(pk=lawyer.user.pk)  # fresh permission cache
    assert "decide_signoffrequest" not in get_perms(lawyer.user, request)
    assert not sees(lawyer.user, launch)


def test_a_withdrawn_request_takes_the_addressee_s_view_away(launch, owner):
    lawyer = StakeholderFactory(user=UserFactory(username="lawyer"), teams=[team_for(TeamFunction.LEGAL)])
    (request,) = signoffs_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        functions=[TeamFunction.LEGAL],
        addressees={TeamFunction.LEGAL: [lawyer.user]},
    )
    signoff_withdraw(actor=owner, signoff=request)
    assert not sees(lawyer.user, launch)
    assert "decide_signoffrequest" not in get_perms(lawyer.user, request)


def test_handing_a_launch_over_moves_the_owner_s_grants(launch, owner):
    successor = UserFactory(username="successor")
    launch.owner = successor
    launch.save()

    assert set(get_perms(successor, launch)) >= {"view_launch", "change_launch"}
    assert get_perms(owner, launch) == []
    assert not sees(owner, launch)


def test_a_launch_made_without_the_services_still_gives_its_owner_the_grants(owner):
    launch = Launch.objects.create(name="Made by hand", slug="by-hand", owner=owner)
    assert set(get_perms(owner, launch)) == {"view_launch", "change_launch"}


def test_an_executive_sees_every_launch_while_in_an_executive_team(launch, team_admin):
    boss = StakeholderFactory(user=UserFactory(username="boss"))
    assert not sees(boss.user, launch)
    team_add_member(actor=team_admin, team=team_for(TeamFunction.EXECUTIVE), stakeholder=boss)
    assert sees(boss.user, launch)
    team_remove_member(actor=team_admin, team=team_for(TeamFunction.EXECUTIVE), stakeholder=boss)
    assert not sees(boss.user, launch)


def test_emptying_a_team_ends_the_view_its_members_had_through_it(launch):
    """``team.members.clear()`` (the admin, a script) names nobody in its signal after the fact."""
    slot = LaunchStakeholder.objects.filter(launch=launch, function=TeamFunction.BUSINESS).first()
    holder = slot.stakeholder.user
    assert sees(holder, launch)

    team_for(TeamFunction.BUSINESS).members.clear()

    assert not sees(holder, launch)


def test_a_grant_nobody_s_role_explains_is_taken_back_at_the_next_change(launch, owner):
    """A grant slipped in by hand does not survive: access is derived from roles."""
    from guardian.shortcuts import assign_perm

    stranger = UserFactory(username="stranger")
    assign_perm("readiness.view_launch", stranger, launch)
    RaciAssignment.objects.create(
        area=launch.areas.first(), stakeholder=StakeholderFactory(), role=Role.INFORMED
    )  # any change of roles on the launch
    assert not sees(stranger, launch)
