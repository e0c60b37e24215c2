"""The decision page as a review, in a real browser: the lawyer reads the verdict and the facts,
asks the owner a question, the owner (told by a notice) replies on the same page, and the lawyer,
told of the reply, approves. Each page is axe-checked, at 1280 and at 390 px."""

import pytest

from approvals.models import SignoffComment, SignoffDecision, SignoffRequest
from approvals.services import signoffs_request
from notifications.models import Notification
from tests.browser.conftest import with_password
from tests.builders import ready_launch
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def legal_request() -> SignoffRequest:
    owner = with_password(UserFactory(username="pam", first_name="Pam", last_name="Okafor"))
    launch = ready_launch(owner=owner, slug="assistant", name="Support assistant")
    (request,) = signoffs_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.order_by("order").first(),
        functions=["legal"],
        message="Tickets hold personal data; retention is 30 days.",
    )
    return request


@pytest.mark.parametrize("width", [1280, 390])
def test_an_approver_asks_the_owner_replies_and_the_approver_approves(visit, legal_request, width):
    lawyer = with_password(legal_request.addressees.get())
    owner = legal_request.launch.owner
    url = f"/signoffs/{legal_request.pk}/"

    approver = visit("lawyer", width=width)
    approver.sign_in(lawyer.username)
    approver.goto(url)
    page = approver.page
    assert "Not ready to enter Internal: 1 gating item fails" in page.inner_text("#verdict")
    assert "Tickets hold personal data" in page.content()
    approver.snap("review")
    page.check("input[name=kind][value=question]")
    page.fill("#conversation textarea[name=body]", "Who may read the <tickets>?")
    page.click("#conversation button:has-text('Post')")
    page.wait_for_load_state()
    assert "Your message is posted." in page.content()
    assert "Who may read the <tickets>?" in page.inner_text("#conversation")
    approver.snap("asked")
    question = SignoffComment.objects.get(kind="question")
    assert Notification.objects.filter(recipient=owner, event="signoff_question").exists()

    pm = visit("owner", width=width)
    pm.sign_in(owner.username)
    pm.goto(f"{url}#message-{question.pk}")
    pm.page.click(f"#message-{question.pk} summary")
    pm.page.fill(f"#reply-{question.pk}", "Only the support team, logged.")
    pm.snap("replying")
    pm.page.click(f"#message-{question.pk} button:has-text('Post the reply')")
    pm.page.wait_for_load_state()
    assert "Your message is posted." in pm.page.content()
    pm.snap("replied")
    reply = SignoffComment.objects.get(kind="reply")
    assert (reply.author, reply.in_reply_to) == (owner, question)
    assert Notification.objects.filter(recipient=lawyer, event="signoff_reply").exists()

    approver.goto(url)
    assert "Only the support team, logged." in page.inner_text("#conversation")
    page.check("input[name=outcome][value=approve]")
    page.click("text=Record my decision")
    page.wait_for_load_state()
    assert "Your decision is recorded." in page.content()
    assert SignoffDecision.objects.get(request=legal_request).outcome == "approve"
