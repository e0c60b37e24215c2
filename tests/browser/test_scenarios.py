"""What PMs, approvers and outsiders do in a real browser (Chromium, headless), page by page, with
a screenshot and an axe-core check of every page visited."""

import datetime
from decimal import Decimal

import pytest

from approvals.models import SignoffDecision, SignoffRequest
from readiness.models import Launch
from readiness.services import fact_change, fact_version
from tests.browser.conftest import with_password
from tests.builders import ready_launch
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def launch():
    owner = with_password(UserFactory(username="pam", first_name="Pam", last_name="Okafor"))
    return ready_launch(owner=owner, slug="assistant", name="Support assistant")


def request_signoffs(pm, launch: Launch) -> None:
    pm.goto(f"/launches/{launch.slug}/")
    pm.snap("launch-before-requests")
    pm.page.fill("#id_due_date", (datetime.date.today() + datetime.timedelta(days=7)).isoformat())
    pm.page.fill("#id_message", "Please review the support assistant for Internal.")
    pm.page.click("text=Request sign-offs >> nth=-1")
    pm.page.wait_for_load_state()
    assert "Requested 4 sign-offs for Internal." in pm.page.content()
    pm.snap("launch-requested")


def addressee(launch: Launch, function: str):
    """The person the request for ``function`` was routed to (through the RACI and the slots)."""
    return with_password(SignoffRequest.objects.get(launch=launch, function=function).addressees.get())


def decide(approver, launch: Launch, outcome: str, comment: str = "") -> None:
    approver.goto("/signoffs/")
    approver.snap("inbox")
    approver.page.click(f"text={launch.name}")
    approver.page.wait_for_load_state()
    approver.snap("decision-page")
    approver.page.check(f"input[name=outcome][value={outcome}]")
    if comment:
        approver.page.fill("#id_comment", comment)
    approver.page.click("text=Record my decision")
    approver.page.wait_for_load_state()


def test_pm_requests_legal_approves_security_rejects_and_the_pm_sees_why(visit, launch):
    pm = visit("pm")
    pm.sign_in("pam")
    pm.goto("/")
    pm.snap("portfolio")
    request_signoffs(pm, launch)

    legal = visit("legal")
    legal.sign_in(addressee(launch, "legal").username)
    decide(legal, launch, "approve")
    assert "Your decision is recorded." in legal.page.content()
    legal.snap("after-approving")

    security = visit("security")
    security.sign_in(addressee(launch, "security").username)
    decide(security, launch, "reject", "The retention of support tickets is not documented.")
    assert "Your decision is recorded." in security.page.content()

    outcomes = dict(SignoffDecision.objects.values_list("request__function", "outcome"))
    assert outcomes == {"legal": "approve", "security": "reject"}
    pm.goto(f"/launches/{launch.slug}/")
    assert "The retention of support tickets is not documented." in pm.page.content()
    pm.snap("launch-after-rejection")


def test_an_approver_whose_page_went_stale_is_refused_and_sees_the_change(visit, launch):
    pm = visit("pm")
    pm.sign_in("pam")
    request_signoffs(pm, launch)
    legal = visit("legal")
    legal.sign_in(addressee(launch, "legal").username)
    legal.goto("/signoffs/")
    legal.page.click(f"text={launch.name}")
    legal.page.wait_for_load_state()

    slo = launch.slos.get(indicator="latency_p95")  # meanwhile the PM loosens an SLO
    fact_change(actor=launch.owner, fact=slo, seen_version=fact_version(slo), values={"target": Decimal("4000")})

    legal.page.check("input[name=outcome][value=approve]")
    legal.page.click("text=Record my decision")
    legal.page.wait_for_load_state()
    content = legal.page.content()
    assert "Changed while you were reading" in content
    assert "slos › latency_p95 › target: 3000 → 4000" in content
    legal.snap("refused-stale")
    assert not SignoffDecision.objects.exists()


def test_the_pm_advances_once_everyone_approved(visit, launch):
    pm = visit("pm")
    pm.sign_in("pam")
    request_signoffs(pm, launch)
    for function in ("legal", "security", "product", "ml"):
        approver = visit(function)
        approver.sign_in(addressee(launch, function).username)
        decide(approver, launch, "approve")
    pm.goto(f"/launches/{launch.slug}/")
    assert "Ready to enter Internal" in pm.page.content()
    pm.page.click("text=Advance to Internal…")
    pm.page.wait_for_load_state()
    pm.snap("advance-confirmation")
    pm.page.click("main button[type=submit]")
    pm.page.wait_for_load_state()
    assert "Support assistant is now in Internal." in pm.page.content()
    pm.snap("advanced")
    assert Launch.objects.get(pk=launch.pk).current_stage.name == "Internal"


def test_a_pm_creates_a_launch_from_the_template_and_fills_the_facts(visit):
    with_password(UserFactory(username="pam", first_name="Pam", last_name="Okafor"))
    pm = visit("pm")
    pm.sign_in("pam")
    pm.goto("/")
    pm.page.click("text=New launch")
    pm.page.wait_for_load_state()
    pm.snap("new-launch")
    pm.page.fill("#id_name", "Claims triage")
    pm.page.fill("#id_slug", "claims-triage")
    pm.page.select_option("#id_risk_tier", "high")
    pm.page.fill("#id_monthly_cost_budget", "5000")
    pm.page.fill("#id_daily_cost_alert", "250")
    pm.page.click("text=Create the launch")
    pm.page.wait_for_load_state()
    assert "Launch “Claims triage” created." in pm.page.content()
    pm.snap("created")

    # The template proposed the Internal stage's exposure: the PM confirms it.
    internal = Launch.objects.get(slug="claims-triage").stages.get(name="Internal")
    pm.page.locator(f"form[action$='/rolloutstage/{internal.pk}/confirm/'] button").click()
    pm.page.wait_for_load_state()
    internal.refresh_from_db()
    assert internal.proposed == []

    # A data asset, first with a mistake the form names, then right.
    pm.page.click("text=Add data asset")
    pm.page.wait_for_load_state()
    pm.page.fill("#id_name", "Claim forms")
    pm.page.select_option("#id_classification", "personal")
    pm.page.select_option("#id_access_level", "restricted")
    pm.page.fill("#id_retention_days", "0")
    pm.page.click("text=Save")
    pm.page.wait_for_load_state()
    assert "Ensure this value is greater than or equal to 1." in pm.page.content()
    pm.snap("data-asset-error")
    pm.page.fill("#id_retention_days", "30")
    pm.page.check("#id_masked_in_logs")
    pm.page.fill("#id_audit_interval_days", "90")
    pm.page.fill("#id_last_audit_at", datetime.date.today().isoformat())
    pm.page.click("text=Save")
    pm.page.wait_for_load_state()
    assert "Added data asset." in pm.page.content()
    pm.snap("facts-filled")
    launch = Launch.objects.get(slug="claims-triage")
    asset = launch.data_assets.get()
    assert (asset.classification, asset.retention_days, asset.history.get().history_user.username) == (
        "personal",
        30,
        "pam",
    )
