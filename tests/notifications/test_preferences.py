"""Each person chooses how they are told: e-mail and Slack on or off, at once or in a daily digest,
quiet hours in their time zone. The outbox writes one message per channel they want now (never a
second one for the same event), holds what falls in their quiet hours without counting an attempt,
and the in-app notice is written whatever they chose."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.choices import NotificationEvent
from approvals.services import signoffs_request
from notifications import events
from notifications.choices import DeliveryEvent, DeliveryMode, OutboxStatus
from notifications.models import Notification, NotificationPreference, OutboxMessage
from notifications.outbox import deliver_outbox
from notifications.preferences import quiet_hours_end, wants_immediately
from notifications.services import notification_preferences_set, notify
from tests.factories import LaunchFactory, StakeholderFactory, TeamFactory, UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
T = datetime.time
EVERYTHING_OFF = {"quiet_from": None, "quiet_until": None, "time_zone": ""}


def choose(person, **changes) -> NotificationPreference:
    values = {"email": True, "slack": True, "mode": DeliveryMode.IMMEDIATE, **EVERYTHING_OFF, **changes}
    return notification_preferences_set(actor=person, **values)


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", first_name="Alice", last_name="Ahn")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", first_name="Bob", last_name="Baek")


# --- the service ------------------------------------------------------------------------------------


def test_a_person_saves_their_own_preferences_and_changes_them_in_place(alice):
    saved = choose(
        alice, email=False, mode=DeliveryMode.DIGEST, quiet_from=T(22), quiet_until=T(7), time_zone="Asia/Seoul"
    )

    row = NotificationPreference.objects.get(user=alice)
    assert row.pk == saved.pk
    assert (row.email, row.slack, row.mode) == (False, True, DeliveryMode.DIGEST)
    assert (row.quiet_from, row.quiet_until, row.time_zone) == (T(22), T(7), "Asia/Seoul")

    choose(alice, slack=False)

    row = NotificationPreference.objects.get(user=alice)
    assert row.pk == saved.pk and NotificationPreference.objects.count() == 1
    assert (row.email, row.slack, row.mode, row.quiet_from, row.time_zone) == (
        True,
        False,
        DeliveryMode.IMMEDIATE,
        None,
        "",
    )


def test_nobody_sets_another_persons_preferences(alice, bob):
    with pytest.raises(PermissionDenied, match="Everyone chooses their own"):
        notification_preferences_set(
            actor=bob, person=alice, email=False, slack=False, mode=DeliveryMode.DIGEST, **EVERYTHING_OFF
        )
    assert not NotificationPreference.objects.exists()
    # Naming oneself is fine.
    notification_preferences_set(actor=alice, person=alice, email=False, slack=True, mode="immediate", **EVERYTHING_OFF)
    assert NotificationPreference.objects.get().user == alice


@pytest.mark.parametrize("who", ["anonymous", "deactivated"])
def test_someone_not_signed_in_or_deactivated_sets_nothing(alice, who):
    if who == "deactivated":
        alice.is_active = False
        alice.save()
    actor = AnonymousUser() if who == "anonymous" else alice
    with pytest.raises(PermissionDenied):
        choose(actor)
    assert not NotificationPreference.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"quiet_from": T(22)}, "quiet_until", "Give both ends of the quiet hours, or neither."),
        ({"quiet_until": T(7)}, "quiet_until", "Give both ends of the quiet hours, or neither."),
        ({"quiet_from": T(9), "quiet_until": T(9)}, "quiet_until", "must not start and end at the same time"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "“Mars/Olympus_Mons” is not a known time zone."),
        ({"mode": "hourly"}, "mode", "not a valid choice"),
        ({"email": "yes"}, "email", "Choose on or off."),
    ],
    ids=["from-only", "until-only", "same-start-and-end", "unknown-zone", "unknown-mode", "not-a-boolean"],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(alice, changes, field, fragment):
    choose(alice, email=False)  # what is there stays as it was
    with pytest.raises(ValidationError) as refused:
        choose(alice, **changes)
    assert list(refused.value.message_dict) == [field]
    assert fragment in " ".join(refused.value.message_dict[field])
    row = NotificationPreference.objects.get(user=alice)
    assert (row.email, row.mode, row.quiet_from, row.quiet_until, row.time_zone) == (
        False,
        DeliveryMode.IMMEDIATE,
        None,
        None,
        "",
    )


# --- at once or in the digest -------------------------------------------------------------------------


@pytest.mark.parametrize("event", [*NotificationEvent.values, *DeliveryEvent.values])
def test_digest_mode_holds_back_every_event_but_the_digest_and_delivery_failures(event):
    digest = NotificationPreference(mode=DeliveryMode.DIGEST)
    immediate = NotificationPreference(mode=DeliveryMode.IMMEDIATE)
    assert wants_immediately(immediate, event) is True
    assert wants_immediately(None, event) is True  # no row: the defaults
    assert wants_immediately(digest, event) is (event in {NotificationEvent.DIGEST, DeliveryEvent.FAILED})
    assert events.never_held_for_digest() == {NotificationEvent.DIGEST, DeliveryEvent.FAILED}


# --- channels -------------------------------------------------------------------------------------------


@pytest.fixture
def launch(db):
    return LaunchFactory(slug="assistant", name="Support assistant")


@pytest.fixture
def slack_team(settings):
    team = TeamFactory(name="Legal")
    settings.SLACK_WEBHOOKS = {"Legal": "http://127.0.0.1:9/legal"}  # never called: nothing is delivered here
    return team


def tell(launch, people, *, event=NotificationEvent.STAGE_ADVANCED, key="advance:1", seen=False) -> list[int]:
    """Tell ``people``, who see ``launch`` (nobody else is told anything about it; ``seen``: they
    already do), as something waiting for them: told as they chose, not filed for their digest."""
    for person in [] if seen else people:
        give_view(person, launch)
    return notify(
        event=event,
        key=key,
        launch=launch,
        actor=None,
        recipients=people,
        payload={"launch": launch.name, "from": "Internal", "to": "Beta", "person": "Olive Owner"},
        link=f"/launches/{launch.slug}/",
        waiting_for=people,
    )


def channels(person) -> list[str]:
    return sorted(OutboxMessage.objects.filter(recipient=person).values_list("channel", flat=True))


def test_without_a_preference_a_person_gets_email_and_slack_where_their_team_has_a_webhook(
    launch, alice, bob, slack_team
):
    StakeholderFactory(user=alice, teams=[slack_team])
    StakeholderFactory(user=bob, teams=[TeamFactory(name="Security")])  # no webhook for Security

    tell(launch, [alice, bob])

    assert channels(alice) == ["email", "slack"]
    assert channels(bob) == ["email"]
    assert Notification.objects.filter(recipient__in=[alice, bob]).count() == 2


def test_without_any_webhook_configured_nobody_gets_slack(launch, alice, settings):
    settings.SLACK_WEBHOOKS = {}
    StakeholderFactory(user=alice, teams=[TeamFactory(name="Legal")])

    tell(launch, [alice])

    assert channels(alice) == ["email"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"email": False}, ["slack"]),
        ({"slack": False}, ["email"]),
        ({"email": False, "slack": False}, []),
    ],
    ids=["email-off", "slack-off", "both-off"],
)
def test_each_channel_turned_off_gets_no_message_but_the_notice_is_written(
    launch, alice, slack_team, changes, expected
):
    StakeholderFactory(user=alice, teams=[slack_team])
    choose(alice, **changes)

    tell(launch, [alice])

    assert channels(alice) == expected
    assert Notification.objects.filter(recipient=alice).count() == 1


def test_a_person_without_an_email_address_gets_slack_only(launch, alice, slack_team):
    StakeholderFactory(user=alice, teams=[slack_team])
    alice.email = ""
    alice.save()

    tell(launch, [alice])

    assert channels(alice) == ["slack"]


def test_in_digest_mode_the_notice_comes_at_once_and_no_message_is_queued(launch, alice, bob, slack_team):
    StakeholderFactory(user=alice, teams=[slack_team])
    choose(alice, mode=DeliveryMode.DIGEST)

    tell(launch, [alice, bob])

    assert channels(alice) == []
    assert Notification.objects.filter(recipient=alice, event=NotificationEvent.STAGE_ADVANCED).count() == 1
    assert channels(bob) == ["email"]  # bob kept the default


@pytest.mark.parametrize("event", [NotificationEvent.DIGEST, DeliveryEvent.FAILED])
def test_in_digest_mode_the_digest_and_delivery_failures_still_go_out_at_once(launch, alice, slack_team, event):
    StakeholderFactory(user=alice, teams=[slack_team])
    choose(alice, mode=DeliveryMode.DIGEST)

    tell(launch, [alice], event=event, key="digest:2026-11-24")

    assert channels(alice) == ["email", "slack"]


def test_a_sign_off_request_follows_the_addressees_preferences(alice, bob, settings):
    from tests.builders import ready_launch

    launch = ready_launch(slug="ready")
    internal = launch.stages.get(name="Internal")
    routed = signoffs_request(actor=launch.owner, launch=launch, stage=internal)
    first, second = (request.addressees.get() for request in routed[:2])
    OutboxMessage.objects.all().delete()
    choose(first, mode=DeliveryMode.DIGEST)
    choose(second, email=False, slack=False)

    requests = signoffs_request(actor=launch.owner, launch=launch, stage=internal)

    told = {request.addressees.get(): request for request in requests}
    assert not OutboxMessage.objects.filter(recipient__in=[first, second]).exists()
    assert OutboxMessage.objects.filter(subject_id__in=[r.pk for r in requests]).exclude(
        recipient__in=[first, second]
    ).count() == (len(told) - 2)
    for person in (first, second):  # the notice is written all the same
        assert Notification.objects.filter(
            recipient=person, event=NotificationEvent.SIGNOFF_REQUESTED, key=f"request:{told[person].pk}"
        ).exists()


def test_telling_people_twice_writes_no_second_message_on_any_channel(launch, alice, slack_team):
    StakeholderFactory(user=alice, teams=[slack_team])

    first = tell(launch, [alice])
    again = tell(launch, [alice])

    assert first == [alice] and again == []
    assert channels(alice) == ["email", "slack"]


def test_reading_preferences_and_teams_costs_the_same_for_2_or_12_recipients(launch, slack_team):
    def cost(people, key) -> int:
        with CaptureQueriesContext(connection) as queries:
            tell(launch, people, key=key, seen=True)
        return len(queries)

    def people(count):
        crowd = [give_view(StakeholderFactory(teams=[slack_team]).user, launch) for _ in range(count)]
        for person in crowd[::2]:
            choose(person, email=False)
        return crowd

    few, many = people(2), people(12)
    assert cost(few, "advance:few") == cost(many, "advance:many")
    assert OutboxMessage.objects.filter(recipient__in=many).count() == 12 + 6


# --- quiet hours ----------------------------------------------------------------------------------------


def quiet(start, end, zone="") -> NotificationPreference:
    return NotificationPreference(quiet_from=start, quiet_until=end, time_zone=zone)


def utc(hour, minute=0, day=25) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "ends"),
    [
        (utc(21, 59), None),  # before
        (utc(22, 0), utc(7, 0, day=26)),  # from the first minute, until tomorrow morning
        (utc(23, 30), utc(7, 0, day=26)),
        (utc(0, 0), utc(7, 0)),  # past midnight: until this morning
        (utc(6, 59), utc(7, 0)),
        (utc(7, 0), None),  # the end is not quiet
        (utc(12, 0), None),
    ],
)
def test_quiet_hours_across_midnight(now, ends):
    assert quiet_hours_end(quiet(T(22), T(7)), now) == ends


@pytest.mark.parametrize(
    ("now", "ends"),
    [(utc(8, 59), None), (utc(9, 0), utc(17, 0)), (utc(16, 59), utc(17, 0)), (utc(17, 0), None), (utc(23, 0), None)],
)
def test_quiet_hours_within_a_day(now, ends):
    assert quiet_hours_end(quiet(T(9), T(17)), now) == ends


@pytest.mark.parametrize(
    ("now", "ends"),
    [
        (utc(12, 59), None),  # 21:59 in Seoul
        (utc(13, 0), datetime.datetime(2026, 11, 26, 7, 0, tzinfo=SEOUL)),  # 22:00 in Seoul: until 07:00 there
        (utc(21, 30), datetime.datetime(2026, 11, 26, 7, 0, tzinfo=SEOUL)),  # 06:30 on the 26th in Seoul
        (utc(22, 0), None),  # 07:00 in Seoul
    ],
)
def test_quiet_hours_are_read_in_the_persons_time_zone(now, ends):
    found = quiet_hours_end(quiet(T(22), T(7), "Asia/Seoul"), now)
    assert found == ends
    if ends:
        assert found.astimezone(UTC) == utc(22, 0)  # 07:00 in Seoul is 22:00 UTC the day before


def test_no_quiet_hours_means_never_quiet():
    assert quiet_hours_end(NotificationPreference(), utc(3)) is None


def test_a_message_due_in_quiet_hours_waits_for_their_end_without_an_attempt_while_others_flow(
    launch, alice, bob, mailoutbox
):
    choose(alice, quiet_from=T(22), quiet_until=T(7), time_zone="Asia/Seoul")
    tell(launch, [give_view(alice, launch), give_view(bob, launch)])  # on the launch, as anyone told of it
    night_in_seoul = timezone.now().replace(hour=14, minute=0, second=0, microsecond=0) + datetime.timedelta(days=1)
    morning_in_seoul = night_in_seoul.replace(hour=22)  # 07:00 the next day in Seoul

    assert deliver_outbox(now=night_in_seoul) == {"sent": 1, "dropped": 0, "retrying": 0, "failed": 0}

    assert [mail.to for mail in mailoutbox] == [[bob.email]]
    held = OutboxMessage.objects.get(recipient=alice)
    assert (held.status, held.attempts, held.last_error) == (OutboxStatus.PENDING, 0, "")
    assert held.next_attempt_at == morning_in_seoul
    # Still quiet a minute before the end: nothing; at the end: sent.
    assert deliver_outbox(now=morning_in_seoul - datetime.timedelta(minutes=1))["sent"] == 0
    assert deliver_outbox(now=morning_in_seoul)["sent"] == 1
    held.refresh_from_db()
    assert (held.status, held.attempts) == (OutboxStatus.SENT, 1)
    assert [mail.to for mail in mailoutbox] == [[bob.email], [alice.email]]


def test_outside_quiet_hours_a_message_goes_at_once(launch, alice, mailoutbox):
    choose(alice, quiet_from=T(22), quiet_until=T(7), time_zone="Asia/Seoul")
    tell(launch, [give_view(alice, launch)])
    afternoon_in_seoul = timezone.now().replace(hour=5, minute=0, second=0, microsecond=0) + datetime.timedelta(days=1)

    assert deliver_outbox(now=afternoon_in_seoul)["sent"] == 1
    assert [mail.to for mail in mailoutbox] == [[alice.email]]


def test_a_time_zone_no_longer_known_does_not_stop_the_outbox(launch, alice, mailoutbox):
    """A zone saved while valid can disappear from a later tz database. Reading it must not raise:
    the message would roll back, stay first in line and stop every drain from sending anything."""
    NotificationPreference.objects.create(user=alice, quiet_from=T(22), quiet_until=T(7))
    NotificationPreference.objects.filter(user=alice).update(time_zone="Europe/Atlantis")
    tell(launch, [alice])

    # Noon (outside the quiet hours in the site's zone, UTC) of the next day: noon today would be
    # before the message was queued whenever the test runs in the afternoon.
    counts = deliver_outbox(now=(timezone.now() + datetime.timedelta(days=1)).replace(hour=12))

    assert counts["sent"] == 1
    assert OutboxMessage.objects.filter(status=OutboxStatus.PENDING, attempts__gt=0).count() == 0


def test_quiet_hours_ending_at_a_time_skipped_by_daylight_saving_still_end():
    # Berlin skips 02:00-03:00 on 29 March 2026; hours "until 02:30" end at the first instant after.
    berlin = quiet(T(22), T(2, 30), "Europe/Berlin")
    found = quiet_hours_end(berlin, datetime.datetime(2026, 3, 28, 22, 0, tzinfo=UTC))  # 23:00 in Berlin
    assert found is not None and found.astimezone(UTC) == datetime.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert quiet_hours_end(berlin, found) is None  # 03:30 summer time: no longer quiet
