"""The operations admin shows incidents, post-mortems, action items and rollbacks executed with
their history, and changes nothing: posting to a change page leaves the row as it was."""

import datetime

import pytest
from django.utils import timezone

from approvals.services import stage_rollback
from operations.models import ActionItem, Incident, PostMortem, RollbackExecution
from operations.services import postmortem_record
from tests.builders import launch_at
from tests.helpers import admin_url

from .conftest import ago, report

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_rows(module_transaction) -> list:
    """The rows, built once per module (see ``module_transaction``)."""
    launch = launch_at("Beta")
    incident = report(
        launch,
        severity="P1",
        detected=ago(hours=3),
        acknowledged_at=ago(hours=2),
        mitigated_at=ago(hours=1),
        resolved_at=ago(minutes=30),
    )
    owner = launch.areas.first().assignments.first().stakeholder
    postmortem_record(
        actor=launch.owner,
        incident=incident,
        summary="s",
        root_cause="r",
        action_items=[{"description": "Canary", "owner": owner, "due_date": timezone.localdate()}],
    )
    stage_rollback(
        actor=launch.owner,
        launch=launch,
        stage=launch.stages.get(name="Internal"),
        reason="Oops",
        duration=datetime.timedelta(minutes=3),
    )
    return [Incident.objects.get(), PostMortem.objects.get(), ActionItem.objects.get(), RollbackExecution.objects.get()]


@pytest.fixture
def rows(shared_rows, db) -> list:
    """An incident, its post-mortem and action item, and a rollback executed, read back for each test."""
    return [type(row).objects.get(pk=row.pk) for row in shared_rows]


def test_every_operations_admin_page_shows_the_record_and_its_history(superuser_client, rows):
    for row in rows:
        model = type(row)
        assert superuser_client.get(admin_url(model, "changelist")).status_code == 200, model
        assert superuser_client.get(admin_url(model, "change", row.pk)).status_code == 200, model
        assert superuser_client.get(admin_url(model, "history", row.pk)).status_code == 200, model


def test_posting_to_an_incident_in_the_admin_changes_nothing(superuser_client, rows):
    incident = rows[0]
    response = superuser_client.post(admin_url(Incident, "change", incident.pk), {"severity": "P3", "title": "x"})
    assert response.status_code == 403
    incident.refresh_from_db()
    assert (incident.severity, incident.title) == ("P1", "P1 outage")
