"""The launch page leads its reader: next steps naming who must do what, sections in the order of
the launch's life, the template's proposals confirmed at once, and controls that cannot succeed
yet explained instead of offered."""

import re

import pytest
from django.urls import reverse

from ledger.models import LedgerEntry
from raci.choices import AreaKind, Role
from raci.models import RaciAssignment
from readiness.models import SLO, Launch, RolloutStage, SeverityLevel
from readiness.services import fact_change, fact_version, launch_create_from_template
from tests.builders import launch_at, ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import give_view
from tests.web.bounds import LAUNCH_PAGE_QUERIES

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def planned_launch(module_transaction) -> int:
    """A launch just made from the template, as "New launch" makes it: nine proposals, empty slots.
    Built once for the module (see ``module_transaction``); its primary key."""
    owner = UserFactory(username="pam", first_name="Pam", last_name="Okafor")
    return launch_create_from_template(actor=owner, template="genai-feature", name="Claims triage", slug="claims").pk


@pytest.fixture
def planned(planned_launch, db) -> Launch:
    """The module's planned launch, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.select_related("owner").get(pk=planned_launch)


@pytest.fixture
def ready(db) -> Launch:
    """A launch ready for Internal but for its sign-offs, which nobody has requested."""
    return ready_launch(owner=UserFactory(first_name="Pam"), slug="assistant")


def _page(client, user, launch) -> str:
    client.force_login(user)
    return client.get(reverse("web:launch", args=[launch.slug])).content.decode()


def _proposed(launch) -> int:
    return sum(
        model.objects.filter(launch=launch).exclude(proposed=[]).count() for model in (RolloutStage, SLO, SeverityLevel)
    )


def _confirm_all_form(page: str) -> dict:
    """What the rendered "Confirm all" form submits: its hidden inputs (a submit button without a name)."""
    form = re.search(r'<form method="post" action="([^"]+)" class="card proposals".*?</form>', page, re.S)
    assert form, "the page offers Confirm all"
    assert '<button type="submit">' in form.group(0)
    return {"url": form.group(1), "seen": re.findall(r'name="seen" value="([^"]+)"', form.group(0))}


# --- next steps and order ---------------------------------------------------------------------


def test_a_planned_launch_leads_with_next_steps_then_people_facts_and_sign_offs(client, planned):
    page = _page(client, planned.owner, planned)
    steps = page[page.index('id="next-steps"') : page.index("</section>", page.index('id="next-steps"'))]
    assert "Confirm the 9 values the template proposed" in steps
    assert "Assign a Legal stakeholder</a>\n        — <strong>you</strong>" in steps
    assert "Agree the quality bar" in steps and "once Model/prompt quality has an Accountable" in steps
    assert "Request sign-offs for Internal</a>\n        — <strong>you</strong>" in steps
    assert '<a href="#proposals">Check and confirm the template' in page
    assert "once the 3 failing checklist items pass" in steps
    order = [page.index(marker) for marker in ('id="next-steps"', 'id="raci"', 'id="facts"', 'id="signoffs"')]
    assert order == sorted(order)
    assert page.index('id="signoffs"') < page.index('id="operations-later"')  # operations wait, collapsed
    assert '<details class="card later" id="operations-later">' in page


def test_an_accountable_is_told_the_agreement_is_theirs(client, planned):
    area = planned.areas.get(kind=AreaKind.MODEL_QUALITY)
    mia = StakeholderFactory(user=UserFactory(first_name="Mia", last_name="Chen"), teams=[team_for("ml")])
    RaciAssignment.objects.create(area=area, stakeholder=mia, role=Role.ACCOUNTABLE)
    owner_page = _page(client, planned.owner, planned)
    assert "Agree the quality bar “wrong_answers ≤ 5 %”</a>\n        — Mia Chen (Accountable)" in owner_page
    mia_page = _page(client, mia.user, planned)
    assert "Agree the quality bar “wrong_answers ≤ 5 %”</a>\n        — <strong>you</strong>" in mia_page


def test_controls_that_cannot_succeed_yet_are_explained_not_offered(client, planned):
    page = _page(client, planned.owner, planned)
    assert "Available once the checklist for Internal passes: 3 items fail." in page
    assert '<button type="button" disabled aria-describedby="request-why">Request sign-offs</button>' in page
    assert f'action="{reverse("web:request-signoffs", args=[planned.slug])}"' not in page
    assert '<button type="button" disabled aria-describedby="advance-why">Advance to Internal…</button>' in page
    assert f'href="{reverse("web:advance", args=[planned.slug])}"' not in page


def test_a_launch_ready_but_for_its_sign_offs_offers_the_request_not_the_advance(client, ready):
    launch = ready
    page = _page(client, launch.owner, launch)
    assert f'<form method="post" action="{reverse("web:request-signoffs", args=[launch.slug])}"' in page
    assert "Request sign-offs for Internal</a>\n        — <strong>you</strong>\n" in page  # not waiting
    assert "sign-offs included: 1 item fails." in page
    assert f'href="{reverse("web:advance", args=[launch.slug])}"' not in page


def test_after_entering_a_stage_the_page_leads_with_it_and_the_next_is_a_next_step(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # what runs once the advance commits
        launch = launch_at("Internal", owner=UserFactory(first_name="Pam"), slug="live")
    page = _page(client, launch.owner, launch)
    assert "In Internal: holds" in page
    order = [page.index(m) for m in ('id="stage-lead"', 'id="next-steps"', 'id="verdict"', 'id="raci"', 'id="facts"')]
    assert order == sorted(order)
    assert 'class="card verdict-card upcoming"' in page  # the next stage's readiness is no alarm
    assert "Request sign-offs for Beta" in page
    assert "operations-later" not in page


def test_the_launch_page_with_next_steps_and_proposals_stays_within_the_bound(
    client, planned, django_assert_max_num_queries
):
    _page(client, planned.owner, planned)
    with django_assert_max_num_queries(LAUNCH_PAGE_QUERIES):
        assert client.get(reverse("web:launch", args=[planned.slug])).status_code == 200


# --- confirm all ------------------------------------------------------------------------------


def test_confirm_all_confirms_every_proposal_shown_in_one_go_and_a_resubmit_changes_nothing(client, planned):
    form = _confirm_all_form(_page(client, planned.owner, planned))
    assert len(form["seen"]) == _proposed(planned) == 9
    entries = LedgerEntry.objects.filter(launch=planned).count()
    response = client.post(form["url"], {"seen": form["seen"]}, follow=True)
    assert response.redirect_chain[-1][0].endswith("#facts")
    assert "Confirmed the proposed values of 9 facts." in response.content.decode()
    assert _proposed(planned) == 0
    for stage in planned.stages.all():  # each recorded as one confirmation is, by whom
        latest = stage.history.latest("history_id")
        assert (latest.history_user, latest.history_change_reason) == (
            planned.owner,
            "Confirmed the proposed exposure percent",
        )
    assert LedgerEntry.objects.filter(launch=planned).count() > entries
    versions = {stage.pk: fact_version(stage) for stage in planned.stages.all()}
    again = client.post(form["url"], {"seen": form["seen"]}, follow=True)
    assert "Nothing was left to confirm" in again.content.decode()
    assert versions == {stage.pk: fact_version(stage) for stage in planned.stages.all()}
    assert 'class="card proposals"' not in again.content.decode()


def test_one_proposal_changed_since_the_page_refuses_the_whole_confirmation(client, planned):
    form = _confirm_all_form(_page(client, planned.owner, planned))
    internal = planned.stages.get(name="Internal")
    fact_change(actor=planned.owner, fact=internal, seen_version=fact_version(internal), values={"name": "Staff"})
    response = client.post(form["url"], {"seen": form["seen"]}, follow=True)
    assert response.redirect_chain[-1][0].endswith("#proposals")
    assert "changed" in response.content.decode()
    assert _proposed(planned) == 9


def test_individual_confirmation_stays_possible(client, planned):
    page = _page(client, planned.owner, planned)
    assert page.count("Confirm the proposed values</button>") == 9


def test_only_the_owner_confirms_all(client, planned):
    form = _confirm_all_form(_page(client, planned.owner, planned))
    viewer = give_view(UserFactory(), planned)
    client.force_login(viewer)
    assert 'class="card proposals"' not in client.get(reverse("web:launch", args=[planned.slug])).content.decode()
    assert client.post(form["url"], {"seen": form["seen"]}).status_code == 403
    client.force_login(UserFactory())
    assert client.post(form["url"], {"seen": form["seen"]}).status_code == 404
    assert _proposed(planned) == 9


@pytest.mark.parametrize("token", ["launch:1:1", "rolloutstage:x:1", "rolloutstage:1", "qualitybar:1:1"])
def test_a_malformed_proposal_is_not_found(client, planned, token):
    client.force_login(planned.owner)
    assert client.post(reverse("web:confirm-proposals", args=[planned.slug]), {"seen": [token]}).status_code == 404
    assert _proposed(planned) == 9


# --- the forms say what they are for ------------------------------------------------------------


def test_the_evaluation_form_says_the_launch_has_no_serving_version_yet(client, planned, ready):
    launch = ready
    client.force_login(planned.owner)
    page = client.get(reverse("web:fact-add", args=[planned.slug, "evalrun"])).content.decode()
    assert "The launch has no serving version yet." in page
    assert reverse("web:edit-launch", args=[planned.slug]) in page
    client.force_login(launch.owner)
    assert (
        "no serving version" not in client.get(reverse("web:fact-add", args=[launch.slug, "evalrun"])).content.decode()
    )


def test_the_slot_form_names_its_function_and_people_are_listed_with_theirs(client, planned):
    StakeholderFactory(user=UserFactory(first_name="Dana", last_name="Kim"), teams=[team_for("legal")])
    slot = planned.stakeholder_slots.get(function="legal")
    client.force_login(planned.owner)
    page = client.get(reverse("web:fact-change", args=[planned.slug, "launchstakeholder", slot.pk])).content.decode()
    assert "This slot is for the Legal function" in page
    assert "Dana Kim (Legal)" in page
    page = client.get(reverse("web:fact-add", args=[planned.slug, "raciassignment"])).content.decode()
    assert "Dana Kim (Legal)" in page


def test_a_fact_the_owner_may_not_remove_says_who_does(client, planned):
    page = _page(client, planned.owner, planned)
    assert "Not removable by you: A quality bar is removed only by the Accountable" in page


# --- assigning a person several roles at once ----------------------------------------------------


def test_a_person_is_given_several_roles_on_an_area_in_one_form(client, planned):
    mia = StakeholderFactory(user=UserFactory(first_name="Mia", last_name="Chen"), teams=[team_for("ml")])
    area = planned.areas.get(kind=AreaKind.MODEL_QUALITY)
    RaciAssignment.objects.create(area=area, stakeholder=mia, role=Role.INFORMED)
    client.force_login(planned.owner)
    url = reverse("web:raci-staff", args=[planned.slug])
    page = client.get(url).content.decode()
    assert "Mia Chen (ML)" in page and 'name="roles" value="A"' in page
    response = client.post(url, {"area": area.pk, "stakeholder": mia.pk, "roles": ["A", "R"]}, follow=True)
    assert "Mia Chen is now Accountable, Responsible on Model/prompt quality." in response.content.decode()
    assert sorted(area.assignments.filter(stakeholder=mia).values_list("role", flat=True)) == ["A", "I", "R"]


def test_assigning_a_person_refuses_what_the_rules_refuse_and_anyone_but_the_owner(client, planned):
    pat = StakeholderFactory(user=UserFactory(first_name="Pat", last_name="Novak"), teams=[team_for("platform")])
    area = planned.areas.get(kind=AreaKind.MODEL_QUALITY)
    url = reverse("web:raci-staff", args=[planned.slug])
    client.force_login(planned.owner)
    refused = client.post(url, {"area": area.pk, "stakeholder": pat.pk, "roles": ["A"]})
    assert "not in a ML team" in refused.content.decode() or "cannot be Accountable" in refused.content.decode()
    assert client.post(url, {"area": area.pk, "stakeholder": pat.pk}).status_code == 200  # no role chosen
    assert not area.assignments.exists()
    client.force_login(give_view(UserFactory(), planned))
    assert client.post(url, {"area": area.pk, "stakeholder": pat.pk, "roles": ["R"]}).status_code == 403
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    assert not area.assignments.filter(stakeholder=pat).exists()
