"""Invariants of teams, people and RACI, checked at both walls: ``full_clean()`` and the database."""

import pytest
from django.core.exceptions import NON_FIELD_ERRORS

from raci.choices import AreaKind, Role, TeamFunction
from raci.models import LaunchStakeholder, RaciAssignment, ResponsibilityArea
from tests.factories import (
    LaunchFactory,
    LaunchStakeholderFactory,
    RaciAssignmentFactory,
    ResponsibilityAreaFactory,
    StakeholderFactory,
    TeamFactory,
)
from tests.helpers import assert_invalid, assert_refused_by_database, assert_rejected_everywhere, validation_messages

pytestmark = pytest.mark.django_db


def assert_clear_constraint_message(obj, constraint_name: str) -> None:
    """full_clean() refuses ``obj`` in words a person can act on, not by quoting the constraint's name."""
    messages = validation_messages(obj)
    assert messages, "expected a validation error"
    text = " ".join(m for ms in messages.values() for m in ms)
    assert constraint_name not in text, f"the message only quotes the constraint: {messages!r}"


@pytest.fixture
def launch():
    return LaunchFactory()


@pytest.fixture
def other_launch():
    return LaunchFactory()


# --- Team ---------------------------------------------------------------------------------------


def test_team_name_must_be_unique():
    TeamFactory(name="Trust & Safety")
    duplicate = TeamFactory.build(name="Trust & Safety", function=TeamFunction.LEGAL)
    assert_rejected_everywhere(duplicate, "name", "Team with this Name already exists")


# --- RaciAssignment -----------------------------------------------------------------------------


@pytest.fixture
def area(launch):
    return ResponsibilityAreaFactory(launch=launch, kind=AreaKind.MODEL_QUALITY, name="Model quality")


def test_a_person_holds_a_role_on_an_area_only_once(area):
    person = StakeholderFactory()
    RaciAssignmentFactory(area=area, stakeholder=person, role=Role.RESPONSIBLE)
    duplicate = RaciAssignmentFactory.build(area=area, stakeholder=person, role=Role.RESPONSIBLE)
    assert_rejected_everywhere(duplicate, NON_FIELD_ERRORS, "Area, Stakeholder and Role already exists")


def test_the_same_person_may_hold_two_different_roles_on_an_area(area):
    person = StakeholderFactory()
    RaciAssignmentFactory(area=area, stakeholder=person, role=Role.ACCOUNTABLE)
    second = RaciAssignmentFactory.build(area=area, stakeholder=person, role=Role.RESPONSIBLE)
    second.full_clean()
    second.save()
    assert RaciAssignment.objects.filter(area=area, stakeholder=person).count() == 2


def test_the_same_role_may_be_held_by_several_people_or_on_several_areas(launch, area):
    person = StakeholderFactory()
    RaciAssignmentFactory(area=area, stakeholder=person, role=Role.RESPONSIBLE)
    RaciAssignmentFactory.build(area=area, stakeholder=StakeholderFactory(), role=Role.RESPONSIBLE).full_clean()
    other_area = ResponsibilityAreaFactory(launch=launch, kind=AreaKind.CUSTOM, name="Evaluation")
    RaciAssignmentFactory.build(area=other_area, stakeholder=person, role=Role.RESPONSIBLE).full_clean()


# --- ResponsibilityArea -------------------------------------------------------------------------


def test_area_name_is_unique_per_launch(launch, other_launch):
    ResponsibilityAreaFactory(launch=launch, name="Evaluation")
    ResponsibilityAreaFactory.build(launch=other_launch, name="Evaluation").full_clean()
    duplicate = ResponsibilityAreaFactory.build(launch=launch, name="Evaluation")
    assert_rejected_everywhere(duplicate, NON_FIELD_ERRORS, "Launch and Name already exists")


def test_a_standard_area_kind_appears_at_most_once_per_launch(launch):
    ResponsibilityAreaFactory(launch=launch, kind=AreaKind.INFRASTRUCTURE, name="Infrastructure")
    duplicate = ResponsibilityAreaFactory.build(launch=launch, kind=AreaKind.INFRASTRUCTURE, name="Infra (again)")
    messages = validation_messages(duplicate)
    assert NON_FIELD_ERRORS in messages or "kind" in messages
    assert_refused_by_database(duplicate)


