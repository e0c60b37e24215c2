"""Incidents really page: reporting one, and each change of its severity, tells the people its
severity level names on the launch (the severity policy resolved through the RACI) through the
outbox, in their language and on their channels, once each; ``Incident.notified`` records whom the
page reached. The launch's policy (the template's): P0 all teams, P1 the owning team (every
Responsible and Accountable: an incident names no area), P2 the assignees (Responsible), P3 the
backlog (Accountable); each of its five areas has one Accountable and one Responsible."""

import pytest
from django.db import transaction
from django.utils import translation
from kombu.exceptions import OperationalError as BrokerUnavailable

from ledger.verification import verify
from notifications.channels import email, slack
from notifications.choices import OutboxStatus
from notifications.events import describe
from notifications.models import Notification, OutboxMessage
from notifications.outbox import deliver_outbox
from notifications.services import notification_preferences_set
from notifications.tasks import deliver_notifications
from operations.choices import IncidentEvent
from operations.models import Incident
from operations.services import incident_update
from raci.choices import AreaKind, Role
from raci.models import RaciAssignment
from raci.services import language_set
from tests.builders import accountable_of
from tests.factories import RaciAssignmentFactory, StakeholderFactory, TeamFactory, UserFactory, seal

from .conftest import ago, report

pytestmark = pytest.mark.django_db

ROLES_PAGED = {
    "P0": {Role.RESPONSIBLE, Role.ACCOUNTABLE},
    "P1": {Role.RESPONSIBLE, Role.ACCOUNTABLE},
    "P2": {Role.RESPONSIBLE},
    "P3": {Role.ACCOUNTABLE},
}


@pytest.fixture(autouse=True)
def ledger_stays_intact(db):
    yield
    assert verify().ok


def named(launch, severity) -> set:
    """The users the RACI gives the roles ``severity``'s level pages, read straight from it."""
    assignments = RaciAssignment.objects.filter(area__launch=launch, role__in=ROLES_PAGED[severity])
    return {assignment.stakeholder.user for assignment in assignments.select_related("stakeholder__user")}


def told(event, incident) -> set:
    return {n.recipient for n in Notification.objects.filter(event=event, key=f"incident:{incident.pk}")}


def mailed(mailoutbox) -> list[str]:
    return sorted(address for mail in mailoutbox for address in mail.to)


@pytest.mark.parametrize("severity", ["P0", "P1", "P2", "P3"])
def test_reporting_pages_exactly_whom_the_level_names_by_mail_and_in_the_app(
    launch, severity, mailoutbox, django_capture_on_commit_callbacks
):
    people = named(launch, severity)
    assert len(people) == (10 if severity in ("P0", "P1") else 5)

    with django_capture_on_commit_callbacks(execute=True):
        incident = report(launch, severity=severity, title="Answers time out")

    assert told(IncidentEvent.REPORTED, incident) == people
    assert mailed(mailoutbox) == sorted(person.email for person in people)
    assert {stakeholder.user for stakeholder in incident.notified.all()} == people
    assert not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists()
    mail = mailoutbox[0]
    assert mail.subject == f"[Preflight] Support assistant: {severity} incident"
    assert f"Olive Owner reported a {severity} incident on Support assistant." in mail.body
    assert "Answers time out" in mail.body  # the title, quoted
    assert f"/launches/{launch.slug}/incidents/{incident.pk}/" in mail.body


def test_the_reporter_named_by_the_level_is_paged_like_everyone_else(launch, responsible):
    incident = report(launch, responsible, severity="P2")
    assert responsible in told(IncidentEvent.REPORTED, incident)
    assert responsible.stakeholder in incident.notified.all()


