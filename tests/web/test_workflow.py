"""Sign-offs and stage changes in the browser: the owner requests, the addressee decides on the
facts shown (a change made meanwhile is refused with the difference), the gate advances or says why,
and every action is refused on the server to anyone not allowed (403, or 404 for outsiders)."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse

from approvals.models import Acknowledgement, SignoffDecision, SignoffDelegation, SignoffRequest
from raci.choices import Role
from readiness.models import Launch
from readiness.services import fact_change, fact_version
from tests.builders import approve_signoffs, ready_launch, team_for
from tests.factories import RaciAssignmentFactory, StakeholderFactory, UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_launch(django_db_setup, django_db_blocker) -> int:
    with django_db_blocker.unblock(), transaction.atomic():
        owner = UserFactory(username="pam", first_name="Pam", last_name="Okafor")
        yield ready_launch(owner=owner, slug="assistant").pk
        transaction.set_rollback(True)


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    return Launch.objects.select_related("owner").get(pk=shared_launch)


def as_user(client, user):
    client.force_login(user)
    return client


def request_all(client, launch, **data):
    return as_user(client, launch.owner).post(reverse("web:request-signoffs", args=[launch.slug]), data)


def first_request(launch) -> SignoffRequest:
    return SignoffRequest.objects.filter(launch=launch).order_by("function").first()


# --- requesting -----------------------------------------------------------------------------------


def test_the_owner_requests_the_next_stage_s_sign_offs(client, launch):
    due = datetime.date.today() + datetime.timedelta(days=5)
    response = request_all(client, launch, due_date=due.isoformat(), message="Please review <b>now</b>.")
    assert response.status_code == 302
    requests = SignoffRequest.objects.filter(launch=launch)
    assert {r.function for r in requests} == {"legal", "security", "product", "ml"}
    assert {r.due_date for r in requests} == {due}
    page = client.get(response.url).content.decode()
    assert "Requested 4 sign-offs for Internal." in page
    assert "waiting for" in page


def test_a_viewer_cannot_request_and_an_outsider_is_told_nothing_exists(client, launch):
    viewer = give_view(UserFactory(), launch)
    assert as_user(client, viewer).post(reverse("web:request-signoffs", args=[launch.slug])).status_code == 403
    assert as_user(client, UserFactory()).post(reverse("web:request-signoffs", args=[launch.slug])).status_code == 404
    assert not SignoffRequest.objects.filter(launch=launch).exists()


def test_only_the_owner_sees_the_request_and_advance_controls(client, launch):
    assert (
        "Request sign-offs"
        in as_user(client, launch.owner).get(reverse("web:launch", args=[launch.slug])).content.decode()
    )
    viewer = give_view(UserFactory(), launch)
    page = as_user(client, viewer).get(reverse("web:launch", args=[launch.slug])).content.decode()
    assert "Request sign-offs" not in page and "Advance to" not in page


# --- the inbox and the decision page ----------------------------------------------------------------


def test_the_inbox_lists_what_waits_for_the_addressee_only(client, launch):
    request_all(client, launch)
    signoff = first_request(launch)
    addressee = signoff.addressees.get()
    page = as_user(client, addressee).get(reverse("web:inbox")).content.decode()
    assert reverse("web:decide", args=[signoff.pk]) in page
    assert 'class="badge"' in page
    assert (
        "Nothing waits for your decision." in as_user(client, launch.owner).get(reverse("web:inbox")).content.decode()
    )


def test_the_addressee_approves_the_facts_shown(client, launch):
    request_all(client, launch)
    signoff = first_request(launch)
    addressee = signoff.addressees.get()
    as_user(client, addressee)
    page = client.get(reverse("web:decide", args=[signoff.pk]))
    assert "The facts you are deciding on" in page.content.decode()
    shown = page.context["form"].initial["fingerprint"]
    response = client.post(reverse("web:decide", args=[signoff.pk]), {"outcome": "approve", "fingerprint": shown})
    assert response.status_code == 302
    decision = SignoffDecision.objects.get(request=signoff)
    assert (decision.decided_by, decision.outcome, decision.fingerprint) == (addressee, "approve", shown)


def test_rejecting_needs_a_comment_and_nothing_is_saved_without_one(client, launch):
    request_all(client, launch)
    signoff = first_request(launch)
    as_user(client, signoff.addressees.get())
    shown = client.get(reverse("web:decide", args=[signoff.pk])).context["form"].initial["fingerprint"]
    response = client.post(reverse("web:decide", args=[signoff.pk]), {"outcome": "reject", "fingerprint": shown})
    assert response.status_code == 200
    assert "A comment is required to reject." in response.content.decode()
    assert not SignoffDecision.objects.filter(request=signoff).exists()


def test_a_decision_on_facts_changed_meanwhile_is_refused_showing_the_change(client, launch):
    request_all(client, launch)
    signoff = first_request(launch)
    as_user(client, signoff.addressees.get())
    shown = client.get(reverse("web:decide", args=[signoff.pk])).context["form"].initial["fingerprint"]
    slo = launch.slos.get(indicator="latency_p95")
    fact_change(actor=launch.owner, fact=slo, seen_version=fact_version(slo), values={"target": Decimal("4000")})

    response = client.post(reverse("web:decide", args=[signoff.pk]), {"outcome": "approve", "fingerprint": shown})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Changed while you were reading" in page
    assert "slos › latency_p95 › target: 3000 → 4000" in page
    assert not SignoffDecision.objects.filter(request=signoff).exists()


def test_the_requester_and_outsiders_cannot_decide(client, launch):
    request_all(client, launch)
    signoff = first_request(launch)
    page = as_user(client, launch.owner).get(reverse("web:decide", args=[signoff.pk]))
    assert "not yours to decide" in page.content.decode()
    shown = page.context["form"].initial["fingerprint"]
    assert (
        client.post(reverse("web:decide", args=[signoff.pk]), {"outcome": "approve", "fingerprint": shown}).status_code
        == 403
    )
    assert as_user(client, UserFactory()).get(reverse("web:decide", args=[signoff.pk])).status_code == 404
    assert not SignoffDecision.objects.filter(request=signoff).exists()


def test_a_re_request_shows_what_changed_since_the_last_decision(client, launch):
    approve_signoffs(launch, "Internal")
    slo = launch.slos.get(indicator="latency_p95")
    fact_change(actor=launch.owner, fact=slo, seen_version=fact_version(slo), values={"target": Decimal("3500")})
    request_all(client, launch)
    signoff = first_request(launch)
    page = as_user(client, signoff.addressees.get()).get(reverse("web:decide", args=[signoff.pk])).content.decode()
    assert "Since the last decision" in page
    assert "slos › latency_p95 › target: 3000 → 3500" in page


# --- stage changes ----------------------------------------------------------------------------------


def test_advancing_a_blocked_launch_shows_why_and_moves_nothing(client, launch):
    response = as_user(client, launch.owner).post(reverse("web:advance", args=[launch.slug]))
    assert response.status_code == 200
    assert "The gate refused:" in response.content.decode()
    assert "Legal sign-off has not been requested" in response.content.decode()
    assert Launch.objects.get(pk=launch.pk).current_stage is None


def test_advancing_a_ready_launch_moves_it_and_only_the_owner_may(client, launch):
    approve_signoffs(launch, "Internal")
    viewer = give_view(UserFactory(), launch)
    assert as_user(client, viewer).post(reverse("web:advance", args=[launch.slug])).status_code == 403
    assert as_user(client, launch.owner).get(reverse("web:advance", args=[launch.slug])).status_code == 200
    response = client.post(reverse("web:advance", args=[launch.slug]))
    assert response.status_code == 302
    assert Launch.objects.get(pk=launch.pk).current_stage.name == "Internal"


def test_rolling_back_needs_a_reason_and_the_owner_or_an_accountable(client, launch):
    approve_signoffs(launch, "Internal")
    as_user(client, launch.owner).post(reverse("web:advance", args=[launch.slug]))
    internal = launch.stages.get(name="Internal")
    # From Internal there is nothing earlier: the page says so.
    assert "no earlier stage" in client.get(reverse("web:rollback", args=[launch.slug])).content.decode()
    Launch.objects.filter(pk=launch.pk).update(current_stage=launch.stages.get(name="Beta"))
    missing = client.post(reverse("web:rollback", args=[launch.slug]), {"stage": internal.pk, "reason": ""})
    assert "This field is required." in missing.content.decode()
    viewer = give_view(UserFactory(), launch)
    refused = as_user(client, viewer).post(
        reverse("web:rollback", args=[launch.slug]), {"stage": internal.pk, "reason": "x"}
    )
    assert refused.status_code == 403
    done = as_user(client, launch.owner).post(
        reverse("web:rollback", args=[launch.slug]), {"stage": internal.pk, "reason": "Error rate doubled"}
    )
    assert done.status_code == 302
    assert Launch.objects.get(pk=launch.pk).current_stage == internal


# --- withdrawing, delegating, acknowledging ---------------------------------------------------------


def test_the_owner_withdraws_an_open_request_and_nobody_else_can(client, launch):
    request_all(client, launch)
    signoff = first_request(launch)
    viewer = give_view(UserFactory(), launch)
    assert as_user(client, viewer).post(reverse("web:withdraw", args=[signoff.pk])).status_code == 403
    assert as_user(client, UserFactory()).post(reverse("web:withdraw", args=[signoff.pk])).status_code == 404
    assert SignoffRequest.objects.get(pk=signoff.pk).status == "pending"
    response = as_user(client, launch.owner).post(reverse("web:withdraw", args=[signoff.pk]), {"reason": "Too early"})
    assert response.status_code == 302
    assert SignoffRequest.objects.get(pk=signoff.pk).status == "withdrawn"


def test_an_addressee_delegates_to_a_colleague_of_the_same_function(client, launch):
    request_all(client, launch)
    signoff = first_request(launch)
    addressee = signoff.addressees.get()
    colleague = StakeholderFactory(teams=[team_for(signoff.function)]).user
    outsider_to_function = StakeholderFactory(
        teams=[team_for("product" if signoff.function != "product" else "ml")]
    ).user
    as_user(client, addressee)
    url = reverse("web:decide", args=[signoff.pk])
    refused = client.post(url, {"delegate": outsider_to_function.pk, "reason": ""}, follow=False)
    assert "Select a valid choice" in refused.content.decode()
    assert client.post(url, {"delegate": colleague.pk, "reason": "On leave"}).status_code == 302
    assert SignoffDelegation.objects.get(request=signoff).delegate == colleague
    inbox = as_user(client, colleague).get(reverse("web:inbox")).content.decode()
    assert url in inbox


def test_a_consulted_person_acknowledges_from_their_inbox(client, launch):
    consulted = StakeholderFactory()
    RaciAssignmentFactory(area=launch.areas.get(kind="policy"), role=Role.CONSULTED, stakeholder=consulted)
    request_all(client, launch)
    consultation = Acknowledgement.objects.get(user=consulted.user)
    page = as_user(client, consulted.user).get(reverse("web:inbox")).content.decode()
    assert "You are consulted" in page
    url = reverse("web:acknowledge", args=[consultation.pk])
    assert as_user(client, launch.owner).post(url, {"comment": "x"}).status_code == 403
    assert as_user(client, UserFactory()).post(url).status_code == 404
    assert as_user(client, consulted.user).post(url, {"comment": "Fine by policy."}).status_code == 302
    consultation.refresh_from_db()
    assert consultation.acknowledged_at is not None and consultation.comment == "Fine by policy."
