"""``verify_ledger`` on a real chain of nine entries, and the chain refusing edits (the model always,
a trigger on PostgreSQL): it names the first entry that was altered, removed or re-linked, and,
given the head hash printed on a report, notices entries cut off the end. (How each service
appends its entry: ``test_appends``.)

Tampering is simulated with raw SQL, as someone with database access would do it. On PostgreSQL
the append-only trigger refuses that SQL, so those tests switch the trigger off for the moment of
the tampering (inside the test's transaction, so nothing outlives the test).

The chain is built once per module (``shared_chain``); each test tampers inside a savepoint of its
own, rolled back afterwards (like ``setUpTestData``)."""

from __future__ import annotations

import datetime
import json
from contextlib import contextmanager
from itertools import pairwise

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from approvals.choices import DecisionOutcome
from approvals.services import stage_advance
from ledger.chain import GENESIS_HASH, entry_body, entry_mac, head_hash
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry, LedgerHead
from raci.choices import AreaKind
from raci.services import data_asset_declassify
from readiness.choices import Classification
from readiness.models import Launch
from readiness.services import fact_version
from tests.builders import accountable_of, approve_signoffs, ready_launch
from tests.factories import UserFactory
from tests.ledger.helpers import entries, verify_ledger

pytestmark = pytest.mark.django_db

ON_POSTGRES = connection.vendor == "postgresql"
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="the append-only trigger exists on PostgreSQL only")
TRIGGER = "approvals_ledger_append_only"


# --- helpers --------------------------------------------------------------------------------------


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
    return entry_mac(entry.previous_hash, entry_body(entry))


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


# --- the chain ----------------------------------------------------------------------------------


# The chain's entries, by sequence number, found by ``build_chain`` among the entries recording
# the facts it wrote (``fact_recorded``, readiness.recording): the agreements of the quality bar and
# the three SLOs, then two requests, two decisions and the advance (the last entry).
AGREEMENTS: list[int] = []
FIRST_REQUEST = SECOND_REQUEST = FIRST_DECISION = SECOND_DECISION = ADVANCE = 0


def build_chain() -> None:
    """A real chain: besides the facts recorded, the agreements of the launch's quality bar and three SLOs,
    then two requests (Internal: product, ML), their approvals and the advance to Internal. The
    support tickets are reclassified first: personal data would add legal and security requests."""
    owner = UserFactory(username="owner", first_name="Olive", last_name="Owner")
    launch = ready_launch(owner=owner, slug="assistant")
    global FIRST_REQUEST, SECOND_REQUEST, FIRST_DECISION, SECOND_DECISION, ADVANCE
    assert [e.event for e in governance()] == [LedgerEvent.BAR_AGREED] + [LedgerEvent.SLO_AGREED] * 3
    AGREEMENTS[:] = [e.sequence for e in governance()]
    personal = launch.data_assets.get(classification=Classification.PERSONAL)
    data_asset_declassify(
        actor=accountable_of(launch, AreaKind.POLICY).user,
        asset=personal,
        seen_version=fact_version(personal),
        classification=Classification.INTERNAL,
        reason="Tickets are pseudonymised",
    )
    approve_signoffs(launch, "Internal")
    later = [e for e in governance() if e.event != LedgerEvent.DATA_DECLASSIFIED][4:]
    assert [e.event for e in later] == [LedgerEvent.REQUESTED] * 2 + [LedgerEvent.DECIDED] * 2
    FIRST_REQUEST, SECOND_REQUEST, FIRST_DECISION, SECOND_DECISION = (e.sequence for e in later)
    internal = launch.stages.get(name="Internal")
    stage_advance(actor=launch.owner, launch=launch, stage=internal)
    assert [e.event for e in entries()][-1:] == [LedgerEvent.STAGE_ADVANCED]
    ADVANCE = len(entries())


def governance() -> list[LedgerEntry]:
    """The entries other than the facts recorded."""
    return [e for e in entries() if e.event != LedgerEvent.FACT_RECORDED]


@pytest.fixture(scope="module")
def shared_chain(django_db_setup, django_db_blocker) -> None:
    """The chain built once per module in a transaction rolled back at its end; each test runs
    inside it in a savepoint of its own (like ``setUpTestData``)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_chain()
        transaction.set_rollback(True)


@pytest.fixture
def chain(shared_chain, db) -> list[LedgerEntry]:
    """The entries, read back from the database."""
    return entries()


# --- verify_ledger on an intact chain --------------------------------------------------------------


def test_verify_ledger_passes_an_intact_chain_and_prints_the_head(chain):
    code, out, err = verify_ledger()
    assert code == 0, err
    head = chain[-1].entry_hash
    assert out.strip() == f"Ledger intact: {ADVANCE} entries, head {head}."
    assert head_hash() == head
    assert LedgerHead.objects.get().sequence == ADVANCE
    assert err == ""


def test_verify_ledger_passes_with_the_right_head(chain):
    code, out, _ = verify_ledger("--head", chain[-1].entry_hash)
    assert code == 0
    assert f"{ADVANCE} entries" in out


def test_entries_link_each_to_the_one_before(chain):
    assert [e.sequence for e in chain] == list(range(1, ADVANCE + 1))
    assert chain[0].previous_hash == GENESIS_HASH
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
@pytest.mark.parametrize("which", ["the last agreement", "the second request"])
def test_any_altered_column_is_named(chain, column, value, which):
    sequence = AGREEMENTS[-1] if which == "the last agreement" else SECOND_REQUEST
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
    assert (
        err.strip() == f"Ledger BROKEN: the chain ends at entry #{ADVANCE - 1}, but the head records entry #{ADVANCE}."
    )


def test_a_truncated_tail_with_a_rewound_head_is_caught_by_the_rows_and_against_the_expected_head(chain):
    """A forger who also rewinds the head row leaves a good chain of eight; the launch is still in
    the stage the cut entry recorded, and a head printed earlier (on a report) tells too."""
    printed_head = chain[-1].entry_hash
    delete_entry(ADVANCE)
    with head_unguarded():
        LedgerHead.objects.filter(pk=1).update(sequence=ADVANCE - 1, entry_hash=chain[-2].entry_hash)
    code, out, err = verify_ledger()
    assert code == 1
    assert f"differs from what entry #{SECOND_DECISION} recorded" in err
    Launch.objects.filter(current_stage__isnull=False).update(current_stage=None)  # the rows put back too
    code, out, err = verify_ledger("--head", printed_head)
    assert code == 1
    assert out == ""
    assert err.strip() == (
        f"Ledger BROKEN: the chain ends at {chain[-2].entry_hash}, not at the expected head {printed_head}."
    )


def test_a_wholly_rewritten_tail_is_caught_against_the_head(chain):
    """Even rewriting the last entry with a valid MAC (a forger who holds the key) changes the head."""
    printed_head = chain[-1].entry_hash
    last = chain[-1]
    payload = {**last.payload, "to": "Full"}
    forged = mac_with_payload(last, payload)
    set_column(ADVANCE, "payload", payload)
    set_column(ADVANCE, "entry_hash", forged)
    code, _, err = verify_ledger()
    assert code == 1
    assert f"the head records entry #{ADVANCE}" in err
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
    assert LedgerEntry.objects.count() == ADVANCE
    assert verify_ledger()[0] == 0


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


# --- what is stored -----------------------------------------------------------------------------


def test_stored_entries_hash_what_is_stored(chain):
    """The hash recomputed from the row as read back matches: JSON and timestamps round-trip."""
    for entry in chain:
        assert entry_mac(entry.previous_hash, entry_body(entry)) == entry.entry_hash
