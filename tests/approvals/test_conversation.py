"""``signoff_comment``: who may write in a sign-off's conversation (the launch's owner side and the
people asked, delegates included; not a viewer, nor an outsider), what each kind of message needs,
whom it tells, that it is ledgered, and that a form sent twice records one message."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import translation

from approvals.models import SignoffComment, SignoffRequest
from approvals.services import signoff_comment, signoff_decide, signoff_delegate, signoff_withdraw, signoffs_request
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from notifications.events import describe
from notifications.models import Notification
from tests.helpers import admin_url, archive

pytestmark = pytest.mark.django_db


@pytest.fixture
def signoff(launch, owner, addressee):
    (request,) = signoffs_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.order_by("order").first(),
        functions=["legal"],
        addressees={"legal": [addressee]},
    )
    return request


def told(event: str) -> list:
    return [n.recipient for n in Notification.objects.filter(event=event).order_by("pk")]


def test_a_delegate_asks_and_the_owner_is_told(signoff, owner, addressee, delegate):
    signoff_delegate(actor=addressee, signoff=signoff, delegate=delegate)
    message = signoff_comment(actor=delegate, signoff=signoff, kind="question", body="Which tickets?")
    assert message.kind == "question" and told("signoff_question") == [owner]
    entry = LedgerEntry.objects.get(event=LedgerEvent.SIGNOFF_MESSAGE)
    assert entry.payload["message"] == message.pk and entry.actor == delegate.username
    assert verify().ok


def test_a_comment_goes_to_the_other_side(signoff, owner, addressee, delegate):
    signoff_delegate(actor=addressee, signoff=signoff, delegate=delegate)
    signoff_comment(actor=owner, signoff=signoff, kind="comment", body="Asset updated.")
    assert sorted(p.username for p in told("signoff_comment")) == sorted([addressee.username, delegate.username])
    signoff_comment(actor=addressee, signoff=signoff, kind="comment", body="Thanks.")
    assert told("signoff_comment")[-1] == owner


@pytest.mark.parametrize("who", ["viewer", "other_approver", "executive"])
def test_who_sees_the_launch_but_is_not_party_to_the_request_may_not_post(request, signoff, who):
    person = request.getfixturevalue(who)
    with pytest.raises((PermissionDenied, Http404)):
        signoff_comment(actor=person, signoff=signoff, kind="comment", body="Me too")
    assert not SignoffComment.objects.exists() and not LedgerEntry.objects.filter(event="signoff_message").exists()


def test_an_outsider_is_answered_as_if_the_launch_did_not_exist(signoff, outsider):
    with pytest.raises(Http404):
        signoff_comment(actor=outsider, signoff=signoff, kind="comment", body="Hello")


def test_a_reply_needs_a_message_of_the_same_request(launch, signoff, owner, addressee):
    question = signoff_comment(actor=addressee, signoff=signoff, kind="question", body="?")
    with pytest.raises(ValidationError, match="Reply to a message"):
        signoff_comment(actor=owner, signoff=signoff, kind="reply", body="!")
    (other,) = signoffs_request(
        actor=owner, launch=launch, stage=launch.stages.order_by("order").first(), functions=["security"]
    )
    foreign = signoff_comment(actor=owner, signoff=other, kind="comment", body="elsewhere")
    with pytest.raises(ValidationError, match="Reply to a message"):
        signoff_comment(actor=owner, signoff=signoff, kind="reply", body="!", in_reply_to=foreign)
    reply = signoff_comment(actor=owner, signoff=signoff, kind="reply", body="!", in_reply_to=question)
    assert told("signoff_reply") == [addressee] and reply.in_reply_to == question


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        ("shout", "x", "Choose a comment"),
        ("decision", "x", "Choose a comment"),
        ("comment", "   ", "Write a message"),
        ("comment", "x" * 5001, "At most"),
    ],
)
def test_bad_input_is_refused_naming_the_problem(signoff, addressee, kind, body, message):
    with pytest.raises(ValidationError, match=message):
        signoff_comment(actor=addressee, signoff=signoff, kind=kind, body=body)


def test_the_owner_asks_nobody_a_question(signoff, owner):
    with pytest.raises(ValidationError, match="Questions go to the launch owner"):
        signoff_comment(actor=owner, signoff=signoff, kind="question", body="?")


def test_the_same_token_records_once_and_tells_once(signoff, owner, addressee):
    first = signoff_comment(actor=addressee, signoff=signoff, kind="question", body="?", token="abc")
    again = signoff_comment(actor=addressee, signoff=signoff, kind="question", body="?", token="abc")
    assert first.pk == again.pk
    assert SignoffComment.objects.count() == 1 and told("signoff_question") == [owner]
    assert LedgerEntry.objects.filter(event=LedgerEvent.SIGNOFF_MESSAGE).count() == 1
    # The same token from someone else is their own message.
    signoff_comment(actor=owner, signoff=signoff, kind="comment", body="!", token="abc")
    assert SignoffComment.objects.count() == 2


def test_a_withdrawn_request_or_an_archived_launch_takes_no_message(launch, signoff, owner, addressee):
    signoff_withdraw(actor=owner, signoff=signoff, reason="Too early")
    with pytest.raises(ValidationError, match="withdrawn"):
        signoff_comment(actor=owner, signoff=signoff, kind="comment", body="x")
    (fresh,) = signoffs_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.order_by("order").first(),
        functions=["legal"],
        addressees={"legal": [addressee]},
    )
    archive(launch)
    with pytest.raises(ValidationError, match="archived"):
        signoff_comment(actor=addressee, signoff=fresh, kind="comment", body="x")


def test_a_change_request_opens_the_conversation_recorded_by_the_decision_s_own_entry(signoff, addressee):
    decision = signoff_decide(actor=addressee, signoff=signoff, outcome="request_changes", comment="Fix it.")
    opening = SignoffComment.objects.get()
    assert (opening.kind, opening.decision, opening.body, opening.author) == (
        "decision",
        decision,
        "Fix it.",
        addressee,
    )
    assert opening.history.get().history_user == addressee
    entry = LedgerEntry.objects.order_by("-sequence").first()
    assert (entry.event, entry.payload["comment"]) == (LedgerEvent.DECIDED, "Fix it.")
    assert not LedgerEntry.objects.filter(event=LedgerEvent.SIGNOFF_MESSAGE).exists()
    # An approval opens nothing.
    signoff_decide(actor=addressee, signoff=signoff, outcome="approve")
    assert SignoffComment.objects.count() == 1
    assert verify().ok


def test_messages_are_never_edited_nor_deleted(signoff, addressee):
    message = signoff_comment(actor=addressee, signoff=signoff, kind="comment", body="x")
    message.body = "y"
    with pytest.raises(ValidationError):
        message.save()
    with pytest.raises(ValidationError):
        message.delete()


def test_the_notices_read_in_the_recipient_s_language(signoff, owner, addressee):
    signoff_comment(actor=addressee, signoff=signoff, kind="question", body="Which tickets?")
    notice = Notification.objects.get(event="signoff_question")
    with translation.override("ko"):
        subject, lines = describe(notice.event, notice.payload)
    assert "질문했습니다" in lines[0] and "법무" in lines[0] and lines[-1] == "Which tickets?"
    with translation.override("en"):
        subject, lines = describe(notice.event, notice.payload)
    assert lines[0] == (
        f"{addressee.get_full_name()} asks you a question on the Legal sign-off for {signoff.stage.name}:"
    )


def test_the_admin_shows_the_conversation_on_the_request_read_only(admin_client, signoff, addressee):
    signoff_comment(actor=addressee, signoff=signoff, kind="question", body="Which <tickets>?")
    page = admin_client.get(admin_url(SignoffRequest, "change", signoff.pk)).content.decode()
    assert "Which &lt;tickets&gt;?" in page
    assert 'name="comments-0-body"' not in page  # shown, not editable