def test_a_second_standard_area_of_the_same_kind_is_refused_in_plain_words(launch):
    ResponsibilityAreaFactory(launch=launch, kind=AreaKind.INFRASTRUCTURE, name="Infrastructure")
    duplicate = ResponsibilityAreaFactory.build(launch=launch, kind=AreaKind.INFRASTRUCTURE, name="Infra (again)")
    assert_clear_constraint_message(duplicate, "area_standard_kind_once_per_launch")


def test_the_same_standard_area_kind_on_another_launch_is_fine(launch, other_launch):
    ResponsibilityAreaFactory(launch=launch, kind=AreaKind.POLICY, name="Policy")
    area = ResponsibilityAreaFactory.build(launch=other_launch, kind=AreaKind.POLICY, name="Policy")
    area.full_clean()
    area.save()


def test_a_launch_may_have_several_custom_areas(launch):
    for name in ("Evaluation", "Localisation", "Accessibility"):
        area = ResponsibilityAreaFactory.build(launch=launch, kind=AreaKind.CUSTOM, name=name)
        area.full_clean()
        area.save()
    assert ResponsibilityArea.objects.filter(launch=launch, kind=AreaKind.CUSTOM).count() == 3


@pytest.mark.parametrize("concerns", [[], ["accuracy"], ["accuracy", "latency"]])
def test_area_concerns_may_be_a_list_of_keys(launch, concerns):
    ResponsibilityAreaFactory.build(launch=launch, concerns=concerns).full_clean()


@pytest.mark.parametrize(
    "concerns",
    ["accuracy", {"accuracy": True}, [""], ["accuracy", ""], [1], ["accuracy", None], [["accuracy"]]],
)
def test_area_concerns_must_be_a_list_of_non_empty_strings(launch, concerns):
    area = ResponsibilityAreaFactory.build(launch=launch, concerns=concerns)
    assert_invalid(area, "concerns", "list of concern keys")


# --- LaunchStakeholder --------------------------------------------------------------------------


def serving(*functions):
    """A person who serves ``functions`` (a member of a team of each)."""
    return StakeholderFactory(teams=[TeamFactory(function=function) for function in functions])


def test_the_same_person_cannot_fill_the_same_function_twice(launch):
    person = serving(TeamFunction.LEGAL)
    LaunchStakeholderFactory(launch=launch, function=TeamFunction.LEGAL, stakeholder=person)
    duplicate = LaunchStakeholderFactory.build(launch=launch, function=TeamFunction.LEGAL, stakeholder=person)
    assert_rejected_everywhere(duplicate, NON_FIELD_ERRORS, "Launch, Function and Stakeholder already exists")


def test_the_same_person_may_fill_two_functions_and_a_function_may_have_two_people(launch):
    person = serving(TeamFunction.LEGAL, TeamFunction.COMPLIANCE)
    LaunchStakeholderFactory(launch=launch, function=TeamFunction.LEGAL, stakeholder=person)
    for function, stakeholder in [(TeamFunction.COMPLIANCE, person), (TeamFunction.LEGAL, serving(TeamFunction.LEGAL))]:
        slot = LaunchStakeholderFactory.build(launch=launch, function=function, stakeholder=stakeholder)
        slot.full_clean()
        slot.save()
    assert LaunchStakeholder.objects.filter(launch=launch).count() == 3


def test_only_one_empty_slot_per_function_per_launch(launch):
    LaunchStakeholderFactory(launch=launch, function=TeamFunction.SECURITY, stakeholder=None)
    duplicate = LaunchStakeholderFactory.build(launch=launch, function=TeamFunction.SECURITY, stakeholder=None)
    validation_messages(duplicate)
    assert_refused_by_database(duplicate)


def test_a_second_empty_slot_is_refused_in_plain_words(launch):
    LaunchStakeholderFactory(launch=launch, function=TeamFunction.SECURITY, stakeholder=None)
    duplicate = LaunchStakeholderFactory.build(launch=launch, function=TeamFunction.SECURITY, stakeholder=None)
    assert_clear_constraint_message(duplicate, "launch_stakeholder_one_open_slot_per_function")


def test_empty_slots_for_different_functions_or_launches_and_beside_filled_slots_are_fine(launch, other_launch):
    LaunchStakeholderFactory(launch=launch, function=TeamFunction.SECURITY, stakeholder=None)
    candidates = [
        LaunchStakeholderFactory.build(launch=launch, function=TeamFunction.LEGAL, stakeholder=None),
        LaunchStakeholderFactory.build(launch=other_launch, function=TeamFunction.SECURITY, stakeholder=None),
        LaunchStakeholderFactory.build(
            launch=launch, function=TeamFunction.SECURITY, stakeholder=serving(TeamFunction.SECURITY)
        ),
    ]
    for slot in candidates:
        slot.full_clean()
        slot.save()
    assert LaunchStakeholder.objects.count() == 4


