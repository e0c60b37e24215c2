"""The tamper-evident ledger: every governance act appends exactly one hash-chained entry, the
chain refuses edits (the model always, a trigger on PostgreSQL), and ``verify_ledger`` names the
first entry that was altered, removed or re-linked — and, given the head hash printed on a report,
notices entries cut off the end.

Tampering is simulated with raw SQL, as someone with database access would do it. On PostgreSQL
the append-only trigger refuses that SQL, so those tests switch the trigger off for the moment of
the tampering (inside the test's transaction, so nothing outlives the test)."""

from __future__ import annotations

import datetime
import json
from contextlib import contextmanager
from io import StringIO
from itertools import pairwise

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.http import Http404
from django.utils import timezone

from approvals import ledger
from approvals.choices import DecisionOutcome, LedgerEvent
from approvals.models import Acknowledgement, LedgerEntry, LedgerHead
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
from approvals.snapshot import canonical_json, fingerprint, launch_snapshot
from raci.choices import AreaKind, Role, TeamFunction
from raci.services import raci_assign
from readiness.checklist import with_checklist_facts
from readiness.choices import Classification
from readiness.models import Launch
from tests.builders import approve_signoffs, launch_at, team_for
from tests.factories import LaunchFactory, StakeholderFactory

pytestmark = pytest.mark.django_db

ON_POSTGRES = connection.vendor == "postgresql"
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="the append-only trigger exists on PostgreSQL only")
TRIGGER = "approvals_ledger_append_only"


# --- helpers --------------------------------------------------------------------------------------


def verify_ledger(*args: str) -> tuple[int, str, str]:
    """Run the command as an operator would: (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_ledger", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@contextmanager
def trigger_disabled():
    """Let raw SQL change ledger rows. On PostgreSQL the trigger would refuse, so it is switched off
    inside the test's transaction and switched on again; SQLite has no trigger to switch."""
    if not ON_POSTGRES:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks may be pending for ALTER TABLE
        cursor.execute(f"ALTER TABLE approvals_ledgerentry DISABLE TRIGGER {TRIGGER}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE approvals_ledgerentry ENABLE ALWAYS TRIGGER {TRIGGER}")


def mac_with_payload(entry: LedgerEntry, payload: dict) -> str:
    """The MAC someone holding the ledger key would compute for ``entry`` with another payload."""
    entry.payload = payload
    return ledger.entry_mac(entry.previous_hash, ledger.entry_body(entry))


@contextmanager
def head_unguarded():
    """On PostgreSQL the head only moves forward one entry; let the test rewind it."""
    if not ON_POSTGRES:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE approvals_ledgerhead DISABLE TRIGGER approvals_ledger_head_forward_only")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE approvals_ledgerhead ENABLE ALWAYS TRIGGER approvals_ledger_head_forward_only")


def tamper(sql: str, params: list) -> int:
    """Run one raw statement against the ledger table, bypassing the model; returns rows touched."""
    with trigger_disabled(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def set_column(sequence: int, column: str, value) -> None:
    placeholder = "%s"
    if column == "payload":
        value = json.dumps(value)
        placeholder = "CAST(%s AS jsonb)" if ON_POSTGRES else "%s"
    assert (
        tamper(f"UPDATE approvals_ledgerentry SET {column} = {placeholder} WHERE sequence = %s", [value, sequence]) == 1
    )


def delete_entry(sequence: int) -> None:
    assert tamper("DELETE FROM approvals_ledgerentry WHERE sequence = %s", [sequence]) == 1


def entries() -> list[LedgerEntry]:
    return list(LedgerEntry.objects.order_by("sequence"))


def new_entries(since: int) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(sequence__gt=since).order_by("sequence"))


def last_sequence() -> int:
    return LedgerEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0


def current_fingerprint(launch: Launch, stage) -> str:
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    return fingerprint(launch_snapshot(facts, next(s for s in facts.stages.all() if s.pk == stage.pk)))


# The chain fixture's entries, by sequence number.
AGREEMENTS = range(1, 5)  # the quality bar, then the three SLOs, agreed while building the launch
FIRST_REQUEST, SECOND_REQUEST, FIRST_DECISION, SECOND_DECISION, ADVANCE = range(5, 10)


