"""The bar cannot be lowered by the person it binds. The owner may raise a launch's sign-off
requirements and risk tier; going below the risk-tier default, removing a default function or
lowering the risk tier is a policy change request that an executive (or, for a requirement, the
function's own lead) decides — never the owner, never whoever asked."""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from approvals.choices import PolicyChangeStatus
from approvals.models import PolicyChange, SignoffRequirement
from approvals.services import (
    GateRefused,
    launch_set_risk_tier,
    policy_change_decide,
    policy_change_request,
    policy_set_requirement,
    signoff_decide,
    signoffs_request,
    stage_advance,
)
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from raci.choices import TeamFunction
from raci.services import team_set_lead
from readiness.checklist import evaluate
from readiness.choices import RiskTier
from tests.builders import approve_signoffs, facts_of, launch_at, request_for, team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_intact(db):
    yield
    assert verify().ok


@pytest.fixture
def legal_lead(db):
    admin = UserFactory(username="teamadmin")
    admin.user_permissions.add(Permission.objects.get(codename="manage_teams"))
    legal = team_for(TeamFunction.LEGAL)
    lead = StakeholderFactory(user=UserFactory(username="legal-lead"), teams=[legal])
    team_set_lead(actor=admin, team=legal, stakeholder=lead)
    return lead.user


def requirement(stage, function) -> int:
    row = SignoffRequirement.objects.filter(policy__stage=stage, function=function).first()
    return row.approvals_required if row else None


def ask_to_drop_legal(launch, owner):
    return policy_change_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        function=TeamFunction.LEGAL,
        approvals_required=0,
        justification="Legal reviewed the whole product line last quarter.",
    )


# --- the owner alone -------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0])
def test_the_owner_cannot_remove_a_default_requirement(launch, owner, count):
    """Medium risk: Beta needs one Legal approval by default."""
    beta = launch.stages.get(name="Beta")
    with pytest.raises(ValidationError) as refused:
        policy_set_requirement(actor=owner, stage=beta, function=TeamFunction.LEGAL, approvals_required=count)
    assert "policy change request" in refused.value.message_dict["approvals_required"][0]
    assert requirement(beta, TeamFunction.LEGAL) is None
    assert not LedgerEntry.objects.filter(event=LedgerEvent.POLICY_CHANGED).exists()


def test_the_owner_may_raise_the_bar_and_come_back_down_to_the_default(launch, owner):
    beta = launch.stages.get(name="Beta")
    policy_set_requirement(actor=owner, stage=beta, function=TeamFunction.LEGAL, approvals_required=2)
    policy_set_requirement(actor=owner, stage=beta, function=TeamFunction.LEGAL, approvals_required=1)
    policy_set_requirement(actor=owner, stage=beta, function=TeamFunction.BUSINESS, approvals_required=1)
    policy_set_requirement(actor=owner, stage=beta, function=TeamFunction.BUSINESS, approvals_required=0)
    assert requirement(beta, TeamFunction.LEGAL) == 1
    assert requirement(beta, TeamFunction.BUSINESS) == 0


def test_a_launch_blocked_at_full_cannot_drop_the_executive_and_advance():
    """The review's attempt: waiting for the executive at Full, the owner set the executive
    requirement to 0 and went to 100 % exposure."""
    launch = launch_at("Beta", slug="blocked-at-full")
    full = launch.stages.get(name="Full")
    for request in signoffs_request(actor=launch.owner, launch=launch, stage=full):
        if request.function != TeamFunction.EXECUTIVE:
            for addressee in list(request.addressees.all())[: request.approvals_required]:
                signoff_decide(actor=addressee, signoff=request, outcome="approve")
    with pytest.raises(ValidationError):
        policy_set_requirement(actor=launch.owner, stage=full, function=TeamFunction.EXECUTIVE, approvals_required=0)
    with pytest.raises(GateRefused) as refused:
        stage_advance(actor=launch.owner, launch=launch, stage=full)
    assert "Executive sign-off has 0 of 1 fresh approvals" in str(refused.value)
    launch.refresh_from_db()
    assert launch.current_stage.name == "Beta"


@pytest.mark.parametrize("tier", [RiskTier.LOW])
def test_the_owner_cannot_lower_the_risk_tier_but_may_raise_it(launch, owner, tier):
    with pytest.raises(ValidationError) as refused:
        launch_set_risk_tier(actor=owner, launch=launch, risk_tier=tier)
    assert "policy change request" in refused.value.message_dict["risk_tier"][0]
    launch_set_risk_tier(actor=owner, launch=launch, risk_tier=RiskTier.HIGH)
    launch.refresh_from_db()
    assert launch.risk_tier == RiskTier.HIGH
    entry = LedgerEntry.objects.order_by("-sequence").first()
    assert entry.event == LedgerEvent.RISK_TIER_CHANGED
    assert entry.payload["risk tier"] == {"from": "medium", "to": "high"}


# --- a change request decided by someone else --------------------------------------------------------


