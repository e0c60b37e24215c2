"""The decision page reads like a review: the verdict for the stage with every failing gating item
named, the facts in plain words with the approver's function's first, what changed since their
last decision as before/after, the requester's message, and a conversation on the sign-off —
questions to the owner, replies and comments, each posted as the rendered form submits it,
refused to who is not party to the request, escaped, ledgered, told to the other side, and
recorded once however often the form is sent."""

import re
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals.choices import MessageKind
from approvals.models import SignoffComment, SignoffRequest
from approvals.services import signoff_comment, signoff_decide, signoffs_request
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from notifications.models import Notification
from readiness.checklist import evaluate
from readiness.choices import AccessLevel, Classification
from readiness.models import Launch
from readiness.selectors import launch_with_facts
from readiness.services import fact_change, fact_version
from tests.builders import approve_signoffs, ready_launch
from tests.factories import DataAssetFactory, UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_launch(django_db_setup, django_db_blocker) -> int:
    with django_db_blocker.unblock(), transaction.atomic():
        launch = ready_launch(owner=UserFactory(username="pam", first_name="Pam", last_name="Okafor"))
        # As the demo has it: a need-to-know asset beside the personal one the builder adds.
        DataAssetFactory(
            launch=launch,
            name="Escalation notes",
            classification=Classification.CONFIDENTIAL,
            access_level=AccessLevel.NEED_TO_KNOW,
            masked_in_logs=True,
            retention_days=90,
            audit_interval_days=180,
            last_audit_at=timezone.localdate(),
        )
        yield launch.pk
        transaction.set_rollback(True)


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    return Launch.objects.select_related("owner").get(pk=shared_launch)


@pytest.fixture
def signoff(launch) -> SignoffRequest:
    """The legal sign-off for the first stage, routed to one lawyer, with the owner's message."""
    (request,) = signoffs_request(
        actor=launch.owner,
        launch=launch,
        stage=launch.stages.order_by("order").first(),
        functions=["legal"],
        message="Please look at the <b>support tickets</b> asset first.",
    )
    return request


@pytest.fixture
def lawyer(signoff):
    return signoff.addressees.get()


def decide_url(signoff) -> str:
    return reverse("web:decide", args=[signoff.pk])


def converse_url(signoff) -> str:
    return reverse("web:converse", args=[signoff.pk])


def section(html: str, marker: str) -> str:
    return html.split(marker, 1)[1].split("</section>", 1)[0]


class _Forms(HTMLParser):
    """The forms as a browser submits them: hidden inputs, checked radios, textareas, buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "fields": [], "radios": {}, "buttons": []})
        elif not self.forms:
            return
        elif tag == "input" and attrs.get("type") == "radio":
            self.forms[-1]["radios"].setdefault(attrs["name"], []).append(attrs["value"])
            if "checked" in attrs:
                self.forms[-1]["fields"].append([attrs["name"], attrs["value"]])
        elif tag == "input" and attrs.get("type") not in ("submit", "checkbox"):
            self.forms[-1]["fields"].append([attrs.get("name"), attrs.get("value", "")])
        elif tag == "textarea":
            self._textarea = [attrs.get("name"), ""]
            self.forms[-1]["fields"].append(self._textarea)
        elif tag == "button" and attrs.get("type", "submit") == "submit":
            self.forms[-1]["buttons"].append((attrs.get("name"), attrs.get("value", "")))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None


def message_forms(html: str, signoff) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return [form for form in parser.forms if form["action"] == converse_url(signoff)]


def body_of(form: dict, **chosen) -> str:
    """What the browser sends when the form's one button is clicked, with ``chosen`` values."""
    pairs = [(name, str(chosen.get(name, value))) for name, value in form["fields"]]
    (button,) = form["buttons"]
    if button[0]:
        pairs.append(button)
    return urlencode(pairs)


