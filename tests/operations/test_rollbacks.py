"""Rollbacks that happened: every stage_rollback leaves an execution (who, why, from and to, how
long, which incident), separate from the plan's rehearsals; a bad extra fact undoes the rollback."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from approvals.services import stage_rollback
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from operations.models import RollbackExecution
from readiness.models import Launch
from tests.builders import advance_to, launch_at, ready_launch
from tests.factories import UserFactory
from tests.helpers import give_view

from .conftest import report

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_in_beta(module_transaction) -> int:
    """A ready launch in Beta, built once per module."""
    return launch_at("Beta").pk


@pytest.fixture
def in_beta(shared_in_beta, db) -> Launch:
    """The module's launch in Beta, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.select_related("owner").get(pk=shared_in_beta)


def _state(launch):
    launch.refresh_from_db()
    return launch.current_stage.name, RollbackExecution.objects.count(), LedgerEntry.objects.count()


def test_every_rollback_is_recorded_as_an_execution(in_beta):
    launch = in_beta
    rehearsed = launch.rollback_plan.last_rehearsed_at
    stage_rollback(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"), reason="p95 doubled")
    execution = RollbackExecution.objects.get()
    assert (execution.from_stage_name, execution.to_stage_name) == ("Beta", "Internal")
    assert execution.from_stage.name == "Beta" and execution.to_stage.name == "Internal"
    assert (execution.performed_by, execution.reason) == (launch.owner, "p95 doubled")
    assert execution.duration is None and execution.incident is None
    assert execution.history.get().history_user == launch.owner
    launch.rollback_plan.refresh_from_db()
    assert launch.rollback_plan.last_rehearsed_at == rehearsed  # an execution is not a rehearsal
    assert verify().ok


def test_a_rollback_records_how_long_it_took_and_the_incident_behind_it(in_beta):
    launch = in_beta
    incident = report(launch, severity="P1")
    stage_rollback(
        actor=launch.owner,
        launch=launch,
        stage=launch.stages.get(name="Internal"),
        reason="Core feature broken",
        duration=datetime.timedelta(minutes=12),
        incident_id=incident.pk,
    )
    execution = RollbackExecution.objects.get()
    assert execution.duration == datetime.timedelta(minutes=12)
    assert execution.incident == incident
    entry = LedgerEntry.objects.filter(event=LedgerEvent.STAGE_ROLLED_BACK).get()
    assert entry.payload["duration seconds"] == 720
    assert entry.payload["incident"] == incident.pk
    assert verify().ok


def test_an_incident_of_another_launch_undoes_the_rollback(in_beta):
    launch = in_beta
    other = ready_launch(owner=launch.owner, slug="other", name="Other")
    foreign = report(other, severity="P1")
    before = _state(launch)
    with pytest.raises(ValidationError) as error:
        stage_rollback(
            actor=launch.owner,
            launch=launch,
            stage=launch.stages.get(name="Internal"),
            reason="Oops",
            incident_id=foreign.pk,
        )
    assert "another launch" in error.value.message_dict["incident"][0]
    assert _state(launch) == before


def test_a_negative_duration_undoes_the_rollback(in_beta):
    launch = in_beta
    before = _state(launch)
    with pytest.raises(ValidationError) as error:
        stage_rollback(
            actor=launch.owner,
            launch=launch,
            stage=launch.stages.get(name="Internal"),
            reason="Oops",
            duration=datetime.timedelta(minutes=-5),
        )
    assert "negative" in error.value.message_dict["duration"][0]
    assert _state(launch) == before


def test_a_refused_rollback_records_no_execution(in_beta):
    launch = in_beta
    viewer = give_view(UserFactory(username="viewer"), launch)
    with pytest.raises(PermissionDenied):
        stage_rollback(actor=viewer, launch=launch, stage=launch.stages.get(name="Internal"), reason="Because")
    assert not RollbackExecution.objects.exists()


@pytest.mark.parametrize("bad", ["12", 1.5, True])
def test_an_incident_named_by_anything_but_its_number_undoes_the_rollback(in_beta, bad):
    launch = in_beta
    before = _state(launch)
    with pytest.raises(ValidationError) as error:
        stage_rollback(
            actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"), reason="Oops", incident_id=bad
        )
    assert "number" in error.value.message_dict["incident"][0]
    assert _state(launch) == before


# --- verify_ledger and rollback executions rewritten, invented or deleted in SQL --------------


@pytest.mark.parametrize(
    "change",
    [
        {"reason": "Planned drill"},
        {"duration": datetime.timedelta(minutes=1)},
        {"to_stage_name": "Beta"},
    ],
)
def test_verify_ledger_catches_a_rollback_execution_rewritten_in_sql(in_beta, change):
    launch = in_beta
    stage_rollback(
        actor=launch.owner,
        launch=launch,
        stage=launch.stages.get(name="Internal"),
        reason="p95 doubled",
        duration=datetime.timedelta(minutes=40),
    )
    assert verify().ok
    RollbackExecution.objects.update(**change)
    result = verify()
    assert not result.ok and "rollback" in result.problem


def test_verify_ledger_catches_a_rollback_execution_invented_in_sql(in_beta):
    launch = in_beta
    stage_rollback(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"), reason="p95 doubled")
    execution = RollbackExecution.objects.get()
    execution.pk = None
    execution.save()
    result = verify()
    assert not result.ok and "rollback" in result.problem


def test_verify_ledger_catches_a_rollback_execution_deleted_in_sql(in_beta):
    launch = advance_to(in_beta, "Full")
    stage_rollback(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Beta"), reason="First")
    stage_rollback(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"), reason="Second")
    assert verify().ok
    RollbackExecution.objects.filter(reason="Second").delete()
    result = verify()
    assert not result.ok and "no rollback execution" in result.problem