def test_raising_the_severity_pages_only_the_people_newly_named(launch, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = report(launch, severity="P3")
    accountables = named(launch, "P3")
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        incident_update(actor=launch.owner, incident=incident, severity="P1")

    responsibles = named(launch, "P2")
    assert told(IncidentEvent.SEVERITY_CHANGED, incident) == responsibles
    assert mailed(mailoutbox) == sorted(person.email for person in responsibles)
    assert {s.user for s in Incident.objects.get(pk=incident.pk).notified.all()} == accountables | responsibles
    (notice,) = Notification.objects.filter(event=IncidentEvent.SEVERITY_CHANGED, recipient=next(iter(responsibles)))
    assert describe(notice.event, notice.payload)[1][0] == (
        "Olive Owner changed the severity of an incident on Support assistant from P3 to P1. "
        "The severity policy pages you; response time: 1 h."
    )


def test_a_repeated_change_or_a_severity_taken_back_and_again_pages_nobody_twice(
    launch, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = report(launch, severity="P2")
        incident_update(actor=launch.owner, incident=incident, severity="P0")
    pages = (Notification.objects.count(), OutboxMessage.objects.count(), len(mailoutbox))
    assert pages == (10, 10, 10)

    lowers = accountable_of(launch, AreaKind.INFRASTRUCTURE).user  # who may lower a severity
    with django_capture_on_commit_callbacks(execute=True):
        incident_update(actor=launch.owner, incident=incident, severity="P0")  # resubmitted: nothing changes
        incident_update(actor=lowers, incident=incident, severity="P2")
        incident_update(actor=launch.owner, incident=incident, severity="P0")

    assert (Notification.objects.count(), OutboxMessage.objects.count(), len(mailoutbox)) == pages


def test_a_person_named_in_two_areas_is_paged_once(launch, mailoutbox, django_capture_on_commit_callbacks):
    responsible = launch.areas.order_by("pk").first().assignments.get(role=Role.RESPONSIBLE).stakeholder
    RaciAssignmentFactory(area=launch.areas.order_by("pk").last(), stakeholder=responsible, role=Role.RESPONSIBLE)

    with django_capture_on_commit_callbacks(execute=True):
        incident = report(launch, severity="P2")

    assert Notification.objects.filter(recipient=responsible.user).count() == 1
    assert [mail.to for mail in mailoutbox].count([responsible.user.email]) == 1
    assert list(incident.notified.filter(pk=responsible.pk)) == [responsible]


def test_someone_without_an_email_address_is_paged_in_the_app_and_someone_on_slack_by_slack(
    launch, settings, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    posts = []
    monkeypatch.setattr(slack, "post", lambda url, text: posts.append((url, text)))
    settings.SLACK_WEBHOOKS = {"On call": "http://127.0.0.1:9/on-call"}
    areas = launch.areas.order_by("pk")
    no_address = areas[0].assignments.get(role=Role.RESPONSIBLE).stakeholder.user
    type(no_address).objects.filter(pk=no_address.pk).update(email="")
    on_slack = areas[1].assignments.get(role=Role.RESPONSIBLE).stakeholder
    seal(on_slack.teams.through.objects.create(stakeholder=on_slack, team=TeamFactory(name="On call")))
    notification_preferences_set(
        actor=on_slack.user, email=False, slack=True, mode="immediate", quiet_from=None, quiet_until=None, time_zone=""
    )

    with django_capture_on_commit_callbacks(execute=True):
        incident = report(launch, severity="P2")

    assert told(IncidentEvent.REPORTED, incident) == named(launch, "P2")
    assert not OutboxMessage.objects.filter(recipient=no_address).exists()
    assert list(OutboxMessage.objects.filter(recipient=on_slack.user).values_list("channel", "status")) == [
        ("slack", OutboxStatus.SENT)
    ]
    assert posts == [("http://127.0.0.1:9/on-call", posts[0][1])] and "Support assistant" not in posts[0][1]
    assert no_address.email not in mailed(mailoutbox) and on_slack.user.email not in mailed(mailoutbox)
    assert len(mailoutbox) == 3
    # Both were told: in the app, and on Slack; the record says so.
    assert {no_address, on_slack.user} <= {s.user for s in incident.notified.all()}


def test_a_korean_recipient_is_paged_in_korean(launch, mailoutbox, django_capture_on_commit_callbacks):
    accountable = launch.areas.order_by("pk").first().assignments.get(role=Role.ACCOUNTABLE).stakeholder.user
    language_set(actor=accountable, language="ko")

    with django_capture_on_commit_callbacks(execute=True):
        report(launch, severity="P3", title="Answers time out")

    (korean,) = [mail for mail in mailoutbox if mail.to == [accountable.email]]
    assert korean.subject == "[Preflight] Support assistant: P3 인시던트"
    assert "Olive Owner 님이 Support assistant에 P3 인시던트를 보고했습니다." in korean.body
    assert "Answers time out" in korean.body
    english = [mail for mail in mailoutbox if mail.to != [accountable.email]]
    assert english and all(mail.subject == "[Preflight] Support assistant: P3 incident" for mail in english)
    with translation.override("ko"):
        assert str(IncidentEvent.REPORTED.label) == "인시던트 보고됨"


def test_a_broker_down_after_commit_does_not_fail_the_report_and_a_later_drain_pages(
    launch, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(*args, **kwargs):
        raise BrokerUnavailable("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(deliver_notifications._get_current_object(), "delay", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        incident = report(launch, severity="P3")

    assert Incident.objects.filter(pk=incident.pk).exists()
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.PENDING}
    assert mailoutbox == []
    assert deliver_outbox()["sent"] == 5
    assert len(mailoutbox) == 5


def test_a_mail_server_failing_after_commit_does_not_fail_the_report(
    launch, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(**kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(email, "send_mail", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        incident = report(launch, severity="P3")

    assert Incident.objects.filter(pk=incident.pk).exists()
    assert set(OutboxMessage.objects.values_list("status", "attempts")) == {(OutboxStatus.PENDING, 1)}
    assert incident.notified.count() == 5  # the page was queued; delivery retries it


def test_nothing_is_queued_or_sent_when_the_report_rolls_back(launch, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            report(launch, severity="P0")
            assert OutboxMessage.objects.count() == 10  # written with the incident...
            raise RuntimeError("the caller's transaction fails after the report")

    assert not Incident.objects.exists()  # ...and gone with it, never handed to delivery
    assert (Notification.objects.count(), OutboxMessage.objects.count()) == (0, 0)
    assert callbacks == [] and mailoutbox == []


def test_a_level_naming_nobody_reachable_pages_nobody_and_records_nobody(launch):
    for assignment in RaciAssignment.objects.filter(area__launch=launch, role=Role.ACCOUNTABLE):
        user = assignment.stakeholder.user
        type(user).objects.filter(pk=user.pk).update(is_active=False)
    incident = report(launch, severity="P3", detected=ago(minutes=5))
    assert not incident.notified.exists()
    assert not Notification.objects.exists()


def test_a_stakeholder_outside_the_raci_is_never_paged(launch):
    outsider = StakeholderFactory(user=UserFactory(username="bystander"))
    incident = report(launch, severity="P0")
    assert outsider not in incident.notified.all()
    assert not Notification.objects.filter(recipient=outsider.user).exists()