def post_form(client, signoff, form: dict, **chosen):
    return client.post(converse_url(signoff), body_of(form, **chosen), content_type="application/x-www-form-urlencoded")


def _is_reply(form: dict) -> bool:
    return any(name == "in_reply_to" for name, _value in form["fields"])


def the_new_message_form(client, signoff) -> dict:
    (form,) = [f for f in message_forms(client.get(decide_url(signoff)).content.decode(), signoff) if not _is_reply(f)]
    return form


def the_reply_form(client, signoff, message) -> dict:
    html = client.get(decide_url(signoff)).content.decode()
    (form,) = [f for f in message_forms(html, signoff) if ["in_reply_to", str(message.pk)] in f["fields"]]
    return form


# --- the verdict ------------------------------------------------------------------------------------


def test_the_verdict_names_every_failing_gating_item(client, launch, signoff, lawyer):
    # Break two facts the first stage's gate reads: an asset loses its class, the rollback plan goes.
    launch.data_assets.filter(name="Help-centre articles").update(classification="", access_level="")
    launch.rollback_plan.__class__.objects.filter(launch=launch).update(procedure="")
    facts = launch_with_facts(launch.pk)
    stage = launch.stages.get(pk=signoff.stage_id)
    blockers = evaluate(facts, stage, ignore_order=True).blockers
    assert len(blockers) >= 2  # the sign-offs themselves, and at least the data classes
    client.force_login(lawyer)
    verdict = section(client.get(decide_url(signoff)).content.decode(), 'id="verdict"')
    assert f"Not ready to enter {stage.name}: {len(blockers)} gating items fail" in verdict
    for blocker in blockers:
        assert f"{blocker.number}. {blocker.title}" in verdict
        for reason in blocker.reasons:
            assert str(reason).replace("'", "&#x27;").replace('"', "&quot;") in verdict


def test_the_verdict_says_so_when_every_gating_item_passes(client, launch):
    (approved, *_) = approve_signoffs(launch, "Internal")
    approver = approved.addressees.first()
    client.force_login(approver)
    verdict = section(client.get(decide_url(approved)).content.decode(), 'id="verdict"')
    assert "Every gating item for Internal passes" in verdict
    assert "Not ready" not in verdict


# --- the facts, in plain words ------------------------------------------------------------------------


def test_the_facts_read_in_plain_words_with_the_approver_s_function_first(client, launch, signoff, lawyer):
    client.force_login(lawyer)
    html = client.get(decide_url(signoff)).content.decode()
    facts = section(html, 'id="facts"')
    # Legal reads the data first.
    first = re.findall(r'class="card fact-section[^"]*" id="facts-(\w+)"', facts)
    assert first[0] == "dataasset"
    # Choices by their label, fractions as percentages, yes/no: no key, path, True or raw fraction.
    assert "Need to know (named teams)" in facts and "Restricted (named people, logged)" in facts
    bar = launch.quality_bars.get()
    assert f"{(bar.max_failure_rate * 100).normalize():f} %" in facts
    for raw in ("need_to_know", "restricted<", "True", "False", " › ", "personal<"):
        assert raw not in facts, raw
    assert not re.search(r">\s*0\.\d+\s*<", facts)
    assert "Masked in logs:</span> yes" in facts
    # The requester's message, escaped.
    assert "Please look at the &lt;b&gt;support tickets&lt;/b&gt; asset first." in html


