"""Ways round the sign-off rules found in review, each closed and proven closed here."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection

from approvals.choices import RequestStatus
from approvals.models import SignoffDecision
from approvals.services import (
    GateRefused,
    acknowledge,
    policy_change_decide,
    policy_change_request,
    policy_set_consultation,
    policy_set_requirement,
    signoff_decide,
    signoff_delegate,
    signoffs_request,
    stage_advance,
)
from approvals.snapshot import fingerprint, launch_snapshot
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from raci.choices import Role
from raci.services import raci_assign
from readiness.checklist import evaluate, with_checklist_facts
from readiness.models import Launch
from tests.builders import approve_signoffs
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import archive

pytestmark = pytest.mark.django_db


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    """The conftest's launch, built once per module (``shared_launch``) and read back for each test."""
    return Launch.objects.get(pk=shared_launch)


@pytest.fixture
def owner(launch):
    return get_user_model().objects.get(pk=launch.owner_id)


def facts_of(launch: Launch) -> Launch:
    return with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()


def request_for(launch, owner, function, stage_name="Internal", **kwargs):
    return signoffs_request(
        actor=owner, launch=launch, stage=launch.stages.get(name=stage_name), functions=[function], **kwargs
    )[0]


# --- addressees must be able to sign off for the function ---------------------------------------


def test_a_named_addressee_outside_the_function_is_refused(launch, owner):
    stranger = UserFactory(username="stranger")
    ledgered = list(LedgerEntry.objects.values_list("pk", flat=True))  # the builder's agreements
    with pytest.raises(ValidationError) as refused:
        request_for(launch, owner, "ml", addressees={"ml": [stranger]})
    assert "cannot sign off for ML" in refused.value.message_dict["addressees"][0]
    assert list(LedgerEntry.objects.values_list("pk", flat=True)) == ledgered


def test_a_request_needing_more_approvals_than_people_asked_is_refused(launch, owner, addressee):
    internal = launch.stages.get(name="Internal")
    policy_set_requirement(actor=owner, stage=internal, function="legal", approvals_required=2)
    with pytest.raises(ValidationError) as refused:
        request_for(launch, owner, "legal", addressees={"legal": [addressee]})
    assert refused.value.message_dict["addressees"] == [
        "The Legal sign-off needs 2 approvals; only 1 people are asked."
    ]


# --- editing the policy cannot overrule a decision ------------------------------------------------


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


# --- approvers approve what they saw --------------------------------------------------------------


def test_a_decision_on_facts_that_changed_since_they_were_shown_is_refused(launch, owner):
    request = request_for(launch, owner, "ml")
    facts = facts_of(launch)
    shown = fingerprint(launch_snapshot(facts, next(s for s in facts.stages.all() if s.name == "Internal")))
    bar = launch.quality_bars.get()
    bar.failure_definition = "Any answer a reviewer would not send to a customer."
    bar.save()

    with pytest.raises(ValidationError) as refused:
        signoff_decide(actor=request.addressees.first(), signoff=request, outcome="approve", expected_fingerprint=shown)
    assert refused.value.message_dict["request"][0].startswith("The facts changed since you opened this request")
    assert not SignoffDecision.objects.exists()


def test_a_decision_on_the_facts_shown_is_recorded(launch, owner):
    request = request_for(launch, owner, "ml")
    facts = facts_of(launch)
    shown = fingerprint(launch_snapshot(facts, next(s for s in facts.stages.all() if s.name == "Internal")))
    decision = signoff_decide(
        actor=request.addressees.first(), signoff=request, outcome="approve", expected_fingerprint=shown
    )
    assert decision.fingerprint == shown


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda launch: launch.quality_bars.update(failure_definition="Anything off-topic."),
            "what counts as a failure",
        ),
        (lambda launch: Launch.objects.filter(pk=launch.pk).update(risk_tier="high"), "risk tier"),
    ],
)
def test_approvals_go_stale_when_the_meaning_of_the_bar_or_the_risk_tier_changes(launch, change, path):
    approve_signoffs(launch, "Internal")
    change(launch)
    facts = facts_of(launch)
    result = evaluate(facts, next(s for s in facts.stages.all() if s.name == "Internal")).results[0]
    assert path in " ".join(result.reasons)


# --- delegation hands the decision over -----------------------------------------------------------


def test_a_delegator_overruling_their_delegate_stays_on_the_record(launch, owner, addressee, delegate):
    request = request_for(launch, owner, "legal", "Beta", addressees={"legal": [addressee]})
    signoff_delegate(actor=addressee, signoff=request, delegate=delegate)
    rejection = signoff_decide(actor=delegate, signoff=request, outcome="reject", comment="Terms missing.")
    approval = signoff_decide(actor=addressee, signoff=request, outcome="approve")
    rejection.refresh_from_db()
    assert rejection.superseded_at == approval.decided_at
    decided = LedgerEntry.objects.filter(event=LedgerEvent.DECIDED).order_by("sequence")
    assert [(e.actor, e.payload["outcome"]) for e in decided] == [("delegate", "reject"), ("addressee", "approve")]


