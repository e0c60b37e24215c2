"""verify_ledger cross-checks incidents and post-mortems against the entries their services
wrote: a row written, rewritten or deleted around the services (an open P0 quietly removed before
the gate reads it) is caught."""

import pytest
from django.utils import timezone

from ledger.verification import verify
from operations.models import Incident, PostMortem
from operations.services import incident_acknowledge, postmortem_record
from tests.operations.conftest import ago, report

pytestmark = pytest.mark.django_db


def test_incidents_recorded_through_the_services_verify(launch):
    incident = report(launch, severity="P0")
    incident_acknowledge(actor=launch.owner, incident=incident)
    assert verify().ok


def test_an_open_p0_deleted_in_sql_is_caught(launch):
    incident = report(launch, severity="P0")
    Incident.objects.filter(pk=incident.pk).delete()
    result = verify()
    assert not result.ok
    assert f"incident #{incident.pk} recorded in entry" in result.problem
    assert "no longer exists" in result.problem


@pytest.mark.parametrize(
    "change",
    [{"severity": "P3"}, {"title": "Nothing happened"}, {"acknowledged_at": None}, {"detected_at": ago(hours=2)}],
)
def test_an_incident_rewritten_in_sql_is_caught(launch, change):
    incident = report(launch, severity="P0", acknowledged_at=ago(minutes=30), detected=ago(hours=1))
    Incident.objects.filter(pk=incident.pk).update(**change)
    result = verify()
    assert not result.ok
    assert f"incident #{incident.pk} does not match its ledger entry" in result.problem


def test_who_was_notified_changed_around_the_service_is_caught(launch):
    incident = report(launch)
    incident.notified.add(launch.areas.first().assignments.first().stakeholder)
    assert "does not match" in verify().problem


def test_an_incident_created_around_the_services_is_caught(launch):
    made = Incident.objects.create(
        launch=launch,
        title="Backdated",
        severity="P2",
        user_impact="None",
        detected_at=ago(days=3),
        reported_by=launch.owner,
    )
    assert verify().problem == f"incident #{made.pk} has no ledger entry"


def test_a_postmortem_deleted_in_sql_is_caught(launch):
    incident = report(
        launch,
        severity="P1",
        detected=ago(hours=4),
        acknowledged_at=ago(hours=3),
        mitigated_at=ago(hours=2),
        resolved_at=ago(hours=1),
    )
    person = launch.areas.first().assignments.first().stakeholder
    postmortem = postmortem_record(
        actor=launch.owner,
        incident=incident,
        summary="s",
        root_cause="r",
        action_items=[{"description": "Canary", "owner": person, "due_date": timezone.localdate()}],
    )
    PostMortem.objects.filter(pk=postmortem.pk).delete()
    assert f"post-mortem #{postmortem.pk} recorded in entry" in verify().problem
