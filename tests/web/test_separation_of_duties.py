"""Separation of duties on the web: the launch's owner never decides a
sign-off or a waiver of their own launch (even after handing it over and back), a lower risk tier
is never applied from a tier it was not asked from, handing a launch over is not mixed with
changing its tier, a second decision says it is too late, and an archived launch offers no editor."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.models import PolicyChange, Waiver
from approvals.services import policy_change_request, waiver_request
from raci.choices import AreaKind, TeamFunction
from raci.models import Stakeholder
from readiness.models import Launch
from readiness.services import fact_version, launch_change
from tests.builders import accountable_of, ready_launch
from tests.factories import StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    launch = ready_launch(owner=UserFactory(username="pam", first_name="Pam"), slug="review")
    return launch.pk


@pytest.fixture
def owner(client, launch):
    client.force_login(launch.owner)
    return client


@pytest.fixture
def executive(db):
    return Stakeholder.objects.filter(teams__function=TeamFunction.EXECUTIVE).first().user


def url(name: str, launch: Launch, *args) -> str:
    return reverse(f"web:{name}", args=[launch.slug, *args])


def launch_form(launch: Launch, **changes) -> dict:
    data = {
        "name": launch.name,
        "summary": launch.summary,
        "owner": launch.owner_id,
        "target_date": launch.target_date.isoformat() if launch.target_date else "",
        "serving_version": launch.serving_version,
        "risk_tier": launch.risk_tier,
        "justification": "",
        "seen_version": fact_version(launch),
    }
    return {**data, **changes}


# --- 1. separation of duties: the owner decides a waiver on their own launch ----------------------


def test_the_launch_owner_cannot_decide_a_waiver_on_their_own_launch(client, launch, executive):
    """policy_change_decide refuses the launch's owner; waiver_decide refuses only the requester.
    The owner asks for a waiver and hands the launch (owner field of the edit page) to an
    executive, who now approves a waiver binding their own launch. Two accounts suffice: an
    executive owner hands the launch to anyone for a minute, who asks and hands it back."""
    pam = launch.owner
    waiver = waiver_request(
        actor=pam,
        launch=launch,
        stage=launch.stages.order_by("order").first(),
        check_key="feedback_loop",
        justification="later",
        expires_on=timezone.localdate() + datetime.timedelta(days=10),
    )
    launch_change(actor=pam, launch=launch, seen_version=fact_version(launch), values={"owner": executive})
    # The executive now owns the launch the waiver binds (and did not ask for it).
    client.force_login(executive)
    response = client.post(reverse("web:waiver-decide", args=[waiver.pk]), {"decision": "approve"})
    assert response.status_code == 403
    assert Waiver.objects.get(pk=waiver.pk).status == "pending"


def test_the_waiver_inbox_never_offers_the_launch_owner_their_own_launchs_waiver(client, launch, executive):
    pam = launch.owner
    waiver = waiver_request(
        actor=pam,
        launch=launch,
        stage=launch.stages.order_by("order").first(),
        check_key="feedback_loop",
        justification="later",
        expires_on=timezone.localdate() + datetime.timedelta(days=10),
    )
    launch_change(actor=pam, launch=launch, seen_version=fact_version(launch), values={"owner": executive})
    client.force_login(executive)
    assert waiver not in [w for w, _title in client.get(reverse("web:inbox")).context["waivers"]]


# --- 2. separation of duties: the owner approves a sign-off on their own launch --------------------


def test_the_launch_owner_cannot_approve_a_signoff_of_their_own_launch(client, launch):
    """signoff_decide refuses only the requester. The owner hands the launch (edit page, owner
    field) to the ML Accountable the open request is addressed to, who then approves their own
    launch; or, with any second account, the owner gets a request addressed to themselves."""
    from approvals.models import SignoffRequest
    from approvals.services import signoffs_request
    from approvals.snapshot import fingerprint, launch_snapshot
    from readiness.checklist import with_checklist_facts

    pam = launch.owner
    stage = launch.stages.order_by("order").first()
    requests = signoffs_request(actor=pam, launch=launch, stage=stage)
    ml = next(r for r in requests if r.function == TeamFunction.ML)
    approver = ml.addressees.get()
    assert approver == accountable_of(launch, AreaKind.MODEL_QUALITY).user
    client.force_login(pam)
    response = client.post(url("edit-launch", launch), launch_form(launch, owner=approver.pk))
    assert response.status_code == 302 and Launch.objects.get(pk=launch.pk).owner == approver
    client.force_login(approver)
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    snapshot = launch_snapshot(facts, facts.stages.get(pk=stage.pk))
    response = client.post(
        reverse("web:decide", args=[ml.pk]), {"outcome": "approve", "fingerprint": fingerprint(snapshot)}
    )
    assert response.status_code == 403
    assert not SignoffRequest.objects.get(pk=ml.pk).decisions.exists()
    assert ml not in client.get(reverse("web:inbox")).context["waiting"]


# --- 3. a lower tier asked from one tier is applied from another -----------------------------------


def test_a_lower_tier_approved_after_the_tier_was_raised_does_not_drop_it_unseen(client, launch, executive):
    """The owner asks medium -> low; the tier is then raised to high (new facts). The decision page
    says only "Lower the risk tier to Low", and approving drops the launch from high to low: two
    tiers, from a tier the request never named (its ledger entry says "from medium")."""
    from approvals.services import launch_set_risk_tier

    assert launch.risk_tier == "medium"
    change = policy_change_request(actor=launch.owner, launch=launch, risk_tier="low", justification="Small beta")
    launch_set_risk_tier(actor=launch.owner, launch=launch, risk_tier="high")
    client.force_login(executive)
    page = client.get(url("decide-policy-change", launch, change.pk)).content.decode()
    response = client.post(url("decide-policy-change", launch, change.pk), {"approve": "yes"})
    launch.refresh_from_db()
    assert "it is High now" in page
    assert response.status_code == 200 and launch.risk_tier == "high"
    assert "was Medium when this was asked and is High now" in response.content.decode()
    assert PolicyChange.objects.get(pk=change.pk).status == "pending"


# --- 4. handing the launch over and changing its tier in one save --------------------------------


def test_handing_the_launch_over_while_raising_its_risk_tier_saves_or_explains_not_404(owner, launch):
    """launch_change moves the owner first; the tier change then runs as a non-owner, who may no
    longer even view the launch: Http404 from require_change, uncaught, a "Not found" page for a
    valid form, the whole edit lost."""
    successor = StakeholderFactory(user=UserFactory(username="sam")).user
    higher = "high" if launch.risk_tier != "high" else None
    assert higher, "the built launch is expected below high"
    response = owner.post(url("edit-launch", launch), launch_form(launch, owner=successor.pk, risk_tier=higher))
    assert response.status_code == 200
    assert "Hand the launch over on its own" in str(response.context["form"].errors["risk_tier"])
    assert Launch.objects.get(pk=launch.pk).owner == launch.owner


def test_handing_the_launch_over_while_asking_for_a_lower_tier_is_not_a_bare_404(owner, launch):
    successor = StakeholderFactory(user=UserFactory(username="sam2")).user
    lower = "low"
    response = owner.post(
        url("edit-launch", launch),
        launch_form(launch, owner=successor.pk, risk_tier=lower, justification="Less exposure than we thought"),
    )
    assert response.status_code == 200 and "risk_tier" in response.context["form"].errors
    assert not PolicyChange.objects.filter(launch=launch).exists()


# --- 5. small things: a double submit said nothing; an archived launch's cell offers a form ---------


def test_deciding_a_policy_change_twice_says_it_is_already_decided(client, launch, executive):
    """The view skips the service once the change is not pending: the second click of a double
    submit (or a second executive) gets the page back with no word that nothing was recorded;
    the waiver page says "already approved" in the same case."""
    change = policy_change_request(actor=launch.owner, launch=launch, risk_tier="low", justification="Small beta")
    client.force_login(executive)
    assert client.post(url("decide-policy-change", launch, change.pk), {"approve": "yes"}).status_code == 302
    again = client.post(url("decide-policy-change", launch, change.pk), {"approve": "no", "comment": "No, wait"})
    assert "already" in again.content.decode(), "the refused second decision is not explained"


def test_an_archived_launch_s_raci_cell_does_not_open_an_editor(owner, launch, newcomer_area):
    """The launch page hides the grid's controls once archived, but the cell URL still answers
    with the editing form (htmx or not); only saving is refused."""
    from readiness.services import launch_archive

    launch_archive(actor=launch.owner, launch=launch, seen_version=fact_version(launch), reason="Cancelled")
    area, person = newcomer_area
    response = owner.get(url("raci-cell", launch, area.pk, person.pk), HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert 'type="checkbox"' not in response.content.decode()
    assert owner.get(url("edit-launch", launch)).status_code == 302


@pytest.fixture
def newcomer_area(launch):
    return launch.areas.get(kind=AreaKind.MODEL_QUALITY), StakeholderFactory(user=UserFactory(username="nia"))
