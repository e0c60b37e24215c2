"""What PMs, approvers and outsiders do in a real browser (Chromium, headless), page by page, with
a screenshot and an axe-core check of every page visited."""

import datetime
from decimal import Decimal

import pytest

from approvals.models import SignoffDecision, SignoffRequest
from raci.models import Stakeholder
from readiness.models import Launch
from readiness.services import fact_change, fact_version, launch_change
from tests.browser.conftest import with_password
from tests.browser.steps import addressee, request_signoffs
from tests.builders import ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def launch():
    owner = with_password(UserFactory(username="pam", first_name="Pam", last_name="Okafor"))
    return ready_launch(owner=owner, slug="assistant", name="Support assistant")


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
    assert "SLO Latency p95 (ms), Target: 3000 ms → 4000 ms" in content
    assert "slos › latency_p95" not in content
    legal.snap("refused-stale")
    assert not SignoffDecision.objects.exists()


def person(username: str, first_name: str, last_name: str, function: str) -> Stakeholder:
    user = with_password(UserFactory(username=username, first_name=first_name, last_name=last_name))
    return StakeholderFactory(user=user, teams=[team_for(function)])


def test_a_pm_creates_a_launch_from_the_template_fills_the_facts_and_requests_sign_offs(visit):
    """Scenario (a): from the template to requested sign-offs, the people chosen in forms and in
    the RACI grid, in place."""
    with_password(UserFactory(username="pam", first_name="Pam", last_name="Okafor"))
    person("lena", "Lena", "Fischer", "legal")
    person("lee", "Lee", "Park", "legal")
    mia = person("mia", "Mia", "Chen", "ml")
    person("sam", "Sam", "Ito", "security")
    person("priya", "Priya", "Shah", "product")
    pm = visit("pm")
    pm.sign_in("pam")
    pm.goto("/")
    pm.page.click("text=New launch")
    pm.page.wait_for_load_state()
    pm.snap("new-launch")
    pm.page.fill("#id_name", "Claims triage")
    pm.page.select_option("#id_risk_tier", "high")
    pm.page.fill("#id_monthly_cost_budget", "5000")
    pm.page.fill("#id_daily_cost_alert", "250")
    pm.page.click("text=Create the launch")
    pm.page.wait_for_load_state()
    assert "Launch “Claims triage” created." in pm.page.content()
    pm.snap("created")

    # The template proposed the Internal stage's exposure: the PM confirms it.
    internal = Launch.objects.get(name="Claims triage").stages.get(name="Internal")
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
    launch = Launch.objects.get(name="Claims triage")
    asset = launch.data_assets.get()
    assert (asset.classification, asset.retention_days, asset.history.get().history_user.username) == (
        "personal",
        30,
        "pam",
    )

    # Stakeholders: the PM puts Lena in the Legal slot (only legal people are offered).
    slot = launch.stakeholder_slots.get(function="legal")
    pm.page.click(f"a[href$='/launchstakeholder/{slot.pk}/']")
    pm.page.wait_for_load_state()
    pm.page.select_option("#id_stakeholder", label="Lena Fischer (Legal)")
    pm.page.click("text=Save")
    pm.page.wait_for_load_state()
    assert "Saved Stakeholder slot" in pm.page.content()

    # The RACI: Mia joins model quality as Responsible through the form...
    quality = launch.areas.get(kind="model_quality")
    pm.page.click("text=Assign a person")
    pm.page.wait_for_load_state()
    pm.page.select_option("#id_area", label=quality.name)
    pm.page.select_option("#id_stakeholder", label="Mia Chen (ML)")
    pm.page.check("input[name=roles][value=R]")
    pm.page.click("text=Save")
    pm.page.wait_for_load_state()
    # ...and is made Accountable in the grid, in place: no page load.
    pm.page.evaluate("window.stillTheSamePage = true")
    cell = f"#cell-{quality.pk}-{mia.pk}"
    pm.page.click(f"{cell} a")
    pm.page.wait_for_selector(f"{cell} input[value=A]")
    pm.snap("raci-cell-open")
    pm.page.check(f"{cell} input[value=A]")
    pm.page.click(f"{cell} button[type=submit]")
    pm.page.wait_for_selector(f"{cell} abbr[title=Accountable]")
    assert pm.page.evaluate("window.stillTheSamePage") is True
    assert sorted(quality.assignments.filter(stakeholder=mia).values_list("role", flat=True)) == ["A", "R"]
    pm.snap("raci-edited-in-place")

    request_signoffs(pm, launch)
    routed = {
        request.function: [user.username for user in request.addressees.all()]
        for request in SignoffRequest.objects.filter(launch=launch)
    }
    assert routed["legal"] == ["lena"]  # the slot, not every lawyer
    assert routed["ml"] == ["mia"]  # the Accountable for model quality

    # Handed to someone else meanwhile, the launch is no longer Pam's to edit: the grid says so.
    launch.refresh_from_db()
    launch_change(actor=launch.owner, launch=launch, seen_version=fact_version(launch), values={"owner": mia.user})
    pm.page.click(f"{cell} a")
    pm.page.wait_for_selector("#htmx-messages li")
    assert "Reload the page" in pm.page.inner_text("#htmx-messages")
