"""/notifications/settings/: each person sets how they are told (their own settings only; bad
input is refused on the field with nothing saved), in English and Korean. And the launch page's
"Undelivered notifications": who was not reached and why, for who may change the launch only, with
a "retry now" that outsiders (404) and viewers (403) cannot use."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from approvals.choices import NotificationEvent
from notifications import outbox
from notifications.channels import email
from notifications.choices import DeliveryMode, OthersMode, OutboxStatus
from notifications.models import NotificationPreference, OutboxMessage
from tests.builders import ready_launch
from tests.factories import StakeholderFactory, TeamFactory, UserFactory
from tests.helpers import give_view, read_back

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/notifications/settings/"
VALID = {
    "email": "on",
    "mode": "digest",
    "others": "page",
    "quiet_from": "22:00",
    "quiet_until": "07:00",
    "time_zone": "Asia/Seoul",
}


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", first_name="Alice", last_name="Ahn")


def test_the_url_is_the_one_the_issue_names():
    assert reverse("web:notification-settings") == SETTINGS_URL


def test_signing_in_is_required(client):
    response = client.get(SETTINGS_URL)
    assert response.status_code == 302 and "/sign-in/" in response["Location"]
    assert client.post(SETTINGS_URL, VALID).status_code == 302
    assert not NotificationPreference.objects.exists()


def test_the_page_shows_the_defaults_and_says_no_team_has_slack(client, alice, django_assert_max_num_queries):
    client.force_login(alice)
    client.get(SETTINGS_URL)
    with django_assert_max_num_queries(8):
        response = client.get(SETTINGS_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<input type="checkbox" name="email" id="id_email" checked>' in html
    form = response.context["form"]
    assert (form["email"].value(), form["slack"].value(), form["mode"].value()) == (True, True, "immediate")
    # Other people's launches: in the digest unless chosen otherwise.
    assert form["others"].value() == "digest"
    assert 'name="others" value="digest"' in html and "Listed in my daily digest" in html
    assert "None of your teams has a Slack channel set up" in html
    assert '<option value="Asia/Seoul">Asia/Seoul</option>' in html
    assert '<option value="" selected>The site&#x27;s (UTC)</option>' in html


def test_the_page_names_the_team_whose_slack_channel_is_used(client, alice, settings):
    StakeholderFactory(user=alice, teams=[TeamFactory(name="Legal <Seoul>"), TeamFactory(name="Security")])
    settings.SLACK_WEBHOOKS = {"Legal <Seoul>": "https://hooks.slack.com/services/x"}
    client.force_login(alice)

    html = client.get(SETTINGS_URL).content.decode()

    assert "Slack messages go to the channel of your team: Legal &lt;Seoul&gt;." in html
    assert "hooks.slack.com" not in html  # the webhook is a secret


def test_the_notifications_page_and_the_header_link_to_the_settings(client, alice):
    client.force_login(alice)
    html = client.get(reverse("web:notifications")).content.decode()
    assert html.count(f'href="{SETTINGS_URL}"') == 2


def test_saving_keeps_the_choice_and_shows_it_again(client, alice):
    client.force_login(alice)

    response = client.post(SETTINGS_URL, VALID)

    assert response.status_code == 302 and response["Location"] == SETTINGS_URL
    row = NotificationPreference.objects.get(user=alice)
    assert (row.email, row.slack, row.mode, row.time_zone) == (True, False, DeliveryMode.DIGEST, "Asia/Seoul")
    assert row.others == OthersMode.PAGE
    assert (row.quiet_from, row.quiet_until) == (datetime.time(22), datetime.time(7))
    page = client.get(SETTINGS_URL)
    assert "Your notification settings are saved." in page.content.decode()
    form = page.context["form"]
    assert (form["slack"].value(), form["mode"].value(), form["time_zone"].value()) == (False, "digest", "Asia/Seoul")
    assert 'value="22:00"' in page.content.decode()


def test_a_post_sets_only_the_senders_own_settings(client, alice):
    bob = UserFactory(username="bob")
    client.force_login(bob)

    client.post(SETTINGS_URL, {**VALID, "user": alice.pk, "person": alice.pk})

    assert list(NotificationPreference.objects.values_list("user", flat=True)) == [bob.pk]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"quiet_until": ""}, "quiet_until", "Give both ends of the quiet hours, or neither."),
        ({"quiet_from": ""}, "quiet_until", "Give both ends of the quiet hours, or neither."),
        ({"quiet_from": "07:00", "quiet_until": "07:00"}, "quiet_until", "must not start and end at the same time"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "Select a valid choice."),
        ({"quiet_from": "25:00"}, "quiet_from", "Enter a valid time."),
        ({"mode": "hourly"}, "mode", "Select a valid choice."),
        ({"others": "everyone"}, "others", "Select a valid choice."),
    ],
    ids=[
        "half-pair-from",
        "half-pair-until",
        "same-start-and-end",
        "unknown-zone",
        "bad-time",
        "unknown-mode",
        "unknown-others",
    ],
)
def test_bad_input_is_shown_on_its_field_and_nothing_is_saved(client, alice, changes, field, message):
    client.force_login(alice)

    response = client.post(SETTINGS_URL, {**VALID, **changes})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert message.split(".")[0] in response.content.decode().replace("&#x27;", "'")
    assert not NotificationPreference.objects.exists()


def test_the_page_speaks_korean(client, alice):
    client.force_login(alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"

    html = client.get(SETTINGS_URL).content.decode()

    assert '<html lang="ko"' in html
    assert "Notification settings" not in html and "Quiet hours may run past midnight" not in html
    assert "알림 설정" in html


# --- undelivered notifications on the launch page ----------------------------------------------------


@pytest.fixture(scope="module")
def shared_world(module_transaction) -> dict | None:
    """The launch, its people and its messages, built once per module (see ``module_transaction``)."""
    return built_world() if module_transaction else None


@pytest.fixture
def world(shared_world, db) -> dict:
    """The module's world, read back for each test (which runs in a savepoint of its own)."""
    return built_world() if shared_world is None else read_back(shared_world)


