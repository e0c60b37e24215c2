"""Notifications never fail a saved request: `signoffs_request` writes one outbox message per
addressee inside its transaction and asks for delivery after commit. A broker that is down or a
mail server that fails costs a delay, never the request; a later drain (the task beat runs, or
`manage.py deliver_notifications`) sends each mail once. Concurrent drains, on PostgreSQL:
``test_outbox_concurrency`` (its transactional tests would deny this module its shared launch, see
``module_transaction``)."""

from __future__ import annotations

import datetime
import logging
import smtplib
from io import StringIO

import pytest
from celery import Celery
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from approvals.choices import NotificationEvent
from approvals.models import SignoffRequest
from approvals.services import signoff_withdraw, signoffs_request
from config.celery import app as project_app
from ledger.verification import verify
from notifications import outbox, services
from notifications.channels import email
from notifications.choices import DeliveryEvent, OutboxStatus
from notifications.models import OutboxMessage
from notifications.outbox import deliver_outbox
from notifications.tasks import deliver_notifications
from readiness.choices import Classification
from readiness.i18n import shown_date
from readiness.models import Launch
from tests.factories import seal

pytestmark = pytest.mark.django_db

# Where enqueueing failures are logged, and where the drain logs retries and give-ups.
SERVICES_LOG, OUTBOX_LOG = "notifications.services", "notifications.outbox"


@pytest.fixture(autouse=True)
def ledger_stays_intact(db):
    yield
    assert verify().ok


def stage(launch, name: str):
    return launch.stages.get(name=name)


def request_ml(launch, owner, **kwargs) -> SignoffRequest:
    (request,) = signoffs_request(
        actor=owner, launch=launch, stage=stage(launch, "Internal"), functions=["ml"], **kwargs
    )
    return request


def call_command_output(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def deliveries(callbacks) -> list:
    """The on-commit callbacks that enqueue mail (the ledger's anchor writes are the others)."""
    return [callback for callback in callbacks if getattr(callback, "func", None) is services.enqueue_delivery]


def statuses(**filters) -> list[str]:
    return list(OutboxMessage.objects.filter(**filters).order_by("pk").values_list("status", flat=True))


@pytest.fixture
def launch(launch):
    """The ready launch with its support tickets no longer personal data, so entering Internal
    asks two people (product, ML): these tests count mails, not which functions must approve."""
    tickets = launch.data_assets.get(classification=Classification.PERSONAL)
    tickets.classification = Classification.INTERNAL
    tickets.save()  # stands for the Accountable's declassification (tests/conftest.py)
    return launch


@pytest.fixture
def broker_down(monkeypatch):
    """Enqueueing fails the way kombu does when it cannot reach the broker."""

    def refuse(*args, **kwargs):
        raise BrokerUnavailable("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    task = deliver_notifications._get_current_object()
    monkeypatch.setattr(task, "delay", refuse)
    monkeypatch.setattr(task, "apply_async", refuse)


class FlakyMailServer:
    """Stands in for `send_mail`: fails while `down`, then sends through the real one."""

    def __init__(self, error: Exception):
        self.error, self.down, self.calls = error, True, 0

    def __call__(self, **kwargs):
        self.calls += 1
        if self.down:
            raise self.error
        return send_mail_for_real(**kwargs)


send_mail_for_real = email.send_mail


@pytest.fixture
def mail_server_down(monkeypatch):
    server = FlakyMailServer(smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))
    monkeypatch.setattr(email, "send_mail", server)
    return server


# --- the happy path --------------------------------------------------------------------------------


def test_requesting_sign_offs_mails_each_addressee_once_after_commit(
    launch, owner, mailoutbox, django_capture_on_commit_callbacks
):
    due = timezone.localdate() + datetime.timedelta(days=5)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        requests = signoffs_request(
            actor=owner, launch=launch, stage=stage(launch, "Internal"), due_date=due, message="Eval report attached."
        )

    assert len(deliveries(callbacks)) == 1  # one delivery for the whole call
    addressees = [person for request in requests for person in request.addressees.all()]
    assert len(mailoutbox) == len(addressees) == 2
    by_recipient = {tuple(mail.to): mail for mail in mailoutbox}
    for request in requests:
        for person in request.addressees.all():
            mail = by_recipient[(person.email,)]
            assert (
                mail.subject == f"[Preflight] Support assistant: {request.get_function_display()} sign-off for Internal"
            )
            assert f"Olive Owner asks for your sign-off by {shown_date(due)}" in mail.body
            assert "Eval report attached." in mail.body
            message = request.outbox_messages.get(recipient=person)
            assert message.event == NotificationEvent.SIGNOFF_REQUESTED
            assert (message.status, message.attempts, message.last_error) == (OutboxStatus.SENT, 1, "")
            assert message.sent_at is not None
        # Delivery is plumbing: it writes no history on the governance record.
        assert {h.history_change_reason for h in request.history.all()} == {"Requested for Internal"}


def test_nothing_is_sent_before_the_request_is_committed(launch, owner, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        requests = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))

    assert len(deliveries(callbacks)) == 1
    assert mailoutbox == []
    assert statuses(subject_id__in=[r.pk for r in requests]) == [OutboxStatus.PENDING] * 2


