"""Sign-offs and stage changes in the browser: the owner requests, the addressee decides on the
facts shown (a change made meanwhile is refused with the difference), the gate advances or says why,
and every action is refused on the server to anyone not allowed (403, or 404 for outsiders)."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from approvals.models import Acknowledgement, SignoffDecision, SignoffDelegation, SignoffRequest
from raci.choices import Role
from readiness.models import Launch
from readiness.services import fact_change, fact_version
from tests.builders import approve_signoffs, team_for
from tests.factories import RaciAssignmentFactory, StakeholderFactory, UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db


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
    controls = ('id="request-signoffs"', 'class="advance"')
    page = as_user(client, launch.owner).get(reverse("web:launch", args=[launch.slug])).content.decode()
    assert all(control in page for control in controls)
    viewer = give_view(UserFactory(), launch)
    page = as_user(client, viewer).get(reverse("web:launch", args=[launch.slug])).content.decode()
    assert not any(control in page for control in controls)


@pytest.fixture(scope="class")
def requested_once(class_savepoint, shared_launch) -> None:
    """Internal's sign-offs requested through the page by the owner, once for the tests of a class
    (see ``class_savepoint``)."""
    assert request_all(Client(), Launch.objects.select_related("owner").get(pk=shared_launch)).status_code == 302


@pytest.fixture(scope="class")
def approved_once(class_savepoint, shared_launch) -> None:
    """Internal's sign-offs requested and approved, once for the tests of a class."""
    approve_signoffs(Launch.objects.select_related("owner").get(pk=shared_launch), "Internal")


# --- the inbox, the decision page, withdrawing, delegating: from sign-offs requested ---------------


@pytest.mark.usefixtures("requested_once")
class TestFromRequested:
    """From Internal's sign-offs requested by the owner through the page (``requested_once``)."""

    def test_the_inbox_lists_what_waits_for_the_addressee_only(self, client, launch):
        signoff = first_request(launch)
        addressee = signoff.addressees.get()
        page = as_user(client, addressee).get(reverse("web:inbox")).content.decode()
        assert reverse("web:decide", args=[signoff.pk]) in page
        assert 'class="badge"' in page
        assert (
            "Nothing waits for your decision."
            in as_user(client, launch.owner).get(reverse("web:inbox")).content.decode()
        )

    def test_the_addressee_approves_the_facts_shown(self, client, launch):
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

    def test_rejecting_needs_a_comment_and_nothing_is_saved_without_one(self, client, launch):
        signoff = first_request(launch)
        as_user(client, signoff.addressees.get())
        shown = client.get(reverse("web:decide", args=[signoff.pk])).context["form"].initial["fingerprint"]
        response = client.post(reverse("web:decide", args=[signoff.pk]), {"outcome": "reject", "fingerprint": shown})
        assert response.status_code == 200
        assert "A comment is required to reject." in response.content.decode()
        assert not SignoffDecision.objects.filter(request=signoff).exists()

    def test_a_decision_on_facts_changed_meanwhile_is_refused_showing_the_change(self, client, launch):
        signoff = first_request(launch)
        as_user(client, signoff.addressees.get())
        shown = client.get(reverse("web:decide", args=[signoff.pk])).context["form"].initial["fingerprint"]
        slo = launch.slos.get(indicator="latency_p95")
        fact_change(actor=launch.owner, fact=slo, seen_version=fact_version(slo), values={"target": Decimal("4000")})

        response = client.post(reverse("web:decide", args=[signoff.pk]), {"outcome": "approve", "fingerprint": shown})

        assert response.status_code == 200
        page = response.content.decode()
        assert "Changed while you were reading" in page
        assert "slos › latency_p95" not in page
        assert "SLO Latency p95 (ms), Target: 3000 ms → 4000 ms" in page
        assert not SignoffDecision.objects.filter(request=signoff).exists()

    def test_the_requester_and_outsiders_cannot_decide(self, client, launch):
        signoff = first_request(launch)
        page = as_user(client, launch.owner).get(reverse("web:decide", args=[signoff.pk]))
        assert "not yours to decide" in page.content.decode()
        shown = page.context["form"].initial["fingerprint"]
        assert (
            client.post(
                reverse("web:decide", args=[signoff.pk]), {"outcome": "approve", "fingerprint": shown}
            ).status_code
            == 403
        )
        assert as_user(client, UserFactory()).get(reverse("web:decide", args=[signoff.pk])).status_code == 404
        assert not SignoffDecision.objects.filter(request=signoff).exists()

    def test_the_owner_withdraws_an_open_request_and_nobody_else_can(self, client, launch):
        signoff = first_request(launch)
        viewer = give_view(UserFactory(), launch)
        assert as_user(client, viewer).post(reverse("web:withdraw", args=[signoff.pk])).status_code == 403
        assert as_user(client, UserFactory()).post(reverse("web:withdraw", args=[signoff.pk])).status_code == 404
        assert SignoffRequest.objects.get(pk=signoff.pk).status == "pending"
        response = as_user(client, launch.owner).post(
            reverse("web:withdraw", args=[signoff.pk]), {"reason": "Too early"}
        )
        assert response.status_code == 302
        assert SignoffRequest.objects.get(pk=signoff.pk).status == "withdrawn"

    def test_an_addressee_delegates_to_a_colleague_of_the_same_function(self, client, launch):
        signoff = first_request(launch)
        addressee = signoff.addressees.get()
        colleague = StakeholderFactory(teams=[team_for(signoff.function)]).user
        outsider_to_function = StakeholderFactory(
            teams=[team_for("product" if signoff.function != "product" else "ml")]
        ).user
        as_user(client, addressee)
        url = reverse("web:delegate", args=[signoff.pk])
        refused = client.post(url, {"delegate": outsider_to_function.pk, "reason": ""}, follow=False)
        assert "Select a valid choice" in refused.content.decode()
        assert client.post(url, {"delegate": colleague.pk, "reason": "On leave"}).status_code == 302
        assert SignoffDelegation.objects.get(request=signoff).delegate == colleague
        inbox = as_user(client, colleague).get(reverse("web:inbox")).content.decode()
        assert reverse("web:decide", args=[signoff.pk]) in inbox


