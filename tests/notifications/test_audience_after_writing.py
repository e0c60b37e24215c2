"""Hostile review of the notifications (issue 10): what a message or a digest may still tell
someone who no longer sees the launch it is about."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from approvals.choices import NotificationEvent, WaiverStatus
from approvals.models import Acknowledgement, Waiver
from approvals.reminders import sweep_digests, sweep_expiring, sweep_overdue
from approvals.services import signoffs_request
from notifications.choices import DeliveryMode, OutboxStatus
from notifications.models import Notification, NotificationPreference, OutboxMessage
from notifications.outbox import deliver_outbox
from notifications.services import notify
from raci.choices import AreaKind, Role, TeamFunction
from raci.models import RaciAssignment
from raci.services import stakeholder_set_executive
from readiness.access import can_view
from tests.builders import accountable_of, ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def launch(db):
    return ready_launch(slug="codename", name="Project Codename")


@pytest.fixture
def watcher(launch):
    """Someone who sees the launch only through an Informed role."""
    return give_view(UserFactory(username="watcher", email="watcher@example.com"), launch)


def take_role_away(user, launch):
    RaciAssignment.objects.filter(stakeholder__user=user, area__launch=launch).delete()
    user = User.objects.get(pk=user.pk)  # a fresh object: no cached permissions
    assert not can_view(user, launch)
    return user


def stage_change_notice(launch, recipients, event=NotificationEvent.STAGE_ROLLED_BACK):
    """Written in the service's transaction; the on-commit delivery is not run (the broker is down)."""
    return notify(
        event=event,
        key=f"launch:{launch.pk}:review",
        launch=launch,
        actor=launch.owner,
        recipients=recipients,
        payload={
            "launch": launch.name,
            "from": "Beta",
            "to": "Internal",
            "person": "Olive Owner",
            "text": "Rolled back: the breach at the customer is confirmed.",
            "stage": "Beta",
            "function": "legal",
        },
        link=f"/launches/{launch.slug}/",
    )


def test_a_message_waiting_in_the_outbox_is_dropped_when_its_recipient_no_longer_sees_the_launch(
    launch, watcher, mailoutbox
):
    stage_change_notice(launch, [watcher])
    (message_id,) = OutboxMessage.objects.filter(recipient=watcher).values_list("pk", flat=True)
    take_role_away(watcher, launch)

    deliver_outbox()

    assert [mail.to for mail in mailoutbox] == []
    message = OutboxMessage.objects.get(pk=message_id)
    assert message.status == OutboxStatus.DROPPED
    assert "no longer sees the launch" in message.last_error


def test_a_recipient_who_still_sees_the_launch_gets_the_message(launch, watcher, mailoutbox):
    stage_change_notice(launch, [watcher])

    deliver_outbox()

    assert [mail.to for mail in mailoutbox] == [[watcher.email]]


def test_a_withdrawal_still_reaches_an_addressee_whose_only_view_was_the_request(launch, watcher, mailoutbox):
    """Withdrawing the request is what takes an outside addressee's view away; they must still
    learn that nothing is asked of them any more."""
    stage_change_notice(launch, [watcher], event=NotificationEvent.SIGNOFF_WITHDRAWN)
    take_role_away(watcher, launch)

    deliver_outbox()

    assert [mail.to for mail in mailoutbox] == [[watcher.email]]


def test_the_digest_does_not_ask_for_an_acknowledgement_on_a_launch_the_person_no_longer_sees(launch, watcher):
    """A Consulted person taken off the launch cannot acknowledge (the page answers 404); the daily
    digest must not list the launch's name and ask them every day."""
    Acknowledgement.objects.create(
        launch=launch, stage=launch.stages.get(name="Internal"), user=watcher, requested_by=launch.owner
    )
    take_role_away(watcher, launch)

    sweep_digests(now=timezone.now())

    assert not Notification.objects.filter(event=NotificationEvent.DIGEST, recipient=watcher).exists()


