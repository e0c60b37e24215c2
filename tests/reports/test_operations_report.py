"""The launch report's Operations chapter, read back from the PDF: incidents with their breaches,
post-mortems with action items (owner, due date), rollbacks executed (who, from and to, how long,
which incident), user text printed as text; and a completed action item makes a new report."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from approvals.services import stage_rollback
from operations.services import action_item_complete, incident_report, postmortem_record
from raci.choices import Role
from reports.services import REPORT_LAYOUT, report_request
from tests.builders import launch_at
from tests.factories import RaciAssignmentFactory, StakeholderFactory, UserFactory
from tests.reports.helpers import render, squeeze

pytestmark = pytest.mark.django_db


def ago(**kwargs):
    return timezone.now() - datetime.timedelta(**kwargs)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        owner = UserFactory(username="pam", first_name="Pam", last_name="Okafor")
        launch = launch_at("Beta", owner=owner, slug="operated", name="Support assistant")
        owner_of_action = launch.areas.order_by("pk").first().assignments.get(role=Role.ACCOUNTABLE).stakeholder
        down = incident_report(
            actor=owner,
            launch=launch,
            title="Whole <b>service</b> down",
            severity="P0",
            user_impact="Every answer failed for 40 minutes.",
            detected_at=ago(hours=6),
            acknowledged_at=ago(hours=5, minutes=30),
            mitigated_at=ago(hours=5),
            resolved_at=ago(hours=4),
        )
        # Made Responsible after the page went out: P0 pages them now, but nobody told them.
        RaciAssignmentFactory(
            area=launch.areas.order_by("pk").first(),
            stakeholder=StakeholderFactory(user=UserFactory(username="late", first_name="Lee", last_name="Late")),
            role=Role.RESPONSIBLE,
        )
        postmortem_record(
            actor=owner,
            incident=down,
            summary="A bad prompt rollout.",
            root_cause="No canary on prompt changes.",
            action_items=[
                {
                    "description": "Canary every prompt change",
                    "owner": owner_of_action,
                    "due_date": datetime.date(2027, 1, 15),
                }
            ],
        )
        stage_rollback(
            actor=owner,
            launch=launch,
            stage=launch.stages.get(name="Internal"),
            reason="Back to staff only while we fix it",
            duration=datetime.timedelta(minutes=9),
            incident_id=down.pk,
        )
        report = report_request(actor=owner, kind="launch", language="en", launch=launch, dispatch=False)
        yield {"launch": launch, "owner": owner, "rendered": render(report), "action_owner": owner_of_action}
        transaction.set_rollback(True)


@pytest.fixture
def rendered(world, db):
    return world["rendered"]


def test_the_report_is_in_the_new_layout(rendered):
    assert rendered.report.layout == REPORT_LAYOUT


def test_the_operations_chapter_lists_incidents_with_their_breaches(rendered):
    text = rendered.squeezed
    assert squeeze("Operations: incidents and rollbacks executed") in text
    assert squeeze("Whole <b>service</b> down") in text  # printed as typed, never as markup
    assert squeeze("Every answer failed for 40 minutes.") in text
    # Acknowledged after 30 minutes, P0 pages within 15; and someone made Responsible since was not paged.
    assert squeeze("Acknowledged after 30 min; P0 must be answered within 15 min.") in text
    assert squeeze("Not notified, though P0 pages them: Lee Late") in text


def test_the_postmortem_and_its_action_items_are_printed(rendered, world):
    text = rendered.squeezed
    assert squeeze("No canary on prompt changes.") in text
    assert squeeze("Canary every prompt change") in text
    assert squeeze(world["action_owner"].display_name) in text


def test_rollbacks_executed_are_printed_with_how_long_and_why(rendered):
    text = rendered.squeezed
    assert squeeze("Back to staff only while we fix it") in text
    assert squeeze("Beta → Internal") in text
    assert squeeze("9 min") in text


def test_completing_an_action_item_makes_a_new_report(world, db):
    launch, owner = world["launch"], world["owner"]
    stored = report_request(actor=owner, kind="launch", language="en", launch=launch, dispatch=False)
    assert stored.pk == world["rendered"].report.pk
    item = launch.incidents.get().postmortem.action_items.get()
    action_item_complete(actor=owner, item=item)
    fresh = report_request(actor=owner, kind="launch", language="en", launch=launch, dispatch=False)
    assert fresh.pk != stored.pk