def test_a_request_to_several_people_is_one_mail_to_each(
    launch, owner, addressee, delegate, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signoffs_request(
            actor=owner,
            launch=launch,
            stage=stage(launch, "Beta"),
            functions=["legal"],
            addressees={"legal": [addressee, delegate]},
        )

    assert sorted(mail.to for mail in mailoutbox) == [["addressee@example.com"], ["delegate@example.com"]]
    assert {mail.subject for mail in mailoutbox} == {"[Preflight] Support assistant: Legal sign-off for Beta"}


def test_an_addressee_without_an_email_address_gets_no_message(
    launch, owner, addressee, delegate, mailoutbox, django_capture_on_commit_callbacks
):
    delegate.email = ""
    delegate.save()

    with django_capture_on_commit_callbacks(execute=True):
        (request,) = signoffs_request(
            actor=owner,
            launch=launch,
            stage=stage(launch, "Beta"),
            functions=["legal"],
            addressees={"legal": [addressee, delegate]},
        )

    assert list(request.outbox_messages.values_list("recipient", flat=True)) == [addressee.pk]
    assert [mail.to for mail in mailoutbox] == [["addressee@example.com"]]


def test_one_message_per_event_request_and_recipient(launch, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        request = request_ml(launch, owner)
    message = request.outbox_messages.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        OutboxMessage.objects.create(
            event=message.event, subject=request, recipient=message.recipient, channel=message.channel
        )


# --- the broker is down ----------------------------------------------------------------------------


def test_with_the_broker_down_the_request_is_saved_and_a_later_drain_sends_the_mail(
    launch, owner, broker_down, mailoutbox, caplog, django_capture_on_commit_callbacks
):
    with caplog.at_level(logging.ERROR, logger=SERVICES_LOG), django_capture_on_commit_callbacks(execute=True):
        requests = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))

    assert SignoffRequest.objects.filter(pk__in=[r.pk for r in requests], status="pending").count() == 2
    assert statuses() == [OutboxStatus.PENDING] * 2
    assert mailoutbox == []
    (record,) = [r for r in caplog.records if r.name == SERVICES_LOG]
    assert "stay pending for the periodic drain" in record.getMessage()
    assert record.exc_info[0] is BrokerUnavailable

    out = call_command_output("deliver_notifications")

    assert out == "Outbox: 2 sent, 0 dropped, 0 retrying, 0 failed; 0 pending.\n"
    assert statuses() == [OutboxStatus.SENT] * 2
    assert len(mailoutbox) == 2


def test_with_no_broker_reachable_at_all_the_request_still_returns(
    launch, owner, mailoutbox, caplog, django_capture_on_commit_callbacks
):
    """Not a stub: a real Celery app whose Redis broker refuses connections, as in production."""
    app = Celery("preflight-unreachable", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(task_always_eager=False, broker_url="redis://127.0.0.1:1/0")
    app.set_current()
    try:
        with caplog.at_level(logging.ERROR, logger=SERVICES_LOG), django_capture_on_commit_callbacks(execute=True):
            request = request_ml(launch, owner)
    finally:
        project_app.set_current()

    assert request.pk is not None
    assert statuses() == [OutboxStatus.PENDING]
    assert any(r.name == SERVICES_LOG and r.exc_info for r in caplog.records)
    assert deliver_notifications.delay().get() == {"sent": 1, "dropped": 0, "retrying": 0, "failed": 0}
    assert len(mailoutbox) == 1


def test_the_command_sends_at_most_its_limit_and_says_what_is_left(
    launch, owner, broker_down, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))
    due = OutboxMessage.objects.order_by("pk").last().next_attempt_at

    out = call_command_output("deliver_notifications", "--limit", "1")

    assert (
        out
        == f"Outbox: 1 sent, 0 dropped, 0 retrying, 0 failed; 1 pending, next due {due.isoformat(timespec='seconds')}.\n"
    )
    assert len(mailoutbox) == 1