# --- stage changes ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("approved_once")
class TestFromInternalApproved:
    """From Internal's sign-offs requested and approved (``approved_once``)."""

    def test_a_re_request_shows_what_changed_since_the_last_decision(self, client, launch):
        slo = launch.slos.get(indicator="latency_p95")
        fact_change(actor=launch.owner, fact=slo, seen_version=fact_version(slo), values={"target": Decimal("3500")})
        request_all(client, launch)
        signoff = first_request(launch)
        page = as_user(client, signoff.addressees.get()).get(reverse("web:decide", args=[signoff.pk])).content.decode()
        assert "Since the last decision" in page
        # In plain words, as a before/after pair: no snapshot path, the unit shown.
        since = page.split('id="since-last"', 1)[1].split("</section>", 1)[0]
        assert "Latency p95 (ms)" in since and "Target" in since
        assert "<del>3000 ms</del>" in since and "<ins>3500 ms</ins>" in since
        assert "slos ›" not in page and "latency_p95" not in since

    def test_advancing_a_ready_launch_moves_it_and_only_the_owner_may(self, client, launch):
        viewer = give_view(UserFactory(), launch)
        assert as_user(client, viewer).post(reverse("web:advance", args=[launch.slug])).status_code == 403
        assert as_user(client, launch.owner).get(reverse("web:advance", args=[launch.slug])).status_code == 200
        response = client.post(reverse("web:advance", args=[launch.slug]))
        assert response.status_code == 302
        assert Launch.objects.get(pk=launch.pk).current_stage.name == "Internal"

    def test_rolling_back_needs_a_reason_and_the_owner_or_an_accountable(self, client, launch):
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


def test_advancing_a_blocked_launch_shows_why_and_moves_nothing(client, launch):
    response = as_user(client, launch.owner).post(reverse("web:advance", args=[launch.slug]))
    assert response.status_code == 200
    assert "The gate refused:" in response.content.decode()
    page = response.content.decode()
    assert "Legal sign-off has not been requested" in page
    # One heading, not "May not enter …:" on every line; each failing item links to where it is fixed.
    assert page.count("may not enter Internal yet") == 1 and "May not enter" not in page
    assert f"{reverse('web:launch', args=[launch.slug])}#item-stakeholders_approved" in page
    assert Launch.objects.get(pk=launch.pk).current_stage is None


# --- acknowledging ---------------------------------------------------------------------------------


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


