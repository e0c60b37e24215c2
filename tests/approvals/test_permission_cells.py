"""The permission matrix's cells (see ``test_permission_matrix`` for the roles and the rule of
each cell), and who sees which launch, run against one world built per module, each test in a
savepoint of its own: the world is the same for all of them, and building it once keeps the suite
fast."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import Http404

from approvals.choices import DecisionOutcome
from approvals.models import SignoffRequest
from approvals.services import policy_set_consultation, signoff_decide, signoff_delegate, signoffs_request
from ledger.models import LedgerEntry
from raci.choices import AreaKind, Role, TeamFunction
from raci.services import raci_assign
from readiness.access import can_view, visible_launches
from readiness.history import delete_with_history
from readiness.models import Launch
from readiness.services import launch_create
from tests.approvals.test_permission_matrix import EXPECTED, OK, PREPARATIONS, REFUSALS, ROLES, cells, db_state
from tests.builders import ready_launch, team_for
from tests.factories import LaunchFactory, RaciAssignmentFactory, StakeholderFactory, TeamFactory, UserFactory
from tests.helpers import give_view


def build_world() -> dict:
    """The same world as the ``world`` fixture, built without fixtures so that it can be built once
    per module (see ``shared_world``); returns primary keys, not objects."""
    legal = TeamFactory(name="Legal", function=TeamFunction.LEGAL)
    owner = UserFactory(username="owner", first_name="Olive", last_name="Owner")
    person = {"owner": owner}
    for username, first, last in (("addressee", "Ada", "Dressee"), ("delegate", "Del", "Egate")):
        person[username] = StakeholderFactory(
            user=UserFactory(username=username, first_name=first, last_name=last), teams=[legal]
        ).user
    person["other_approver"] = give_view(
        StakeholderFactory(user=UserFactory(username="other"), teams=[legal]).user, LaunchFactory(slug="other-launch")
    )
    launch = ready_launch(owner=owner, slug="assistant")
    policy_area = launch.areas.get(kind=AreaKind.POLICY)
    person["viewer"] = StakeholderFactory(user=UserFactory(username="viewer")).user
    RaciAssignmentFactory(area=launch.areas.first(), stakeholder=person["viewer"].stakeholder, role=Role.INFORMED)
    consulted = StakeholderFactory(user=UserFactory(username="consulted"))
    raci_assign(area=policy_area, stakeholder=consulted, role=Role.CONSULTED, actor=owner)
    person["consulted"] = consulted.user
    for assignment in policy_area.assignments.filter(role=Role.ACCOUNTABLE):
        delete_with_history(assignment, actor=owner, reason="Replaced")
    accountable = StakeholderFactory(
        user=UserFactory(username="accountable"), teams=[team_for(TeamFunction.COMPLIANCE)]
    )
    raci_assign(area=policy_area, stakeholder=accountable, role=Role.ACCOUNTABLE, actor=owner)
    person["accountable"] = accountable.user
    person["executive"] = StakeholderFactory(
        user=UserFactory(username="exec"), teams=[TeamFactory(name="Leadership", function=TeamFunction.EXECUTIVE)]
    ).user
    person["superuser"] = UserFactory(username="root", is_superuser=True, is_staff=True)
    person["outsider"] = UserFactory(username="outsider")
    [request] = signoffs_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.get(name="Full"),
        functions=[TeamFunction.LEGAL],
        addressees={TeamFunction.LEGAL: [person["addressee"]]},
    )
    signoff_delegate(actor=person["addressee"], signoff=request, delegate=person["delegate"], reason="On holiday")
    return {"launch": launch.pk, "request": request.pk, "people": {role: user.pk for role, user in person.items()}}


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker):
    """The matrix's world, built once per module in a transaction rolled back at the end; each
    test runs inside it in a savepoint of its own (like ``setUpTestData``)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture
def fresh_world(shared_world, db):
    """The shared world read back from the database, so no test sees another's in-memory changes."""
    return read_world(shared_world)


