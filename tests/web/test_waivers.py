"""Waivers in the browser: the owner asks from a failing checklist item, the item's area Accountable
or an executive decides from "My sign-offs" or the launch page, never the one who asked; an
approved waiver turns the item to waived and the verdict follows, an expired or rejected one does
not. Anyone else is refused on the server (403, or 404 for outsiders) and nothing is saved."""

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals.choices import WaiverStatus
from approvals.models import Waiver
from approvals.selectors import waivers_awaiting
from approvals.services import waiver_decide, waiver_request
from approvals.services.waivers import _may_decide_waiver
from raci.choices import AreaKind, Role, TeamFunction
from readiness.models import Launch
from readiness.services import fact_change, fact_version
from tests.builders import accountable_of, approve_signoffs, ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import give_view
from tests.web.bounds import LAUNCH_PAGE_QUERIES

pytestmark = pytest.mark.django_db

ITEM = "failure_rate_agreed"  # gates Internal; the model-quality Accountable (ML) may waive it


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker) -> dict[str, int]:
    """A launch whose only blocker for Internal is its quality bar, changed after its agreement
    (its sign-offs are approved on the changed bar), and the people who may or may not act."""
    with django_db_blocker.unblock(), transaction.atomic():
        owner = UserFactory(username="pam", first_name="Pam", last_name="Okafor")
        launch = ready_launch(owner=owner, slug="assistant")
        bar = launch.quality_bars.get()
        fact_change(
            actor=owner,
            fact=bar,
            seen_version=fact_version(bar),
            values={"failure_definition": "A wrong answer or a <b>made-up</b> citation."},
        )
        approve_signoffs(launch, "Internal")
        yield {
            "launch": launch.pk,
            "owner": owner.pk,
            "ml": accountable_of(launch, AreaKind.MODEL_QUALITY).user.pk,
            "legal": accountable_of(launch, AreaKind.POLICY).user.pk,
            "executive": StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)]).user.pk,
            "viewer": give_view(UserFactory(), launch).pk,
            "outsider": UserFactory().pk,
        }
        transaction.set_rollback(True)


@pytest.fixture
def world(shared_world, db, django_user_model):
    return {
        name: (Launch if name == "launch" else django_user_model).objects.get(pk=pk)
        for name, pk in shared_world.items()
    }


def html(client, user, url, **params) -> str:
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def internal(launch):
    return launch.stages.get(name="Internal")


def request_url(launch) -> str:
    return reverse("web:waiver-request", args=[launch.slug])


