"""Starting a launch in the browser, confirming the template's proposals, and agreeing a quality
bar as its Accountable: each through the services, each refused to anyone else."""

from decimal import Decimal

import pytest
from django.urls import reverse

from raci.choices import AreaKind
from readiness.models import Launch
from readiness.services import fact_change, fact_version
from tests.builders import accountable_of, ready_launch
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW = {"name": "Claims triage", "summary": "", "risk_tier": "high", "target_date": ""}


def test_anyone_signed_in_starts_a_launch_from_the_template_and_owns_it(client):
    pm = UserFactory()
    client.force_login(pm)
    assert client.get(reverse("web:new-launch")).status_code == 200
    data = {**NEW, "template": "genai-feature", "monthly_cost_budget": "5000", "daily_cost_alert": "250"}
    response = client.post(reverse("web:new-launch"), data)
    assert response.status_code == 302
    launch = Launch.objects.get(name="Claims triage")
    assert (launch.owner, launch.risk_tier) == (pm, "high")
    assert [s.name for s in launch.ordered_stages()] == ["Internal", "Beta", "Full"]
    page = client.get(response.url).content.decode()
    assert "Launch “Claims triage” created." in page
    assert "Confirm the proposed values" in page


def test_a_blank_launch_has_no_facts_yet(client):
    client.force_login(UserFactory())
    client.post(reverse("web:new-launch"), {**NEW, "template": "blank"})
    assert not Launch.objects.get(name="Claims triage").stages.exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"monthly_cost_budget": "5000"},
            "daily_cost_alert",
            "Give the monthly cost budget and its daily alert together",
        ),
        ({"name": ""}, "name", "This field is required."),
    ],
    ids=str,
)
def test_bad_input_is_named_and_nothing_is_created(client, changes, field, message):
    client.force_login(UserFactory())
    response = client.post(reverse("web:new-launch"), {**NEW, "template": "genai-feature", **changes})
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert not Launch.objects.exists()


def test_the_owner_confirms_the_template_s_proposals(client):
    pm = UserFactory()
    client.force_login(pm)
    client.post(reverse("web:new-launch"), {**NEW, "template": "genai-feature"})
    launch = Launch.objects.get(name="Claims triage")
    stage = launch.stages.get(name="Internal")
    assert stage.proposed == ["exposure_percent"]
    url = reverse("web:fact-confirm", args=[launch.slug, "rolloutstage", stage.pk])
    outsider = UserFactory()
    client.force_login(outsider)
    assert client.post(url, {"seen_version": fact_version(stage)}).status_code == 404
    client.force_login(pm)
    assert client.post(url, {"seen_version": fact_version(stage)}).status_code == 302
    stage.refresh_from_db()
    assert stage.proposed == []


def test_the_accountable_agrees_a_changed_bar_and_only_they_see_the_control(client):
    launch = ready_launch(slug="assistant")
    bar = launch.quality_bars.get()
    fact_change(actor=launch.owner, fact=bar, seen_version=fact_version(bar), values={"min_samples": 500})
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    agree_url = reverse("web:fact-agree", args=[launch.slug, "qualitybar", bar.pk])

    client.force_login(launch.owner)
    assert agree_url not in client.get(reverse("web:launch", args=[launch.slug])).content.decode()
    assert client.post(agree_url, {"seen_version": fact_version(bar)}).status_code == 403

    client.force_login(accountable)
    assert agree_url in client.get(reverse("web:launch", args=[launch.slug])).content.decode()
    assert client.post(agree_url, {"seen_version": fact_version(bar)}).status_code == 302
    bar.refresh_from_db()
    assert bar.agreed_by == accountable
    assert bar.max_failure_rate == Decimal("0.05")