def test_an_addressee_cannot_be_made_a_delegate_of_the_same_request(launch, owner, addressee, delegate):
    request = request_for(launch, owner, "legal", "Beta", addressees={"legal": [addressee, delegate]})
    with pytest.raises(ValidationError) as refused:
        signoff_delegate(actor=addressee, signoff=request, delegate=delegate)
    assert "already asked for this sign-off in their own right" in refused.value.message_dict["delegate"][0]


def test_one_person_cannot_hold_two_delegations_of_one_request(launch, owner, addressee, delegate, legal_team):
    second = StakeholderFactory(user=UserFactory(username="second"), teams=[legal_team]).user
    beta = launch.stages.get(name="Beta")
    policy_set_requirement(actor=owner, stage=beta, function="legal", approvals_required=2)
    request = request_for(launch, owner, "legal", "Beta", addressees={"legal": [addressee, second]})
    signoff_delegate(actor=addressee, signoff=request, delegate=delegate)
    with pytest.raises(ValidationError) as refused:
        signoff_delegate(actor=second, signoff=request, delegate=delegate)
    assert "already decides this request for someone else" in refused.value.message_dict["delegate"][0]


# --- one acknowledgement, archived launches, bad input --------------------------------------------


def test_an_acknowledgement_is_given_once(launch, owner):
    consulted = StakeholderFactory(user=UserFactory(username="consulted"))
    raci_assign(area=launch.areas.first(), stakeholder=consulted, role=Role.CONSULTED, actor=owner)
    request_for(launch, owner, "ml")
    ack = launch.acknowledgements.get(user=consulted.user)
    acknowledge(actor=consulted.user, acknowledgement=ack, comment="Fine by support.")
    with pytest.raises(ValidationError, match="Already acknowledged"):
        acknowledge(actor=consulted.user, acknowledgement=ack, comment="Changed my mind.")
    ack.refresh_from_db()
    assert ack.comment == "Fine by support."


def test_the_raci_of_an_archived_launch_cannot_change(launch, owner):
    archive(launch)
    with pytest.raises(ValidationError, match="archived"):
        raci_assign(area=launch.areas.first(), stakeholder=StakeholderFactory(), role=Role.ACCOUNTABLE, actor=owner)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"due_date": "2030-01-01"}, "due_date"),
        ({"functions": "ml"}, "functions"),
        ({"addressees": {"ml": [1, 2]}}, "addressees"),
        ({"stage": None}, "stage"),
        ({"message": 42}, "message"),
    ],
)
def test_bad_input_to_a_request_names_the_field(launch, owner, arguments, field):
    call = {"actor": owner, "launch": launch, "stage": launch.stages.get(name="Internal")} | arguments
    with pytest.raises(ValidationError) as refused:
        signoffs_request(**call)
    assert field in refused.value.message_dict
    assert not launch.signoff_requests.exists()


def test_a_missing_comment_on_an_approval_is_fine_but_not_on_a_rejection(launch, owner):
    request = request_for(launch, owner, "ml")
    approver = request.addressees.first()
    with pytest.raises(ValidationError) as refused:
        signoff_decide(actor=approver, signoff=request, outcome="reject", comment=None)
    assert "comment" in refused.value.message_dict
    assert signoff_decide(actor=approver, signoff=request, outcome="approve", comment=None).comment == ""


def test_a_waiver_with_a_text_date_names_the_field(launch, owner):
    from approvals.services import waiver_request

    with pytest.raises(ValidationError) as refused:
        waiver_request(
            actor=owner,
            launch=launch,
            stage=launch.stages.get(name="Beta"),
            check_key="feedback_loop",
            justification="Channel lands next sprint.",
            expires_on="2030-01-01",
        )
    assert "expires_on" in refused.value.message_dict


# --- decision rows cannot be quietly rewritten ----------------------------------------------------


def test_verify_catches_a_decision_rewritten_in_the_database(launch, owner):
    request = request_for(launch, owner, "ml")
    decision = signoff_decide(actor=request.addressees.first(), signoff=request, outcome="reject", comment="Not yet.")
    assert verify().ok
    if connection.vendor == "postgresql":
        from django.db import DatabaseError, transaction

        with pytest.raises(DatabaseError, match="never edited"), transaction.atomic():
            SignoffDecision.objects.filter(pk=decision.pk).update(outcome="approve")
        return
    SignoffDecision.objects.filter(pk=decision.pk).update(outcome="approve", comment="")
    result = verify()
    assert not result.ok
    assert (
        result.problem
        == f"decision #{decision.pk} does not match its ledger entry #{LedgerEntry.objects.get(event=LedgerEvent.DECIDED).sequence}"
    )


def test_a_withdrawn_then_rerequested_function_keeps_one_open_request(launch, owner):
    first = request_for(launch, owner, "ml")
    second = request_for(launch, owner, "ml")
    first.refresh_from_db()
    assert first.status == RequestStatus.SUPERSEDED and second.status == RequestStatus.PENDING
    assert launch.signoff_requests.exclude(status=RequestStatus.SUPERSEDED).count() == 1