def post_request(client, launch, **data):
    client.force_login(launch.owner)
    fields = {
        "check_key": ITEM,
        "stage": internal(launch).pk,
        "justification": "Legal reviewed the new definition; ML signs the bar next week.",
        "expires_on": (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
    }
    return client.post(request_url(launch), fields | data)


def requested(launch, **kwargs) -> Waiver:
    return waiver_request(
        actor=launch.owner,
        launch=launch,
        stage=kwargs.pop("stage", internal(launch)),
        check_key=kwargs.pop("check_key", ITEM),
        justification=kwargs.pop("justification", "Agreed in the <i>review</i>."),
        expires_on=kwargs.pop("expires_on", timezone.localdate() + datetime.timedelta(days=30)),
    )


def decide_url(waiver) -> str:
    return reverse("web:waiver-decide", args=[waiver.pk])


# --- requesting -----------------------------------------------------------------------------------


def test_a_failing_item_offers_the_owner_a_prefilled_waiver_request(client, world):
    launch = world["launch"]
    link = f"{request_url(launch)}?item={ITEM}&amp;stage={internal(launch).pk}"
    assert link in html(client, launch.owner, reverse("web:launch", args=[launch.slug]))
    assert "?item=stakeholders_approved" not in html(client, launch.owner, reverse("web:launch", args=[launch.slug]))
    assert request_url(launch) not in html(client, world["viewer"], reverse("web:launch", args=[launch.slug]))
    client.force_login(launch.owner)
    response = client.get(request_url(launch), {"item": ITEM})
    assert response.context["form"]["check_key"].value() == ITEM
    assert response.context["form"]["stage"].value() == internal(launch).pk
    assert "has not been agreed by anyone" in response.content.decode()  # why the item fails, shown
    korean = client.get(request_url(launch), {"item": ITEM}, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "면제 요청" in korean and "만료일" in korean


def test_the_owner_requests_a_waiver_and_it_is_listed_pending(client, world):
    launch = world["launch"]
    response = post_request(client, launch)
    assert response.status_code == 302
    waiver = Waiver.objects.get(launch=launch)
    assert (waiver.check_key, waiver.stage, waiver.status, waiver.requested_by) == (
        ITEM,
        internal(launch),
        WaiverStatus.PENDING,
        launch.owner,
    )
    page = html(client, launch.owner, reverse("web:launch", args=[launch.slug]))
    assert "Waiting for a decision" in page and "Pam Okafor" in page
    assert f"{request_url(launch)}?item={ITEM}" not in page  # a live waiver is not asked for twice
    assert "Not ready to enter Internal" in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"justification": "  "}, "justification", "A waiver needs a justification."),
        ({"expires_on": "2001-01-01"}, "expires_on", "The expiry date is in the past."),
        ({"expires_on": "9999-12-31"}, "expires_on", "A waiver may run at most 180 days."),
        ({"expires_on": "not a date"}, "expires_on", "Enter a valid date."),
        ({"check_key": "stakeholders_approved"}, "check_key", "Select a valid choice."),
        ({"stage": "999999"}, "stage", "Select a valid choice."),
    ],
)
def test_bad_input_is_named_on_its_field_and_nothing_is_saved(client, world, data, field, message):
    response = post_request(client, world["launch"], **data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not Waiver.objects.exists()


def test_a_second_live_waiver_of_the_same_item_is_refused(client, world):
    requested(world["launch"])
    response = post_request(client, world["launch"])
    assert "already pending or approved" in " ".join(response.context["form"].errors["check_key"])
    assert Waiver.objects.count() == 1


def test_only_the_owner_may_request_and_an_outsider_is_told_nothing_exists(client, world):
    launch = world["launch"]
    for user, status in ((world["viewer"], 403), (world["ml"], 403), (world["outsider"], 404)):
        client.force_login(user)
        assert client.get(request_url(launch)).status_code == status
        assert client.post(request_url(launch), {"check_key": ITEM, "justification": "x"}).status_code == status
    assert not Waiver.objects.exists()


# --- deciding -------------------------------------------------------------------------------------


def test_the_accountable_finds_the_waiver_in_my_sign_offs_with_the_header_count(client, world):
    before = html(client, world["ml"], reverse("web:inbox"))
    assert "Waivers to decide" not in before
    waiver = requested(world["launch"])
    page = html(client, world["ml"], reverse("web:inbox"))
    assert "Waivers to decide" in page and decide_url(waiver) in page
    assert "Acceptable failure rates" in page
    client.force_login(world["ml"])
    count = client.get(reverse("web:inbox")).context["awaiting_count"]
    assert count == 1
    # Not for the one who asked, nor for someone who may view the launch but not decide.
    assert decide_url(waiver) not in html(client, world["owner"], reverse("web:inbox"))
    assert decide_url(waiver) not in html(client, world["legal"], reverse("web:inbox"))


def test_the_inbox_lists_exactly_the_waivers_the_service_would_let_each_person_decide(world):
    launch = world["launch"]
    waivers = [
        requested(launch),
        requested(launch, check_key="raci_defined"),
        requested(launch, check_key="pii_policy"),
    ]
    people = [world[name] for name in ("owner", "ml", "legal", "executive", "viewer", "outsider")]
    people.append(launch.areas.get(kind=AreaKind.MODEL_QUALITY).assignments.get(role=Role.RESPONSIBLE).stakeholder.user)
    for person in people:
        listed = set(waivers_awaiting(person))
        for waiver in waivers:
            allowed = person.pk != waiver.requested_by_id and _may_decide_waiver(person, waiver)
            assert (waiver in listed) == allowed, (person, waiver.check_key)
    assert set(waivers_awaiting(world["executive"])) == set(waivers)
    assert set(waivers_awaiting(world["legal"])) == {waivers[2]}


def test_the_accountable_approves_and_the_item_turns_waived_and_the_verdict_ready(client, world):
    launch = world["launch"]
    before = html(client, launch.owner, reverse("web:launch", args=[launch.slug]))
    assert "Not ready to enter Internal" in before
    waiver = requested(launch)
    page = html(client, world["ml"], decide_url(waiver))
    assert "Agreed in the &lt;i&gt;review&lt;/i&gt;." in page
    assert "Record my decision" in page
    assert f'class="button" href="{decide_url(waiver)}"' in html(
        client, world["ml"], reverse("web:launch", args=[launch.slug])
    )
    response = client.post(decide_url(waiver), {"decision": "approve", "comment": "Fine until the bar is signed."})
    assert response.status_code == 302
    waiver.refresh_from_db()
    assert (waiver.status, waiver.decided_by) == (WaiverStatus.APPROVED, world["ml"])
    page = html(client, launch.owner, reverse("web:launch", args=[launch.slug]))
    assert "Ready to enter Internal" in page
    assert f'id="item-{ITEM}" class="item status-waived"' in page
    assert "Approved, in force" in page and "Fine until the bar is signed." in page


def test_the_requester_cannot_decide_their_own_waiver(client, world):
    launch = world["launch"]
    waiver = requested(launch)
    page = html(client, launch.owner, decide_url(waiver))
    assert "not yours to decide" in page and "Record my decision" not in page
    assert client.post(decide_url(waiver), {"decision": "approve"}).status_code == 403
    assert Waiver.objects.get(pk=waiver.pk).status == WaiverStatus.PENDING


def test_an_outsider_is_told_nothing_exists_and_someone_not_allowed_is_refused(client, world):
    waiver = requested(world["launch"])
    client.force_login(world["outsider"])
    assert client.get(decide_url(waiver)).status_code == 404
    assert client.post(decide_url(waiver), {"decision": "approve"}).status_code == 404
    for person in (world["legal"], world["viewer"]):  # may view the launch, not decide this item
        page = html(client, person, decide_url(waiver))
        assert "Record my decision" not in page
        assert client.post(decide_url(waiver), {"decision": "approve"}).status_code == 403
    assert f'class="button" href="{decide_url(waiver)}"' not in html(
        client, world["legal"], reverse("web:launch", args=["assistant"])
    )
    assert Waiver.objects.get(pk=waiver.pk).status == WaiverStatus.PENDING


def test_rejecting_needs_a_comment_and_an_executive_may_reject(client, world):
    launch = world["launch"]
    waiver = requested(launch)
    client.force_login(world["executive"])
    refused = client.post(decide_url(waiver), {"decision": "reject", "comment": ""})
    assert refused.status_code == 200
    assert "Say why the waiver is rejected." in refused.context["form"].errors["comment"]
    assert Waiver.objects.get(pk=waiver.pk).status == WaiverStatus.PENDING
    assert client.post(decide_url(waiver), {"decision": "reject", "comment": "Agree the bar first."}).status_code == 302
    page = html(client, launch.owner, reverse("web:launch", args=[launch.slug]))
    assert "Rejected" in page and "Agree the bar first." in page
    assert f'id="item-{ITEM}" class="item status-fail"' in page
    assert f"{request_url(launch)}?item={ITEM}" in page  # a rejected waiver may be asked for again
    client.force_login(world["executive"])
    again = client.post(decide_url(waiver), {"decision": "approve"})
    assert "already rejected" in again.content.decode()


def test_an_expired_waiver_is_shown_expired_and_no_longer_waives(client, world):
    launch = world["launch"]
    waiver = waiver_decide(actor=world["ml"], waiver=requested(launch), approve=True)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Waiver.objects.filter(pk=waiver.pk).update(expires_on=yesterday)  # time passes
    page = html(client, launch.owner, reverse("web:launch", args=[launch.slug]))
    assert "Expired on" in page
    assert f'id="item-{ITEM}" class="item status-fail"' in page
    assert "Not ready to enter Internal" in page
    # The lapsed waiver no longer stands in the way: the owner may ask again, and is offered to.
    assert f"?item={ITEM}&amp;stage={internal(launch).pk}" in page
    again = post_request(client, launch)
    assert again.status_code == 302, again.context and again.context["form"].errors
    assert Waiver.objects.filter(check_key=ITEM, status=WaiverStatus.PENDING).count() == 1


def test_an_approved_waiver_still_in_force_refuses_another(client, world):
    launch = world["launch"]
    waiver_decide(actor=world["ml"], waiver=requested(launch), approve=True)
    refused = post_request(client, launch)
    assert "already pending or approved" in " ".join(refused.context["form"].errors["check_key"])
    assert Waiver.objects.count() == 1


def test_an_archived_launch_s_waivers_leave_the_inbox_and_cannot_be_decided_or_requested(client, world):
    from readiness.services import launch_archive

    launch = world["launch"]
    waiver = requested(launch)
    launch_archive(actor=launch.owner, launch=launch, seen_version=fact_version(launch), reason="Shelved")
    assert decide_url(waiver) not in html(client, world["ml"], reverse("web:inbox"))
    page = html(client, world["ml"], decide_url(waiver))
    assert "Record my decision" not in page
    refused = client.post(decide_url(waiver), {"decision": "approve"})
    assert "archived" in refused.content.decode()
    assert "archived" in " ".join(
        post_request(client, launch, check_key="incident_owner").context["form"].non_field_errors()
    )
    assert Waiver.objects.get().status == WaiverStatus.PENDING


# --- query counts ---------------------------------------------------------------------------------


def _queries(client, url) -> int:
    client.get(url)  # session and the like cached
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_inbox_and_launch_page_do_not_grow_with_the_number_of_waivers(client, world):
    launch = world["launch"]
    stages = list(launch.stages.order_by("order"))
    requested(launch)
    launch_url, inbox_url = reverse("web:launch", args=[launch.slug]), reverse("web:inbox")
    few = {}
    for name in ("executive", "ml", "owner"):
        client.force_login(world[name])
        few[name] = (_queries(client, launch_url), _queries(client, inbox_url))
    for stage in stages:
        for key in ("incident_owner", "slos_defined", "raci_defined", "feedback_loop", "quality_evidence"):
            requested(launch, stage=stage, check_key=key)
    assert Waiver.objects.count() == 1 + 5 * len(stages)
    for name in ("executive", "ml", "owner"):
        client.force_login(world[name])
        assert (_queries(client, launch_url), _queries(client, inbox_url)) == few[name], name
        assert few[name][0] <= LAUNCH_PAGE_QUERIES