def test_the_periodic_drain_is_scheduled_every_minute():
    (entry,) = [e for e in project_app.conf.beat_schedule.values() if e["task"] == deliver_notifications.name]
    assert entry["schedule"] == 60.0
    assert deliver_notifications.name == "notifications.tasks.deliver_notifications"


# --- the mail server fails -------------------------------------------------------------------------


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


def test_a_mail_error_is_recorded_backed_off_and_retried_until_sent_once(
    launch, owner, mail_server_down, mailoutbox, caplog, django_capture_on_commit_callbacks
):
    with caplog.at_level(logging.WARNING, logger=OUTBOX_LOG), django_capture_on_commit_callbacks(execute=True):
        request = request_ml(launch, owner)  # does not raise

    message = request.outbox_messages.get()
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert message.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    first_retry = message.next_attempt_at
    assert first_retry - message.created_at >= datetime.timedelta(minutes=1)
    assert any(r.name == OUTBOX_LOG and r.exc_info for r in caplog.records)

    # Not due yet: a drain right away leaves it alone.
    assert deliver_outbox()["retrying"] == 0
    assert mail_server_down.calls == 1

    # Due: fails again and waits twice as long.
    assert deliver_outbox(now=first_retry)["retrying"] == 1
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.next_attempt_at == first_retry + datetime.timedelta(minutes=2)

    mail_server_down.down = False
    assert deliver_outbox(now=message.next_attempt_at)["sent"] == 1
    assert deliver_outbox(now=message.next_attempt_at + datetime.timedelta(hours=1))["sent"] == 0

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (OutboxStatus.SENT, 3, "")
    assert len(mailoutbox) == 1


def test_one_failing_message_does_not_stop_the_others(
    launch, owner, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        requests = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))
    unlucky = requests[0].addressees.get().email

    def send_mail(**kwargs):
        if kwargs["recipient_list"] == [unlucky]:
            raise smtplib.SMTPRecipientsRefused({unlucky: (550, b"mailbox unavailable")})
        return send_mail_for_real(**kwargs)

    monkeypatch.setattr(email, "send_mail", send_mail)

    assert deliver_outbox() == {"sent": 1, "dropped": 0, "retrying": 1, "failed": 0}
    assert [mail.to for mail in mailoutbox] == [[requests[1].addressees.get().email]]


def test_a_header_breaking_launch_name_fails_the_mail_not_the_request(
    launch, owner, mailoutbox, django_capture_on_commit_callbacks
):
    # However it got there (the validation refuses it now), a newline in a subject is BadHeaderError.
    Launch.objects.filter(pk=launch.pk).update(name="Support assistant\nBcc: everyone@example.com")
    launch.refresh_from_db()
    seal(launch)  # an old row, recorded as it stands: this test is about the mail, not the ledger

    with django_capture_on_commit_callbacks(execute=True):
        request = request_ml(launch, owner)

    message = request.outbox_messages.get()
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert message.last_error.startswith("BadHeaderError")
    assert mailoutbox == []


