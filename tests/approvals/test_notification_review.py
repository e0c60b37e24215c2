"""Hostile review of the notifications (issue 10): what a message or a digest may still tell
someone who no longer sees the launch it is about."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.choices import NotificationEvent, OutboxStatus
from approvals.models import Acknowledgement, Notification, OutboxMessage
from approvals.notifications import deliver_outbox, notify
from approvals.reminders import sweep_digests
from raci.models import RaciAssignment
from readiness.access import can_view
from tests.builders import ready_launch
from tests.factories import UserFactory
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
    (message_id,) = stage_change_notice(launch, [watcher])
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