@pytest.fixture
def chain(launch):
    """A real chain of nine entries: the agreements of the launch's quality bar and three SLOs,
    then two requests (Internal: product, ML), their approvals and the stage advance. The support
    tickets are reclassified first: personal data would add legal and security requests."""
    assert [e.event for e in entries()] == [LedgerEvent.BAR_AGREED] + [LedgerEvent.SLO_AGREED] * 3
    launch.data_assets.filter(classification=Classification.PERSONAL).update(classification=Classification.INTERNAL)
    approve_signoffs(launch, "Internal")
    assert [e.event for e in new_entries(4)] == [LedgerEvent.REQUESTED] * 2 + [LedgerEvent.DECIDED] * 2
    internal = launch.stages.get(name="Internal")
    stage_advance(actor=launch.owner, launch=launch, stage=internal)
    assert [e.event for e in new_entries(SECOND_DECISION)] == [LedgerEvent.STAGE_ADVANCED]
    assert len(entries()) == ADVANCE
    return entries()


# --- verify_ledger on an intact chain --------------------------------------------------------------


def test_verify_ledger_passes_an_intact_chain_and_prints_the_head(chain):
    code, out, err = verify_ledger()
    assert code == 0, err
    head = chain[-1].entry_hash
    assert out.strip() == f"Ledger intact: 9 entries, head {head}."
    assert ledger.head_hash() == head
    assert LedgerHead.objects.get().sequence == 9
    assert err == ""


def test_verify_ledger_passes_with_the_right_head(chain):
    code, out, _ = verify_ledger("--head", chain[-1].entry_hash)
    assert code == 0
    assert "9 entries" in out


def test_an_empty_ledger_is_intact_at_the_genesis_hash(db):
    code, out, _ = verify_ledger()
    assert code == 0
    assert out.strip() == f"Ledger intact: 0 entries, head {ledger.GENESIS_HASH}."


def test_entries_link_each_to_the_one_before(chain):
    assert [e.sequence for e in chain] == list(range(1, 10))
    assert chain[0].previous_hash == ledger.GENESIS_HASH
    for before, after in pairwise(chain):
        assert after.previous_hash == before.entry_hash


# --- tampering ----------------------------------------------------------------------------------


def test_an_altered_payload_is_named(chain):
    decided = next(e for e in chain if e.event == LedgerEvent.DECIDED)
    set_column(decided.sequence, "payload", {**decided.payload, "outcome": DecisionOutcome.REJECT})
    code, out, err = verify_ledger()
    assert code == 1
    assert out == ""
    assert err.strip() == f"Ledger BROKEN: entry #{decided.sequence} was altered (its MAC does not match its contents)."


def test_an_altered_snapshot_hash_is_named(chain):
    assert chain[SECOND_DECISION - 1].event == LedgerEvent.DECIDED
    set_column(SECOND_DECISION, "snapshot_hash", "f" * 64)
    code, _, err = verify_ledger()
    assert code == 1
    assert f"entry #{SECOND_DECISION} was altered" in err


@pytest.mark.parametrize(
    ("column", "value"),
    [("event", LedgerEvent.WITHDRAWN), ("actor", "someone-else"), ("launch_slug", "another-launch")],
)
@pytest.mark.parametrize("sequence", [AGREEMENTS[-1], SECOND_REQUEST])
def test_any_altered_column_is_named(chain, column, value, sequence):
    set_column(sequence, column, value)
    code, _, err = verify_ledger()
    assert code == 1
    assert f"entry #{sequence} was altered" in err


def test_an_altered_timestamp_is_named(chain):
    later = chain[2].created_at + datetime.timedelta(seconds=1)
    with trigger_disabled():
        # QuerySet.update skips the model's save(); only the trigger stands in the way.
        LedgerEntry.objects.filter(pk=chain[2].pk).update(created_at=later)
    code, _, err = verify_ledger()
    assert code == 1
    assert "entry #3 was altered" in err


