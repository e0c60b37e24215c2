"""Incidents in the browser: the launch page's Operations section (breaches marked, constant
queries), reporting and correcting an incident, moving it on, its post-mortem with action items,
the rollback form's new fields and the history's rollbacks executed. Owner and Responsible may
act; a viewer sees but is refused (403) and saves nothing; an outsider gets 404."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from operations.models import ActionItem, Incident, PostMortem, RollbackExecution
from operations.services import incident_report, postmortem_record
from raci.choices import Role
from readiness.models import Launch
from tests.builders import advance_to, ready_launch
from tests.factories import UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db


def ago(**kwargs):
    return timezone.now() - datetime.timedelta(**kwargs)


def local(value: datetime.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def responsible(launch):
    return launch.areas.order_by("pk").first().assignments.get(role=Role.RESPONSIBLE).stakeholder.user


@pytest.fixture
def viewer(launch):
    return give_view(UserFactory(username="viewer"), launch)


def as_user(client, user):
    client.force_login(user)
    return client


def report(launch, **kwargs):
    values = {
        "title": "Answers time out",
        "severity": "P1",
        "user_impact": "Half the answers failed.",
        "detected_at": ago(hours=3),
    }
    return incident_report(actor=launch.owner, launch=launch, **(values | kwargs))


def form_data(**overrides):
    return {
        "title": "Answers time out",
        "severity": "P1",
        "user_impact": "Half the answers failed.",
        "detected_at": local(ago(hours=2)),
        "acknowledged_at": "",
        "mitigated_at": "",
        "resolved_at": "",
    } | overrides


# --- the launch page ------------------------------------------------------------------------------


def test_the_launch_page_lists_incidents_with_their_breaches(client, launch):
    report(launch, title="Late <script>alert(1)</script>")
    html = as_user(client, launch.owner).get(reverse("web:launch", args=[launch.slug])).content.decode()
    assert 'id="operations"' in html
    assert "Late &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "Not acknowledged, and P1 must be answered within 1 h." in html
    assert reverse("web:incident-new", args=[launch.slug]) in html


def test_a_viewer_sees_incidents_but_no_report_link(client, launch, viewer):
    report(launch)
    html = as_user(client, viewer).get(reverse("web:launch", args=[launch.slug])).content.decode()
    assert "Answers time out" in html
    assert reverse("web:incident-new", args=[launch.slug]) not in html


def test_the_launch_page_costs_the_same_queries_with_one_or_many_incidents(client, launch, django_assert_num_queries):
    report(launch)
    path = reverse("web:launch", args=[launch.slug])
    as_user(client, launch.owner).get(path)
    with CaptureQueriesContext(connection) as one:
        client.get(path)
    for n in range(8):
        report(launch, title=f"Incident {n}", severity=("P0", "P1", "P2", "P3")[n % 4])
    with django_assert_num_queries(len(one.captured_queries)):
        assert client.get(path).status_code == 200


# --- reporting and correcting -----------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "responsible"])
def test_the_owner_or_a_responsible_reports_an_incident(client, launch, responsible, who):
    user = launch.owner if who == "owner" else responsible
    accountable = launch.areas.first().assignments.get(role=Role.ACCOUNTABLE).stakeholder
    response = as_user(client, user).post(reverse("web:incident-new", args=[launch.slug]), form_data())
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("web:incident", args=[launch.slug, incident.pk])
    assert incident.reported_by == user
    assert accountable in incident.notified.all()  # P1 pages the owning team: the report paged them
    assert "Answers time out" in client.get(response.url).content.decode()


def test_out_of_order_times_are_shown_on_the_form_and_nothing_is_saved(client, launch):
    response = as_user(client, launch.owner).post(
        reverse("web:incident-new", args=[launch.slug]),
        form_data(detected_at=local(ago(hours=1)), acknowledged_at=local(ago(hours=2))),
    )
    assert response.status_code == 200
    assert "the times are out of order" in response.content.decode()
    assert not Incident.objects.exists()


def test_who_was_notified_is_whom_the_page_reached_not_what_the_form_says(client, launch):
    stranger = give_view(UserFactory(), ready_launch(slug="other", name="Other")).stakeholder
    as_user(client, launch.owner)
    assert 'name="notified"' not in client.get(reverse("web:incident-new", args=[launch.slug])).content.decode()
    response = client.post(reverse("web:incident-new", args=[launch.slug]), form_data(notified=[stranger.pk]))
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert stranger not in incident.notified.all()
    assert incident.notified.exists()


def test_a_viewer_is_refused_every_change_and_nothing_is_saved(client, launch, viewer):
    incident = report(launch)
    as_user(client, viewer)
    assert client.get(reverse("web:incident-new", args=[launch.slug])).status_code == 403
    assert client.post(reverse("web:incident-new", args=[launch.slug]), form_data()).status_code == 403
    assert client.get(reverse("web:incident-edit", args=[launch.slug, incident.pk])).status_code == 403
    step = reverse("web:incident-step", args=[launch.slug, incident.pk, "acknowledge"])
    assert client.post(step).status_code == 403
    assert client.get(reverse("web:incident", args=[launch.slug, incident.pk])).status_code == 200
    incident.refresh_from_db()
    assert incident.acknowledged_at is None
    assert Incident.objects.count() == 1


def test_an_outsider_gets_404_for_a_real_incident(client, launch):
    incident = report(launch)
    as_user(client, UserFactory(username="outsider"))
    assert client.get(reverse("web:incident", args=[launch.slug, incident.pk])).status_code == 404
    step = reverse("web:incident-step", args=[launch.slug, incident.pk, "acknowledge"])
    assert client.post(step).status_code == 404
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


def test_an_incident_of_another_launch_is_not_found_through_this_one(client, launch):
    other = ready_launch(owner=launch.owner, slug="other", name="Other")
    foreign = report(other)
    response = as_user(client, launch.owner).get(reverse("web:incident", args=[launch.slug, foreign.pk]))
    assert response.status_code == 404


def test_the_owner_corrects_an_incident(client, launch):
    incident = report(launch)
    response = as_user(client, launch.owner).post(
        reverse("web:incident-edit", args=[launch.slug, incident.pk]), form_data(severity="P0", title="Down")
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.severity, incident.title) == ("P0", "Down")


def test_a_responsible_moves_the_incident_on_step_by_step(client, launch, responsible):
    incident = report(launch)
    as_user(client, responsible)
    for step in ("acknowledge", "mitigate", "resolve"):
        response = client.post(reverse("web:incident-step", args=[launch.slug, incident.pk, step]))
        assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.resolved_at is not None
    again = client.post(reverse("web:incident-step", args=[launch.slug, incident.pk, "resolve"]), follow=True)
    assert "already resolved" in again.content.decode()
    assert client.post(reverse("web:incident-step", args=[launch.slug, incident.pk, "explode"])).status_code == 404


# --- post-mortems ---------------------------------------------------------------------------------


def postmortem_data(owner_pk, **overrides):
    data = {
        "summary": "Bad deploy",
        "root_cause": "No canary",
        "form-TOTAL_FORMS": "3",
        "form-INITIAL_FORMS": "0",
        "form-0-description": "Add a canary",
        "form-0-owner": str(owner_pk),
        "form-0-due_date": (timezone.localdate() + datetime.timedelta(days=14)).isoformat(),
    }
    return data | overrides


def _resolved(launch):
    return report(
        launch, acknowledged_at=ago(hours=2), mitigated_at=ago(hours=1), resolved_at=ago(minutes=30), severity="P0"
    )


def test_the_postmortem_is_recorded_with_its_action_items(client, launch, responsible):
    incident = _resolved(launch)
    owner = launch.areas.first().assignments.get(role=Role.ACCOUNTABLE).stakeholder
    page = as_user(client, launch.owner).get(reverse("web:incident", args=[launch.slug, incident.pk]))
    assert "No post-mortem yet; due within 7 days of resolution." in page.content.decode()
    response = client.post(
        reverse("web:incident-postmortem", args=[launch.slug, incident.pk]), postmortem_data(owner.pk)
    )
    assert response.status_code == 302
    item = ActionItem.objects.get()
    assert (item.owner, item.description) == (owner, "Add a canary")
    html = client.get(response.url).content.decode()
    assert "Mark done" in html and "No post-mortem" not in html
    as_user(client, owner.user).post(reverse("web:action-item-done", args=[launch.slug, item.pk]))
    item.refresh_from_db()
    assert item.completed_by == owner.user


def test_a_postmortem_without_an_action_item_is_refused(client, launch):
    incident = _resolved(launch)
    response = as_user(client, launch.owner).post(
        reverse("web:incident-postmortem", args=[launch.slug, incident.pk]),
        postmortem_data("", **{"form-0-description": "", "form-0-due_date": ""}),
    )
    assert response.status_code == 400
    assert "at least one action item" in response.content.decode()
    assert not PostMortem.objects.exists()


def test_an_action_without_a_due_date_is_refused(client, launch):
    incident = _resolved(launch)
    owner = launch.areas.first().assignments.get(role=Role.ACCOUNTABLE).stakeholder
    response = as_user(client, launch.owner).post(
        reverse("web:incident-postmortem", args=[launch.slug, incident.pk]),
        postmortem_data(owner.pk, **{"form-0-due_date": ""}),
    )
    assert response.status_code == 400
    assert "an owner on the RACI and a due date" in response.content.decode()
    assert not PostMortem.objects.exists()


def test_a_viewer_may_not_write_the_postmortem(client, launch, viewer):
    incident = _resolved(launch)
    owner = launch.areas.first().assignments.get(role=Role.ACCOUNTABLE).stakeholder
    response = as_user(client, viewer).post(
        reverse("web:incident-postmortem", args=[launch.slug, incident.pk]), postmortem_data(owner.pk)
    )
    assert response.status_code == 403
    assert not PostMortem.objects.exists()


# --- rollbacks ------------------------------------------------------------------------------------


@pytest.fixture(scope="class")
def in_beta_once(class_savepoint, shared_launch) -> None:
    """The module's launch moved through the gate into Beta, once for the tests of a class (see
    ``class_savepoint``)."""
    advance_to(Launch.objects.select_related("owner").get(pk=shared_launch), "Beta")


@pytest.mark.usefixtures("in_beta_once")
class TestInBeta:
    """From the module's launch in Beta (``in_beta_once``)."""

    def test_the_rollback_form_records_how_long_and_which_incident(self, client, launch):
        incident = report(launch)
        internal = launch.stages.get(name="Internal")
        response = as_user(client, launch.owner).post(
            reverse("web:rollback", args=[launch.slug]),
            {"stage": internal.pk, "reason": "Core answers broken", "duration_minutes": "12", "incident": incident.pk},
        )
        assert response.status_code == 302
        execution = RollbackExecution.objects.get()
        assert execution.duration == datetime.timedelta(minutes=12)
        assert execution.incident == incident
        history = client.get(reverse("web:history", args=[launch.slug])).content.decode()
        assert "Rollbacks executed" in history
        assert "12 min" in history and "Core answers broken" in history
        assert reverse("web:incident", args=[launch.slug, incident.pk]) in history

    def test_the_rollback_form_still_works_without_the_new_fields(self, client, launch):
        internal = launch.stages.get(name="Internal")
        response = as_user(client, launch.owner).post(
            reverse("web:rollback", args=[launch.slug]), {"stage": internal.pk, "reason": "Error rate doubled"}
        )
        assert response.status_code == 302
        execution = RollbackExecution.objects.get()
        assert execution.duration is None and execution.incident is None


