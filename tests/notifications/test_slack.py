"""Slack through a team's incoming webhook, against a real HTTP server on 127.0.0.1 (a thread of
the standard library's ``ThreadingHTTPServer``): the message reaches the team's channel in the
recipient's language, with only whom it is for and a link to their notices (never the launch, a
stage, a person or their words), escaped; a failing webhook is retried with the
outbox's back-off and given up after ``MAX_ATTEMPTS`` (the launch's owner is told); a webhook
removed from the settings drops its messages with the reason."""

from __future__ import annotations

import datetime
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from approvals.choices import NotificationEvent
from approvals.models import SignoffRequest
from approvals.services import signoffs_request
from notifications import outbox
from notifications.choices import DeliveryEvent, OutboxStatus
from notifications.models import Notification, OutboxMessage
from notifications.outbox import deliver_outbox
from notifications.services import notification_preferences_set, notify
from raci.services import language_set
from readiness.models import Launch
from tests.helpers import give_view

pytestmark = pytest.mark.django_db


class Webhook:
    """A local stand-in for Slack's webhook endpoint: records each POST and answers with the next
    of ``answers`` (status codes; the last one repeats), after ``delay`` seconds."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.answers: list[int] = [200]
        self.delay = 0.0
        self.redirect_to = ""
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the standard library's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                webhook.received.append(
                    {"path": self.path, "content_type": self.headers["Content-Type"], "body": json.loads(body)}
                )
                time.sleep(webhook.delay)
                status = webhook.answers.pop(0) if len(webhook.answers) > 1 else webhook.answers[0]
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", webhook.redirect_to)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no")

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    @property
    def texts(self) -> list[str]:
        return [request["body"]["text"] for request in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(settings):
    server = Webhook()
    settings.SLACK_WEBHOOKS = {"Legal": server.url("/services/legal")}
    yield server
    server.stop()


@pytest.fixture
def slack_only(addressee):
    """The addressee keeps Slack only, so each test has one message to follow."""
    notification_preferences_set(
        actor=addressee, email=False, slack=True, mode="immediate", quiet_from=None, quiet_until=None, time_zone=""
    )
    return addressee


def request_legal(launch, owner, addressee, message="Please review the data processing terms.") -> SignoffRequest:
    (request,) = signoffs_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        functions=["legal"],
        addressees={"legal": [addressee]},
        message=message,
    )
    return request


def slack_message(request) -> OutboxMessage:
    return request.outbox_messages.get(channel="slack")


def test_the_post_reaches_the_team_channel_with_only_whom_it_is_for_and_a_link(
    launch, owner, slack_only, webhook, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = request_legal(launch, owner, slack_only)

    (received,) = webhook.received
    assert received["path"] == "/services/legal"
    assert received["content_type"] == "application/json; charset=utf-8"
    # A team channel may hold people who do not see the launch: no launch, no stage, nobody
    # else's name, no words; the link is to the recipient's notices, not to a page whose address
    # names the launch.
    assert received["body"] == {
        "text": "Ada Dressee: you have a new notice in Preflight.\nhttp://127.0.0.1:8000/notifications/"
    }
    message = slack_message(request)
    assert (message.status, message.attempts, message.last_error) == (OutboxStatus.SENT, 1, "")
    assert not request.outbox_messages.filter(channel="email").exists()


def test_the_post_speaks_the_recipients_language(
    launch, owner, slack_only, webhook, django_capture_on_commit_callbacks
):
    language_set(actor=slack_only, language="ko")

    with django_capture_on_commit_callbacks(execute=True):
        request_legal(launch, owner, slack_only)

    (text,) = webhook.texts
    assert text.splitlines() == ["Ada Dressee: Preflight에 새 알림이 있습니다.", "http://127.0.0.1:8000/notifications/"]


def test_user_text_never_reaches_the_channel(launch, owner, slack_only, webhook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request_legal(launch, owner, slack_only, message="<!channel> see <https://evil.example|the terms> & sign")

    (text,) = webhook.texts
    assert "channel" not in text and "evil.example" not in text


def test_a_post_about_a_rollback_or_a_waiver_names_no_launch_stage_person_or_words(
    launch, owner, slack_only, webhook, django_capture_on_commit_callbacks
):
    """Whatever the event, the post is the same two lines: the stage rollback (with the owner's
    reason) and the waiver decision (with the decider's comment) reach the channel as nothing but
    whom they are for and the link."""
    Launch.objects.filter(pk=launch.pk).update(name="Project Nightingale", slug="nightingale")
    launch.refresh_from_db()
    give_view(slack_only, launch)  # only who sees the launch is told anything (tests/notifications/test_audience.py)
    for event, text in (
        (NotificationEvent.STAGE_ROLLED_BACK, "Rolled back: the breach at Acme is confirmed."),
        (NotificationEvent.WAIVER_DECIDED, "Approved: Acme's lawyers signed off in the meeting."),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            notify(
                event=event,
                key=f"review:{event}",
                launch=launch,
                actor=owner,
                recipients=[slack_only],
                payload={
                    "launch": launch.name,
                    "stage": "Beta",
                    "from": "Beta",
                    "to": "Internal",
                    "check": "signoffs",
                    "outcome": "approved",
                    "person": "Olive Owner",
                    "text": text,
                },
                link=f"/launches/{launch.slug}/",
                waiting_for=[slack_only],  # told at once, not filed for a digest
            )

    assert (
        webhook.texts == ["Ada Dressee: you have a new notice in Preflight.\nhttp://127.0.0.1:8000/notifications/"] * 2
    )
    for forbidden in ("Nightingale", "nightingale", "Beta", "Internal", "Olive", "Acme", "breach", "lawyers"):
        assert all(forbidden not in text for text in webhook.texts), forbidden


def test_a_recipients_name_cannot_mention_or_link_anyone(
    launch, owner, slack_only, webhook, django_capture_on_commit_callbacks
):
    slack_only.first_name, slack_only.last_name = "<!channel>", "& <https://evil.example|terms>"
    slack_only.save()
    with django_capture_on_commit_callbacks(execute=True):
        request_legal(launch, owner, slack_only)

    (text,) = webhook.texts
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|terms&gt;" in text
    assert "<!channel>" not in text and "<https://evil" not in text


def test_a_500_is_retried_with_back_off_then_delivered_once(
    launch, owner, slack_only, webhook, django_capture_on_commit_callbacks
):
    webhook.answers = [500, 500, 200]

    with django_capture_on_commit_callbacks(execute=True):
        request = request_legal(launch, owner, slack_only)  # the request does not fail

    message = slack_message(request)
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert message.last_error == "SlackError: the webhook answered HTTP 500"
    assert "/services/legal" not in message.last_error  # the secret URL is never stored
    first_retry = message.next_attempt_at
    assert first_retry - message.created_at >= datetime.timedelta(minutes=1)
    assert deliver_outbox(now=first_retry - datetime.timedelta(seconds=1))["retrying"] == 0  # not due yet

    assert deliver_outbox(now=first_retry)["retrying"] == 1
    message.refresh_from_db()
    assert message.next_attempt_at == first_retry + datetime.timedelta(minutes=2)

    assert deliver_outbox(now=message.next_attempt_at)["sent"] == 1
    assert deliver_outbox(now=message.next_attempt_at + datetime.timedelta(days=1))["sent"] == 0
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (OutboxStatus.SENT, 3, "")
    assert len(webhook.received) == 3


def test_a_webhook_that_keeps_failing_is_given_up_and_the_owner_is_told(
    launch, owner, slack_only, webhook, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(outbox, "MAX_ATTEMPTS", 3)
    webhook.answers = [503]
    with django_capture_on_commit_callbacks(execute=True):
        request = request_legal(launch, owner, slack_only)
    later = timezone.now() + datetime.timedelta(days=1)

    assert deliver_outbox(now=later)["retrying"] == 1
    counts = deliver_outbox(now=later + datetime.timedelta(days=1))
    assert (counts["failed"], counts["sent"]) == (1, 1)  # given up; the owner's mail about it sent
    assert deliver_outbox(now=later + datetime.timedelta(days=2)) == dict.fromkeys(outbox.OUTCOMES, 0)

    message = slack_message(request)
    assert (message.status, message.attempts) == (OutboxStatus.FAILED, 3)
    assert len(webhook.received) == 3
    notice = Notification.objects.get(event=DeliveryEvent.FAILED)
    assert notice.recipient == owner
    assert notice.key.startswith(f"outbox:{message.pk}:")
    assert notice.link == f"/launches/{launch.slug}/#undelivered"
    assert notice.payload == {
        "launch": "Support assistant",
        "person": "Ada Dressee",
        "channel": "slack",
        "about": "signoff_requested",
        "attempts": 3,
        "error": "SlackError: the webhook answered HTTP 503",
    }
    (mail,) = mailoutbox
    assert mail.to == [owner.email]
    assert "Ada Dressee could not be reached about “Sign-off requested” on Support assistant (Slack; attempts: 3)." in (
        mail.body
    )
    assert "Last error: SlackError: the webhook answered HTTP 503" in mail.body


def test_a_webhook_removed_from_the_settings_drops_its_messages_with_the_reason(
    launch, owner, slack_only, webhook, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        request = request_legal(launch, owner, slack_only)
    settings.SLACK_WEBHOOKS = {}

    assert deliver_outbox() == {"sent": 0, "dropped": 1, "retrying": 0, "failed": 0}

    message = slack_message(request)
    assert message.status == OutboxStatus.DROPPED
    assert message.last_error == "Not sent: none of the recipient's teams has a Slack webhook any more."
    assert webhook.received == []


def test_turning_slack_off_before_delivery_drops_the_message(
    launch, owner, slack_only, webhook, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        request = request_legal(launch, owner, slack_only)
    notification_preferences_set(
        actor=slack_only, email=False, slack=False, mode="immediate", quiet_from=None, quiet_until=None, time_zone=""
    )

    assert deliver_outbox()["dropped"] == 1
    assert slack_message(request).last_error == "Not sent: the recipient turned Slack off."
    assert webhook.received == []


def test_a_webhook_that_does_not_answer_in_time_is_a_failure_retried_later(
    launch, owner, slack_only, webhook, settings, django_capture_on_commit_callbacks
):
    settings.SLACK_TIMEOUT_SECONDS = 0.2
    webhook.delay = 1.0

    with django_capture_on_commit_callbacks(execute=True):
        request = request_legal(launch, owner, slack_only)

    message = slack_message(request)
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert "within 0.2 seconds" in message.last_error or "timed out" in message.last_error


def test_a_redirect_is_a_failure_and_is_not_followed(
    launch, owner, slack_only, webhook, django_capture_on_commit_callbacks
):
    webhook.answers = [302]
    webhook.redirect_to = webhook.url("/elsewhere")

    with django_capture_on_commit_callbacks(execute=True):
        request = request_legal(launch, owner, slack_only)

    assert [received["path"] for received in webhook.received] == ["/services/legal"]
    message = slack_message(request)
    assert (message.status, message.last_error) == (
        OutboxStatus.PENDING,
        "SlackError: the webhook answered with a redirect (HTTP 302)",
    )


def test_a_webhook_nobody_listens_on_is_a_failure_retried_later(
    launch, owner, slack_only, settings, django_capture_on_commit_callbacks
):
    closed = Webhook()
    settings.SLACK_WEBHOOKS = {"Legal": closed.url("/services/legal")}
    closed.stop()  # the port is closed now: connection refused

    with django_capture_on_commit_callbacks(execute=True):
        request = request_legal(launch, owner, slack_only)

    message = slack_message(request)
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert message.last_error.startswith("SlackError: the webhook could not be reached")