def test_a_deleted_middle_entry_is_a_gap(chain):
    delete_entry(3)
    code, _, err = verify_ledger()
    assert code == 1
    assert err.strip() == "Ledger BROKEN: entry #3 is missing (found #4)."


def test_a_wrong_previous_hash_is_named(chain):
    set_column(4, "previous_hash", chain[1].entry_hash)  # re-linked to #2, skipping #3
    code, _, err = verify_ledger()
    assert code == 1
    assert err.strip() == "Ledger BROKEN: entry #4 does not link to the entry before it."


def test_a_rewritten_entry_with_a_recomputed_hash_breaks_the_next_link(chain):
    """A forger who even holds the key rewrites the second request (#6) and gives it a correct MAC
    of its own: the entry checks out, but #7 still links to the original #6."""
    original = chain[SECOND_REQUEST - 1]
    assert original.event == LedgerEvent.REQUESTED
    forged_payload = {**original.payload, "approvals required": 0}
    forged_hash = mac_with_payload(original, forged_payload)
    set_column(SECOND_REQUEST, "payload", forged_payload)
    set_column(SECOND_REQUEST, "entry_hash", forged_hash)
    code, _, err = verify_ledger()
    assert code == 1
    assert err.strip() == f"Ledger BROKEN: entry #{FIRST_DECISION} does not link to the entry before it."


def test_a_gap_renumbered_away_still_breaks_the_chain(chain):
    """Deleting #3 and renumbering #4 to #9 down hides the gap, but not the broken link or hashes."""
    delete_entry(3)
    for sequence in range(4, ADVANCE + 1):
        assert (
            tamper("UPDATE approvals_ledgerentry SET sequence = %s WHERE sequence = %s", [sequence - 1, sequence]) == 1
        )
    code, _, err = verify_ledger()
    assert code == 1
    assert "entry #3" in err


def test_a_truncated_tail_is_caught_by_the_head_row(chain):
    delete_entry(ADVANCE)
    code, out, err = verify_ledger()
    assert code == 1
    assert out == ""
    assert err.strip() == "Ledger BROKEN: the chain ends at entry #8, but the head records entry #9."


def test_a_truncated_tail_with_a_rewound_head_is_caught_by_the_rows_and_against_the_expected_head(chain):
    """A forger who also rewinds the head row leaves a good chain of eight; the launch is still in
    the stage the cut entry recorded, and a head printed earlier (on a report) tells too."""
    printed_head = chain[-1].entry_hash
    delete_entry(ADVANCE)
    with head_unguarded():
        LedgerHead.objects.filter(pk=1).update(sequence=8, entry_hash=chain[7].entry_hash)
    code, out, err = verify_ledger()
    assert code == 1
    assert "differs from what entry #8 recorded" in err
    Launch.objects.filter(current_stage__isnull=False).update(current_stage=None)  # the rows put back too
    code, out, err = verify_ledger("--head", printed_head)
    assert code == 1
    assert out == ""
    assert err.strip() == (
        f"Ledger BROKEN: the chain ends at {chain[7].entry_hash}, not at the expected head {printed_head}."
    )


def test_a_wholly_rewritten_tail_is_caught_against_the_head(chain):
    """Even rewriting the last entry (#9) with a valid MAC (a forger who holds the key) changes the head."""
    printed_head = chain[-1].entry_hash
    last = chain[-1]
    payload = {**last.payload, "to": "Full"}
    forged = mac_with_payload(last, payload)
    set_column(ADVANCE, "payload", payload)
    set_column(ADVANCE, "entry_hash", forged)
    code, _, err = verify_ledger()
    assert code == 1
    assert "the head records entry #9" in err
    with head_unguarded():
        LedgerHead.objects.filter(pk=1).update(entry_hash=forged)
    assert verify_ledger()[0] == 0
    code, _, err = verify_ledger("--head", printed_head)
    assert code == 1
    assert "not at the expected head" in err


# --- the model and the database refuse changes -----------------------------------------------------


def test_the_model_refuses_to_save_an_existing_entry(chain):
    entry = LedgerEntry.objects.get(sequence=2)
    entry.actor = "someone-else"
    with pytest.raises(ValidationError, match="append-only"):
        entry.save()
    assert LedgerEntry.objects.get(sequence=2).actor == chain[1].actor


