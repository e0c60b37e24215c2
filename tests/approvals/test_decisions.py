"""Deciding sign-offs: approve, reject, request changes; delegation; four eyes; decisions are
never edited; withdrawn requests and archived launches refuse everything and change nothing."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone

from approvals.access import DECIDE_REQUEST
from approvals.choices import DecisionOutcome, RequestStatus
from approvals.models import SignoffDecision, SignoffDelegation, SignoffRequest
from approvals.services import (
    policy_set_requirement,
    signoff_decide,
    signoff_delegate,
    signoff_withdraw,
    signoffs_request,
)
from approvals.snapshot import fingerprint, launch_snapshot
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from raci.choices import TeamFunction
from readiness.access import VIEW_LAUNCH
from readiness.checklist import with_checklist_facts
from readiness.models import Launch
from tests.builders import facts_of, request_for
from tests.factories import StakeholderFactory, TeamFactory, UserFactory
from tests.helpers import archive, give_view

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_intact(request, db):
    yield
    if request.node.get_closest_marker("ledger_rewritten") is None:
        assert verify().ok


@pytest.fixture
def request_(launch, owner, addressee):
    """The owner asks the addressee (legal) for the Beta legal sign-off."""
    (request,) = signoffs_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        functions=["legal"],
        addressees={"legal": [addressee]},
    )
    return request


class Unchanged:
    """Remembers what a refused action must not change: decisions, delegations, ledger, status."""

    def __init__(self, request: SignoffRequest) -> None:
        self.request = request
        self.state = self._state()

    def _state(self):
        request = SignoffRequest.objects.get(pk=self.request.pk)
        return (
            SignoffDecision.objects.count(),
            SignoffDelegation.objects.count(),
            LedgerEntry.objects.count(),
            request.status,
            request.history.count(),
        )

    def check(self) -> None:
        assert self._state() == self.state


def latest_entry() -> LedgerEntry:
    return LedgerEntry.objects.order_by("-sequence").first()


def status_of(request: SignoffRequest) -> str:
    request.refresh_from_db()
    return request.status


# Approve, reject, request changes ----------------------------------------------------------


def test_addressee_approves_and_the_request_is_approved(launch, request_, addressee):
    decision = signoff_decide(actor=addressee, signoff=request_, outcome="approve", comment=" Looks good. ")

    assert (decision.outcome, decision.decided_by, decision.on_behalf_of, decision.comment) == (
        DecisionOutcome.APPROVE,
        addressee,
        addressee,
        "Looks good.",
    )
    assert decision.superseded_at is None
    assert status_of(request_) == RequestStatus.APPROVED
    entry = latest_entry()
    assert entry.event == LedgerEvent.DECIDED
    assert entry.actor == "addressee"
    assert entry.snapshot_hash == decision.fingerprint
    assert entry.payload == {
        "request": request_.pk,
        "decision": decision.pk,
        "stage": "Beta",
        "function": "legal",
        "outcome": "approve",
        "comment": "Looks good.",
        "on behalf of": "addressee",
        "decided at": decision.decided_at.isoformat(),
        "supersedes": [],
    }


def test_a_decision_is_recorded_in_history_with_the_decider(request_, addressee):
    decision = signoff_decide(actor=addressee, signoff=request_, outcome="approve")

    assert decision.history.first().history_user == addressee
    assert decision.history.first().history_change_reason == "Approve"
    request_.refresh_from_db()
    assert request_.history.first().history_user == addressee
    assert request_.history.first().history_change_reason == "Approve by Ada Dressee"
    assert request_.history.first().status == RequestStatus.APPROVED


def test_a_decision_keeps_the_snapshot_and_fingerprint_of_the_facts_decided_on(launch, request_, addressee):
    decision = signoff_decide(actor=addressee, signoff=request_, outcome="approve")

    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    beta = next(s for s in facts.stages.all() if s.name == "Beta")
    decision.refresh_from_db()
    assert decision.snapshot == launch_snapshot(facts, beta)
    assert decision.fingerprint == fingerprint(launch_snapshot(facts, beta))


@pytest.mark.parametrize(
    ("outcome", "status"),
    [("reject", RequestStatus.REJECTED), ("request_changes", RequestStatus.CHANGES_REQUESTED)],
)
def test_rejecting_or_requesting_changes_with_a_comment_sets_the_request_status(request_, addressee, outcome, status):
    decision = signoff_decide(actor=addressee, signoff=request_, outcome=outcome, comment="Add the DPIA.")

    assert decision.outcome == outcome
    assert status_of(request_) == status
    assert latest_entry().payload["outcome"] == outcome
    assert latest_entry().payload["comment"] == "Add the DPIA."


@pytest.mark.parametrize("outcome", ["reject", "request_changes"])
@pytest.mark.parametrize("comment", ["", "   \n"])
def test_rejecting_or_requesting_changes_needs_a_comment(request_, addressee, outcome, comment):
    unchanged = Unchanged(request_)

    with pytest.raises(ValidationError) as refused:
        signoff_decide(actor=addressee, signoff=request_, outcome=outcome, comment=comment)

    assert "comment" in refused.value.message_dict
    unchanged.check()


def test_an_unknown_outcome_is_refused(request_, addressee):
    unchanged = Unchanged(request_)

    with pytest.raises(ValidationError) as refused:
        signoff_decide(actor=addressee, signoff=request_, outcome="maybe")

    assert "outcome" in refused.value.message_dict
    unchanged.check()


# Four eyes and addressees ------------------------------------------------------------------


def test_nobody_decides_a_request_they_raised(request_, owner):
    unchanged = Unchanged(request_)

    with pytest.raises(PermissionDenied):
        signoff_decide(actor=owner, signoff=request_, outcome="approve")

    unchanged.check()


def test_a_stakeholder_the_request_is_not_addressed_to_cannot_decide_it(launch, request_, viewer, delegate):
    give_view(delegate, launch)
    unchanged = Unchanged(request_)

    for person in (viewer, delegate):
        with pytest.raises(PermissionDenied):
            signoff_decide(actor=person, signoff=request_, outcome="approve")

    unchanged.check()


def test_people_who_may_not_see_the_launch_get_not_found(request_, outsider, other_approver):
    unchanged = Unchanged(request_)

    for person in (outsider, other_approver):
        with pytest.raises(Http404):
            signoff_decide(actor=person, signoff=request_, outcome="approve")

    unchanged.check()


# A decision is never edited ----------------------------------------------------------------


def test_a_new_decision_supersedes_the_previous_one(request_, addressee):
    first = signoff_decide(actor=addressee, signoff=request_, outcome="approve")

    second = signoff_decide(actor=addressee, signoff=request_, outcome="reject", comment="I missed the retention.")
    first.refresh_from_db()

    assert first.superseded_at is not None
    assert first.outcome == DecisionOutcome.APPROVE
    assert second.superseded_at is None
    assert list(SignoffDecision.objects.filter(request=request_, superseded_at__isnull=True)) == [second]
    assert status_of(request_) == RequestStatus.REJECTED
    assert first.history.first().history_user == addressee
    assert first.history.first().history_change_reason == "Superseded by a newer decision"
    assert LedgerEntry.objects.filter(event=LedgerEvent.DECIDED).count() == 2


def test_one_current_decision_per_addressee(launch, owner, addressee, delegate):
    (request,) = signoffs_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        functions=["legal"],
        addressees={"legal": [addressee, delegate]},
    )

    signoff_decide(actor=addressee, signoff=request, outcome="approve")
    signoff_decide(actor=delegate, signoff=request, outcome="approve")
    signoff_decide(actor=addressee, signoff=request, outcome="approve", comment="Re-read it.")

    current = SignoffDecision.objects.filter(request=request, superseded_at__isnull=True)
    assert sorted(d.on_behalf_of.username for d in current) == ["addressee", "delegate"]
    assert SignoffDecision.objects.filter(request=request).count() == 3


def test_a_saved_decision_cannot_be_edited(request_, addressee):
    decision = signoff_decide(actor=addressee, signoff=request_, outcome="approve", comment="Fine.")

    decision.outcome = DecisionOutcome.REJECT
    decision.comment = "Changed my mind."
    with pytest.raises(ValidationError):
        decision.save()
    with pytest.raises(ValidationError):
        decision.save(update_fields=["comment"])

    decision.refresh_from_db()
    assert (decision.outcome, decision.comment) == (DecisionOutcome.APPROVE, "Fine.")


def test_a_decision_cannot_be_deleted(request_, addressee):
    decision = signoff_decide(actor=addressee, signoff=request_, outcome="approve")

    with pytest.raises(ValidationError):
        decision.delete()

    assert SignoffDecision.objects.filter(pk=decision.pk).exists()


# Delegation --------------------------------------------------------------------------------


def test_an_addressee_delegates_to_a_teammate_who_decides_on_their_behalf(launch, request_, addressee, delegate):
    delegation = signoff_delegate(actor=addressee, signoff=request_, delegate=delegate, reason="On leave this week.")

    assert (delegation.request, delegation.delegator, delegation.delegate, delegation.reason) == (
        request_,
        addressee,
        delegate,
        "On leave this week.",
    )
    assert delegation.history.first().history_user == addressee
    assert delegation.history.first().history_change_reason == "Delegated to Del Egate"
    assert delegate.has_perm(VIEW_LAUNCH, launch)
    assert delegate.has_perm(DECIDE_REQUEST, request_)
    entry = latest_entry()
    assert entry.event == LedgerEvent.DELEGATED
    assert entry.actor == "addressee"
    assert entry.payload == {
        "request": request_.pk,
        "delegation": delegation.pk,
        "from": "addressee",
        "to": "delegate",
        "reason": "On leave this week.",
    }

    decision = signoff_decide(actor=delegate, signoff=request_, outcome="approve")

    assert decision.decided_by == delegate
    assert decision.on_behalf_of == addressee
    assert status_of(request_) == RequestStatus.APPROVED
    assert latest_entry().actor == "delegate"
    assert latest_entry().payload["on behalf of"] == "addressee"
    assert decision.history.first().history_user == delegate


def test_a_delegate_decision_supersedes_the_delegator_decision(request_, addressee, delegate):
    signoff_decide(actor=addressee, signoff=request_, outcome="request_changes", comment="Need the DPIA first.")
    signoff_delegate(actor=addressee, signoff=request_, delegate=delegate)

    signoff_decide(actor=delegate, signoff=request_, outcome="approve", comment="DPIA attached.")

    current = SignoffDecision.objects.get(request=request_, superseded_at__isnull=True)
    assert (current.decided_by, current.on_behalf_of, current.outcome) == (delegate, addressee, DecisionOutcome.APPROVE)
    assert status_of(request_) == RequestStatus.APPROVED


def test_delegating_outside_the_function_team_is_refused(request_, addressee):
    security = TeamFactory(name="Security", function=TeamFunction.SECURITY)
    stranger = StakeholderFactory(user=UserFactory(username="sec"), teams=[security]).user
    lawyer_elsewhere = StakeholderFactory(
        user=UserFactory(username="lawyer2"), teams=[TeamFactory(name="Legal EU", function=TeamFunction.LEGAL)]
    ).user
    unchanged = Unchanged(request_)

    for person in (stranger, lawyer_elsewhere):
        with pytest.raises(ValidationError) as refused:
            signoff_delegate(actor=addressee, signoff=request_, delegate=person)
        assert "delegate" in refused.value.message_dict

    unchanged.check()
    with pytest.raises(Http404):
        signoff_decide(actor=stranger, signoff=request_, outcome="approve")


@pytest.mark.parametrize("who", ["addressee", "owner"])
def test_delegating_to_oneself_or_to_the_requester_is_refused(request_, addressee, owner, legal_team, who):
    if who == "owner":
        StakeholderFactory(user=owner, teams=[legal_team])
    unchanged = Unchanged(request_)

    with pytest.raises(ValidationError) as refused:
        signoff_delegate(actor=addressee, signoff=request_, delegate={"addressee": addressee, "owner": owner}[who])

    assert "delegate" in refused.value.message_dict
    unchanged.check()


def test_only_an_addressee_may_delegate(launch, request_, delegate, other_approver):
    give_view(delegate, launch)
    unchanged = Unchanged(request_)

    with pytest.raises(PermissionDenied):
        signoff_delegate(actor=delegate, signoff=request_, delegate=other_approver)

    unchanged.check()


def test_an_addressee_delegates_only_once(request_, addressee, delegate, other_approver):
    signoff_delegate(actor=addressee, signoff=request_, delegate=delegate)
    unchanged = Unchanged(request_)

    with pytest.raises(ValidationError) as refused:
        signoff_delegate(actor=addressee, signoff=request_, delegate=other_approver)

    assert "delegate" in refused.value.message_dict
    unchanged.check()


# Withdrawal --------------------------------------------------------------------------------


def test_the_owner_withdraws_a_request(request_, owner):
    withdrawn = signoff_withdraw(actor=owner, signoff=request_, reason="Scope changed.")

    assert withdrawn.status == RequestStatus.WITHDRAWN
    assert withdrawn.closed_at is not None
    assert status_of(request_) == RequestStatus.WITHDRAWN
    assert request_.history.first().history_user == owner
    assert request_.history.first().history_change_reason == "Scope changed."
    entry = latest_entry()
    assert entry.event == LedgerEvent.WITHDRAWN
    assert entry.actor == "owner"
    assert entry.payload == {"request": request_.pk, "stage": "Beta", "function": "legal", "reason": "Scope changed."}


def test_only_the_owner_may_withdraw_a_request(request_, addressee):
    unchanged = Unchanged(request_)

    with pytest.raises(PermissionDenied):
        signoff_withdraw(actor=addressee, signoff=request_)

    unchanged.check()


def test_a_withdrawn_request_cannot_be_withdrawn_again(request_, owner):
    signoff_withdraw(actor=owner, signoff=request_)
    unchanged = Unchanged(request_)

    with pytest.raises(ValidationError) as refused:
        signoff_withdraw(actor=owner, signoff=request_)

    assert "withdrawn" in refused.value.message_dict["request"][0]
    unchanged.check()


@pytest.mark.parametrize(
    ("outcome", "comment"), [("approve", ""), ("reject", "No."), ("request_changes", "Add the DPIA.")]
)
def test_deciding_a_withdrawn_request_is_refused_and_changes_nothing(
    launch, request_, owner, addressee, outcome, comment
):
    give_view(addressee, launch)  # still a stakeholder otherwise, so they are told why, not "not found"
    signoff_withdraw(actor=owner, signoff=request_)
    unchanged = Unchanged(request_)

    with pytest.raises(ValidationError) as refused:
        signoff_decide(actor=addressee, signoff=request_, outcome=outcome, comment=comment)

    assert "withdrawn" in refused.value.message_dict["request"][0]
    unchanged.check()
    assert status_of(request_) == RequestStatus.WITHDRAWN


def test_a_withdrawn_request_cannot_be_delegated(launch, request_, owner, addressee, delegate):
    give_view(addressee, launch)
    signoff_withdraw(actor=owner, signoff=request_)
    unchanged = Unchanged(request_)

    with pytest.raises(ValidationError):
        signoff_delegate(actor=addressee, signoff=request_, delegate=delegate)

    unchanged.check()


def test_deciding_a_superseded_request_is_refused(launch, request_, owner, addressee):
    signoffs_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        functions=["legal"],
        addressees={"legal": [addressee]},
    )
    unchanged = Unchanged(request_)

    with pytest.raises(ValidationError) as refused:
        signoff_decide(actor=addressee, signoff=request_, outcome="approve")

    assert "superseded" in refused.value.message_dict["request"][0].lower()
    unchanged.check()


# Archived launches -------------------------------------------------------------------------


@pytest.fixture
def archived(launch):
    archive(launch)
    return launch


@pytest.mark.parametrize(
    ("outcome", "comment"), [("approve", ""), ("reject", "No."), ("request_changes", "Add the DPIA.")]
)
def test_nothing_is_decided_on_an_archived_launch(request_, archived, addressee, outcome, comment):
    unchanged = Unchanged(request_)

    with pytest.raises(ValidationError) as refused:
        signoff_decide(actor=addressee, signoff=request_, outcome=outcome, comment=comment)

    assert "archived" in refused.value.message_dict["launch"][0]
    unchanged.check()


def test_nothing_is_delegated_or_withdrawn_on_an_archived_launch(request_, archived, owner, addressee, delegate):
    unchanged = Unchanged(request_)

    with pytest.raises(ValidationError) as refused_delegation:
        signoff_delegate(actor=addressee, signoff=request_, delegate=delegate)
    with pytest.raises(ValidationError) as refused_withdrawal:
        signoff_withdraw(actor=owner, signoff=request_)

    assert "archived" in refused_delegation.value.message_dict["launch"][0]
    assert "archived" in refused_withdrawal.value.message_dict["launch"][0]
    unchanged.check()


def test_a_decision_can_be_recorded_as_of_the_past_but_never_the_future(request_, addressee):
    """Loaders of past events (seed_demo) pass ``now``; the future is refused."""
    earlier = timezone.now() - datetime.timedelta(days=3)
    decision = signoff_decide(actor=addressee, signoff=request_, outcome="approve", now=earlier)
    assert decision.decided_at == earlier
    with pytest.raises(ValidationError) as excinfo:
        signoff_decide(
            actor=addressee,
            signoff=request_,
            outcome="approve",
            now=timezone.now() + datetime.timedelta(hours=1),
        )
    assert "future" in str(excinfo.value.message_dict["now"])


def test_a_withdrawn_request_takes_the_addressee_s_view_with_it(request_, owner, addressee):
    signoff_withdraw(actor=owner, signoff=request_)
    with pytest.raises(Http404):
        signoff_decide(actor=addressee, signoff=request_, outcome="approve")


# --- approvers decide on the facts they saw ---------------------------------------------------


@pytest.mark.ledger_rewritten
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


# --- delegation hands the decision over, once -------------------------------------------------


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


# --- decision rows cannot be quietly rewritten ------------------------------------------------


@pytest.mark.ledger_rewritten
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
