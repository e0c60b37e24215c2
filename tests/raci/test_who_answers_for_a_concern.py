"""Who answers for a concern follows the concern, never the area that claims it: a renamed,
loosened quality bar moved to an area whose Accountable the owner chose is agreed only by ML; an
agreement stops counting once its giver no longer answers for the concern; moving a concern to
another area clears its agreement, ledgered, in the same transaction."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from raci.choices import AreaKind, Role, TeamFunction
from raci.models import RaciAssignment
from raci.selectors import bar_functions, concern_functions, slo_functions
from raci.services import quality_bar_agree, team_remove_member
from readiness.checklist import evaluate, with_checklist_facts
from readiness.choices import SloIndicator
from readiness.models import SLO, Launch, QualityBar
from readiness.services import fact_add, fact_change, fact_remove, fact_version
from tests.builders import accountable_of, ready_launch, team_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_stays_intact")]


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """A ready launch, built once per module."""
    return ready_launch(slug="concerns", name="Concerns").pk


def item(launch, key):
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    return next(result for result in evaluate(facts).results if result.key == key)


def posted(response, **changes) -> dict:
    """What the rendered fact form posts: every field as the page shows it, with ``changes``."""
    form = response.context["form"]
    data = {name: form[name].value() for name in form.fields}
    data = {name: "" if value is None else value for name, value in data.items()}
    data["seen_version"] = response.context["versioned"]["seen_version"].value()
    return {**data, **changes}


def edit(client, launch, kind_name: str, pk: int, **changes):
    url = reverse("web:fact-change", args=[launch.slug, kind_name, pk])
    return client.post(url, posted(client.get(url), **changes))


# --- one rule: the concern names its function --------------------------------------------------------


@pytest.mark.parametrize(
    ("concern", "functions"),
    [
        ("wrong_answers", {TeamFunction.ML}),
        ("made_up_metric", {TeamFunction.ML}),
        ("latency", {TeamFunction.PLATFORM}),
        ("availability", {TeamFunction.PLATFORM}),
        ("cost", {TeamFunction.PLATFORM}),
        ("privacy", {TeamFunction.LEGAL, TeamFunction.COMPLIANCE, TeamFunction.SECURITY}),
        ("ux", {TeamFunction.PRODUCT}),
    ],
)
def test_a_concern_s_function_comes_from_the_concern_alone(concern, functions):
    assert set(concern_functions(concern)) == functions
    assert set(bar_functions(concern)) == functions


def test_an_slo_is_answered_for_by_platform():
    for indicator in (SloIndicator.SUCCESS_RATE, SloIndicator.LATENCY_P95, SloIndicator.COST_MONTHLY):
        assert set(slo_functions(indicator)) == {TeamFunction.PLATFORM}


# --- the attack, through the pages ---------------------------------------------------------------------


def test_a_bar_moved_to_the_owner_s_chosen_area_is_not_agreed_by_her_colleague(client, launch):
    bar = launch.quality_bars.get()
    ux = launch.areas.get(kind=AreaKind.USER_EXPERIENCE)
    colleague = accountable_of(launch, AreaKind.USER_EXPERIENCE).user  # product, chosen by the owner
    client.force_login(launch.owner)
    # Rename the metric to one nobody listed and loosen it from 3 % to 30 %.
    response = edit(client, launch, "qualitybar", bar.pk, metric="helpfulness_gaps", max_failure_rate="30")  # 30 %
    assert response.status_code == 302
    bar.refresh_from_db()
    assert (bar.metric, bar.max_failure_rate, bar.agreed_by_id) == ("helpfulness_gaps", Decimal("0.3"), None)
    # Claim the metric for the user-experience area.
    response = edit(
        client, launch, "responsibilityarea", ux.pk, concerns="fallbacks, user_feedback, ux, helpfulness_gaps"
    )
    assert response.status_code == 302
    ux.refresh_from_db()
    assert "helpfulness_gaps" in ux.concerns
    # The colleague sees no Agree button, and posting the agreement anyway is refused.
    client.force_login(colleague)
    page = client.get(reverse("web:launch", args=[launch.slug]))
    agree_url = reverse("web:fact-agree", args=[launch.slug, "qualitybar", bar.pk])
    assert agree_url not in page.content.decode()
    response = client.post(agree_url, {"seen_version": fact_version(bar)})
    assert response.status_code == 403
    assert "You are not in any ML team" in response.content.decode()
    assert QualityBar.objects.get(pk=bar.pk).agreed_by_id is None
    assert item(launch, "failure_rate_agreed").status == "fail"
    evidence = item(launch, "quality_evidence")
    assert evidence.status == "fail"
    assert "nobody agreed that maximum" in " ".join(evidence.reasons)


def test_the_ml_accountable_still_agrees_the_renamed_bar_through_the_page(client, launch):
    bar = launch.quality_bars.get()
    fact_change(actor=launch.owner, fact=bar, seen_version=fact_version(bar), values={"metric": "helpfulness_gaps"})
    ml = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    client.force_login(ml)
    agree_url = reverse("web:fact-agree", args=[launch.slug, "qualitybar", bar.pk])
    assert agree_url in client.get(reverse("web:launch", args=[launch.slug])).content.decode()
    assert client.post(agree_url, {"seen_version": fact_version(bar)}).status_code == 302
    assert QualityBar.objects.get(pk=bar.pk).agreed_by == ml
    assert item(launch, "failure_rate_agreed").status == "pass"
    assert item(launch, "quality_evidence").status == "pass"


def test_renaming_an_agreed_metric_clears_the_agreement_ledgered(launch):
    bar = launch.quality_bars.get()
    fact_change(actor=launch.owner, fact=bar, seen_version=fact_version(bar), values={"metric": "helpfulness_gaps"})
    assert QualityBar.objects.get(pk=bar.pk).agreed_by_id is None
    entry = LedgerEntry.objects.order_by("-sequence").first()
    assert (entry.event, entry.payload["metric"], entry.payload["agreement cleared"]) == (
        LedgerEvent.BAR_REDEFINED,
        "helpfulness_gaps",
        True,
    )


# --- re-homing clears the agreement ------------------------------------------------------------------------


def test_moving_an_agreed_bar_s_concern_to_another_area_clears_its_agreement(launch):
    bar = launch.quality_bars.get()
    fact_change(actor=launch.owner, fact=bar, seen_version=fact_version(bar), values={"metric": "helpfulness_gaps"})
    ml = accountable_of(launch, AreaKind.MODEL_QUALITY)
    quality_bar_agree(actor=ml.user, bar=bar, seen_version=fact_version(bar))
    # A custom area the ML Accountable also holds claims the metric: another area, the same person.
    custom = fact_add(
        actor=launch.owner,
        launch=launch,
        model=type(launch.areas.first()),
        values={"kind": AreaKind.CUSTOM, "name": "Helpfulness", "concerns": ["helpfulness_gaps"]},
    )
    bar.refresh_from_db()
    assert bar.agreed_by_id is None
    history = bar.history.first()
    assert "moved from 'Model/prompt quality' to 'Helpfulness'" in history.history_change_reason
    entry = LedgerEntry.objects.order_by("-sequence").first()
    assert entry.event == LedgerEvent.BAR_REDEFINED
    assert entry.payload["agreement cleared"] is True
    assert (entry.payload["concern moved from"], entry.payload["concern moved to"]) == (
        "Model/prompt quality",
        "Helpfulness",
    )
    # Taking the claim back moves it home again: agreed anew by ML, then cleared again.
    RaciAssignment.objects.create(area=custom, stakeholder=ml, role=Role.ACCOUNTABLE)
    quality_bar_agree(actor=ml.user, bar=bar, seen_version=fact_version(bar))
    fact_change(actor=launch.owner, fact=custom, seen_version=fact_version(custom), values={"concerns": []})
    assert QualityBar.objects.get(pk=bar.pk).agreed_by_id is None


def test_changing_concerns_that_move_nothing_keeps_every_agreement(launch):
    ux = launch.areas.get(kind=AreaKind.USER_EXPERIENCE)
    before = LedgerEntry.objects.count()
    fact_change(actor=launch.owner, fact=ux, seen_version=fact_version(ux), values={"concerns": ["ux", "tone"]})
    assert QualityBar.objects.get().agreed_by_id is not None
    assert not SLO.objects.filter(launch=launch, agreed_by__isnull=True).exists()
    # Only the area's own change is recorded (as a sealed fact); no agreement is cleared.
    assert list(LedgerEntry.objects.order_by("sequence")[before:].values_list("event", flat=True)) == [
        LedgerEvent.FACT_RECORDED
    ]


def test_moving_an_slo_s_concern_clears_its_agreement(launch):
    ux = launch.areas.get(kind=AreaKind.USER_EXPERIENCE)
    infrastructure = launch.areas.get(kind=AreaKind.INFRASTRUCTURE)
    fact_change(
        actor=launch.owner, fact=ux, seen_version=fact_version(ux), values={"concerns": [*ux.concerns, "latency"]}
    )
    latency = SLO.objects.get(launch=launch, indicator=SloIndicator.LATENCY_P95)
    assert latency.agreed_by_id is not None  # infrastructure, the first area claiming latency, still owns it
    kept = [concern for concern in infrastructure.concerns if concern != "latency"]
    fact_change(
        actor=launch.owner, fact=infrastructure, seen_version=fact_version(infrastructure), values={"concerns": kept}
    )
    latency.refresh_from_db()
    assert latency.agreed_by_id is None
    entry = LedgerEntry.objects.order_by("-sequence").first()
    assert (entry.event, entry.payload["concern moved to"]) == (LedgerEvent.SLO_REDEFINED, ux.name)
    assert SLO.objects.get(launch=launch, indicator=SloIndicator.SUCCESS_RATE).agreed_by_id is not None
    assert item(launch, "slos_defined").status == "fail"


def test_removing_the_area_that_claimed_a_concern_clears_its_agreement(launch):
    bar = launch.quality_bars.get()
    fact_change(actor=launch.owner, fact=bar, seen_version=fact_version(bar), values={"metric": "helpfulness_gaps"})
    custom = fact_add(
        actor=launch.owner,
        launch=launch,
        model=type(launch.areas.first()),
        values={"kind": AreaKind.CUSTOM, "name": "Helpfulness", "concerns": ["helpfulness_gaps"]},
    )
    ml = accountable_of(launch, AreaKind.MODEL_QUALITY)
    RaciAssignment.objects.create(area=custom, stakeholder=ml, role=Role.ACCOUNTABLE)
    quality_bar_agree(actor=ml.user, bar=bar, seen_version=fact_version(bar))
    fact_remove(actor=launch.owner, fact=custom, seen_version=fact_version(custom), reason="Merged back")
    assert QualityBar.objects.get(pk=bar.pk).agreed_by_id is None


# --- an agreement stops counting once its giver leaves the function --------------------------------------


def test_an_agreement_by_someone_who_later_leaves_ml_stops_counting(launch):
    """Someone both in product and in ML, Accountable of the area claiming an unlisted metric,
    may agree it; once they leave ML the agreement no longer counts."""
    bar = launch.quality_bars.get()
    fact_change(actor=launch.owner, fact=bar, seen_version=fact_version(bar), values={"metric": "helpfulness_gaps"})
    ux = launch.areas.get(kind=AreaKind.USER_EXPERIENCE)
    fact_change(
        actor=launch.owner,
        fact=ux,
        seen_version=fact_version(ux),
        values={"concerns": [*ux.concerns, "helpfulness_gaps"]},
    )
    both = accountable_of(launch, AreaKind.USER_EXPERIENCE)
    ml_team = team_for(TeamFunction.ML)
    both.teams.add(ml_team)
    quality_bar_agree(actor=both.user, bar=bar, seen_version=fact_version(bar))
    assert item(launch, "failure_rate_agreed").status == "pass"
    admin = UserFactory()
    admin.user_permissions.add(Permission.objects.get(codename="manage_teams"))
    team_remove_member(actor=type(admin).objects.get(pk=admin.pk), team=ml_team, stakeholder=both)
    result = item(launch, "failure_rate_agreed")
    assert result.status == "fail"
    assert f"was agreed by {both.display_name}, who is not in any ML team" in " ".join(result.reasons)
