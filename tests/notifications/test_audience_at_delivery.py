"""A notice is written while its reader sees the launch; by the time it is delivered (a message
waiting in the outbox, a daily digest, a sweep finding people in history) they may not any more.
Each channel asks again when it delivers: nothing names the launch to them, except a withdrawal or
an escalation, which reach them blind."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.choices import NotificationEvent, WaiverStatus
from approvals.models import Acknowledgement, Waiver
from approvals.reminders import sweep_digests, sweep_expiring, sweep_overdue
from notifications.choices import DeliveryMode, OutboxStatus
from notifications.models import Notification, NotificationPreference, OutboxMessage
from notifications.outbox import deliver_outbox
from notifications.services import notify
from raci.choices import AreaKind, TeamFunction
from raci.models import RaciAssignment
from readiness.access import can_view
from readiness.models import Launch
from tests.builders import accountable_of, overdue_by, overdue_ml_request, ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """The launch, built once per module (see ``module_transaction``); its primary key."""
    return ready_launch(slug="codename", name="Project Codename").pk


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    """The module's launch, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.select_related("owner").get(pk=shared_launch)


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
        waiting_for=recipients,  # told at once, not filed for a digest
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
