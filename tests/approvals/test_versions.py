"""A new model/prompt version on a launched product (issue 11, point 5): the change is a ledgered
event; evidence measured on the old version stops counting until a run on the new one passes;
approvals given on the old version are stale until re-approved, so the next stage waits and the
stage the launch is in no longer holds."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from approvals.recertification import recertify
from approvals.services import signoff_decide, stage_advance
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from raci.choices import AreaKind
from raci.services import eval_run_accept
from readiness.checklist import Status, evaluate, with_checklist_facts
from readiness.models import EvalRun, Launch
from readiness.services import fact_add, fact_version, launch_change
from tests.builders import SERVING_VERSION, accountable_of, approve_signoffs, launch_at
from tests.ledger.helpers import verify_ledger

pytestmark = pytest.mark.django_db

NEW_VERSION = "prompt-v8"


def facts(launch: Launch) -> Launch:
    return with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()


def item(readiness, key: str):
    return next(result for result in readiness.results if result.key == key)


def change_version(launch: Launch, version: str = NEW_VERSION, actor=None) -> Launch:
    return launch_change(
        actor=actor or launch.owner,
        launch=launch,
        seen_version=fact_version(launch),
        values={"serving_version": version},
    )


def record_run(launch: Launch, *, measured: str, failures: int = 30) -> EvalRun:
    """The owner records a run; the ML Accountable accepts it, so it counts."""
    run = fact_add(
        actor=launch.owner,
        launch=launch,
        model=EvalRun,
        values={
            "quality_bar": launch.quality_bars.get(),
            "samples": 1000,
            "failures": failures,
            "golden_set_name": "support-golden",
            "golden_set_version": "v3",
            "golden_set_owner": launch.owner,
            "measured_version": measured,
            "human_reviewed": 100,
            "run_at": timezone.now(),
        },
    )
    ml = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    return eval_run_accept(actor=ml, run=run, seen_version=fact_version(run))


def reapprove(launch: Launch, stage_name: str) -> None:
    """Each approver of the stage's open requests approves again, on the facts as they are now."""
    for request in launch.signoff_requests.filter(stage__name=stage_name, status="approved"):
        for decision in request.decisions.filter(superseded_at__isnull=True):
            signoff_decide(actor=decision.decided_by, signoff=request, outcome="approve")


@pytest.fixture(scope="module")
def shared_in_internal(module_transaction) -> int:
    """A launch in Internal whose Beta sign-offs are all approved on the version in service, built
    once per module."""
    launch = launch_at("Internal")
    approve_signoffs(launch, "Beta")
    assert evaluate(facts(launch)).may_enter
    return launch.pk


