"""Sign-off policies: risk-tier defaults, per-launch edits, requirements the facts add, and
policies asking for more than one approval."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from approvals.choices import RequestStatus
from approvals.models import SignoffRequirement, StagePolicy
from approvals.policies import DEFAULT_REQUIREMENTS, effective_requirements
from approvals.services import (
    policy_change_decide,
    policy_change_request,
    policy_set_consultation,
    policy_set_requirement,
    signoff_decide,
    signoffs_request,
)
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from raci.choices import TeamFunction
from readiness.checklist import Status, evaluate, with_checklist_facts
from readiness.choices import Classification, RiskTier, StageKind
from readiness.models import Launch
from tests.factories import DataAssetFactory, LaunchFactory, RolloutStageFactory, StakeholderFactory, UserFactory
from tests.helpers import archive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_intact(db):
    yield
    assert verify().ok


def plain_launch(risk_tier: str = RiskTier.MEDIUM) -> Launch:
    """A launch with the three standard stages and no facts, so only the risk tier decides."""
    launch = LaunchFactory(risk_tier=risk_tier)
    for order, (kind, name) in enumerate(
        [(StageKind.INTERNAL, "Internal"), (StageKind.BETA, "Beta"), (StageKind.FULL, "Full")], start=1
    ):
        RolloutStageFactory(launch=launch, kind=kind, name=name, order=order)
    return launch


def required(launch: Launch, stage_name: str) -> dict[str, int]:
    stage = launch.stages.get(name=stage_name)
    return {r.function: r.approvals_required for r in effective_requirements(launch, stage)}


def why(launch: Launch, stage_name: str) -> dict[str, str]:
    stage = launch.stages.get(name=stage_name)
    return {r.function: r.why for r in effective_requirements(launch, stage)}


def sign_off_check(launch: Launch, stage_name: str):
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    stage = next(s for s in facts.stages.all() if s.name == stage_name)
    return evaluate(facts, stage).results[0]


# Defaults ----------------------------------------------------------------------------------


def test_medium_risk_defaults_grow_from_internal_to_beta_to_full():
    launch = plain_launch()

    assert required(launch, "Internal") == {"product": 1, "ml": 1}
    assert required(launch, "Beta") == {"legal": 1, "security": 1, "product": 1, "ml": 1, "data": 1}
    assert required(launch, "Full") == {
        "legal": 1,
        "security": 1,
        "customer_support": 1,
        "business": 1,
        "product": 1,
        "ml": 1,
        "data": 1,
        "executive": 1,
    }
    assert set(why(launch, "Full").values()) == {"Medium-risk default"}


def test_medium_risk_defaults_match_the_default_requirements_table():
    launch = plain_launch()

    for kind, name in [(StageKind.INTERNAL, "Internal"), (StageKind.BETA, "Beta"), (StageKind.FULL, "Full")]:
        assert required(launch, name) == dict(DEFAULT_REQUIREMENTS[RiskTier.MEDIUM][kind])


def test_low_and_high_risk_tiers_have_their_own_defaults():
    low, high = plain_launch(RiskTier.LOW), plain_launch(RiskTier.HIGH)

    assert required(low, "Internal") == {"product": 1}
    assert required(low, "Beta") == {"security": 1, "product": 1, "ml": 1}
    assert required(high, "Internal") == {"security": 1, "product": 1, "ml": 1}
    assert required(high, "Full")["security"] == 2
    assert required(high, "Full")["compliance"] == 1


def test_a_custom_stage_is_held_to_the_full_stage_defaults():
    launch = plain_launch()
    RolloutStageFactory(launch=launch, kind=StageKind.CUSTOM, name="Partners", order=4)

    assert required(launch, "Partners") == required(launch, "Full")


# Facts add requirements --------------------------------------------------------------------


def test_personal_data_requires_legal_and_security_from_the_first_stage_on_internal_included():
    launch = plain_launch(RiskTier.LOW)
    DataAssetFactory(launch=launch, name="Chat transcripts", classification=Classification.PERSONAL)

    # An internal launch processing customer PII needs more than a product sign-off.
    assert required(launch, "Internal") == {"legal": 1, "security": 1, "product": 1}
    assert why(launch, "Internal")["legal"] == "personal data in 'Chat transcripts'"
    assert why(launch, "Internal")["security"] == "personal data in 'Chat transcripts'"
    assert required(launch, "Beta") == {"legal": 1, "security": 1, "product": 1, "ml": 1}
    assert why(launch, "Beta")["legal"] == "personal data in 'Chat transcripts'"
    assert "legal" in required(launch, "Full")


def test_without_personal_data_a_low_risk_internal_stage_needs_only_product():
    launch = plain_launch(RiskTier.LOW)
    DataAssetFactory(launch=launch, name="Help-centre articles", classification=Classification.PUBLIC)

    assert required(launch, "Internal") == {"product": 1}


def test_without_personal_data_a_low_risk_beta_needs_no_legal_sign_off():
    launch = plain_launch(RiskTier.LOW)
    DataAssetFactory(launch=launch, name="Help-centre articles", classification=Classification.PUBLIC)

    assert "legal" not in required(launch, "Beta")


def test_confidential_data_requires_security_even_internally():
    launch = plain_launch()
    DataAssetFactory(launch=launch, name="Pricing sheet", classification=Classification.CONFIDENTIAL)

    assert required(launch, "Internal") == {"security": 1, "product": 1, "ml": 1}
    assert why(launch, "Internal")["security"] == "confidential data in 'Pricing sheet'"


def test_facts_never_lower_a_stricter_policy():
    launch = plain_launch(RiskTier.HIGH)
    DataAssetFactory(launch=launch, name="Chat transcripts", classification=Classification.PERSONAL)

    assert required(launch, "Full")["security"] == 2


# Editing a launch's policy -----------------------------------------------------------------

# What the ready launch's internal stage needs: the medium-risk default plus legal and security for
# its personal support tickets.
PII_AT_INTERNAL = {"legal": 1, "security": 1, "product": 1, "ml": 1}


def test_owner_adds_a_requirement_to_a_stage(launch, owner):
    internal = launch.stages.get(name="Internal")

    requirement = policy_set_requirement(actor=owner, stage=internal, function="legal", approvals_required=1)

    # The ready launch holds personal data, so security is demanded as well.
    assert required(launch, "Internal") == {"legal": 1, "security": 1, "product": 1, "ml": 1}
    assert why(launch, "Internal")["legal"] == "launch policy"
    policy = StagePolicy.objects.get(stage=internal)
    assert {(r.function, r.approvals_required) for r in policy.requirements.all()} == {
        ("product", 1),
        ("ml", 1),
        ("legal", 1),
    }
    latest = requirement.history.first()
    assert latest.history_user == owner
    assert latest.history_change_reason == "legal × 1 for Internal"
    assert policy.history.first().history_user == owner
    assert policy.history.first().history_change_reason == "Policy created from defaults"
    defaults = SignoffRequirement.objects.get(policy=policy, function="ml")
    assert defaults.history.first().history_change_reason == "Risk-tier default"
    assert defaults.history.first().history_user == owner


def test_editing_again_updates_the_same_requirement(launch, owner):
    internal = launch.stages.get(name="Internal")

    policy_set_requirement(actor=owner, stage=internal, function="ml", approvals_required=2)
    requirement = policy_set_requirement(actor=owner, stage=internal, function="ml", approvals_required=3)

    assert SignoffRequirement.objects.filter(policy__stage=internal, function="ml").count() == 1
    assert required(launch, "Internal")["ml"] == 3
    assert [h.approvals_required for h in requirement.history.all()][:2] == [3, 2]


def test_zero_removes_a_requirement_the_owner_added(launch, owner):
    internal = launch.stages.get(name="Internal")
    policy_set_requirement(actor=owner, stage=internal, function="qa", approvals_required=1)
    assert required(launch, "Internal") == {**PII_AT_INTERNAL, "qa": 1}

    policy_set_requirement(actor=owner, stage=internal, function="qa", approvals_required=0)

    assert required(launch, "Internal") == PII_AT_INTERNAL


def lower(launch, owner, executive, stage_name: str, function: str, count: int) -> None:
    """Lower a default requirement the only way there is: a change request someone else approves."""
    change = policy_change_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.get(name=stage_name),
        function=function,
        approvals_required=count,
        justification="Reviewed elsewhere.",
    )
    policy_change_decide(actor=executive, change=change, approve=True)


def test_an_approved_change_removes_a_default_requirement(launch, owner, executive):
    lower(launch, owner, executive, "Internal", "ml", 0)
    assert required(launch, "Internal") == {"legal": 1, "security": 1, "product": 1}


def test_requirements_that_come_from_the_launch_data_cannot_be_removed(launch, owner, executive):
    # The ready launch holds personal support tickets; even an approved change cannot drop legal.
    lower(launch, owner, executive, "Beta", "legal", 0)
    lower(launch, owner, executive, "Beta", "security", 0)

    assert required(launch, "Beta")["legal"] == 1
    assert required(launch, "Beta")["security"] == 1
    assert why(launch, "Beta")["legal"] == "personal data in 'Support tickets'"


@pytest.mark.parametrize("function", ["marketing", "", "LEGAL"])
def test_an_unknown_function_is_refused(launch, owner, function):
    internal = launch.stages.get(name="Internal")

    with pytest.raises(ValidationError) as refused:
        policy_set_requirement(actor=owner, stage=internal, function=function, approvals_required=1)

    assert "function" in refused.value.message_dict
    assert not StagePolicy.objects.filter(stage=internal).exists()


@pytest.mark.parametrize("count", [6, -1])
def test_an_out_of_range_number_of_approvals_is_refused(launch, owner, count):
    internal = launch.stages.get(name="Internal")

    with pytest.raises(ValidationError) as refused:
        policy_set_requirement(actor=owner, stage=internal, function="ml", approvals_required=count)

    assert "approvals_required" in refused.value.message_dict
    assert required(launch, "Internal") == PII_AT_INTERNAL


def test_only_the_owner_may_edit_a_policy(launch, viewer, outsider):
    internal = launch.stages.get(name="Internal")

    with pytest.raises(PermissionDenied):
        policy_set_requirement(actor=viewer, stage=internal, function="legal", approvals_required=1)
    with pytest.raises(Http404):
        policy_set_requirement(actor=outsider, stage=internal, function="legal", approvals_required=1)

    assert not StagePolicy.objects.filter(stage=internal).exists()


def test_the_policy_of_an_archived_launch_cannot_change(launch, owner):
    archive(launch)

    with pytest.raises(ValidationError) as refused:
        policy_set_requirement(
            actor=owner, stage=launch.stages.get(name="Internal"), function="legal", approvals_required=1
        )

    assert "archived" in refused.value.message_dict["launch"][0]
    assert not StagePolicy.objects.exists()


# More than one approval --------------------------------------------------------------------


@pytest.fixture
def third_lawyer(legal_team):
    return StakeholderFactory(
        user=UserFactory(username="third", first_name="Thea", last_name="Third"), teams=[legal_team]
    ).user


@pytest.fixture
def two_lawyers_needed(launch, owner, addressee, delegate, third_lawyer):
    """Internal needs two legal approvals; product and ML have approved; legal is asked of three people."""
    internal = launch.stages.get(name="Internal")
    policy_set_requirement(actor=owner, stage=internal, function="legal", approvals_required=2)
    requests = signoffs_request(
        actor=owner, launch=launch, stage=internal, addressees={"legal": [addressee, delegate, third_lawyer]}
    )
    for request in requests:
        if request.function != TeamFunction.LEGAL:
            signoff_decide(actor=request.addressees.first(), signoff=request, outcome="approve")
    return next(r for r in requests if r.function == TeamFunction.LEGAL)


def test_a_policy_asking_for_two_approvals_needs_two_different_addressees(
    launch, two_lawyers_needed, addressee, delegate
):
    request = two_lawyers_needed
    assert request.approvals_required == 2

    signoff_decide(actor=addressee, signoff=request, outcome="approve")
    signoff_decide(actor=addressee, signoff=request, outcome="approve", comment="Still fine.")
    request.refresh_from_db()
    check = sign_off_check(launch, "Internal")

    assert request.status == RequestStatus.PENDING
    assert check.status == Status.FAIL
    assert any("Legal sign-off has 1 of 2 fresh approvals" in reason for reason in check.reasons)

    signoff_decide(actor=delegate, signoff=request, outcome="approve")
    request.refresh_from_db()

    assert request.status == RequestStatus.APPROVED
    assert sign_off_check(launch, "Internal").status == Status.PASS


def test_any_rejection_blocks_even_with_enough_approvals(launch, two_lawyers_needed, addressee, delegate, third_lawyer):
    request = two_lawyers_needed
    signoff_decide(actor=addressee, signoff=request, outcome="approve")
    signoff_decide(actor=delegate, signoff=request, outcome="approve")

    signoff_decide(actor=third_lawyer, signoff=request, outcome="reject", comment="The DPIA is missing.")
    request.refresh_from_db()
    check = sign_off_check(launch, "Internal")

    assert request.status == RequestStatus.REJECTED
    assert check.status == Status.FAIL
    assert check.reasons == ("Legal sign-off was rejected by Thea Third: The DPIA is missing.",)
    assert LedgerEntry.objects.filter(event=LedgerEvent.DECIDED, payload__outcome="reject").count() == 1


def test_raising_the_count_after_approval_asks_for_more_approvals(launch, owner):
    from tests.builders import approve_signoffs

    approve_signoffs(launch, "Internal")
    assert sign_off_check(launch, "Internal").status == Status.PASS

    policy_set_requirement(actor=owner, stage=launch.stages.get(name="Internal"), function="ml", approvals_required=2)
    check = sign_off_check(launch, "Internal")

    assert check.status == Status.FAIL
    assert any("ML sign-off has 1 of 2 fresh approvals" in reason for reason in check.reasons)


# --- policy changes are ledgered --------------------------------------------------------------


def test_policy_changes_are_written_to_the_ledger(launch, owner):
    internal = launch.stages.get(name="Internal")
    policy_set_requirement(actor=owner, stage=internal, function="security", approvals_required=2)
    policy_set_consultation(actor=owner, stage=internal, must_acknowledge=True)
    entries = list(LedgerEntry.objects.filter(event=LedgerEvent.POLICY_CHANGED).order_by("sequence"))
    policy = {"stage": internal.pk, "requirements": {"ml": 1, "product": 1, "security": 2}}
    assert [e.payload for e in entries] == [
        {
            "stage": "Internal",
            "function": "security",
            "approvals required": {"from": 0, "to": 2},
            "policy": {**policy, "consulted must acknowledge": False},
        },
        {
            "stage": "Internal",
            "consulted must acknowledge": True,
            "policy": {**policy, "consulted must acknowledge": True},
        },
    ]
