"""The app's main forms, each posted exactly as a browser submits the page the view rendered: its
hidden inputs and defaults, the fields a person sets, and the clicked button's own name and value
(``tests.helpers.submit``). A test that builds its own POST body can pass while the rendered form
cannot succeed: the delegation form's button once shared the select's name, so the server read
the button's ``1`` and every delegation failed (issue 20, point 1)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.models import SignoffDecision, SignoffDelegation, SignoffRequest, Waiver
from approvals.services import signoffs_request
from operations.models import Incident
from raci.choices import AreaKind, Role, TeamFunction
from raci.models import RaciAssignment, Stakeholder
from raci.services import quality_bar_agree
from readiness.models import DataAsset, Launch
from readiness.services import fact_change, fact_version
from tests.builders import accountable_of, ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import form_data, read_back, submit

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_world(module_transaction) -> dict:
    """Pam's ready launch; its quality bar changed after agreement (so a waiver has something to
    waive); a newcomer with no role yet; another lawyer to delegate to."""
    owner = UserFactory(username="pam", first_name="Pam", last_name="Okafor")
    launch = ready_launch(owner=owner, slug="assistant")
    bar = launch.quality_bars.get()
    fact_change(actor=owner, fact=bar, seen_version=fact_version(bar), values={"failure_definition": "A wrong answer."})
    return {
        "launch": launch,
        "owner": owner,
        "colleague": StakeholderFactory(
            user=UserFactory(username="lee", first_name="Lee", last_name="Counsel"),
            teams=[team_for(TeamFunction.LEGAL)],
        ).user,
        "newcomer": StakeholderFactory(user=UserFactory(first_name="Nia", last_name="Newcomer")),
    }


@pytest.fixture
def world(shared_world, db) -> dict:
    return read_back(shared_world)


def page(client, user, url: str, **params):
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    return response


def legal_request(launch: Launch) -> SignoffRequest:
    (request,) = signoffs_request(
        actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"), functions=["legal"]
    )
    return request


def soon(days: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


# --- the helper itself ----------------------------------------------------------------------------


FORM = """<form method="post" action="/x/" id="f">
  <input type="hidden" name="token" value="t"><input name="note" value="kept">
  <select name="who"><option value="">---</option><option value="7" selected>Lee</option></select>
  <input type="checkbox" name="roles" value="R" checked><input type="checkbox" name="roles" value="A">
  <textarea name="why">
Because</textarea><input name="off" value="x" disabled>
  <button type="submit" name="who" value="1">Go</button><button type="submit">Other</button>
