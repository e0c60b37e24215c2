"""Addressees are e-mailed once per request, after the request is committed; notifying is idempotent."""

import datetime

import pytest
from django.utils import timezone

from approvals.ledger import verify
from approvals.notifications import signoff_request_notify
from approvals.services import signoff_withdraw, signoffs_request
from approvals.tasks import notify_signoff_request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_intact(db):
    yield
    assert verify().ok


def stage(launch, name: str):
    return launch.stages.get(name=name)


def test_requesting_sign_offs_emails_each_request_once_after_commit(
    launch, owner, mailoutbox, django_capture_on_commit_callbacks
):
    due = timezone.localdate() + datetime.timedelta(days=5)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        requests = signoffs_request(
            actor=owner, launch=launch, stage=stage(launch, "Internal"), due_date=due, message="Eval report attached."
        )

    assert len(callbacks) == 2
    assert len(mailoutbox) == 2
    by_subject = {mail.subject: mail for mail in mailoutbox}
    for request in requests:
        request.refresh_from_db()
        mail = by_subject[f"[Preflight] Support assistant: {request.get_function_display()} sign-off for Internal"]
        assert mail.to == [u.email for u in request.addressees.all()]
        assert f"Olive Owner asks for your sign-off by {due.isoformat()}" in mail.body
        assert "Eval report attached." in mail.body
        assert request.notified_at is not None
        assert request.history.first().history_user == owner
        assert request.history.first().history_change_reason == "Addressees notified"


def test_no_email_is_sent_before_the_request_is_committed(
    launch, owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        requests = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))

    assert len(callbacks) == 2
    assert mailoutbox == []
    for request in requests:
        request.refresh_from_db()
        assert request.notified_at is None


def test_a_request_to_several_people_is_one_email_to_all_of_them(
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

    (mail,) = mailoutbox
    assert sorted(mail.to) == ["addressee@example.com", "delegate@example.com"]
    assert mail.subject == "[Preflight] Support assistant: Legal sign-off for Beta"


def test_notifying_twice_sends_one_email(launch, owner, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        (request,) = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"), functions=["ml"])

    assert signoff_request_notify(request_id=request.pk) is True
    assert signoff_request_notify(request_id=request.pk) is False

    assert len(mailoutbox) == 1
    request.refresh_from_db()
    assert request.history.filter(history_change_reason="Addressees notified").count() == 1


def test_running_the_task_twice_sends_one_email(launch, owner, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        (request,) = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"), functions=["ml"])

    assert notify_signoff_request.delay(request.pk).get() is False

    assert len(mailoutbox) == 1


def test_a_request_closed_before_commit_is_not_emailed(launch, owner, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"), functions=["ml"])
        again = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"), functions=["ml"])

    assert len(callbacks) == 2
    assert len(mailoutbox) == 1
    first[0].refresh_from_db()
    again[0].refresh_from_db()
    assert first[0].notified_at is None
    assert again[0].notified_at is not None


def test_a_withdrawn_request_is_not_emailed(launch, owner, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        (request,) = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"), functions=["ml"])
    signoff_withdraw(actor=owner, signoff=request)

    assert signoff_request_notify(request_id=request.pk) is False
    assert mailoutbox == []


def test_an_unknown_request_is_not_emailed(db, mailoutbox):
    assert signoff_request_notify(request_id=987654) is False
    assert mailoutbox == []
