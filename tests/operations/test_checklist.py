"""Checklist items 13 "Incident post-mortems" and 14 "Open P0 and P1 incidents", both outcomes, the
seven-day boundary, and the stage gate: an open P0 blocks advancing, a P2 does not, and an open
P0 cannot be waived."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from approvals.services import GateRefused, stage_advance, waiver_request
from ledger.verification import verify
from operations.models import PostMortem
from operations.services import incident_acknowledge, incident_mitigate, incident_resolve, postmortem_record
from readiness.checklist import Context, Status, evaluate, registry, with_checklist_facts
from readiness.i18n import shown_date
from readiness.models import Launch
from tests.builders import advance_to, approve_signoffs

from .conftest import ago, report

pytestmark = pytest.mark.django_db


def result(launch, key, now=None):
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    return next(r for r in evaluate(facts, now=now).results if r.key == key)


def _resolved_at(launch, resolved, severity="P1"):
    return report(
        launch,
        severity=severity,
        detected=resolved - datetime.timedelta(hours=3),
        acknowledged_at=resolved - datetime.timedelta(hours=2),
        mitigated_at=resolved - datetime.timedelta(hours=1),
        resolved_at=resolved,
    )


def test_both_items_are_registered_and_gate_every_stage():
    assert registry.get("incidents_reviewed").number == 13
    assert registry.get("no_open_major_incident").number == 14
    assert registry.get("incidents_reviewed").gates_every_stage
    assert registry.get("no_open_major_incident").gates_every_stage


def test_a_launch_without_incidents_passes_both(launch):
    assert result(launch, "incidents_reviewed").status == Status.PASS
    assert result(launch, "no_open_major_incident").status == Status.PASS


def test_a_resolved_p1_has_seven_days_to_get_its_postmortem(launch):
    resolved = timezone.now() - datetime.timedelta(days=3)
    _resolved_at(launch, resolved, severity="P1")
    just_in_time = resolved + datetime.timedelta(days=7)
    too_late = just_in_time + datetime.timedelta(seconds=1)
    assert result(launch, "incidents_reviewed", now=just_in_time).status == Status.PASS
    late = result(launch, "incidents_reviewed", now=too_late)
    assert late.status == Status.FAIL
    assert "has no post-mortem after 7 days" in late.reasons[0]


def test_a_postmortem_makes_an_old_p0_pass(launch):
    incident = _resolved_at(launch, ago(days=10), severity="P0")
    assert result(launch, "incidents_reviewed").status == Status.FAIL
    person = launch.areas.first().assignments.first().stakeholder
    postmortem_record(
        actor=launch.owner,
        incident=incident,
        summary="Bad deploy",
        root_cause="No canary",
        action_items=[{"description": "Canary", "owner": person, "due_date": timezone.localdate()}],
    )
    assert PostMortem.objects.count() == 1
    assert result(launch, "incidents_reviewed").status == Status.PASS


def test_minor_incidents_need_no_postmortem(launch):
    _resolved_at(launch, ago(days=30), severity="P2")
    report(launch, severity="P3")
    assert result(launch, "incidents_reviewed").status == Status.PASS
    assert result(launch, "no_open_major_incident").status == Status.PASS


@pytest.mark.parametrize(("severity", "status"), [("P0", Status.FAIL), ("P1", Status.FAIL), ("P2", Status.PASS)])
def test_an_open_major_incident_fails_item_14(launch, severity, status):
    report(launch, severity=severity, title="Answers time out")
    outcome = result(launch, "no_open_major_incident")
    assert outcome.status == status
    if status == Status.FAIL:
        assert "“Answers time out” is open" in outcome.reasons[0]


def test_evaluating_prefetched_launch_reads_incidents_without_queries(launch, django_assert_num_queries):
    for _ in range(3):
        report(launch, severity="P0")
    _resolved_at(launch, ago(days=9))
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    context_now = timezone.now()
    context = Context(launch=facts, stage=None, today=context_now.date(), now=context_now)
    with django_assert_num_queries(0):
        assert registry.get("incidents_reviewed").evaluate(context).status == Status.FAIL
        assert registry.get("no_open_major_incident").evaluate(context).status == Status.FAIL


# --- the gate ------------------------------------------------------------------------------------


@pytest.fixture(scope="class")
def at_internal_once(class_savepoint, shared_launch) -> None:
    """The module's launch moved into Internal, with every Beta sign-off approved, once for the tests
    of a class (see ``class_savepoint``)."""
    launch = Launch.objects.select_related("owner").get(pk=shared_launch)
    advance_to(launch, "Internal")
    approve_signoffs(launch, "Beta")


@pytest.fixture
def at_internal(at_internal_once, launch):
    """The module's launch in Internal, with every Beta sign-off approved, read back for the test."""
    return launch