def test_what_changed_since_my_last_decision_is_shown_before_and_after(client, launch, signoff, lawyer):
    client.force_login(lawyer)
    shown = client.get(decide_url(signoff)).context["form"].initial["fingerprint"]
    client.post(decide_url(signoff), {"outcome": "approve", "fingerprint": shown})
    bar = launch.quality_bars.get()
    before = bar.max_failure_rate
    fact_change(
        actor=launch.owner, fact=bar, seen_version=fact_version(bar), values={"max_failure_rate": Decimal("0.02")}
    )
    since = section(client.get(decide_url(signoff)).content.decode(), 'id="since-last"')
    assert "Quality bar" in since and bar.metric in since and "Maximum failure rate" in since
    assert f"<del>{(before * 100).normalize():f} %</del>" in since
    assert "<ins>2 %</ins>" in since
    assert "max failure rate" not in since and "0.02" not in since and " › " not in since
    # The verdict says the approval went stale in the same words.
    verdict = section(client.get(decide_url(signoff)).content.decode(), 'id="verdict"')
    assert f"approval by {lawyer.get_full_name()} is stale — facts changed since: Quality bar {bar.metric}" in verdict
    assert f"Maximum failure rate: {(before * 100).normalize():f} % → 2 %" in verdict
    assert " › " not in verdict and "0.02" not in verdict


# --- the conversation ---------------------------------------------------------------------------------


def test_an_approver_asks_the_owner_a_question_who_is_told_and_it_is_ledgered(client, launch, signoff, lawyer):
    client.force_login(lawyer)
    form = the_new_message_form(client, signoff)
    assert form["radios"]["kind"] == [MessageKind.COMMENT, MessageKind.QUESTION]
    response = post_form(client, signoff, form, kind="question", body="Who reviews the <b>tickets</b>?")
    assert response.status_code == 302
    message = SignoffComment.objects.get(request=signoff)
    assert response["Location"] == f"{decide_url(signoff)}#message-{message.pk}"
    assert (message.author, message.kind, message.body) == (lawyer, "question", "Who reviews the <b>tickets</b>?")
    assert message.history.get().history_user == lawyer
    told = Notification.objects.filter(event="signoff_question", key=f"signoff-message:{message.pk}")
    assert [n.recipient for n in told] == [launch.owner]
    entry = LedgerEntry.objects.filter(event=LedgerEvent.SIGNOFF_MESSAGE).get()
    assert (entry.payload["message"], entry.payload["kind"], entry.launch_id) == (message.pk, "question", launch.pk)
    assert verify().ok
    # Shown escaped, to the owner as to everyone.
    client.force_login(launch.owner)
    page = client.get(decide_url(signoff)).content.decode()
    assert "Who reviews the &lt;b&gt;tickets&lt;/b&gt;?" in page and "<b>tickets</b>" not in page
    # ... and in the launch's history.
    history = client.get(reverse("web:history", args=[launch.slug])).content.decode()
    assert "Message on a sign-off" in history


def test_sending_the_same_form_twice_records_the_message_once(client, launch, signoff, lawyer):
    client.force_login(lawyer)
    form = the_new_message_form(client, signoff)
    for _ in range(2):
        assert post_form(client, signoff, form, kind="question", body="Retention?").status_code == 302
    assert SignoffComment.objects.filter(request=signoff).count() == 1
    assert LedgerEntry.objects.filter(event=LedgerEvent.SIGNOFF_MESSAGE).count() == 1
    assert Notification.objects.filter(event="signoff_question").count() == 1
    # A fresh form is a new message.
    assert post_form(client, signoff, the_new_message_form(client, signoff), body="And audits?").status_code == 302
    assert SignoffComment.objects.filter(request=signoff).count() == 2


def test_the_owner_replies_and_the_asker_is_told(client, launch, signoff, lawyer):
    client.force_login(lawyer)
    post_form(client, signoff, the_new_message_form(client, signoff), kind="question", body="Retention?")
    question = SignoffComment.objects.get(request=signoff)
    client.force_login(launch.owner)
    owner_form = the_new_message_form(client, signoff)
    assert "radios" not in owner_form or "kind" not in owner_form["radios"]  # the owner asks nobody
    response = post_form(client, signoff, the_reply_form(client, signoff, question), body="30 days, then deleted.")
    assert response.status_code == 302
    reply = SignoffComment.objects.get(kind="reply")
    assert (reply.author, reply.in_reply_to) == (launch.owner, question)
    assert [n.recipient for n in Notification.objects.filter(event="signoff_reply")] == [lawyer]
    page = client.get(decide_url(signoff)).content.decode()
    assert "In reply to" in page and "30 days, then deleted." in page


