"""What PMs, approvers and outsiders do in a real browser (Chromium, headless), page by page, with
a screenshot and an axe-core check of every page visited."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from approvals.models import SignoffDecision, SignoffRequest
from raci.choices import TeamFunction
from readiness.models import Launch
from readiness.services import fact_change, fact_version
from tests.browser.conftest import PASSWORD
from tests.builders import ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def with_password(user):
    user.set_password(PASSWORD)
    user.save()
    return user


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


def test_an_outsider_is_refused_every_launch_url(visit, launch):
    SignoffRequest.objects.all().delete()
    from approvals.services import signoffs_request

    signoff = signoffs_request(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"))[0]
    with_password(UserFactory(username="otto"))
    outsider = visit("outsider", width=390)
    outsider.sign_in("otto")
    outsider.goto("/")
    assert "Support assistant" not in outsider.page.content()
    outsider.snap("empty-portfolio")
    for path in (
        f"/launches/{launch.slug}/",
        f"/launches/{launch.slug}/advance/",
        f"/launches/{launch.slug}/rollback/",
        f"/signoffs/{signoff.pk}/",
    ):
        response = outsider.goto(path)
        assert response.status == 404, path
        assert "Nothing here" in outsider.page.content()
        assert "Support assistant" not in outsider.page.content()
    outsider.snap("not-found")
    assert get_user_model().objects.filter(username="otto").exists()


def test_an_executive_reads_the_portfolio_and_a_launch_in_korean(visit, launch):
    executive = with_password(StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)]).user)
    reader = visit("executive-ko", locale="ko-KR")
    reader.sign_in(executive.username)
    reader.goto("/")
    content = reader.page.content()
    assert '<html lang="ko">' in content
    assert "포트폴리오" in content and "Support assistant" in content
    reader.snap("portfolio-ko")
    reader.page.click("text=Support assistant")
    reader.page.wait_for_load_state()
    assert "Internal 단계 진입 준비 안 됨" in reader.page.content()
    reader.snap("launch-ko")
    phone = visit("executive-ko-phone", locale="ko-KR", width=390)
    phone.sign_in(executive.username)
    phone.goto(f"/launches/{launch.slug}/")
    phone.snap("launch-ko-phone")
