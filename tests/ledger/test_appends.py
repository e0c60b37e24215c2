"""Appending to the ledger: every sign-off act appends exactly one hash-chained entry, and each
entry's MAC covers everything in it. ``verify_ledger`` on a real chain, tampered with in SQL, and
the chain refusing edits (the model always, a trigger on PostgreSQL): ``test_chain``. The empty
ledger, and an append outside a transaction: ``test_genesis`` (this module's launch is built once,
inside a transaction held for the module, see ``module_transaction``)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from approvals.choices import DecisionOutcome
from approvals.models import Acknowledgement
from approvals.services import (
    acknowledge,
    signoff_decide,
    signoff_delegate,
    signoff_withdraw,
    signoffs_request,
    stage_advance,
    stage_rollback,
    waiver_decide,
    waiver_request,
)
from approvals.snapshot import fingerprint, launch_snapshot
from ledger.chain import canonical_json, entry_mac
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry, LedgerHead
from raci.choices import AreaKind, Role, TeamFunction
from raci.services import raci_assign
from readiness.checklist import with_checklist_facts
from readiness.models import Launch
from tests.builders import advance_to, approve_signoffs, team_for
from tests.factories import StakeholderFactory
from tests.ledger.helpers import entries, verify_ledger

pytestmark = pytest.mark.django_db


# --- helpers --------------------------------------------------------------------------------------


def new_entries(since: int) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(sequence__gt=since).order_by("sequence"))


def last_sequence() -> int:
    return LedgerEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0


def current_fingerprint(launch: Launch, stage) -> str:
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    return fingerprint(launch_snapshot(facts, next(s for s in facts.stages.all() if s.pk == stage.pk)))


# --- each service appends exactly one entry --------------------------------------------------------


def test_requesting_appends_one_entry_per_request_with_the_snapshot(launch, owner):
    internal = launch.stages.get(name="Internal")
    before = last_sequence()
    [request] = signoffs_request(actor=owner, launch=launch, stage=internal, functions=[TeamFunction.PRODUCT])
    [entry] = new_entries(before)
    assert entry.event == LedgerEvent.REQUESTED
    assert entry.launch_slug == launch.slug
    assert entry.actor == owner.username
    assert entry.payload["request"] == request.pk
    assert entry.payload["function"] == TeamFunction.PRODUCT
    assert entry.payload["addressees"] == sorted(u.username for u in request.addressees.all())
    assert entry.snapshot_hash == current_fingerprint(launch, internal)


def test_requesting_several_functions_appends_one_entry_each(launch, owner):
    internal = launch.stages.get(name="Internal")
    before = last_sequence()
    requests = signoffs_request(actor=owner, launch=launch, stage=internal)
    added = new_entries(before)
    assert [e.event for e in added] == [LedgerEvent.REQUESTED] * len(requests)
    assert [e.payload["request"] for e in added] == [r.pk for r in requests]


@pytest.mark.parametrize("outcome", [DecisionOutcome.APPROVE, DecisionOutcome.REJECT, DecisionOutcome.REQUEST_CHANGES])
def test_deciding_appends_one_entry_carrying_the_decisions_fingerprint(launch, owner, outcome):
    internal = launch.stages.get(name="Internal")
    [request] = signoffs_request(actor=owner, launch=launch, stage=internal, functions=[TeamFunction.ML])
    addressee = request.addressees.first()
    before = last_sequence()
    comment = "" if outcome == DecisionOutcome.APPROVE else "Not yet."
    decision = signoff_decide(actor=addressee, signoff=request, outcome=outcome, comment=comment)
    [entry] = new_entries(before)
    assert entry.event == LedgerEvent.DECIDED
    assert entry.actor == addressee.username
    assert entry.snapshot_hash == decision.fingerprint == fingerprint(decision.snapshot)
    assert entry.snapshot_hash == current_fingerprint(launch, internal)
    assert entry.payload["decision"] == decision.pk
    assert entry.payload["request"] == request.pk
    assert entry.payload["outcome"] == outcome
    assert entry.payload["comment"] == comment
    assert entry.payload["on behalf of"] == addressee.username


def test_a_refused_decision_appends_nothing(launch, owner, outsider):
    internal = launch.stages.get(name="Internal")
    [request] = signoffs_request(actor=owner, launch=launch, stage=internal, functions=[TeamFunction.ML])
    before = last_sequence()
    with pytest.raises(PermissionDenied):
        signoff_decide(actor=owner, signoff=request, outcome=DecisionOutcome.APPROVE)
    with pytest.raises(Http404):
        signoff_decide(actor=outsider, signoff=request, outcome=DecisionOutcome.APPROVE)
    with pytest.raises(ValidationError):
        signoff_decide(actor=request.addressees.first(), signoff=request, outcome=DecisionOutcome.REJECT, comment="  ")
    assert new_entries(before) == []
    assert LedgerHead.objects.get().sequence == before


def test_delegating_appends_one_entry(launch, owner):
    internal = launch.stages.get(name="Internal")
    [request] = signoffs_request(actor=owner, launch=launch, stage=internal, functions=[TeamFunction.PRODUCT])
    addressee = request.addressees.first()
    colleague = StakeholderFactory(teams=[team_for(TeamFunction.PRODUCT)]).user
    before = last_sequence()
    signoff_delegate(actor=addressee, signoff=request, delegate=colleague, reason="On leave")
    [entry] = new_entries(before)
    assert entry.event == LedgerEvent.DELEGATED
    assert entry.actor == addressee.username
    assert entry.payload == {
        "request": request.pk,
        "delegation": request.delegations.get().pk,
        "from": addressee.username,
        "to": colleague.username,
        "reason": "On leave",
    }
    assert entry.snapshot_hash == ""
    # The delegate's decision counts for the addressee, and is ledgered as such.
    decision = signoff_decide(actor=colleague, signoff=request, outcome=DecisionOutcome.APPROVE)
    [decided] = new_entries(entry.sequence)
    assert decided.actor == colleague.username
    assert decided.payload["on behalf of"] == addressee.username
    assert decided.snapshot_hash == decision.fingerprint


def test_withdrawing_appends_one_entry(launch, owner):
    internal = launch.stages.get(name="Internal")
    [request] = signoffs_request(actor=owner, launch=launch, stage=internal, functions=[TeamFunction.PRODUCT])
    before = last_sequence()
    signoff_withdraw(actor=owner, signoff=request, reason="Wrong stage")
    [entry] = new_entries(before)
    assert entry.event == LedgerEvent.WITHDRAWN
    assert entry.payload["request"] == request.pk
    assert entry.payload["reason"] == "Wrong stage"


def test_acknowledging_appends_one_entry(launch, owner):
    consulted = StakeholderFactory(teams=[team_for(TeamFunction.SECURITY)])
    raci_assign(area=launch.areas.first(), stakeholder=consulted, role=Role.CONSULTED, actor=owner)
    internal = launch.stages.get(name="Internal")
    signoffs_request(actor=owner, launch=launch, stage=internal, functions=[TeamFunction.PRODUCT])
    ack = Acknowledgement.objects.get(stage=internal, user=consulted.user)
    before = last_sequence()
    acknowledge(actor=consulted.user, acknowledgement=ack, comment="Fine by security.")
    [entry] = new_entries(before)
    assert entry.event == LedgerEvent.ACKNOWLEDGED
    assert entry.actor == consulted.user.username
    acknowledgement = Acknowledgement.objects.get(pk=entry.payload["acknowledgement"])
    assert entry.payload == {
        "acknowledgement": acknowledgement.pk,
        "stage": "Internal",
        "comment": "Fine by security.",
        "acknowledged at": acknowledgement.acknowledged_at.isoformat(),
    }


def test_advancing_appends_the_launch_row_and_one_entry_with_the_snapshot_the_gate_passed(launch, owner):
    internal = launch.stages.get(name="Internal")
    approve_signoffs(launch, "Internal")
    before = last_sequence()
    stage_advance(actor=owner, launch=launch, stage=internal)
    [facts, entry] = new_entries(before)
    assert facts.event == LedgerEvent.FACT_RECORDED
    assert [(f["model"], f["values"]["current_stage_id"]) for f in facts.payload["facts"]] == [
        ("readiness.Launch", internal.pk)
    ]
    assert entry.event == LedgerEvent.STAGE_ADVANCED
    assert entry.payload["from"] == "planning"
    assert entry.payload["to"] == "Internal"
    assert entry.payload["checklist"]["stakeholders_approved"] == "pass"
    assert entry.snapshot_hash == current_fingerprint(launch, internal)


def test_a_refused_advance_appends_nothing(launch, owner):
    internal = launch.stages.get(name="Internal")
    before = last_sequence()
    with pytest.raises(ValidationError):
        stage_advance(actor=owner, launch=launch, stage=internal)
    assert new_entries(before) == []


def test_rolling_back_appends_the_launch_row_and_one_entry(launch, owner):
    launch = advance_to(launch, "Beta")
    before = last_sequence()
    stage_rollback(actor=owner, launch=launch, stage=launch.stages.get(name="Internal"), reason="Error spike")
    [facts, entry] = new_entries(before)
    assert facts.event == LedgerEvent.FACT_RECORDED
    assert entry.event == LedgerEvent.STAGE_ROLLED_BACK
    assert entry.payload == {"from": "Beta", "to": "Internal", "reason": "Error spike"}
    assert verify_ledger()[0] == 0


def test_requesting_and_deciding_a_waiver_each_append_one_entry(launch, owner):
    internal = launch.stages.get(name="Internal")
    # The infrastructure area's Accountable may decide a waiver of the rollback plan.
    area = launch.areas.get(kind=AreaKind.INFRASTRUCTURE)
    accountable = area.assignments.get(role=Role.ACCOUNTABLE).stakeholder.user
    before = last_sequence()
    waiver = waiver_request(
        actor=owner,
        launch=launch,
        stage=internal,
        check_key="rollback_plan",
        justification="Rehearsal booked next week.",
        expires_on=timezone.localdate() + datetime.timedelta(days=14),
    )
    [requested] = new_entries(before)
    assert requested.event == LedgerEvent.WAIVER_REQUESTED
    assert requested.actor == owner.username
    assert requested.payload == {
        "waiver": waiver.pk,
        "stage": "Internal",
        "stage id": internal.pk,
        "item": "rollback_plan",
        "expires on": waiver.expires_on.isoformat(),
        "justification": "Rehearsal booked next week.",
        "requested at": waiver.requested_at.isoformat(),
    }
    waiver_decide(actor=accountable, waiver=waiver, approve=True, comment="OK for two weeks.")
    [entry] = new_entries(requested.sequence)
    assert entry.event == LedgerEvent.WAIVER_DECIDED
    assert entry.actor == accountable.username
    assert entry.payload["waiver"] == waiver.pk
    assert entry.payload["status"] == "approved"
    assert entry.payload["item"] == "rollback_plan"
    assert entry.payload["comment"] == "OK for two weeks."


def test_a_whole_workflow_leaves_a_contiguous_verifiable_chain(launch):
    advance_to(launch, "Beta")
    chain = entries()
    assert [e.sequence for e in chain] == list(range(1, len(chain) + 1))
    assert LedgerHead.objects.get().sequence == len(chain)
    assert LedgerHead.objects.get().entry_hash == chain[-1].entry_hash
    code, out, _ = verify_ledger("--head", chain[-1].entry_hash)
    assert code == 0
    assert f"{len(chain)} entries" in out


# --- the hash itself ----------------------------------------------------------------------------

BASE = {
    "sequence": 7,
    "event": LedgerEvent.DECIDED.value,
    "launch": {"id": 1, "slug": "assistant"},
    "actor": "ada",
    "payload": {"request": 3, "outcome": "approve", "comment": ""},
    "snapshot_hash": "b" * 64,
    "created_at": "2025-01-02T03:04:05.123456+00:00",
    "launch_state": {"risk tier": "medium", "current stage": None},
    "seals": [],
}
PREVIOUS = "a" * 64


def test_entry_mac_is_hmac_sha256_of_the_previous_mac_and_the_canonical_body_keyed_with_the_ledger_key(settings):
    import hashlib
    import hmac

    expected = hmac.new(
        settings.LEDGER_KEY.encode(), f"{PREVIOUS}\n{canonical_json(BASE)}".encode(), hashlib.sha256
    ).hexdigest()
    assert entry_mac(PREVIOUS, BASE) == expected
    assert len(expected) == 64


def test_without_the_key_the_mac_cannot_be_recomputed(settings):
    mac = entry_mac(PREVIOUS, BASE)
    settings.LEDGER_KEY = "a-guess-at-the-key-" * 3
    assert entry_mac(PREVIOUS, BASE) != mac


def test_entry_mac_is_deterministic_and_ignores_key_order():
    reordered = {**BASE, "payload": dict(reversed(list(BASE["payload"].items())))}
    assert entry_mac(PREVIOUS, BASE) == entry_mac(PREVIOUS, reordered)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sequence", 8),
        ("event", LedgerEvent.STAGE_ADVANCED.value),
        ("launch", {"id": 2, "slug": "assistant"}),
        ("launch", {"id": 1, "slug": "assistant2"}),
        ("actor", "eve"),
        ("payload", {"request": 3, "outcome": "reject", "comment": ""}),
        ("payload", {"request": 4, "outcome": "approve", "comment": ""}),
        ("payload", {"request": 3, "outcome": "approve", "comment": " "}),
        ("payload", {"request": 3, "outcome": "approve", "comment": "", "extra": None}),
        ("payload", {"request": "3", "outcome": "approve", "comment": ""}),
        ("snapshot_hash", ""),
        ("snapshot_hash", "b" * 63 + "c"),
        ("created_at", "2025-01-02T03:04:05.123457+00:00"),
        ("launch_state", {"risk tier": "low", "current stage": None}),
        ("seals", [{"model": "approvals.HistoricalWaiver", "id": 1, "digest": "c" * 64}]),
    ],
)
def test_entry_mac_changes_when_anything_in_the_entry_changes(field, value):
    assert entry_mac(PREVIOUS, {**BASE, field: value}) != entry_mac(PREVIOUS, BASE)
    assert entry_mac("c" * 64, BASE) != entry_mac(PREVIOUS, BASE)


def test_entry_mac_does_not_confuse_fields():
    """Moving text from one field to another (the actor's name into the slug) changes the MAC."""
    swapped = {**BASE, "launch": {"id": 1, "slug": "ada"}, "actor": "assistant"}
    assert entry_mac(PREVIOUS, swapped) != entry_mac(PREVIOUS, BASE)