</form>"""


def test_the_helper_sends_what_a_browser_sends_button_included():
    _, pairs = form_data(FORM, "#f", roles=["A"])
    # The button's name=value comes last and repeats the select's name: a view reading
    # ``request.POST["who"]`` gets the button's value, as it did from a real browser.
    assert pairs == [("token", "t"), ("note", "kept"), ("who", "7"), ("roles", "A"), ("why", "Because"), ("who", "1")]
    assert form_data(FORM, "#f", button="Other")[1][-1] == ("why", "Because")


def test_the_helper_refuses_what_no_browser_could_send():
    with pytest.raises(AssertionError, match="offers"):
        form_data(FORM, "#f", who="8")
    with pytest.raises(AssertionError, match="no control named"):
        form_data(FORM, "#f", off="y")
    with pytest.raises(AssertionError, match="forms match"):
        form_data(FORM, "/nowhere/")


# --- one test per form ----------------------------------------------------------------------------


def test_deciding_as_the_decision_page_submits_it(client, world):
    request = legal_request(world["launch"])
    lawyer = request.addressees.get()
    response = page(client, lawyer, reverse("web:decide", args=[request.pk]))
    after = submit(client, response, reverse("web:decide", args=[request.pk]), outcome="approve", follow=True)
    assert "Your decision is recorded." in after.content.decode()
    decision = SignoffDecision.objects.get(request=request)
    assert (decision.decided_by, decision.outcome) == (lawyer, "approve")


def test_delegating_as_the_decision_page_submits_it(client, world):
    request = legal_request(world["launch"])
    lawyer, colleague = request.addressees.get(), world["colleague"]
    response = page(client, lawyer, reverse("web:decide", args=[request.pk]))
    after = submit(
        client,
        response,
        reverse("web:delegate", args=[request.pk]),
        button="Delegate",
        delegate=colleague.pk,
        reason="On leave next week.",
        follow=True,
    )
    assert "Delegated to Lee Counsel." in after.content.decode()
    delegation = SignoffDelegation.objects.get(request=request)
    assert (delegation.delegator, delegation.delegate) == (lawyer, colleague)


def test_requesting_sign_offs_as_the_launch_page_submits_it(client, world):
    launch = world["launch"]
    # The launch page offers the request once every other item passes: the changed bar is agreed again.
    bar = launch.quality_bars.get()
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    quality_bar_agree(actor=accountable, bar=bar, seen_version=fact_version(bar))
    response = page(client, launch.owner, reverse("web:launch", args=[launch.slug]))
    after = submit(
        client,
        response,
        reverse("web:request-signoffs", args=[launch.slug]),
        due_date=soon(7),
        message="Please review.",
        follow=True,
    )
    requested = SignoffRequest.objects.filter(launch=launch, status="pending")
    assert requested.exists() and {r.message for r in requested} == {"Please review."}
    assert f"Requested {requested.count()} sign-offs for Internal." in after.content.decode()


def test_requesting_sign_offs_as_the_choosing_page_submits_it(client, world):
    launch = world["launch"]
    url = reverse("web:request-signoffs", args=[launch.slug])
    response = page(client, launch.owner, url)
    after = submit(client, response, url, button="Request sign-offs", due_date=soon(7), follow=True)
    assert after.status_code == 200
    assert SignoffRequest.objects.filter(launch=launch, status="pending").exists()


def test_adding_a_fact_as_its_form_submits_it(client, world):
    launch = world["launch"]
    url = reverse("web:fact-add", args=[launch.slug, "dataasset"])
    response = page(client, launch.owner, url)
    after = submit(client, response, url, name="Product catalogue", retention_days="90")
    assert after.status_code == 302, after.context and after.context["form"].errors
    assert DataAsset.objects.filter(launch=launch, name="Product catalogue").exists()


def test_changing_a_fact_as_its_form_submits_it_unchanged_but_one_field(client, world):
    launch = world["launch"]
    slo = launch.slos.get(indicator="latency_p95")
    url = reverse("web:fact-change", args=[launch.slug, "slo", slo.pk])
    response = page(client, launch.owner, url)
    after = submit(client, response, url, dashboard_link="https://grafana.example.com/d/latency")
    assert after.status_code == 302, after.context and after.context["form"].errors
    slo.refresh_from_db()
    assert slo.dashboard_link == "https://grafana.example.com/d/latency"


def test_requesting_a_waiver_as_its_form_submits_it(client, world):
    launch = world["launch"]
    internal = launch.stages.get(name="Internal")
    url = reverse("web:waiver-request", args=[launch.slug])
    response = page(client, launch.owner, url, item="failure_rate_agreed", stage=internal.pk)
    after = submit(
        client, response, url, justification="ML signs the changed bar next week.", expires_on=soon(30), follow=True
    )
    assert after.status_code == 200
    waiver = Waiver.objects.get(launch=launch)
    assert (waiver.check_key, waiver.stage) == ("failure_rate_agreed", internal)


def test_reporting_an_incident_as_its_form_submits_it(client, world):
    launch = world["launch"]
    url = reverse("web:incident-new", args=[launch.slug])
    response = page(client, launch.owner, url)
    detected = timezone.localtime(timezone.now() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    after = submit(
        client,
        response,
        url,
        title="Answers time out",
        severity="P1",
        user_impact="Half the answers failed.",
        detected_at=detected,
    )
    assert after.status_code == 302, after.context and after.context["form"].errors
    assert Incident.objects.filter(launch=launch, title="Answers time out", severity="P1").exists()


def test_changing_a_raci_cell_as_its_form_submits_it(client, world):
    launch, newcomer = world["launch"], Stakeholder.objects.get(pk=world["newcomer"].pk)
    area = launch.areas.get(kind=AreaKind.POLICY)
    url = reverse("web:raci-cell", args=[launch.slug, area.pk, newcomer.pk])
    response = page(client, launch.owner, url)
    after = submit(client, response, url, roles=["C"])
    assert after.status_code in (200, 302)
    assert set(RaciAssignment.objects.filter(area=area, stakeholder=newcomer).values_list("role", flat=True)) == {
        Role.CONSULTED
    }