def test_the_incident_page_costs_the_same_queries_however_many_people_and_actions(
    client, launch, django_assert_num_queries
):
    people = [assignment.stakeholder for area in launch.areas.all() for assignment in area.assignments.all()]
    few = _resolved(launch)
    many = report(
        launch,
        severity="P0",
        acknowledged_at=ago(hours=2),
        mitigated_at=ago(hours=1),
        resolved_at=ago(minutes=30),
        responders=people,
    )
    due = timezone.localdate()
    for incident, count in ((few, 1), (many, 6)):
        postmortem_record(
            actor=launch.owner,
            incident=incident,
            summary="s",
            root_cause="r",
            action_items=[{"description": f"Do {n}", "owner": people[n], "due_date": due} for n in range(count)],
        )
    as_user(client, launch.owner)
    few_path = reverse("web:incident", args=[launch.slug, few.pk])
    client.get(few_path)
    with CaptureQueriesContext(connection) as baseline:
        client.get(few_path)
    with django_assert_num_queries(len(baseline.captured_queries)):
        assert client.get(reverse("web:incident", args=[launch.slug, many.pk])).status_code == 200


def test_the_edit_form_shows_the_times_to_the_second(client, launch):
    detected = timezone.now().replace(microsecond=0) - datetime.timedelta(hours=1, seconds=17)
    incident = report(launch, detected_at=detected)
    html = as_user(client, launch.owner).get(reverse("web:incident-edit", args=[launch.slug, incident.pk])).content
    assert timezone.localtime(detected).strftime("%Y-%m-%dT%H:%M:%S") in html.decode()