def test_the_model_refuses_to_delete_an_entry(chain):
    with pytest.raises(ValidationError, match="append-only"):
        LedgerEntry.objects.get(sequence=2).delete()
    assert LedgerEntry.objects.count() == 9
    assert verify_ledger()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_appending_outside_a_transaction_is_refused():
    """Outside the service's transaction the head row could not be held until the entry is written."""
    launch = LaunchFactory()
    with pytest.raises(RuntimeError, match="inside the service's transaction"):
        ledger.append(event=LedgerEvent.REQUESTED, launch=launch, actor=launch.owner, payload={})
    assert LedgerEntry.objects.count() == 0


@postgres_only
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE approvals_ledgerentry SET actor = 'mallory' WHERE sequence = 2",
        "UPDATE approvals_ledgerentry SET payload = '{}'::jsonb",
        "DELETE FROM approvals_ledgerentry WHERE sequence = 9",
        "DELETE FROM approvals_ledgerentry",
    ],
)
def test_postgres_trigger_refuses_raw_update_and_delete(chain, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert entries() == chain
    assert [e.actor for e in entries()] == [e.actor for e in chain]
    assert verify_ledger()[0] == 0


@postgres_only
def test_postgres_trigger_refuses_queryset_update_and_delete(chain):
    """QuerySet.update() and .delete() never call the model's save()/delete(); the trigger still stops them."""
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(sequence=1).update(actor="mallory")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(sequence=9).delete()
    assert verify_ledger()[0] == 0


@postgres_only
def test_postgres_trigger_is_back_on_after_simulated_tampering(chain):
    set_column(2, "actor", "mallory")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE approvals_ledgerentry SET actor = 'eve' WHERE sequence = 3")


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


def test_advancing_appends_one_entry_with_the_snapshot_the_gate_passed(launch, owner):
    internal = launch.stages.get(name="Internal")
    approve_signoffs(launch, "Internal")
    before = last_sequence()
    stage_advance(actor=owner, launch=launch, stage=internal)
    [entry] = new_entries(before)
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


def test_rolling_back_appends_one_entry(owner):
    launch = launch_at("Beta", owner=owner, slug="rolled")
    before = last_sequence()
    stage_rollback(actor=owner, launch=launch, stage=launch.stages.get(name="Internal"), reason="Error spike")
    [entry] = new_entries(before)
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


def test_a_whole_workflow_leaves_a_contiguous_verifiable_chain(owner):
    launch_at("Beta", owner=owner, slug="walked")
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
    assert ledger.entry_mac(PREVIOUS, BASE) == expected
    assert len(expected) == 64


def test_without_the_key_the_mac_cannot_be_recomputed(settings):
    mac = ledger.entry_mac(PREVIOUS, BASE)
    settings.LEDGER_KEY = "a-guess-at-the-key-" * 3
    assert ledger.entry_mac(PREVIOUS, BASE) != mac


def test_entry_mac_is_deterministic_and_ignores_key_order():
    reordered = {**BASE, "payload": dict(reversed(list(BASE["payload"].items())))}
    assert ledger.entry_mac(PREVIOUS, BASE) == ledger.entry_mac(PREVIOUS, reordered)


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
    assert ledger.entry_mac(PREVIOUS, {**BASE, field: value}) != ledger.entry_mac(PREVIOUS, BASE)
    assert ledger.entry_mac("c" * 64, BASE) != ledger.entry_mac(PREVIOUS, BASE)


def test_entry_mac_does_not_confuse_fields():
    """Moving text from one field to another (the actor's name into the slug) changes the MAC."""
    swapped = {**BASE, "launch": {"id": 1, "slug": "ada"}, "actor": "assistant"}
    assert ledger.entry_mac(PREVIOUS, swapped) != ledger.entry_mac(PREVIOUS, BASE)


def test_stored_entries_hash_what_is_stored(chain):
    """The hash recomputed from the row as read back matches: JSON and timestamps round-trip."""
    for entry in chain:
        assert ledger.entry_mac(entry.previous_hash, ledger.entry_body(entry)) == entry.entry_hash