def test_the_digest_still_asks_for_an_acknowledgement_the_person_may_give(launch, watcher):
    Acknowledgement.objects.create(
        launch=launch, stage=launch.stages.get(name="Internal"), user=watcher, requested_by=launch.owner
    )

    sweep_digests(now=timezone.now())

    (digest,) = Notification.objects.filter(event=NotificationEvent.DIGEST, recipient=watcher)
    assert [item["launch"] for item in digest.payload["acknowledgements"]] == ["Project Codename"]


def test_a_digest_readers_digest_does_not_name_a_launch_they_no_longer_see(launch, watcher):
    """Someone who takes their news in a daily digest and was taken off the launch since: the
    digest (a mail) must not list the launch's notices; the in-app notice stays theirs."""
    NotificationPreference.objects.create(user=watcher, mode=DeliveryMode.DIGEST)
    stage_change_notice(launch, [watcher], event=NotificationEvent.STAGE_ADVANCED)
    other = ready_launch(slug="other", name="Other launch")
    stage_change_notice(other, [give_view(watcher, other)], event=NotificationEvent.STAGE_ADVANCED)
    take_role_away(watcher, launch)

    sweep_digests(now=timezone.now())

    (digest,) = Notification.objects.filter(event=NotificationEvent.DIGEST, recipient=watcher)
    assert [item["launch"] for item in digest.payload["notices"]] == ["Other launch"]
    assert Notification.objects.filter(recipient=watcher, launch=launch).exists()


# Escalation goes to people who still hold the post it is escalated to ----------------------------


def overdue_ml_request(launch):
    """The ML sign-off for Internal, addressed to the model-quality Responsible, due yesterday."""
    area = launch.areas.get(kind=AreaKind.MODEL_QUALITY)
    responsible = area.assignments.get(role=Role.RESPONSIBLE).stakeholder.user
    (request,) = signoffs_request(
        actor=launch.owner,
        launch=launch,
        stage=launch.stages.get(name="Internal"),
        functions=[TeamFunction.ML],
        addressees={TeamFunction.ML: [responsible]},
        due_date=timezone.localdate() + datetime.timedelta(days=1),
    )
    return request


def overdue_by(request, days: int) -> datetime.datetime:
    date = request.due_date + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(date, datetime.time(7)))


def escalated_to(sent, level: int) -> list:
    return [item.recipient for item in sent if item.key.endswith(f":level{level}")]


def test_a_former_executive_is_not_escalated_to_the_executive_leads_are(launch):
    """The owner's named executive left the executive teams: they no longer see every launch, and
    the escalation must reach someone who can act (the leads of the executive teams)."""
    executives = team_for(TeamFunction.EXECUTIVE)
    boss = StakeholderFactory(user=UserFactory(username="boss"), teams=[executives])
    lead = StakeholderFactory(user=UserFactory(username="lead-exec"), teams=[executives])
    executives.lead = lead
    executives.save()
    admin = UserFactory(username="teamadmin")
    admin.user_permissions.add(Permission.objects.get(codename="manage_teams"))
    admin = User.objects.get(pk=admin.pk)
    stakeholder_set_executive(actor=admin, stakeholder=StakeholderFactory(user=launch.owner), executive=boss)
    boss.teams.remove(executives)  # moved out of leadership; the reporting line was not updated

    sent = sweep_overdue(now=overdue_by(overdue_ml_request(launch), 4))

    assert escalated_to(sent, 2) == [lead.user]


def test_an_accountable_who_left_the_areas_function_gives_way_to_the_function_leads(launch):
    request = overdue_ml_request(launch)
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY)
    ml = team_for(TeamFunction.ML)
    accountable.teams.remove(ml)  # moved to another team; still Accountable on this launch's RACI
    lead = StakeholderFactory(user=UserFactory(username="ml-lead"), teams=[ml])
    ml.lead = lead
    ml.save()

    sent = sweep_overdue(now=overdue_by(request, 2))

    assert escalated_to(sent, 1) == [lead.user]


