"""A written sign-off policy is an exception on top of the risk tier's requirements, not a frozen
copy of them: raising the tier of a launch whose stage has a written policy requires what the new
tier requires, plus what the policy added; lowering it back drops the new tier's additions; a
default that an approved policy change lowered stays lowered. The gate and the sign-off request
page read the same requirements."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.policies import effective_requirements
from approvals.services import (
    launch_set_risk_tier,
    policy_change_decide,
    policy_change_request,
    policy_set_requirement,
)
from ledger.verification import verify
from raci.choices import TeamFunction
from readiness.checklist import evaluate, with_checklist_facts
from readiness.choices import RiskTier, StageKind
from readiness.models import Launch
from tests.builders import team_for
from tests.factories import LaunchFactory, RolloutStageFactory, StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_intact(db):
    yield
    assert verify().ok  # the stored policies still match their ledger entries


@pytest.fixture
def launch(db) -> Launch:
    """Medium risk, three stages, no facts: only the tier and the policy decide."""
    launch = LaunchFactory(risk_tier=RiskTier.MEDIUM)
    for order, (kind, name) in enumerate(
        [(StageKind.INTERNAL, "Internal"), (StageKind.BETA, "Beta"), (StageKind.FULL, "Full")], start=1
    ):
        RolloutStageFactory(launch=launch, kind=kind, name=name, order=order)
    return launch


@pytest.fixture
def executive(db):
    return StakeholderFactory(user=UserFactory(username="exec"), teams=[team_for(TeamFunction.EXECUTIVE)]).user


def required(launch: Launch, stage_name: str) -> dict[str, int]:
    launch = Launch.objects.get(pk=launch.pk)
    stage = launch.stages.get(name=stage_name)
    return {r.function: r.approvals_required for r in effective_requirements(launch, stage)}


def gate_requires(launch: Launch, stage_name: str) -> dict[str, int]:
    """What the gate's sign-off check asks for, from the prefetched rows the gate reads."""
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    stage = next(s for s in facts.stages.all() if s.name == stage_name)
    return {r.function: r.approvals_required for r in effective_requirements(facts, stage)}


def write_policy(launch: Launch, stage_name: str) -> None:
    """The owner writes a policy at medium risk: one QA approval on top of the defaults."""
    stage = launch.stages.get(name=stage_name)
    policy_set_requirement(actor=launch.owner, stage=stage, function=TeamFunction.QA, approvals_required=1)


def raise_to_high(launch: Launch) -> None:
    launch_set_risk_tier(actor=launch.owner, launch=launch, risk_tier=RiskTier.HIGH)


def lower_tier(launch: Launch, executive, tier: str) -> None:
    change = policy_change_request(
        actor=launch.owner, launch=Launch.objects.get(pk=launch.pk), risk_tier=tier, justification="Scope cut."
    )
    policy_change_decide(actor=executive, change=change, approve=True)


def test_raising_the_tier_requires_the_new_tiers_sign_offs_on_a_stage_with_a_written_policy(launch):
    write_policy(launch, "Beta")
    write_policy(launch, "Full")
    assert required(launch, "Beta") == {"legal": 1, "security": 1, "product": 1, "ml": 1, "data": 1, "qa": 1}

    raise_to_high(launch)

    # High adds compliance to Beta, and compliance and a second security approval to Full.
    assert required(launch, "Beta") == {
        "legal": 1,
        "security": 1,
        "compliance": 1,
        "product": 1,
        "ml": 1,
        "data": 1,
        "qa": 1,
    }
    assert required(launch, "Full")["compliance"] == 1
    assert required(launch, "Full")["security"] == 2
    assert required(launch, "Full")["qa"] == 1


def test_lowering_the_tier_back_drops_the_higher_tiers_sign_offs_and_keeps_the_policys(launch, executive):
    write_policy(launch, "Beta")
    raise_to_high(launch)

    lower_tier(launch, executive, RiskTier.MEDIUM)

    assert required(launch, "Beta") == {"legal": 1, "security": 1, "product": 1, "ml": 1, "data": 1, "qa": 1}


def test_a_lowering_an_executive_approved_still_applies_after_the_tier_is_raised(launch, executive):
    beta = launch.stages.get(name="Beta")
    change = policy_change_request(
        actor=launch.owner,
        launch=launch,
        stage=beta,
        function=TeamFunction.LEGAL,
        approvals_required=0,
        justification="Legal reviewed the whole product line last month.",
    )
    policy_change_decide(actor=executive, change=change, approve=True)
    assert "legal" not in required(launch, "Beta")

    raise_to_high(launch)

    assert "legal" not in required(launch, "Beta")  # what was approved away stays away
    assert required(launch, "Beta")["compliance"] == 1  # and the new tier's additions apply


def test_the_owner_still_cannot_go_below_the_new_tiers_default(launch):
    from django.core.exceptions import ValidationError

    write_policy(launch, "Full")
    raise_to_high(launch)

    with pytest.raises(ValidationError) as refused:
        policy_set_requirement(
            actor=launch.owner,
            stage=launch.stages.get(name="Full"),
            function=TeamFunction.SECURITY,
            approvals_required=1,
        )
    assert "policy change request" in refused.value.message_dict["approvals_required"][0]
    assert required(launch, "Full")["security"] == 2


def test_the_gate_and_the_sign_off_request_page_agree_on_the_raised_requirements(launch, client):
    write_policy(launch, "Internal")
    raise_to_high(launch)

    assert gate_requires(launch, "Internal") == required(launch, "Internal")
    assert required(launch, "Internal") == {"security": 1, "product": 1, "ml": 1, "qa": 1}
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    internal = next(s for s in facts.stages.all() if s.name == "Internal")
    signoffs = evaluate(facts, internal).results[0]
    assert any("Security sign-off has not been requested" in reason for reason in signoffs.reasons)

    client.force_login(launch.owner)
    response = client.get(reverse("web:request-signoffs", args=[launch.slug]))

    assert response.status_code == 200
    shown = {row.requirement.function for row, _field in response.context["rows"]}
    assert shown == set(required(launch, "Internal"))