@pytest.fixture
def in_internal(shared_in_internal, db) -> Launch:
    """The module's launch, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.select_related("owner").get(pk=shared_in_internal)


def test_a_version_change_is_a_ledgered_event_naming_both_versions_and_the_stage(in_internal):
    before = LedgerEntry.objects.count()
    change_version(in_internal)
    facts, entry = LedgerEntry.objects.filter(sequence__gt=before).order_by("sequence")
    assert facts.event == LedgerEvent.FACT_RECORDED  # the launch row, sealed (readiness.recording)
    assert entry.event == LedgerEvent.VERSION_CHANGED
    assert entry.payload == {"from": SERVING_VERSION, "to": NEW_VERSION, "stage": "Internal"}
    assert entry.actor == in_internal.owner.username
    assert entry.seals and entry.seals[0]["model"] == "readiness.HistoricalLaunch"
    assert verify_ledger()[0] == 0


def test_changing_other_fields_or_setting_the_same_version_records_no_version_change(in_internal):
    before = LedgerEntry.objects.count()
    launch_change(
        actor=in_internal.owner, launch=in_internal, seen_version=fact_version(in_internal), values={"name": "Renamed"}
    )
    change_version(in_internal, SERVING_VERSION)
    events = set(LedgerEntry.objects.filter(sequence__gt=before).values_list("event", flat=True))
    assert events <= {LedgerEvent.FACT_RECORDED}  # the renamed launch row is sealed, nothing more


def test_only_the_owner_changes_the_version_and_a_refusal_records_nothing(in_internal):
    from tests.factories import UserFactory

    before = LedgerEntry.objects.count()
    with pytest.raises(Exception):  # noqa: B017 - the access helper answers 404/403 as it does everywhere
        change_version(in_internal, actor=UserFactory())
    in_internal.refresh_from_db()
    assert in_internal.serving_version == SERVING_VERSION
    assert LedgerEntry.objects.count() == before


def test_evidence_of_the_old_version_stops_counting_and_blocks_the_next_stage(in_internal):
    change_version(in_internal)
    readiness = evaluate(facts(in_internal))
    evidence = item(readiness, "quality_evidence")
    assert evidence.status == Status.FAIL
    assert f"measured '{SERVING_VERSION}', but '{NEW_VERSION}' is in service" in " ".join(evidence.reasons)
    with pytest.raises(ValidationError, match="Quality evidence"):
        stage_advance(actor=in_internal.owner, launch=in_internal, stage=in_internal.stages.get(name="Beta"))


def test_every_approval_given_on_the_old_version_is_stale_not_only_the_ml_one(in_internal):
    """The serving version is in every sign-off's snapshot (the snapshot is per stage, not per
    function): a new model is news to legal and security as much as to ML quality."""
    change_version(in_internal)
    signoffs = item(evaluate(facts(in_internal)), "stakeholders_approved")
    assert signoffs.status == Status.FAIL
    stale = [reason for reason in signoffs.reasons if "is stale" in reason]
    assert stale and all(f"serving version: {SERVING_VERSION} → {NEW_VERSION}" in reason for reason in stale)
    functions = {reason.split(" sign-off")[0] for reason in signoffs.reasons}
    assert {"ML", "Legal"} <= functions


def test_a_passing_run_on_the_new_version_counts_but_the_stage_waits_for_reapproval(in_internal):
    change_version(in_internal)
    record_run(in_internal, measured=NEW_VERSION)
    readiness = evaluate(facts(in_internal))
    assert item(readiness, "quality_evidence").status == Status.PASS
    assert item(readiness, "stakeholders_approved").status == Status.FAIL
    with pytest.raises(ValidationError, match="is stale"):
        stage_advance(actor=in_internal.owner, launch=in_internal, stage=in_internal.stages.get(name="Beta"))


def test_a_failing_run_on_the_new_version_does_not_count(in_internal):
    change_version(in_internal)
    record_run(in_internal, measured=NEW_VERSION, failures=200)
    evidence = item(evaluate(facts(in_internal)), "quality_evidence")
    assert evidence.status == Status.FAIL
    assert "not yet proven" in " ".join(evidence.reasons)


def test_a_new_run_on_the_old_version_does_not_count_either(in_internal):
    change_version(in_internal)
    record_run(in_internal, measured=SERVING_VERSION)
    assert item(evaluate(facts(in_internal)), "quality_evidence").status == Status.FAIL


def test_reapproval_on_the_new_version_with_new_evidence_opens_the_next_stage(in_internal):
    change_version(in_internal)
    record_run(in_internal, measured=NEW_VERSION)
    reapprove(in_internal, "Beta")
    stage_advance(actor=in_internal.owner, launch=in_internal, stage=in_internal.stages.get(name="Beta"))
    in_internal.refresh_from_db()
    assert in_internal.current_stage.name == "Beta"
    assert verify_ledger()[0] == 0


def test_the_stage_the_launch_is_in_lapses_on_a_new_version_and_holds_again_after_reapproval(in_internal):
    assert recertify() == []  # holds: nothing to record
    change_version(in_internal)
    [lapse] = recertify()
    assert (lapse.stage, lapse.holds) == ("Internal", False)
    assert "stakeholders_approved" in lapse.reasons
    record_run(in_internal, measured=NEW_VERSION)
    reapprove(in_internal, "Internal")
    [restored] = recertify()
    assert (restored.stage, restored.holds) == ("Internal", True)
    assert verify_ledger()[0] == 0


def test_a_version_rewritten_in_sql_is_caught_by_verify_ledger(in_internal):
    change_version(in_internal)
    assert verify_ledger()[0] == 0
    Launch.objects.filter(pk=in_internal.pk).update(serving_version=SERVING_VERSION)  # no service, no entry
    code, _out, err = verify_ledger()
    assert code != 0
    assert f"serves version '{SERVING_VERSION}', but entry" in err + _out
    assert f"recorded '{NEW_VERSION}'" in err + _out


def test_the_quality_bar_agreement_survives_a_new_version(in_internal):
    """The Accountable agreed the bar (what counts as a failure, the maximum rate), not a version:
    the new version is held to the same bar, proven by new evidence and re-approved in the ML
    sign-off, without agreeing the bar again."""
    change_version(in_internal)
    bar = in_internal.quality_bars.get()
    assert bar.agreed_by_id is not None
    assert item(evaluate(facts(in_internal)), "failure_rate_agreed").status == Status.PASS