def built_world() -> dict:
    launch = ready_launch(slug="assistant")
    owner = launch.owner
    viewer = give_view(UserFactory(username="viewer"), launch)
    # On the launch, as everyone told of its stage changes is (a message to someone who no longer
    # sees the launch is dropped, not sent).
    reached = give_view(UserFactory(username="carol", first_name="Carol", last_name="Choi"), launch)

    def message(status, attempts, error, *, on=launch, channel="email", key="") -> OutboxMessage:
        return OutboxMessage.objects.create(
            event=NotificationEvent.STAGE_ADVANCED,
            key=key or f"advance:{OutboxMessage.objects.count()}",
            channel=channel,
            recipient=reached,
            launch=on,
            payload={"launch": on.name, "from": "Internal", "to": "Beta", "person": "Olive Owner"},
            link=f"/launches/{on.slug}/",
            status=status,
            attempts=attempts,
            last_error=error,
            sent_at=timezone.now() if status == OutboxStatus.SENT else None,
        )

    other = ready_launch(slug="other", name="Other launch", owner=owner)
    return {
        "launch": launch,
        "owner": owner,
        "viewer": viewer,
        "failed": message(OutboxStatus.FAILED, 30, "SMTPRecipientsRefused: <script>alert(1)</script>"),
        "retrying": message(OutboxStatus.PENDING, 3, "SlackError: the webhook answered HTTP 500", channel="slack"),
        "early": message(OutboxStatus.PENDING, 2, "SMTPServerDisconnected: early"),
        "sent": message(OutboxStatus.SENT, 1, ""),
        "elsewhere": message(OutboxStatus.FAILED, 30, "ConnectionRefused: other launch", on=other),
    }


def launch_page(client, user, launch):
    client.force_login(user)
    return client.get(reverse("web:launch", args=[launch.slug]))


def test_the_owner_sees_who_was_not_reached_how_often_and_why_escaped(client, world):
    html = launch_page(client, world["owner"], world["launch"]).content.decode()

    assert "Undelivered notifications" in html
    section = html[html.index('id="undelivered"') : html.index("</section>", html.index('id="undelivered"'))]
    assert section.count("Carol Choi") == 2  # the failed message and the one retrying after 3 attempts
    assert "SMTPRecipientsRefused: &lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert "<script>alert(1)" not in html
    assert "SlackError: the webhook answered HTTP 500" in section and ">Slack<" in section
    assert "early" not in section and "other launch" not in section  # 2 attempts; another launch's
    for shown in ("failed", "retrying"):
        assert reverse("web:retry-delivery", args=["assistant", world[shown].pk]) in section
    for hidden in ("early", "sent", "elsewhere"):
        assert f"/notifications/{world[hidden].pk}/retry/" not in section


