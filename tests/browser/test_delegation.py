"""An approver delegates a sign-off through the decision page's own form in a real browser, and the
colleague finds it in My sign-offs and decides it. The form's button once shared the select's name,
so the browser sent the button's ``1`` as the delegate and delegation never worked."""

import pytest

from approvals.models import SignoffDecision, SignoffDelegation, SignoffRequest
from approvals.services import signoffs_request
from raci.choices import TeamFunction
from tests.browser.conftest import with_password
from tests.builders import ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def legal_request() -> SignoffRequest:
    owner = with_password(UserFactory(username="pam", first_name="Pam", last_name="Okafor"))
    launch = ready_launch(owner=owner, slug="assistant", name="Support assistant")
    (request,) = signoffs_request(
        actor=owner, launch=launch, stage=launch.stages.order_by("order").first(), functions=["legal"]
    )
    return request


def test_an_approver_delegates_through_the_form_and_the_colleague_decides(visit, legal_request):
    lawyer = with_password(legal_request.addressees.get())
    colleague = with_password(
        StakeholderFactory(
            user=UserFactory(username="lee", first_name="Lee", last_name="Counsel"),
            teams=[team_for(TeamFunction.LEGAL)],
        ).user
    )

    approver = visit("lawyer")
    approver.sign_in(lawyer.username)
    approver.goto(f"/signoffs/{legal_request.pk}/")
    approver.snap("decision-page", axe=False)  # the crawl checks decision pages (delegation form and all)
    approver.page.select_option("select[name=delegate]", label="Lee Counsel")
    approver.page.fill("textarea[name=reason]", "On leave next week.")
    approver.page.click("button:has-text('Delegate')")
    approver.page.wait_for_load_state()
    assert "Delegated to Lee Counsel." in approver.page.content()
    approver.snap("delegated")
    delegation = SignoffDelegation.objects.get(request=legal_request)
    assert (delegation.delegator, delegation.delegate, delegation.reason) == (lawyer, colleague, "On leave next week.")

    stand_in = visit("colleague")
    stand_in.sign_in(colleague.username)
    stand_in.goto("/signoffs/")
    stand_in.page.click("text=Support assistant >> nth=0")
    stand_in.page.wait_for_load_state()
    stand_in.page.check("input[name=outcome][value=approve]")
    stand_in.page.click("text=Record my decision")
    stand_in.page.wait_for_load_state()
    assert "Your decision is recorded." in stand_in.page.content()
    stand_in.snap("decided")
    decision = SignoffDecision.objects.get(request=legal_request)
    assert (decision.decided_by, decision.on_behalf_of, decision.outcome) == (colleague, lawyer, "approve")