# --- History ------------------------------------------------------------------------------------


def test_creating_and_changing_a_raci_assignment_writes_history_rows(area):
    assignment = RaciAssignmentFactory(area=area, role=Role.RESPONSIBLE)
    assignment.role = Role.ACCOUNTABLE
    assignment.save()

    history = list(assignment.history.all())  # newest first
    assert [h.history_type for h in history] == ["~", "+"]
    assert [h.role for h in history] == [Role.ACCOUNTABLE, Role.RESPONSIBLE]


def test_deleting_a_raci_assignment_writes_a_history_row(area):
    assignment = RaciAssignmentFactory(area=area)
    pk = assignment.pk
    assignment.delete()
    assert [h.history_type for h in RaciAssignment.history.filter(id=pk)] == ["-", "+"]


def test_changing_a_stakeholders_teams_writes_a_history_row_with_the_teams():
    ml, legal = TeamFactory(name="ML"), TeamFactory(name="Legal", function=TeamFunction.LEGAL)
    person = StakeholderFactory()
    assert person.history.count() == 1

    person.teams.add(ml, legal)
    assert person.history.count() == 2
    latest = person.history.first()
    assert latest.history_type == "~"
    assert {row.team for row in latest.teams.all()} == {ml, legal}

    person.teams.remove(ml)
    assert person.history.count() == 3
    assert {row.team for row in person.history.first().teams.all()} == {legal}

    person.teams.clear()
    assert person.history.count() == 4
    assert not person.history.first().teams.exists()
    # Earlier rows keep the teams as they were.
    assert {row.team for row in person.history.all()[2].teams.all()} == {ml, legal}


# --- Who may fill a slot or be Accountable: only people serving the function --------------------


def test_a_slot_is_filled_only_by_someone_in_a_team_of_its_function(launch):
    """The owner once put a product manager in the Legal slot; now the model refuses it."""
    product_manager = serving(TeamFunction.PRODUCT)
    slot = LaunchStakeholderFactory.build(launch=launch, function=TeamFunction.LEGAL, stakeholder=product_manager)
    assert_invalid(slot, "stakeholder", "not in any Legal team")


def test_a_deactivated_member_cannot_fill_a_slot(launch):
    lawyer = serving(TeamFunction.LEGAL)
    lawyer.user.is_active = False
    lawyer.user.save()
    slot = LaunchStakeholderFactory.build(launch=launch, function=TeamFunction.LEGAL, stakeholder=lawyer)
    assert_invalid(slot, "stakeholder", "not in any Legal team")


@pytest.mark.parametrize(
    "kind, function",
    [
        (AreaKind.MODEL_QUALITY, TeamFunction.ML),
        (AreaKind.INFRASTRUCTURE, TeamFunction.PLATFORM),
        (AreaKind.DATA_RETRIEVAL, TeamFunction.DATA),
        (AreaKind.USER_EXPERIENCE, TeamFunction.PRODUCT),
        (AreaKind.POLICY, TeamFunction.SECURITY),
    ],
)
def test_the_accountable_of_a_standard_area_must_serve_its_function(launch, kind, function):
    area = ResponsibilityAreaFactory(launch=launch, kind=kind, name=str(kind))
    stranger = serving(TeamFunction.BUSINESS)
    assert_invalid(RaciAssignmentFactory.build(area=area, stakeholder=stranger, role=Role.ACCOUNTABLE), "stakeholder")
    RaciAssignmentFactory.build(area=area, stakeholder=serving(function), role=Role.ACCOUNTABLE).full_clean()
    # Other roles are the owner's to hand out: anyone may be Responsible, Consulted or Informed.
    RaciAssignmentFactory.build(area=area, stakeholder=stranger, role=Role.RESPONSIBLE).full_clean()


def test_anyone_may_be_accountable_for_a_custom_area(launch):
    area = ResponsibilityAreaFactory(launch=launch, kind=AreaKind.CUSTOM, name="Localisation")
    RaciAssignmentFactory.build(area=area, stakeholder=StakeholderFactory(), role=Role.ACCOUNTABLE).full_clean()