def test_a_sweep_does_not_tell_someone_who_no_longer_sees_the_launch(launch, watcher):
    """Sweeps find their recipients in history (who decided a waiver, who approved): one taken off
    the launch since must not get an in-app notice naming it; the owner still does."""
    waiver = Waiver.objects.create(
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        check_key="pii_policy",
        justification="Masking ships next week",
        expires_on=timezone.localdate() + datetime.timedelta(days=3),
        requested_by=launch.owner,
        status=WaiverStatus.APPROVED,
        decided_by=watcher,
    )
    take_role_away(watcher, launch)

    sent = sweep_expiring(now=timezone.now())

    told = {item.recipient for item in sent if item.key.startswith(f"waiver:{waiver.pk}:")}
    assert told == {launch.owner}
    assert not Notification.objects.filter(recipient=watcher).exists()


def test_an_escalation_to_a_function_lead_off_the_launch_is_mailed(launch, mailoutbox):
    """Escalations go by post: the function's lead need not be on the launch to be chased by mail."""
    request = overdue_ml_request(launch)
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    accountable.is_active = False
    accountable.save()
    ml = team_for(TeamFunction.ML)
    lead = StakeholderFactory(user=UserFactory(username="ml-lead", email="ml-lead@example.com"), teams=[ml])
    ml.lead = lead
    ml.save()
    assert not can_view(lead.user, launch)
    sweep_overdue(now=overdue_by(request, 2))
    mailoutbox.clear()

    deliver_outbox()

    assert [mail.to for mail in mailoutbox if mail.to == [lead.user.email]] == [[lead.user.email]]


def test_a_mail_server_that_never_answers_fails_the_attempt_instead_of_holding_the_worker(settings):
    """Without a timeout Django's SMTP connection waits for ever: the drain holds the message's lock
    (on SQLite, the database's write lock, which every request waits for), the message is never
    recorded as failing, and its owner never hears of it."""
    from django.core.mail import get_connection

    import config.settings as project_settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert get_connection().timeout == project_settings.EMAIL_TIMEOUT
    # Shorter than SQLite's wait for the write lock, so a request behind a drain waits, never fails.
    assert 0 < project_settings.EMAIL_TIMEOUT < project_settings._SQLITE_OPTIONS["timeout"]


def test_a_time_zone_no_longer_known_does_not_stop_the_outbox(launch, watcher, mailoutbox):
    """A zone saved while valid can disappear from a later tz database. Reading it must not raise:
    the message would roll back, stay first in line and stop every drain from sending anything."""
    NotificationPreference.objects.create(user=watcher, quiet_from=datetime.time(22), quiet_until=datetime.time(7))
    NotificationPreference.objects.filter(user=watcher).update(time_zone="Europe/Atlantis")
    stage_change_notice(launch, [watcher], event=NotificationEvent.STAGE_ADVANCED)

    # Noon (outside the quiet hours in the site's zone, UTC) of the next day: noon today would be
    # before the message was queued whenever the test runs in the afternoon.
    counts = deliver_outbox(now=(timezone.now() + datetime.timedelta(days=1)).replace(hour=12))

    assert counts["sent"] == 1
    assert OutboxMessage.objects.filter(status=OutboxStatus.PENDING, attempts__gt=0).count() == 0


def test_the_executive_level_skips_an_executive_the_request_already_waits_for(launch):
    """Escalating to the person who is sitting on the sign-off tells nobody new (level one already
    skips them): the executive teams' leads are told instead."""
    request = overdue_ml_request(launch)
    (responsible,) = request.addressees.all()
    executives = team_for(TeamFunction.EXECUTIVE)
    responsible.stakeholder.teams.add(executives)
    lead = StakeholderFactory(user=UserFactory(username="lead-exec"), teams=[executives])
    executives.lead = lead
    executives.save()
    admin = UserFactory(username="teamadmin")
    admin.user_permissions.add(Permission.objects.get(codename="manage_teams"))
    admin = User.objects.get(pk=admin.pk)
    stakeholder_set_executive(
        actor=admin, stakeholder=StakeholderFactory(user=launch.owner), executive=responsible.stakeholder
    )

    sent = sweep_overdue(now=overdue_by(request, 4))

    assert escalated_to(sent, 2) == [lead.user]