# --- whom a request goes to, before it is made --------------------------------------------------------


def _row(page: str, function: str) -> str:
    """The request page's table row for ``function``."""
    return page.split(f'id="function-{function}"', 1)[1].split("</tr>", 1)[0]


def _without_security_slot(launch):
    from raci.services import launch_stakeholder_clear

    slot = launch.stakeholder_slots.get(function="security")
    launch_stakeholder_clear(actor=launch.owner, slot=slot, seen_version=fact_version(slot))
    return slot


def _ticked(response) -> dict:
    """The request page's form as a browser would post it back unchanged."""
    form = response.context["form"]
    data = {"choose": "1", "due_date": "", "message": ""}
    data.update({name: field.initial for name, field in form.fields.items() if name.startswith("addressees_")})
    return data


def test_the_request_page_names_whom_routing_will_ask_for_each_function(client, launch):
    response = as_user(client, launch.owner).get(reverse("web:request-signoffs", args=[launch.slug]))
    page = response.content.decode()
    assert "Request sign-offs for Internal" in page
    ml = launch.areas.get(kind="model_quality").assignments.get(role=Role.ACCOUNTABLE).stakeholder.user
    security = launch.stakeholder_slots.get(function="security").stakeholder.user
    assert ml.get_full_name() in _row(page, "ml") and security.get_full_name() not in _row(page, "ml")
    assert security.get_full_name() in _row(page, "security")
    assert {"product", "ml", "legal", "security"} == {s.requirement.function for s, _field in response.context["rows"]}
    link = reverse("web:request-signoffs", args=[launch.slug])
    assert f'href="{link}"' in client.get(reverse("web:launch", args=[launch.slug])).content.decode()


def test_the_owner_asks_only_the_suggested_people_they_tick(client, launch):
    _without_security_slot(launch)  # security now routes to every member of its teams
    chosen, other = (
        StakeholderFactory(teams=[team_for("security")]).user,
        StakeholderFactory(teams=[team_for("security")]).user,
    )
    url = reverse("web:request-signoffs", args=[launch.slug])
    shown = as_user(client, launch.owner).get(url)
    row = _row(shown.content.decode(), "security")
    assert chosen.get_full_name() in row and other.get_full_name() in row
    data = _ticked(shown)
    assert len(data["addressees_security"]) >= 2

    stranger = StakeholderFactory(teams=[team_for("product")]).user  # not suggested: not in a security team
    refused = client.post(url, data | {"addressees_security": [str(stranger.pk)]})
    assert "Select a valid choice" in " ".join(refused.context["form"].errors["addressees_security"])
    nobody = client.post(url, data | {"addressees_security": []})
    assert nobody.context["form"].errors["addressees_security"] == ["Choose at least one person to ask."]
    assert not SignoffRequest.objects.filter(launch=launch).exists()

    response = client.post(url, data | {"addressees_security": [str(chosen.pk)]})
    assert response.status_code == 302
    assert list(SignoffRequest.objects.get(launch=launch, function="security").addressees.all()) == [chosen]
    assert SignoffRequest.objects.filter(launch=launch).count() == 4


def test_a_function_with_nobody_to_ask_is_named_before_the_owner_submits(client, launch):
    _without_security_slot(launch)
    team_for("security").members.clear()
    url = reverse("web:request-signoffs", args=[launch.slug])
    shown = as_user(client, launch.owner).get(url)
    page = shown.content.decode()
    assert "Nobody can be asked for the Security sign-off" in _row(page, "security")
    assert "until every function above has someone to ask" in page
    assert '<button type="submit">' not in page
    response = client.post(url, _ticked(shown))
    assert response.status_code == 200
    assert "Nobody can be asked for the Security sign-off" in " ".join(response.context["form"].non_field_errors())
    assert not SignoffRequest.objects.filter(launch=launch).exists()


def test_only_the_owner_sees_the_request_page(client, launch, django_assert_max_num_queries):
    url = reverse("web:request-signoffs", args=[launch.slug])
    assert as_user(client, give_view(UserFactory(), launch)).get(url).status_code == 403
    assert as_user(client, UserFactory()).get(url).status_code == 404
    as_user(client, launch.owner).get(url)
    with django_assert_max_num_queries(40):
        assert client.get(url).status_code == 200