class TestTheGate:
    def test_an_open_p0_blocks_advancing_until_it_is_resolved(self, at_internal):
        launch, beta = at_internal, at_internal.stages.get(name="Beta")
        incident = report(launch, severity="P0", title="Everything is down")
        with pytest.raises(GateRefused) as refusal:
            stage_advance(actor=launch.owner, launch=launch, stage=beta)
        assert "Open P0 and P1 incidents" in " ".join(refusal.value.messages)
        launch.refresh_from_db()
        assert launch.current_stage.name == "Internal"
        incident_acknowledge(actor=launch.owner, incident=incident)
        incident_mitigate(actor=launch.owner, incident=incident)
        incident_resolve(actor=launch.owner, incident=incident)
        stage_advance(actor=launch.owner, launch=launch, stage=beta)
        launch.refresh_from_db()
        assert launch.current_stage.name == "Beta"
        assert verify().ok

    def test_an_open_p2_does_not_block_advancing(self, at_internal):
        launch, beta = at_internal, at_internal.stages.get(name="Beta")
        report(launch, severity="P2")
        stage_advance(actor=launch.owner, launch=launch, stage=beta)
        launch.refresh_from_db()
        assert launch.current_stage.name == "Beta"

    def test_an_overdue_postmortem_blocks_advancing(self, at_internal):
        launch, beta = at_internal, at_internal.stages.get(name="Beta")
        _resolved_at(launch, ago(days=8))
        with pytest.raises(GateRefused) as refusal:
            stage_advance(actor=launch.owner, launch=launch, stage=beta)
        assert "Incident post-mortems" in " ".join(refusal.value.messages)

    def test_an_open_p0_cannot_be_waived(self, at_internal):
        launch = at_internal
        with pytest.raises(ValidationError) as error:
            waiver_request(
                actor=launch.owner,
                launch=launch,
                stage=launch.stages.get(name="Beta"),
                check_key="no_open_major_incident",
                justification="We are brave.",
                expires_on=timezone.localdate() + datetime.timedelta(days=3),
            )
        assert "cannot be waived" in error.value.message_dict["check_key"][0]
        assert not launch.waivers.exists()


# --- items 13 and 14 speak the server's time zone ---------------------------------------------


def test_items_13_and_14_give_dates_and_times_in_the_time_zone(launch, settings):
    settings.TIME_ZONE = "Asia/Seoul"
    with timezone.override("Asia/Seoul"):
        now = timezone.now()
        # Resolved at 20:00 UTC ten days ago: already the next day in Seoul (05:00).
        resolved = (
            (now - datetime.timedelta(days=10))
            .astimezone(datetime.UTC)
            .replace(hour=20, minute=0, second=0, microsecond=0)
        )
        report(
            launch,
            severity="P1",
            detected=resolved - datetime.timedelta(hours=3),
            acknowledged_at=resolved - datetime.timedelta(hours=2),
            mitigated_at=resolved - datetime.timedelta(hours=1),
            resolved_at=resolved,
            title="Resolved",
        )
        detected = (
            (now - datetime.timedelta(days=1))
            .astimezone(datetime.UTC)
            .replace(hour=16, minute=30, second=0, microsecond=0)
        )
        report(launch, severity="P0", detected=detected, title="Open")
        facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
        results = {r.key: r for r in evaluate(facts, now=now).results}
        seoul_resolved = shown_date((resolved + datetime.timedelta(hours=9)).date())  # a plain date: no conversion
        assert seoul_resolved in " ".join(results["incidents_reviewed"].reasons)
        seoul_detected = f"{shown_date((detected + datetime.timedelta(hours=9)).date())} 01:30"
        assert seoul_detected in " ".join(results["no_open_major_incident"].reasons)