def test_a_message_that_keeps_failing_is_given_up_and_logged(
    launch, owner, mail_server_down, monkeypatch, mailoutbox, caplog, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(outbox, "MAX_ATTEMPTS", 3)
    with django_capture_on_commit_callbacks(execute=True):
        request = request_ml(launch, owner)
    later = timezone.now() + datetime.timedelta(days=1)

    with caplog.at_level(logging.ERROR, logger=OUTBOX_LOG):
        assert deliver_outbox(now=later)["retrying"] == 1
        # Given up; the owner's notice of it is mailed in the same drain (and fails too, for now).
        assert deliver_outbox(now=later + datetime.timedelta(days=1)) == {
            "sent": 0,
            "dropped": 0,
            "retrying": 1,
            "failed": 1,
        }

    message = request.outbox_messages.get()
    assert (message.status, message.attempts, message.sent_at) == (OutboxStatus.FAILED, 3, None)
    assert mail_server_down.calls == 4
    assert any("Gave up on outbox message" in r.getMessage() for r in caplog.records if r.name == OUTBOX_LOG)
    (told,) = OutboxMessage.objects.filter(event=DeliveryEvent.FAILED)
    assert (told.recipient, told.status) == (owner, OutboxStatus.PENDING)
    mail_server_down.down = False
    assert deliver_outbox(now=later + datetime.timedelta(days=2))["sent"] == 1
    (mail,) = mailoutbox
    assert mail.to == [owner.email]
    assert mail.subject == "[Preflight] Support assistant: A notification could not be delivered"
    assert (
        f"{message.recipient.get_full_name()} could not be reached about “Sign-off requested” on "
        "Support assistant (E-mail; attempts: 3)." in mail.body
    )
    assert "Last error: SMTPServerDisconnected: Connection unexpectedly closed" in mail.body


# --- idempotence -----------------------------------------------------------------------------------


def test_a_message_sent_again_carries_the_same_message_id(
    launch, owner, mailoutbox, django_capture_on_commit_callbacks
):
    """A worker killed after the mail server accepted a message but before "sent" committed sends
    it again; the copy keeps its Message-ID, so servers and mail clients recognise it."""
    with django_capture_on_commit_callbacks(execute=True):
        request = request_ml(launch, owner)
    message = request.outbox_messages.get()
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxStatus.PENDING, sent_at=None)
    assert deliver_outbox()["sent"] == 1
    first, again = mailoutbox
    sent_ids = [mail.message()["Message-ID"] for mail in (first, again)]
    assert sent_ids == [email.message_id(message)] * 2
    assert email.message_id(OutboxMessage(pk=message.pk + 1, created_at=message.created_at)) != sent_ids[0]


def test_draining_twice_sends_each_mail_once(launch, owner, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        requests = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))
    ids = list(OutboxMessage.objects.values_list("pk", flat=True))

    assert deliver_outbox(message_ids=ids)["sent"] == 2
    assert deliver_outbox(message_ids=ids)["sent"] == 0
    assert deliver_notifications.delay(ids).get()["sent"] == 0
    assert deliver_notifications.delay().get()["sent"] == 0
    assert call_command_output("deliver_notifications").startswith("Outbox: 0 sent,")

    assert len(mailoutbox) == 2
    assert statuses(subject_id__in=[r.pk for r in requests]) == [OutboxStatus.SENT] * 2


def test_delivering_given_ids_leaves_other_messages_alone(
    launch, owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        first, second = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))

    assert deliver_outbox(message_ids=[first.outbox_messages.get().pk])["sent"] == 1
    assert statuses(subject_id=second.pk) == [OutboxStatus.PENDING]
    assert len(mailoutbox) == 1


# --- messages no longer relevant -------------------------------------------------------------------


def test_a_request_superseded_before_commit_is_not_mailed(
    launch, owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = request_ml(launch, owner)
        again = request_ml(launch, owner)

    assert len(deliveries(callbacks)) == 2
    assert len(mailoutbox) == 1
    dropped = first.outbox_messages.get()
    assert dropped.status == OutboxStatus.DROPPED
    assert dropped.last_error == "Not sent: the request was superseded by a newer request before delivery."
    assert statuses(subject_id=again.pk) == [OutboxStatus.SENT]


def test_a_withdrawn_request_is_not_mailed_only_its_withdrawal(
    launch, owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        request = request_ml(launch, owner)
    signoff_withdraw(actor=owner, signoff=request)

    assert deliver_outbox() == {"sent": 1, "dropped": 1, "retrying": 0, "failed": 0}
    assert statuses(subject_id=request.pk) == [OutboxStatus.DROPPED]
    (mail,) = mailoutbox
    assert mail.subject == "[Preflight] Support assistant: Sign-off withdrawn"
    assert mail.to == [request.addressees.get().email]


def test_a_deactivated_recipient_is_not_mailed(launch, owner, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        request = request_ml(launch, owner)
    person = request.addressees.get()
    person.is_active = False
    person.save()

    assert deliver_outbox()["dropped"] == 1
    assert mailoutbox == []


def test_an_empty_outbox_drains_to_nothing(db, mailoutbox):
    assert deliver_outbox(message_ids=[987654]) == dict.fromkeys(outbox.OUTCOMES, 0)
    assert (
        call_command_output("deliver_notifications") == "Outbox: 0 sent, 0 dropped, 0 retrying, 0 failed; 0 pending.\n"
    )
    assert mailoutbox == []


def test_a_sender_address_with_a_name_gives_the_message_id_its_domain(settings):
    settings.DEFAULT_FROM_EMAIL = "Preflight <preflight@example.com>"
    message = OutboxMessage(pk=7, created_at=timezone.now())
    assert email.message_id(message).endswith("@example.com>")
