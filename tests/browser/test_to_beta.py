"""Scenarios (b) and (c) in a real browser: for Beta, legal approves and security rejects with a
comment; the PM reads why, fixes the fact, requests again, gets both approvals and advances. A
module of its own so that the suite's two workers share the browser tests evenly."""

import pytest

from approvals.models import SignoffDecision, SignoffRequest
from approvals.services import signoff_decide
from readiness.models import Launch
from tests.browser.conftest import with_password
from tests.browser.steps import addressee, decide, request_signoffs
from tests.builders import launch_at
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_security_rejects_the_pm_fixes_the_fact_and_advances_to_beta_with_both_approvals(visit):
    """Scenarios (b) and (c): for Beta, legal approves and security rejects with a comment; the PM
    reads why, fixes the fact, requests again, gets both approvals and advances."""
    owner = with_password(UserFactory(username="pam", first_name="Pam", last_name="Okafor"))
    launch = launch_at("Internal", owner=owner, slug="assistant", name="Support assistant")
    pm = visit("pm")
    pm.sign_in("pam")
    pm.goto("/")
    pm.snap("portfolio", axe=False)  # the crawl checks the owner's portfolio
    request_signoffs(pm, launch, "Beta")

    legal = visit("legal")
    legal.sign_in(addressee(launch, "legal").username)
    decide(legal, launch, "approve")
    assert "Your decision is recorded." in legal.page.content()
    legal.snap("after-approving")

    security = visit("security")
    security.sign_in(addressee(launch, "security").username)
    reason = "Support tickets are kept 30 days; our policy allows 14."
    decide(security, launch, "reject", reason)
    assert "Your decision is recorded." in security.page.content()
    outcomes = dict(
        SignoffDecision.objects.filter(request__stage__name="Beta").values_list("request__function", "outcome")
    )
    assert outcomes == {"legal": "approve", "security": "reject"}

    pm.goto(f"/launches/{launch.slug}/")
    assert reason in pm.page.content()
    pm.snap("launch-after-rejection")
    tickets = launch.data_assets.get(name="Support tickets")
    pm.page.click(f"a[href$='/dataasset/{tickets.pk}/']")
    pm.page.wait_for_load_state()
    pm.page.fill("#id_retention_days", "14")
    pm.page.click("text=Save")
    pm.page.wait_for_load_state()
    assert "Saved Data asset" in pm.page.content()
    pm.snap("fact-fixed")

    request_signoffs(pm, launch, "Beta")
    decide(legal, launch, "approve")
    decide(security, launch, "approve")
    others = SignoffRequest.objects.filter(stage__name="Beta", status="pending").exclude(
        function__in=["legal", "security"]
    )
    for request in others:  # the other functions approve off-screen
        signoff_decide(actor=request.addressees.first(), signoff=request, outcome="approve")

    pm.goto(f"/launches/{launch.slug}/")
    assert "Ready to enter Beta" in pm.page.content()
    pm.page.click("text=Advance to Beta…")
    pm.page.wait_for_load_state()
    pm.snap("advance-confirmation")
    pm.page.click("main button[type=submit]")
    pm.page.wait_for_load_state()
    assert "Support assistant is now in Beta." in pm.page.content()
    pm.snap("advanced")
    assert Launch.objects.get(pk=launch.pk).current_stage.name == "Beta"
