"""An approver sets an out-of-office delegate through the page's own form in a real browser
(button included); a sign-off request made while they are away goes to that colleague, who finds
it in My sign-offs, and the approver ends the period early from the same page."""

import datetime

import pytest
from django.utils import timezone

from approvals.models import OutOfOffice
from approvals.services import signoffs_request
from raci.choices import AreaKind, TeamFunction
from tests.browser.conftest import with_password
from tests.builders import accountable_of, ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_approver_away_has_new_requests_go_to_their_colleague(visit):
    owner = with_password(UserFactory(username="pam", first_name="Pam", last_name="Okafor"))
    launch = ready_launch(owner=owner, slug="assistant", name="Support assistant")
    lawyer = with_password(accountable_of(launch, AreaKind.POLICY).user)
    colleague = with_password(
        StakeholderFactory(
            user=UserFactory(username="lee", first_name="Lee", last_name="Counsel"),
            teams=[team_for(TeamFunction.LEGAL)],
        ).user
    )
    today = timezone.localdate()

    approver = visit("lawyer")
    approver.sign_in(lawyer.username)
    approver.goto("/signoffs/")
    approver.page.click("text=Out of office? Name who stands in for you")
    approver.page.wait_for_load_state()
    approver.page.select_option("select[name=delegate]", label="Lee Counsel (Legal)")
    approver.page.fill("input[name=starts_on]", today.isoformat())
    approver.page.fill("input[name=ends_on]", (today + datetime.timedelta(days=7)).isoformat())
    approver.page.fill("input[name=reason]", "Conference week")
    approver.page.click("button:has-text('Set out of office')")
    approver.page.wait_for_load_state()
    assert "new sign-off requests for you go to Lee Counsel" in approver.page.content()
    approver.snap("out-of-office-set")
    period = OutOfOffice.objects.get(person=lawyer)
    assert (period.delegate, period.starts_on, period.ended_at) == (colleague, today, None)

    (request,) = signoffs_request(
        actor=owner, launch=launch, stage=launch.stages.order_by("order").first(), functions=["legal"]
    )
    assert list(request.addressees.all()) == [colleague]

    stand_in = visit("colleague")
    stand_in.sign_in(colleague.username)
    stand_in.goto("/signoffs/")
    assert "Support assistant" in stand_in.page.content()
    stand_in.snap("colleague-inbox")

    approver.page.click("button:has-text('End now')")
    approver.page.wait_for_load_state()
    assert "new requests come to you again" in approver.page.content()
    period.refresh_from_db()
    assert period.ended_at is not None
