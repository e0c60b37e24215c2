"""The registries the apps fill when they start: every event an app tells people about is
registered with its label and wording (the notice models' choices come from there), a stored
event this version no longer knows still reads as something, and the channels are one module
each, in a fixed order."""

import pytest
from django.db import models

from approvals.choices import NotificationEvent
from notifications import channels, events
from notifications.choices import DeliveryEvent, OutboxStatus
from notifications.models import Notification, OutboxMessage
from notifications.outbox import deliver_outbox
from operations.choices import IncidentEvent
from reports.choices import ReportEvent
from tests.factories import UserFactory

EVERY_APPS_EVENTS = [NotificationEvent, IncidentEvent, ReportEvent, DeliveryEvent]


@pytest.mark.parametrize("event", [event for choices in EVERY_APPS_EVENTS for event in choices])
def test_every_event_an_app_tells_is_registered_with_its_label_and_words(event):
    registered = events.get(event.value)
    assert registered is not None
    assert events.label(event.value) == str(event.label)
    assert (event.value, event.label) in Notification._meta.get_field("event").choices
    assert (event.value, event.label) in OutboxMessage._meta.get_field("event").choices
    assert callable(registered.lines)


def test_no_event_is_registered_twice_nor_longer_than_the_column():
    class Again(models.TextChoices):
        ADVANCED = NotificationEvent.STAGE_ADVANCED.value, "Again"
        LONG = "x" * (events.MAX_LENGTH + 1), "Too long"

    with pytest.raises(ValueError, match="already registered"):
        events.register(Again.ADVANCED)
    with pytest.raises(ValueError, match="longer than"):
        events.register(Again.LONG)
    assert events.label(NotificationEvent.STAGE_ADVANCED) == "Stage advanced"


def test_a_stored_event_this_version_no_longer_knows_reads_as_its_name_with_what_people_wrote():
    subject, lines = events.describe("retired_event", {"launch": "Support assistant", "text": "As typed"})
    assert subject == "[Preflight] Support assistant: retired_event"
    assert lines == ["retired_event", "As typed"]
    assert events.describe("retired_event", {"blind": True}) == ("[Preflight] retired_event", ["retired_event"])


def test_only_a_withdrawal_and_an_escalation_reach_someone_who_does_not_see_the_launch():
    assert events.told_without_seeing() == {NotificationEvent.SIGNOFF_WITHDRAWN, NotificationEvent.SIGNOFF_ESCALATED}


def test_the_channels_are_email_then_slack_each_a_module_of_its_own():
    assert [(name, str(label)) for name, label in channels.choices()] == [("email", "E-mail"), ("slack", "Slack")]
    assert [type(channel).__module__ for channel in channels.all_channels()] == [
        "notifications.channels.email",
        "notifications.channels.slack",
    ]
    assert OutboxMessage._meta.get_field("channel").choices == channels.choices()


@pytest.mark.django_db
def test_a_message_on_a_channel_this_version_no_longer_has_is_dropped_with_the_reason(mailoutbox):
    message = OutboxMessage.objects.create(
        event=NotificationEvent.STAGE_ADVANCED, key="advance:1", channel="fax", recipient=UserFactory()
    )
    assert deliver_outbox()["dropped"] == 1
    message.refresh_from_db()
    assert (message.status, message.last_error) == (
        OutboxStatus.DROPPED,
        "Not sent: this version has no channel 'fax'.",
    )
    assert mailoutbox == []
