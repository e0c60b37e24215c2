"""Notifications that matter (issue 20, point 7). A notice knows what it is to its reader: waiting
for them (the event asks, or the caller says so), news of a launch they own, or news of someone
else's launch. The first two are told as the person chose; the last is, by default, filed for the
daily digest (listed on the page, not counted as new, no mail now); each person may take it at
once, or only on the page. And everything one change tells one person about one launch is one
group: one message listing each item, however many notices it wrote."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from approvals.choices import NotificationEvent
from approvals.reminders import sweep_digests
from notifications import events
from notifications.choices import DeliveryMode, OthersMode, OutboxStatus, Relevance
from notifications.models import Notification, NotificationPreference, OutboxMessage
from notifications.notices import one_change
from notifications.outbox import deliver_outbox
from notifications.selectors import unread_groups
from notifications.services import notify
from tests.factories import LaunchFactory, UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return UserFactory(username="olive", first_name="Olive", last_name="Owner")


@pytest.fixture
def launch(owner):
    return LaunchFactory(slug="assistant", name="Support assistant", owner=owner)


@pytest.fixture
def watcher(launch):
    """Sees the launch (an Informed role), owns nothing, is asked nothing."""
    return give_view(UserFactory(username="wendy", first_name="Wendy", last_name="Watcher"), launch)


def stage_news(launch, people, *, key="advance:1", to="Beta", **extra) -> list:
    """A stage change on ``launch``: an event that asks nobody anything."""
    return notify(
        event=NotificationEvent.STAGE_ADVANCED,
        key=key,
        launch=launch,
        actor=None,
        recipients=people,
        payload={"launch": launch.name, "from": "Internal", "to": to, "person": "Rita Release"},
        link=f"/launches/{launch.slug}/",
        **extra,
    )


def asked(launch, person, *, key="ack:1", stage="Beta") -> list:
    """An acknowledgement asked of ``person``: an event that asks."""
    return notify(
        event=NotificationEvent.ACKNOWLEDGEMENT_REQUESTED,
        key=key,
        launch=launch,
        actor=None,
        recipients=[person],
        payload={"launch": launch.name, "stage": stage, "person": "Olive Owner"},
        link=f"/launches/{launch.slug}/",
    )


def notice_of(person) -> Notification:
    return Notification.objects.get(recipient=person)


def messages_of(person) -> list[str]:
    return sorted(OutboxMessage.objects.filter(recipient=person).values_list("channel", flat=True))


# Routing ------------------------------------------------------------------------------------------


def test_the_registry_says_which_events_are_news_and_every_other_asks_something_of_its_recipients():
    assert events.asks(NotificationEvent.SIGNOFF_REQUESTED) and events.asks(NotificationEvent.SIGNOFF_DELEGATED)
    assert events.asks(NotificationEvent.ACKNOWLEDGEMENT_REQUESTED) and events.asks(NotificationEvent.SIGNOFF_STALE)
    assert not events.asks(NotificationEvent.SIGNOFF_DECIDED) and not events.asks(NotificationEvent.STAGE_ADVANCED)
    # Told rather than filed when in doubt: an event registered without a word, or unknown.
    assert events.asks("an_event_this_version_does_not_know")


def test_news_of_a_launch_is_told_to_its_owner_and_filed_for_the_digest_of_someone_who_only_sees_it(
    launch, owner, watcher
):
    stage_news(launch, [owner, watcher])

    mine, theirs = notice_of(owner), notice_of(watcher)
    assert (mine.relevance, mine.quiet, messages_of(owner)) == (Relevance.OWN, False, ["email"])
    assert (theirs.relevance, theirs.quiet, messages_of(watcher)) == (Relevance.OTHER, True, [])
    # Listed for both; counted as new only for the owner.
    assert unread_groups(owner).count() == 1 and unread_groups(watcher).count() == 0


def test_what_asks_is_waiting_for_its_recipient_and_told_at_once_even_on_someone_elses_launch(launch, watcher):
    asked(launch, watcher)

    notice = notice_of(watcher)
    assert (notice.relevance, notice.quiet, messages_of(watcher)) == (Relevance.WAITING, False, ["email"])
    assert unread_groups(watcher).count() == 1


def test_the_caller_may_say_whom_an_event_waits_for(launch, owner, watcher):
    other = give_view(UserFactory(username="oscar"), launch)

    stage_news(launch, [owner, watcher, other], waiting_for=[watcher])

    assert notice_of(watcher).relevance == Relevance.WAITING and messages_of(watcher) == ["email"]
    assert notice_of(owner).relevance == Relevance.OWN
    assert (notice_of(other).relevance, notice_of(other).quiet, messages_of(other)) == (Relevance.OTHER, True, [])


@pytest.mark.parametrize(
    ("others", "quiet", "channels", "in_digest"),
    [
        (None, True, [], True),  # no preference row: the default
        (OthersMode.DIGEST, True, [], True),
        (OthersMode.IMMEDIATE, False, ["email"], False),
        (OthersMode.PAGE, True, [], False),
    ],
    ids=["default", "digest", "at-once", "page-only"],
)
def test_each_person_chooses_how_they_hear_of_other_peoples_launches(
    launch, watcher, others, quiet, channels, in_digest
):
    if others is not None:
        NotificationPreference.objects.create(user=watcher, others=others)

    stage_news(launch, [watcher])
    sweep_digests(now=timezone.now())

    notice = Notification.objects.get(recipient=watcher, event=NotificationEvent.STAGE_ADVANCED)
    assert (notice.relevance, notice.quiet) == (Relevance.OTHER, quiet)
    assert messages_of(watcher) == (channels + (["email"] if in_digest else []))  # the digest's own mail
    digest = Notification.objects.filter(recipient=watcher, event=NotificationEvent.DIGEST).first()
    if in_digest:
        assert digest.payload["notices"] == [
            {"event": NotificationEvent.STAGE_ADVANCED, "launch": "Support assistant", "link": "/launches/assistant/"}
        ]
    else:
        assert digest is None


def test_a_digest_reader_still_gets_everything_in_the_digest_and_the_owner_nothing_filed(launch, owner, watcher):
    NotificationPreference.objects.create(user=owner, mode=DeliveryMode.DIGEST)
    NotificationPreference.objects.create(user=watcher, others=OthersMode.PAGE)

    stage_news(launch, [owner, watcher])
    sweep_digests(now=timezone.now())

    (digest,) = Notification.objects.filter(event=NotificationEvent.DIGEST)
    assert digest.recipient == owner and len(digest.payload["notices"]) == 1


# One change, one message ------------------------------------------------------------------------


def test_what_one_change_tells_a_person_about_one_launch_is_one_message_listing_each(
    launch, owner, watcher, mailoutbox
):
    second = LaunchFactory(slug="second", name="Second launch", owner=owner)
    with one_change():
        for number in range(4):
            asked(launch, owner, key=f"ack:{number}", stage=f"Stage {number}")
        asked(second, owner, key="ack:second")
        asked(launch, watcher, key="ack:watcher")

    assert deliver_outbox() == {"sent": 6, "dropped": 0, "retrying": 0, "failed": 0}

    to_owner = sorted((m for m in mailoutbox if m.to == [owner.email]), key=lambda m: m.subject)
    assert [m.subject for m in to_owner] == [
        "[Preflight] Second launch: Acknowledgement asked",
        "[Preflight] Support assistant: 4 updates",
    ]
    body = to_owner[1].body
    for number in range(4):
        assert f"acknowledge Support assistant entering Stage {number}." in body
    assert "/launches/assistant/" in body
    assert [m.subject for m in mailoutbox if m.to == [watcher.email]] == [
        "[Preflight] Support assistant: Acknowledgement asked"
    ]
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
    # On the page: one group for the four, one for the other launch.
    assert unread_groups(owner).count() == 2


def test_two_changes_are_two_messages(launch, owner, mailoutbox):
    for number in range(2):
        with one_change():
            asked(launch, owner, key=f"ack:{number}")

    deliver_outbox()

    assert [m.subject for m in mailoutbox] == ["[Preflight] Support assistant: Acknowledgement asked"] * 2
    assert unread_groups(owner).count() == 2


def test_a_message_of_a_group_no_longer_worth_sending_is_dropped_and_the_rest_go(launch, owner, mailoutbox):
    gone = UserFactory(username="gone")
    asked(launch, owner, key="ack:1")
    asked(launch, owner, key="ack:2")
    OutboxMessage.objects.filter(key="ack:2").update(recipient=gone)  # stands for any reason to drop
    gone.is_active = False
    gone.save()

    assert deliver_outbox() == {"sent": 1, "dropped": 1, "retrying": 0, "failed": 0}
    assert [m.subject for m in mailoutbox] == ["[Preflight] Support assistant: Acknowledgement asked"]


def test_a_group_that_fails_is_retried_together_and_sent_once(launch, owner, mailoutbox, monkeypatch):
    asked(launch, owner, key="ack:1")
    asked(launch, owner, key="ack:2")

    def down(*args, **kwargs):
        raise ConnectionError("mail server down")

    with monkeypatch.context() as patched:
        patched.setattr("notifications.channels.email.send_mail", down)
        assert deliver_outbox() == {"sent": 0, "dropped": 0, "retrying": 2, "failed": 0}

    assert set(OutboxMessage.objects.values_list("attempts", "status")) == {(1, OutboxStatus.PENDING)}
    later = timezone.now() + timezone.timedelta(minutes=5)
    assert deliver_outbox(now=later)["sent"] == 2
    assert deliver_outbox(now=later)["sent"] == 0
    assert [m.subject for m in mailoutbox] == ["[Preflight] Support assistant: 2 updates"]


@pytest.mark.django_db(transaction=True)
def test_a_transaction_is_one_change_and_its_group_is_delivered_after_commit(mailoutbox):
    """The real flow: what one transaction tells is one change, delivered when it commits; the
    next transaction is another change."""
    owner = UserFactory(username="olive")
    launch = LaunchFactory(slug="assistant", name="Support assistant", owner=owner)
    with transaction.atomic():
        asked(launch, owner, key="ack:1")
        asked(launch, owner, key="ack:2")
        assert mailoutbox == []  # nothing leaves before the commit
    assert [m.subject for m in mailoutbox] == ["[Preflight] Support assistant: 2 updates"]

    with transaction.atomic():
        asked(launch, owner, key="ack:3")

    assert len(mailoutbox) == 2 and mailoutbox[1].subject == "[Preflight] Support assistant: Acknowledgement asked"
    assert Notification.objects.values("group_key").distinct().count() == 2