def read_world(shared_world) -> SimpleNamespace:
    launch = Launch.objects.get(pk=shared_world["launch"])
    users = get_user_model().objects.in_bulk(shared_world["people"].values())
    people = {role: users[pk] for role, pk in shared_world["people"].items()}
    people["anonymous"] = AnonymousUser()
    people = {role: people[role] for role in ROLES}
    return SimpleNamespace(
        launch=launch,
        owner=people["owner"],
        request=SignoffRequest.objects.get(pk=shared_world["request"]),
        people=people,
        stage=lambda **lookup: launch.stages.get(**lookup),
    )


@pytest.fixture(scope="class")
def make_scenario(shared_world, service, django_db_blocker):
    """``service``'s preparation (``PREPARATIONS``), made once for all its cells in a savepoint of
    the module's transaction, rolled back after them; returns the rest of its scenario."""
    prepare, make = PREPARATIONS[service]
    with django_db_blocker.unblock(), transaction.atomic():
        if prepare is not None:
            prepare(read_world(shared_world))
        yield make
        transaction.set_rollback(True)


class TestCells:
    """A class, so that ``make_scenario`` prepares each service once for all its cells (pytest
    groups them) and none of it is left for the tests below."""

    @pytest.mark.parametrize("role", ROLES)
    @pytest.mark.parametrize("service", list(EXPECTED), scope="class")
    def test_permission_matrix(self, make_scenario, fresh_world, service, role):
        world = fresh_world
        expected = EXPECTED[service][role]
        call, succeeded = make_scenario(world)
        actor = world.people[role]
        before = db_state()
        ledger_before = LedgerEntry.objects.count()

        if expected == OK:
            result = call(actor)
            succeeded(result, actor)
            assert db_state() != before
        else:
            with pytest.raises(REFUSALS[expected]):
                call(actor)
            assert LedgerEntry.objects.count() == ledger_before, "a refused call wrote to the ledger"
            assert db_state() == before, "a refused call changed something"


def test_every_cell_is_run():
    """The class above crosses every service with every role: the matrix has no cell more or less."""
    assert sorted((service, role) for service, row in EXPECTED.items() for role in row) == sorted(
        (service, role) for service in EXPECTED for role in ROLES
    )
    assert len(list(cells())) == len(EXPECTED) * len(ROLES)


# Who sees which launch ----------------------------------------------------------------------


@pytest.fixture
def launches(fresh_world):
    """The world's launch, the other approver's launch, and one nobody here takes part in."""
    stranger = UserFactory(username="stranger")
    unrelated = launch_create(actor=stranger, name="Unrelated", slug="unrelated")
    return {
        "assistant": fresh_world.launch,
        "other-launch": Launch.objects.get(slug="other-launch"),
        "unrelated": unrelated,
    }


VISIBLE = {
    "owner": {"assistant"},
    "addressee": {"assistant"},
    "delegate": {"assistant"},
    "other_approver": {"other-launch"},
    "viewer": {"assistant"},
    "consulted": {"assistant"},
    "accountable": {"assistant"},
    "executive": {"assistant", "other-launch", "unrelated"},  # including launches they have no role on
    "superuser": {"assistant", "other-launch", "unrelated"},
    "outsider": set(),
    "anonymous": set(),
}


@pytest.mark.parametrize("role", ROLES)
def test_visible_launches(fresh_world, launches, role):
    assert set(visible_launches(fresh_world.people[role]).values_list("slug", flat=True)) == VISIBLE[role]


@pytest.mark.parametrize("role", ROLES)
def test_can_view_agrees_with_visible_launches(fresh_world, launches, role):
    """The list a user is shown and the launches the services let them open are the same."""
    user = fresh_world.people[role]
    opened = {slug for slug, launch in launches.items() if can_view(user, launch)}
    assert opened == VISIBLE[role]


@pytest.mark.parametrize("role", ["owner", "addressee", "delegate", "viewer", "executive", "superuser"])
def test_an_inactive_user_sees_nothing(fresh_world, launches, role):
    user = fresh_world.people[role]
    user.is_active = False
    user.save()
    user.refresh_from_db()

    assert not visible_launches(user).exists()
    assert not any(can_view(user, launch) for launch in launches.values())
    before = db_state()
    with pytest.raises(Http404):
        policy_set_consultation(actor=user, stage=fresh_world.stage(name="Beta"), must_acknowledge=True)
    with pytest.raises(Http404):
        signoff_decide(actor=user, signoff=fresh_world.request, outcome=DecisionOutcome.APPROVE)
    assert db_state() == before