def test_the_owner_s_comment_goes_to_the_approvers(client, launch, signoff, lawyer):
    client.force_login(launch.owner)
    assert post_form(client, signoff, the_new_message_form(client, signoff), body="Updated the asset.").status_code
    assert [n.recipient for n in Notification.objects.filter(event="signoff_comment")] == [lawyer]


def test_an_owner_s_question_is_refused_with_the_reason(client, launch, signoff):
    client.force_login(launch.owner)
    form = the_new_message_form(client, signoff)
    response = post_form(client, signoff, form, kind="question", body="?")
    assert response.status_code == 200
    assert "Questions go to the launch owner" in response.content.decode()
    assert not SignoffComment.objects.exists()


def test_an_empty_message_is_shown_again_with_the_reason(client, signoff, lawyer):
    client.force_login(lawyer)
    response = post_form(client, signoff, the_new_message_form(client, signoff), body="  ")
    assert response.status_code == 200
    assert "This field is required." in section(response.content.decode(), 'id="conversation"')
    assert not SignoffComment.objects.exists()


def test_posting_is_refused_to_who_is_not_party_to_the_request(client, launch, signoff, lawyer):
    client.force_login(lawyer)
    form = the_new_message_form(client, signoff)
    viewer = give_view(UserFactory(), launch)
    client.force_login(viewer)
    page = client.get(decide_url(signoff)).content.decode()
    assert message_forms(page, signoff) == []  # they read the conversation, with no form
    assert post_form(client, signoff, form, body="Me too").status_code == 403
    client.force_login(UserFactory())
    assert post_form(client, signoff, form, body="Me too").status_code == 404
    client.logout()
    assert post_form(client, signoff, form, body="Me too").status_code == 302  # to sign in
    assert not SignoffComment.objects.exists()
    assert not Notification.objects.filter(event__startswith="signoff_c").exists()


def test_requesting_changes_opens_the_conversation_with_the_comment(client, launch, signoff, lawyer):
    client.force_login(lawyer)
    shown = client.get(decide_url(signoff)).context["form"].initial["fingerprint"]
    response = client.post(
        decide_url(signoff), {"outcome": "request_changes", "comment": "Name the ticket owner.", "fingerprint": shown}
    )
    assert response["Location"] == f"{decide_url(signoff)}#conversation"
    opening = SignoffComment.objects.get(request=signoff)
    assert (opening.kind, opening.body, opening.decision.outcome) == (
        "decision",
        "Name the ticket owner.",
        "request_changes",
    )
    client.force_login(launch.owner)
    conversation = section(client.get(decide_url(signoff)).content.decode(), 'id="conversation"')
    assert "Request changes" in conversation and "Name the ticket owner." in conversation
    post_form(client, signoff, the_reply_form(client, signoff, opening), body="Done: Dana owns them.")
    assert [n.recipient for n in Notification.objects.filter(event="signoff_reply")] == [lawyer]
    assert verify().ok


def test_the_page_s_queries_do_not_grow_with_the_conversation(
    client, launch, signoff, lawyer, django_assert_max_num_queries
):
    client.force_login(lawyer)
    signoff_decide(actor=lawyer, signoff=signoff, outcome="request_changes", comment="First.")
    question = signoff_comment(actor=lawyer, signoff=signoff, kind="question", body="Q?")
    with CaptureQueriesContext(connection) as short:
        client.get(decide_url(signoff))
    for number in range(8):
        signoff_comment(actor=launch.owner, signoff=signoff, kind="reply", body=f"A{number}", in_reply_to=question)
    with django_assert_max_num_queries(len(short)):
        response = client.get(decide_url(signoff))
    assert response.content.decode().count('class="message ') == 10
    assert len(short) <= 45, len(short)