def test_the_function_lead_approves_lowering_their_own_function_and_it_is_applied(launch, owner, legal_lead):
    change = ask_to_drop_legal(launch, owner)
    assert change.status == PolicyChangeStatus.PENDING
    assert requirement(launch.stages.get(name="Beta"), TeamFunction.LEGAL) is None  # nothing changed yet

    policy_change_decide(actor=legal_lead, change=change, approve=True, comment="Covered by the annual review.")

    assert requirement(launch.stages.get(name="Beta"), TeamFunction.LEGAL) == 0
    events = list(LedgerEntry.objects.order_by("sequence").values_list("event", flat=True))
    assert events[-3:] == [
        LedgerEvent.POLICY_CHANGE_REQUESTED,
        LedgerEvent.POLICY_CHANGE_DECIDED,
        LedgerEvent.POLICY_CHANGED,
    ]
    assert LedgerEntry.objects.order_by("-sequence").first().payload["approved change"] == change.pk


def test_an_executive_approves_a_lower_risk_tier(launch, owner, executive):
    change = policy_change_request(
        actor=owner, launch=launch, risk_tier=RiskTier.LOW, justification="An internal tool only."
    )
    policy_change_decide(actor=executive, change=change, approve=True)
    launch.refresh_from_db()
    assert launch.risk_tier == RiskTier.LOW


def test_a_rejected_change_changes_nothing_and_needs_a_comment(launch, owner, executive):
    change = ask_to_drop_legal(launch, owner)
    with pytest.raises(ValidationError):
        policy_change_decide(actor=executive, change=change, approve=False)
    policy_change_decide(actor=executive, change=change, approve=False, comment="Legal must see the beta terms.")
    assert PolicyChange.objects.get().status == PolicyChangeStatus.REJECTED
    assert requirement(launch.stages.get(name="Beta"), TeamFunction.LEGAL) is None


def test_nobody_decides_a_change_to_their_own_bar(launch, owner, executive, legal_lead, addressee):
    change = ask_to_drop_legal(launch, owner)
    # The owner, even as an executive or the lead, and anyone neither executive nor lead.
    executive_team = team_for(TeamFunction.EXECUTIVE)
    owner_stakeholder = StakeholderFactory(user=owner, teams=[executive_team])
    assert owner_stakeholder
    with pytest.raises(PermissionDenied):
        policy_change_decide(actor=owner, change=change, approve=True)
    with pytest.raises(Http404):  # a lawyer with no role on the launch does not even see it
        policy_change_decide(actor=addressee, change=change, approve=True)
    assert PolicyChange.objects.get().status == PolicyChangeStatus.PENDING


def test_the_lead_of_another_function_cannot_decide(launch, owner, legal_lead):
    change = policy_change_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        function=TeamFunction.SECURITY,
        approvals_required=0,
        justification="Pen test done.",
    )
    give_view(legal_lead, launch)
    with pytest.raises(PermissionDenied):
        policy_change_decide(actor=legal_lead, change=change, approve=True)


def test_only_lowering_needs_a_request(launch, owner):
    with pytest.raises(ValidationError):
        policy_change_request(
            actor=owner,
            launch=launch,
            stage=launch.stages.get(name="Beta"),
            function=TeamFunction.LEGAL,
            approvals_required=1,
            justification="Same as default.",
        )
    with pytest.raises(ValidationError):
        policy_change_request(actor=owner, launch=launch, risk_tier=RiskTier.HIGH, justification="Higher.")


def test_a_change_request_needs_a_justification_and_comes_only_from_the_owner(launch, owner, viewer):
    with pytest.raises(ValidationError) as refused:
        policy_change_request(actor=owner, launch=launch, risk_tier=RiskTier.LOW, justification="  ")
    assert "justification" in refused.value.message_dict
    with pytest.raises(PermissionDenied):
        policy_change_request(actor=viewer, launch=launch, risk_tier=RiskTier.LOW, justification="Please.")
    assert not PolicyChange.objects.exists()


def test_a_decided_change_cannot_be_decided_again(launch, owner, executive):
    change = ask_to_drop_legal(launch, owner)
    policy_change_decide(actor=executive, change=change, approve=True)
    with pytest.raises(ValidationError):
        policy_change_decide(actor=executive, change=change, approve=False, comment="Changed my mind.")


# --- editing the policy cannot overrule a decision nor lower an open request's bar ------------


def test_removing_a_requirement_does_not_overrule_its_rejection(launch, owner, executive):
    approve_signoffs(launch, "Internal")
    ml = next(r for r in launch.signoff_requests.all() if r.function == "ml")
    signoff_decide(actor=ml.addressees.first(), signoff=ml, outcome="reject", comment="Too many wrong answers.")
    internal = launch.stages.get(name="Internal")
    change = policy_change_request(
        actor=owner, launch=launch, stage=internal, function="ml", approvals_required=0, justification="Not ML."
    )
    policy_change_decide(actor=executive, change=change, approve=True)

    with pytest.raises(GateRefused) as refused:
        stage_advance(actor=owner, launch=launch, stage=internal)

    reasons = " ".join(refused.value.readiness.blockers[0].reasons)
    assert "ML sign-off was rejected by" in reasons


def test_lowering_the_policy_does_not_lower_an_open_request_s_bar(launch, owner, addressee, delegate):
    beta = launch.stages.get(name="Beta")
    policy_set_requirement(actor=owner, stage=beta, function="legal", approvals_required=2)
    request = request_for(launch, owner, "legal", "Beta", addressees={"legal": [addressee, delegate]})
    signoff_decide(actor=addressee, signoff=request, outcome="approve")
    policy_set_requirement(actor=owner, stage=beta, function="legal", approvals_required=1)

    result = evaluate(facts_of(launch), launch.stages.get(name="Beta")).results[0]
    assert "Legal sign-off has 1 of 2 fresh approvals" in " ".join(result.reasons)
