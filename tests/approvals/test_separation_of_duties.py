"""Who may approve is not the owner's choice: a person serves a function only through membership
of a team of that function, which team administrators manage. Each attempt a review made as an
owner trying to get a launch through is reproduced here and refused."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from approvals.choices import DecisionOutcome, RequestStatus
from approvals.selectors import requests_awaiting, stage_signoffs
from approvals.services import signoff_decide, signoff_delegate, signoffs_request, waiver_decide, waiver_request
from ledger.verification import verify
from raci.choices import AreaKind, Role, TeamFunction
from raci.models import LaunchStakeholder
from raci.services import launch_stakeholder_fill, raci_assign, team_add_member, team_remove_member
from readiness.checklist import with_checklist_facts
from readiness.i18n import shown_date
from readiness.models import Launch
from readiness.services import fact_version
from tests.builders import team_for
from tests.factories import StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_intact(db):
    yield
    assert verify().ok


@pytest.fixture
def product_manager(db):
    """Someone the owner would like to see approve: a product person, not a lawyer."""
    return StakeholderFactory(user=UserFactory(username="pm2"), teams=[team_for(TeamFunction.PRODUCT)])


@pytest.fixture
def team_admin(db):
    user = UserFactory(username="teamadmin")
    user.user_permissions.add(Permission.objects.get(codename="manage_teams"))
    return user


def legal_request(launch, owner, **kwargs):
    (request,) = signoffs_request(
        actor=owner, launch=launch, stage=launch.stages.get(name="Beta"), functions=[TeamFunction.LEGAL], **kwargs
    )
    return request


# --- the owner cannot appoint approvers ---------------------------------------------------------


def test_the_owner_cannot_put_a_product_manager_in_the_legal_slot(launch, owner, product_manager):
    slot = LaunchStakeholder.objects.create(launch=launch, function=TeamFunction.LEGAL)
    with pytest.raises(ValidationError) as refused:
        launch_stakeholder_fill(slot=slot, stakeholder=product_manager, actor=owner, seen_version=fact_version(slot))
    assert "not in any Legal team" in refused.value.message_dict["stakeholder"][0]
    slot.refresh_from_db()
    assert slot.stakeholder is None


def test_the_owner_cannot_make_a_product_manager_accountable_for_policy(launch, owner, product_manager):
    policy = launch.areas.get(kind=AreaKind.POLICY)
    with pytest.raises(ValidationError) as refused:
        raci_assign(area=policy, stakeholder=product_manager, role=Role.ACCOUNTABLE, actor=owner)
    assert "cannot be Accountable" in refused.value.message_dict["stakeholder"][0]
    assert not policy.assignments.filter(stakeholder=product_manager).exists()


def test_the_owner_cannot_address_a_legal_sign_off_to_a_product_manager(launch, owner, product_manager):
    with pytest.raises(ValidationError) as refused:
        legal_request(launch, owner, addressees={TeamFunction.LEGAL: [product_manager.user]})
    assert "cannot sign off for Legal" in refused.value.message_dict["addressees"][0]


def test_after_a_legal_rejection_asking_again_reaches_only_legal_and_keeps_the_rejection(launch, owner, addressee):
    rejected = legal_request(launch, owner, addressees={TeamFunction.LEGAL: [addressee]})
    signoff_decide(actor=addressee, signoff=rejected, outcome=DecisionOutcome.REJECT, comment="No DPIA.")

    again = legal_request(launch, owner)

    assert again.replaces == rejected
    legal_members = set(team_for(TeamFunction.LEGAL).members.values_list("user_id", flat=True)) | {addressee.pk}
    assert {u.pk for u in again.addressees.all()} <= legal_members
    rejected.refresh_from_db()
    assert rejected.status == RequestStatus.SUPERSEDED
    assert rejected.decisions.get().outcome == DecisionOutcome.REJECT  # still on record
    for person in again.addressees.all():
        signoff_decide(actor=person, signoff=again, outcome=DecisionOutcome.APPROVE)
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    beta = next(s for s in facts.stages.all() if s.name == "Beta")
    (legal,) = [s for s in stage_signoffs(facts, beta, now=timezone.now()) if s.requirement.function == "legal"]
    assert legal.satisfied
    assert legal.earlier_objections == [
        f"Earlier, Ada Dressee rejected on {shown_date(timezone.localdate())}: No DPIA. (asked again since)."
    ]


def test_nobody_outside_the_function_can_be_a_delegate(launch, owner, addressee, product_manager):
    request = legal_request(launch, owner, addressees={TeamFunction.LEGAL: [addressee]})
    with pytest.raises(ValidationError):
        signoff_delegate(actor=addressee, signoff=request, delegate=product_manager.user)
    assert not request.delegations.exists()


def test_the_owner_s_waiver_cannot_be_decided_by_someone_they_made_accountable(launch, owner, product_manager):
    """The product manager could not be made Accountable for policy; as Accountable of the area
    they may hold (user experience), they may not decide a PII waiver either."""
    ux = launch.areas.get(kind=AreaKind.USER_EXPERIENCE)
    raci_assign(area=ux, stakeholder=product_manager, role=Role.RESPONSIBLE, actor=owner)
    waiver = waiver_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        check_key="pii_policy",
        justification="Masking ships next week.",
        expires_on=timezone.localdate() + datetime.timedelta(days=7),
    )
    with pytest.raises(PermissionDenied):
        waiver_decide(actor=product_manager.user, waiver=waiver, approve=True)


# --- membership is checked again when people act ------------------------------------------------


def test_an_addressee_removed_from_the_team_can_no_longer_decide(launch, owner, addressee, legal_team, team_admin):
    request = legal_request(launch, owner, addressees={TeamFunction.LEGAL: [addressee]})
    team_remove_member(actor=team_admin, team=legal_team, stakeholder=addressee.stakeholder)

    with pytest.raises((PermissionDenied, Http404)):
        signoff_decide(actor=addressee, signoff=request, outcome=DecisionOutcome.APPROVE)
    assert not request.decisions.exists()
    assert not requests_awaiting(addressee).exists()


def test_a_delegate_cannot_decide_once_their_delegator_left_the_team(
    launch, owner, addressee, delegate, legal_team, team_admin
):
    request = legal_request(launch, owner, addressees={TeamFunction.LEGAL: [addressee]})
    signoff_delegate(actor=addressee, signoff=request, delegate=delegate)
    team_remove_member(actor=team_admin, team=legal_team, stakeholder=addressee.stakeholder)

    with pytest.raises(PermissionDenied) as refused:
        signoff_decide(actor=delegate, signoff=request, outcome=DecisionOutcome.APPROVE)
    assert "Ada Dressee no longer serves Legal" in str(refused.value)


def test_an_accountable_who_left_the_function_cannot_decide_a_waiver(launch, owner, team_admin):
    policy = launch.areas.get(kind=AreaKind.POLICY)
    accountable = policy.assignments.get(role=Role.ACCOUNTABLE).stakeholder
    waiver = waiver_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        check_key="pii_policy",
        justification="Masking ships next week.",
        expires_on=timezone.localdate() + datetime.timedelta(days=7),
    )
    team_remove_member(actor=team_admin, team=team_for(TeamFunction.LEGAL), stakeholder=accountable)
    with pytest.raises((PermissionDenied, Http404)):
        waiver_decide(actor=accountable.user, waiver=waiver, approve=True)


# --- team membership is the team administrators' -------------------------------------------------


def test_the_owner_cannot_put_anyone_in_a_team(owner, product_manager):
    with pytest.raises(PermissionDenied):
        team_add_member(actor=owner, team=team_for(TeamFunction.LEGAL), stakeholder=product_manager)
    assert not product_manager.teams.filter(function=TeamFunction.LEGAL).exists()


def test_a_team_administrator_adds_and_removes_members_with_history(team_admin, product_manager):
    legal = team_for(TeamFunction.LEGAL)
    team_add_member(actor=team_admin, team=legal, stakeholder=product_manager)
    assert product_manager.teams.filter(pk=legal.pk).exists()
    team_remove_member(actor=team_admin, team=legal, stakeholder=product_manager)
    assert not product_manager.teams.filter(pk=legal.pk).exists()
    reasons = list(product_manager.history.values_list("history_change_reason", "history_user__username"))
    assert ("Joined Legal team", "teamadmin") in reasons and ("Left Legal team", "teamadmin") in reasons


def test_a_team_administrator_cannot_change_their_own_membership(team_admin):
    me = StakeholderFactory(user=team_admin)
    with pytest.raises(PermissionDenied):
        team_add_member(actor=team_admin, team=team_for(TeamFunction.LEGAL), stakeholder=me)