def test_a_viewer_does_not_see_the_section(client, world):
    html = launch_page(client, world["viewer"], world["launch"]).content.decode()
    assert "Undelivered notifications" not in html and "SMTPRecipientsRefused" not in html


def test_the_section_costs_one_query_and_none_for_a_viewer(client, world, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def outbox_queries(user) -> int:
        launch_page(client, user, world["launch"])
        with CaptureQueriesContext(connection) as queries:
            assert launch_page(client, user, world["launch"]).status_code == 200
        return sum('"approvals_outboxmessage"' in q["sql"] for q in queries)

    assert outbox_queries(world["owner"]) == 1
    assert outbox_queries(world["viewer"]) == 0


def retry(client, user, slug, message):
    client.force_login(user)
    return client.post(reverse("web:retry-delivery", args=[slug, message.pk]))


@pytest.mark.parametrize("which", ["failed", "retrying"])
def test_the_owner_retries_now_and_it_is_sent(client, world, which, mailoutbox, django_capture_on_commit_callbacks):
    message = world[which]
    if message.channel == "slack":
        OutboxMessage.objects.filter(pk=message.pk).update(channel="email")
    with django_capture_on_commit_callbacks(execute=True):
        response = retry(client, world["owner"], "assistant", message)

    assert response.status_code == 302 and response["Location"] == "/launches/assistant/#undelivered"
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.SENT, 1)
    assert [mail.to for mail in mailoutbox] == [[message.recipient.email]]


def test_retrying_puts_the_message_back_due_now_with_fresh_attempts(client, world, django_capture_on_commit_callbacks):
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=False):
        retry(client, world["owner"], "assistant", world["failed"])

    message = OutboxMessage.objects.get(pk=world["failed"].pk)
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)
    assert before <= message.next_attempt_at <= timezone.now()
    assert message.last_error.startswith("SMTPRecipientsRefused")  # kept until the next attempt says otherwise


def unchanged(world, name) -> bool:
    message = OutboxMessage.objects.get(pk=world[name].pk)
    return (message.status, message.attempts) == (world[name].status, world[name].attempts)


def test_a_viewer_may_not_retry(client, world):
    assert retry(client, world["viewer"], "assistant", world["failed"]).status_code == 403
    assert unchanged(world, "failed")


def test_an_outsider_gets_404(client, world):
    assert retry(client, UserFactory(username="stranger"), "assistant", world["failed"]).status_code == 404
    assert unchanged(world, "failed")


def test_a_message_of_another_launch_is_404_through_this_one(client, world):
    assert retry(client, world["owner"], "assistant", world["elsewhere"]).status_code == 404
    assert unchanged(world, "elsewhere")


def test_a_sent_message_is_not_sent_again(client, world):
    response = retry(client, world["owner"], "assistant", world["sent"])
    assert response.status_code == 302
    assert unchanged(world, "sent")
    page = client.get(response["Location"]).content.decode()
    assert "This message was sent; there is nothing to retry." in page


def test_retrying_is_a_post(client, world):
    client.force_login(world["owner"])
    assert client.get(reverse("web:retry-delivery", args=["assistant", world["failed"].pk])).status_code == 405
    assert unchanged(world, "failed")


def test_the_owner_reads_the_failure_in_their_notifications_escaped_and_linked(client, world, monkeypatch):
    monkeypatch.setattr(outbox, "MAX_ATTEMPTS", 1)
    message = world["early"]
    OutboxMessage.objects.filter(pk=message.pk).update(last_error="", attempts=0)

    def refuse(**kwargs):
        raise ConnectionRefusedError("<b>mail server</b> down")

    monkeypatch.setattr(email, "send_mail", refuse)
    outbox.deliver_outbox(message_ids=[message.pk])

    client.force_login(world["owner"])
    html = client.get(reverse("web:notifications")).content.decode()
    assert "Carol Choi could not be reached about “Stage advanced” on Support assistant (E-mail; attempts: 1)." in html
    assert "Last error: ConnectionRefusedError: &lt;b&gt;mail server&lt;/b&gt; down" in html
    assert 'href="/launches/assistant/#undelivered"' in html
