"""Incidents, post-mortems and action items: who may record them, what is refused (with the field
named and nothing saved), the database's own wall, history and ledger entries."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from operations.models import ActionItem, Incident, PostMortem
from operations.services import (
    action_item_complete,
    incident_acknowledge,
    incident_mitigate,
    incident_resolve,
    incident_update,
    postmortem_record,
)
from raci.choices import Role
from raci.models import Stakeholder
from readiness.services import fact_version, launch_archive
from tests.factories import RaciAssignmentFactory, StakeholderFactory
from tests.helpers import assert_refused_by_database

from .conftest import ago, report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_intact(db):
    yield
    assert verify().ok


def _raci_person(launch, role=Role.RESPONSIBLE) -> Stakeholder:
    return launch.areas.order_by("pk").last().assignments.filter(role=role).first().stakeholder


def _resolved(launch, severity="P1"):
    return report(
        launch,
        severity=severity,
        detected=ago(hours=5),
        acknowledged_at=ago(hours=4),
        mitigated_at=ago(hours=3),
        resolved_at=ago(hours=2),
    )


def _item(launch, **overrides):
    return {"description": "Add a canary", "owner": _raci_person(launch), "due_date": timezone.localdate()} | overrides


# --- who may record --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "responsible", "accountable"])
def test_the_owner_and_responsible_or_accountable_people_report_incidents(launch, who, request):
    actor = request.getfixturevalue(who)
    incident = report(launch, actor, severity="P1")
    assert incident.reported_by == actor
    # Saved, then who was paged added to it: each a history row, by the reporter, for the report.
    records = {(record.history_user, record.history_change_reason) for record in incident.history.all()}
    assert records == {(actor, "Reported (P1)")}
    entry = LedgerEntry.objects.filter(event=LedgerEvent.INCIDENT_RECORDED).get()
    assert entry.payload["incident"] == incident.pk
    assert entry.payload["severity"] == "P1"
    assert entry.actor == actor.get_username()


def test_a_viewer_may_see_but_not_report(launch, viewer):
    with pytest.raises(PermissionDenied, match="Responsible or Accountable"):
        report(launch, viewer)
    assert not Incident.objects.exists()


def test_an_outsider_does_not_learn_the_launch_exists(launch, outsider):
    with pytest.raises(Http404):
        report(launch, outsider)
    assert not Incident.objects.exists()


def test_a_viewer_may_not_move_an_incident_on(launch, viewer):
    incident = report(launch)
    with pytest.raises(PermissionDenied):
        incident_acknowledge(actor=viewer, incident=incident)
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"severity": "P4"}, "severity", "P0 to P3"),
        ({"title": "  "}, "title", "title"),
        ({"user_impact": ""}, "user_impact", "users"),
        ({"detected": timezone.now() + datetime.timedelta(hours=1)}, "detected_at", "future"),
        ({"detected": ago(hours=1), "acknowledged_at": ago(hours=2)}, "acknowledged_at", "out of order"),
        ({"mitigated_at": ago(hours=1)}, "mitigated_at", "acknowledged"),
        ({"detected": datetime.datetime(2026, 1, 1)}, "detected_at", "aware"),
    ],
)
def test_bad_incidents_are_refused_naming_the_field(launch, changes, field, fragment):
    with pytest.raises(ValidationError) as error:
        report(launch, **changes)
    assert fragment.lower() in " ".join(error.value.message_dict[field]).lower()
    assert not Incident.objects.exists()
    assert not LedgerEntry.objects.filter(event=LedgerEvent.INCIDENT_RECORDED).exists()


def _raw(launch, **overrides):
    values = {
        "launch": launch,
        "title": "Outage",
        "severity": "P1",
        "user_impact": "Down",
        "detected_at": ago(hours=3),
        "reported_by": launch.owner,
    }
    return Incident(**(values | overrides))


@pytest.mark.parametrize(
    "overrides",
    [
        {"severity": "P7"},
        {"title": ""},
        {"acknowledged_at": ago(hours=4)},
        {"acknowledged_at": ago(hours=2), "mitigated_at": ago(hours=2, minutes=30)},
        {"acknowledged_at": ago(hours=2), "mitigated_at": ago(hours=1), "resolved_at": ago(hours=1, minutes=30)},
        {"resolved_at": ago(hours=1)},
    ],
)
def test_the_database_refuses_impossible_incidents(launch, overrides):
    assert_refused_by_database(_raw(launch, **overrides))


def test_an_action_item_without_a_due_date_is_refused_by_the_database(launch):
    postmortem = postmortem_record(
        actor=launch.owner, incident=_resolved(launch), summary="s", root_cause="r", action_items=[_item(launch)]
    )
    assert_refused_by_database(
        ActionItem(postmortem=postmortem, description="x", owner=_raci_person(launch), due_date=None)
    )


# --- the steps ----------------------------------------------------------------------------------


def test_an_incident_is_acknowledged_mitigated_and_resolved_in_order(launch, responsible):
    incident = report(launch, detected=ago(minutes=30))
    incident_acknowledge(actor=responsible, incident=incident, at=ago(minutes=20))
    incident_mitigate(actor=responsible, incident=incident, at=ago(minutes=10))
    incident_resolve(actor=responsible, incident=incident)
    incident.refresh_from_db()
    assert incident.detected_at < incident.acknowledged_at < incident.mitigated_at < incident.resolved_at
    reasons = list(incident.history.order_by("history_id").values_list("history_change_reason", flat=True))
    assert [r for r in reasons if r in ("Acknowledged", "Mitigated", "Resolved")] == [
        "Acknowledged",
        "Mitigated",
        "Resolved",
    ]
    assert LedgerEntry.objects.filter(event=LedgerEvent.INCIDENT_CHANGED).count() == 3
    assert LedgerEntry.objects.filter(event=LedgerEvent.INCIDENT_CHANGED).last().payload["resolved"] is not None


def test_resolving_before_mitigating_and_twice_are_refused(launch):
    incident = report(launch)
    with pytest.raises(ValidationError) as error:
        incident_resolve(actor=launch.owner, incident=incident)
    assert "resolved_at" in error.value.message_dict
    incident_acknowledge(actor=launch.owner, incident=incident)
    with pytest.raises(ValidationError, match="already acknowledged"):
        incident_acknowledge(actor=launch.owner, incident=incident)


def test_updating_corrects_the_incident_and_who_was_paged_follows_the_new_severity(launch):
    incident = report(launch)
    paged_at_p2 = set(incident.notified.values_list("pk", flat=True))
    incident_update(actor=launch.owner, incident=incident, severity="P0", title="Full outage")
    incident.refresh_from_db()
    assert (incident.severity, incident.title) == ("P0", "Full outage")
    paged = set(incident.notified.values_list("pk", flat=True))
    assert paged_at_p2 < paged  # P0 pages every Responsible and Accountable, P2 fewer
    # Raising the severity is anyone's who responds; a changed severity is its own kind of entry.
    entry = LedgerEntry.objects.filter(event=LedgerEvent.INCIDENT_SEVERITY_CHANGED).last()
    assert (entry.payload["notified"], entry.payload["severity from"]) == (sorted(paged), "P2")
    with pytest.raises(ValidationError) as error:
        incident_update(actor=launch.owner, incident=incident, reported_by=None)
    assert "reported_by" in error.value.message_dict


def test_an_archived_launch_keeps_its_incidents_as_they_were(launch):
    incident = report(launch)
    launch_archive(actor=launch.owner, launch=launch, seen_version=fact_version(launch), reason="Pulled.")
    with pytest.raises(ValidationError, match="archived"):
        incident_acknowledge(actor=launch.owner, incident=incident)
    with pytest.raises(ValidationError, match="archived"):
        report(launch)
    assert Incident.objects.count() == 1


# --- post-mortems -------------------------------------------------------------------------------


def test_a_postmortem_with_action_items_is_recorded_and_ledgered(launch, accountable):
    incident = _resolved(launch)
    postmortem = postmortem_record(
        actor=accountable,
        incident=incident,
        summary="Bad deploy",
        root_cause="No canary",
        action_items=[_item(launch), _item(launch, description="Alert on p95")],
    )
    assert postmortem.action_items.count() == 2
    assert postmortem.history.get().history_user == accountable
    entry = LedgerEntry.objects.filter(event=LedgerEvent.POSTMORTEM_RECORDED).get()
    assert entry.payload["incident"] == incident.pk
    assert len(entry.payload["action items"]) == 2


@pytest.mark.parametrize(
    ("items", "fragment"),
    [
        ([], "at least one action item"),
        ([{"description": "Add a canary", "due_date": datetime.date(2026, 12, 1)}], "no owner"),
        ([{"description": "Add a canary", "owner": None, "due_date": None}], "no owner"),
        ("due", "no due date"),
        ("stranger", "not on this launch's RACI"),
        ("blank", "says nothing"),
    ],
)
def test_a_bad_postmortem_is_refused_and_nothing_saved(launch, items, fragment):
    incident = _resolved(launch)
    if items == "due":
        items = [_item(launch, due_date=None)]
    elif items == "stranger":
        items = [_item(launch), _item(launch, owner=StakeholderFactory())]
    elif items == "blank":
        items = [_item(launch, description="  ")]
    with pytest.raises(ValidationError) as error:
        postmortem_record(actor=launch.owner, incident=incident, summary="s", root_cause="r", action_items=items)
    assert fragment in " ".join(error.value.message_dict["action_items"])
    assert not PostMortem.objects.exists()
    assert not ActionItem.objects.exists()


def test_a_postmortem_waits_for_resolution_and_is_written_once(launch):
    open_incident = report(launch, severity="P0")
    with pytest.raises(ValidationError, match="once the incident is resolved"):
        postmortem_record(
            actor=launch.owner, incident=open_incident, summary="s", root_cause="r", action_items=[_item(launch)]
        )
    resolved = _resolved(launch)
    postmortem_record(actor=launch.owner, incident=resolved, summary="s", root_cause="r", action_items=[_item(launch)])
    with pytest.raises(ValidationError, match="already has a post-mortem"):
        postmortem_record(
            actor=launch.owner, incident=resolved, summary="s", root_cause="r", action_items=[_item(launch)]
        )
    assert PostMortem.objects.count() == 1


def test_an_action_item_is_completed_by_its_owner_once(launch, viewer):
    consulted = StakeholderFactory()
    RaciAssignmentFactory(area=launch.areas.first(), stakeholder=consulted, role=Role.CONSULTED)
    postmortem = postmortem_record(
        actor=launch.owner,
        incident=_resolved(launch),
        summary="s",
        root_cause="r",
        action_items=[_item(launch, owner=consulted)],
    )
    item = postmortem.action_items.get()
    with pytest.raises(PermissionDenied):
        action_item_complete(actor=viewer, item=item)
    action_item_complete(actor=consulted.user, item=item)
    item.refresh_from_db()
    assert item.completed_by == consulted.user and item.completed_at is not None
    with pytest.raises(ValidationError, match="already done"):
        action_item_complete(actor=launch.owner, item=item)
