"""Lowering an incident's severity is not the owner's call: item 14 ("Open P0 and P1 incidents")
reads the severity, so the owner could clear it alone by calling an open P1 a P3. Lowering needs
the Accountable of the area that answers for incidents (infrastructure) or an executive; raising is
anyone's who may respond. A changed severity is its own ledger entry, cross-checked. The incident
page offers each person only what they may do."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from operations.models import Incident
from operations.services import incident_update
from raci.choices import AreaKind, Role, TeamFunction
from readiness.checklist import Status, evaluate, with_checklist_facts
from readiness.models import Launch
from tests.builders import accountable_of, team_for

from .conftest import report

pytestmark = pytest.mark.django_db


def item_14(launch) -> Status:
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    return next(r for r in evaluate(facts).results if r.key == "no_open_major_incident").status


@pytest.fixture
def incident(launch) -> Incident:
    return report(launch, severity="P1", title="Answers time out")


@pytest.fixture
def area_accountable(launch):
    return accountable_of(launch, AreaKind.INFRASTRUCTURE).user


@pytest.fixture
def area_responsible(launch):
    return launch.areas.get(kind=AreaKind.INFRASTRUCTURE).assignments.get(role=Role.RESPONSIBLE).stakeholder.user


@pytest.fixture
def executive(launch):
    return team_for(TeamFunction.EXECUTIVE).members.first().user


def severity_entries():
    return list(LedgerEntry.objects.filter(event=LedgerEvent.INCIDENT_SEVERITY_CHANGED).order_by("sequence"))


# The service ----------------------------------------------------------------------------------------


def test_the_owner_cannot_clear_item_14_by_lowering_an_open_p1_to_p3(launch, incident):
    assert item_14(launch) == Status.FAIL

    with pytest.raises(PermissionDenied) as refused:
        incident_update(actor=launch.owner, incident=incident, severity="P3")

    assert "Accountable for “Infrastructure" in str(refused.value) and "executive" in str(refused.value)
    incident.refresh_from_db()
    assert incident.severity == "P1"
    assert item_14(launch) == Status.FAIL
    assert severity_entries() == []


def test_the_owner_cannot_slip_the_lowering_in_with_other_corrections(launch, incident):
    with pytest.raises(PermissionDenied):
        incident_update(actor=launch.owner, incident=incident, severity="P3", title="Minor blip")
    incident.refresh_from_db()
    assert (incident.severity, incident.title) == ("P1", "Answers time out")


def test_the_affected_areas_accountable_lowers_it_and_item_14_passes_ledgered(launch, incident, area_accountable):
    incident_update(actor=area_accountable, incident=incident, severity="P3")

    incident.refresh_from_db()
    assert incident.severity == "P3"
    assert item_14(launch) == Status.PASS
    (entry,) = severity_entries()
    assert entry.actor == area_accountable.get_username()
    assert (entry.payload["severity from"], entry.payload["severity"], entry.payload["lowered by"]) == (
        "P1",
        "P3",
        "accountable",
    )
    assert incident.history.first().history_change_reason == "Severity P1 → P3"
    assert verify().ok


def test_an_executive_who_is_not_on_the_launch_may_lower_it(launch, incident, executive):
    incident_update(actor=executive, incident=incident, severity="P2")

    incident.refresh_from_db()
    assert incident.severity == "P2"
    assert severity_entries()[-1].payload["lowered by"] == "executive"
    assert verify().ok


def test_an_executive_may_not_do_the_responders_other_work(launch, incident, executive):
    with pytest.raises(PermissionDenied):
        incident_update(actor=executive, incident=incident, severity="P2", title="Renamed")


def test_a_responsible_may_not_lower_it(launch, incident, area_responsible):
    with pytest.raises(PermissionDenied):
        incident_update(actor=area_responsible, incident=incident, severity="P3")
    incident.refresh_from_db()
    assert incident.severity == "P1"


def test_an_accountable_who_left_the_function_may_not_lower_it(launch, incident, area_accountable):
    area_accountable.stakeholder.teams.clear()
    with pytest.raises(PermissionDenied):
        incident_update(actor=area_accountable, incident=incident, severity="P3")


def test_the_owner_may_raise_the_severity(launch):
    incident = report(launch, severity="P3")
    assert item_14(launch) == Status.PASS

    incident_update(actor=launch.owner, incident=incident, severity="P1")

    incident.refresh_from_db()
    assert incident.severity == "P1"
    assert item_14(launch) == Status.FAIL
    (entry,) = severity_entries()
    assert (entry.payload["severity from"], "lowered by" in entry.payload) == ("P3", False)
    assert verify().ok


def test_a_severity_lowered_in_sql_or_a_lowering_entry_without_authority_is_caught(launch, incident, area_accountable):
    Incident.objects.filter(pk=incident.pk).update(severity="P3")
    assert not verify().ok

    Incident.objects.filter(pk=incident.pk).update(severity="P1")
    incident_update(actor=area_accountable, incident=incident, severity="P3")
    assert verify().ok


# The page ----------------------------------------------------------------------------------------


def incident_page(client, user, launch, incident):
    client.force_login(user)
    return client.get(reverse("web:incident", args=[launch.slug, incident.pk]))


def test_the_page_shows_the_severity_control_only_to_who_may_lower_it(
    client, launch, incident, area_accountable, area_responsible, executive
):
    for user, shown in (
        (launch.owner, False),
        (area_responsible, False),
        (area_accountable, True),
        (executive, True),
    ):
        response = incident_page(client, user, launch, incident)
        assert response.status_code == 200
        assert (response.context["severity_form"] is not None) is shown, user
        assert (reverse("web:incident-severity", args=[launch.slug, incident.pk]) in response.content.decode()) is shown


def test_the_owners_edit_form_offers_only_the_same_or_a_higher_severity(client, launch, incident):
    client.force_login(launch.owner)
    url = reverse("web:incident-edit", args=[launch.slug, incident.pk])

    form = client.get(url).context["form"]
    assert [value for value, _label in form.fields["severity"].choices] == ["P0", "P1"]

    # What the rendered form posts, with a lower severity typed in by hand.
    data = {
        "title": incident.title,
        "severity": "P3",
        "user_impact": incident.user_impact,
        "detected_at": timezone.localtime(incident.detected_at).strftime("%Y-%m-%dT%H:%M"),
        "acknowledged_at": "",
        "mitigated_at": "",
        "resolved_at": "",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "may raise the severity but not lower it" in response.content.decode()
    incident.refresh_from_db()
    assert incident.severity == "P1"


def test_an_executive_lowers_it_with_the_form_the_page_renders(client, launch, incident, executive):
    page = incident_page(client, executive, launch, incident)
    form = page.context["severity_form"]
    data = {"severity": "P3", "csrfmiddlewaretoken": "x"} | {f.html_name: "P3" for f in form}

    response = client.post(reverse("web:incident-severity", args=[launch.slug, incident.pk]), data, follow=True)

    assert response.status_code == 200
    assert "The incident is now P3." in response.content.decode()
    incident.refresh_from_db()
    assert incident.severity == "P3"


def test_the_owner_posting_the_severity_form_is_told_who_may(client, launch, incident):
    client.force_login(launch.owner)
    response = client.post(
        reverse("web:incident-severity", args=[launch.slug, incident.pk]), {"severity": "P3"}, follow=True
    )

    assert response.status_code == 200
    assert "or an executive may lower" in response.content.decode()
    incident.refresh_from_db()
    assert incident.severity == "P1"
