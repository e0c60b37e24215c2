from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from guardian.shortcuts import get_perms

from raci.choices import AreaKind
from raci.models import LaunchStakeholder, ResponsibilityArea
from readiness.choices import NotifyScope, SloIndicator, StageKind
from readiness.models import SLO, Launch, QualityBar, RolloutStage, SeverityLevel
from readiness.services import launch_create_from_template
from tests.factories import LaunchFactory

pytestmark = pytest.mark.django_db


def create(pm, **overrides):
    arguments = {"actor": pm, "template": "genai-feature", "name": "Support assistant", "slug": "assistant"}
    return launch_create_from_template(**(arguments | overrides))


def test_template_creates_the_three_stages_in_order(pm):
    launch = create(pm)
    stages = [(s.kind, s.name, s.order, s.exposure_percent) for s in launch.stages.order_by("order")]
    assert stages == [
        (StageKind.INTERNAL, "Internal", 1, Decimal("1")),
        (StageKind.BETA, "Beta", 2, Decimal("10")),
        (StageKind.FULL, "Full", 3, Decimal("100")),
    ]
    assert launch.current_stage is None
    assert launch.next_stage().name == "Internal"


def test_template_stage_exposures_are_proposals_no_person_confirmed_yet(pm):
    launch = create(pm)
    assert [stage.proposed for stage in launch.stages.order_by("order")] == [["exposure_percent"]] * 3
    assert all(stage.is_proposed("exposure_percent") for stage in launch.stages.all())


def test_template_creates_the_five_standard_areas_with_their_concerns(pm):
    launch = create(pm)
    areas = {area.kind: area for area in ResponsibilityArea.objects.filter(launch=launch)}
    assert set(areas) == {kind for kind in AreaKind.values if kind != AreaKind.CUSTOM}
    assert "wrong_answers" in areas[AreaKind.MODEL_QUALITY].concerns
    assert "availability" in areas[AreaKind.INFRASTRUCTURE].concerns


def test_template_creates_the_severity_policy_of_the_design(pm):
    launch = create(pm)
    policy = {lvl.level: (lvl.response_minutes, lvl.notify, lvl.response_label) for lvl in launch.severity_levels.all()}
    assert policy == {
        "P0": (15, NotifyScope.ALL_TEAMS, "15 min"),
        "P1": (60, NotifyScope.OWNING_TEAM, "1 h"),
        "P2": (240, NotifyScope.ASSIGNEE, "4 h"),
        "P3": (None, NotifyScope.BACKLOG, "next sprint"),
    }
    # The response times are the template's proposals; the definitions and scopes are not.
    assert {lvl.level: lvl.proposed for lvl in launch.severity_levels.all()} == {
        code: ["response_minutes"] for code in ("P0", "P1", "P2", "P3")
    }


def test_template_creates_slos_for_success_latency_and_the_cost_budget(pm):
    launch = create(pm, monthly_cost_budget=Decimal("20000"), daily_cost_alert=Decimal("800"))
    slos = {slo.indicator: (slo.target, slo.alert_threshold, slo.proposed) for slo in launch.slos.all()}
    assert slos == {
        # The template's numbers are proposals...
        SloIndicator.SUCCESS_RATE: (Decimal("99.5"), Decimal("99"), ["target", "alert_threshold"]),
        SloIndicator.LATENCY_P95: (Decimal("3000"), Decimal("5000"), ["target", "alert_threshold"]),
        # ...the budget and its daily alert are the creator's own: target the monthly budget,
        # alert threshold the daily spend that raises an alert.
        SloIndicator.COST_MONTHLY: (Decimal("20000"), Decimal("800"), []),
    }
    assert all(slo.agreed_by is None and slo.agreed_at is None for slo in launch.slos.all())
    cost = launch.slos.get(indicator=SloIndicator.COST_MONTHLY)
    assert cost.history.get().history_change_reason == "Monthly cost budget and daily alert entered at creation"


def test_template_without_a_budget_creates_no_cost_slo(pm):
    launch = create(pm)
    assert sorted(launch.slos.values_list("indicator", flat=True)) == sorted(
        [SloIndicator.SUCCESS_RATE, SloIndicator.LATENCY_P95]
    )


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"monthly_cost_budget": Decimal("20000")}, "daily_cost_alert"),
        ({"daily_cost_alert": Decimal("800")}, "monthly_cost_budget"),
    ],
)
def test_a_budget_without_its_daily_alert_or_an_alert_without_a_budget_is_refused_naming_the_missing_one(
    pm, given, missing
):
    with pytest.raises(ValidationError) as error:
        create(pm, **given)
    assert error.value.message_dict == {
        missing: ["Give the monthly cost budget and its daily alert together, or neither."]
    }
    assert not Launch.objects.exists()


def test_a_daily_cost_alert_above_the_monthly_budget_is_refused_and_nothing_is_saved(pm):
    with pytest.raises(ValidationError) as error:
        create(pm, monthly_cost_budget=Decimal("500"), daily_cost_alert=Decimal("600"))
    assert error.value.message_dict["alert_threshold"] == [
        "The daily cost alert (600) cannot exceed the monthly budget (500)."
    ]
    assert not Launch.objects.exists()
    assert not SLO.objects.exists()


def test_template_creates_a_five_percent_wrong_answer_bar_not_yet_agreed(pm):
    bar = create(pm).quality_bars.get()
    assert (bar.metric, bar.max_failure_rate, bar.agreed_by) == ("wrong_answers", Decimal("0.05"), None)


def test_template_leaves_the_standard_stakeholder_functions_waiting_for_people(pm):
    launch = create(pm)
    slots = LaunchStakeholder.objects.filter(launch=launch)
    assert sorted(slot.function for slot in slots) == ["business", "customer_support", "legal", "security"]
    assert all(slot.stakeholder is None for slot in slots)
    assert "waiting to be filled" in str(slots[0])


def test_template_gives_the_owner_view_and_change_permission(pm):
    launch = create(pm)
    assert set(get_perms(pm, launch)) >= {"view_launch", "change_launch"}


def test_template_records_history_with_the_actor_and_reason(pm):
    launch = create(pm)
    record = launch.history.get()
    assert record.history_user == pm
    assert record.history_change_reason == "Launch created"
    area = ResponsibilityArea.objects.filter(launch=launch).first()
    assert area.history.get().history_user == pm
    assert SeverityLevel.history.filter(launch_id=launch.pk).count() == 4


def test_unknown_template_is_refused_and_nothing_is_saved(pm):
    with pytest.raises(ValidationError) as error:
        create(pm, template="nope")
    assert "Unknown launch template 'nope'" in str(error.value.message_dict["template"])
    assert not Launch.objects.exists()


def test_duplicate_slug_is_refused_and_nothing_is_saved(pm):
    LaunchFactory(slug="assistant")
    with pytest.raises(ValidationError) as error:
        create(pm)
    assert "slug" in error.value.message_dict
    assert Launch.objects.count() == 1
    assert not RolloutStage.objects.exists() and not QualityBar.objects.exists() and not SLO.objects.exists()


def test_non_positive_cost_budget_is_refused(pm):
    with pytest.raises(ValidationError) as error:
        create(pm, monthly_cost_budget=Decimal("0"), daily_cost_alert=Decimal("0"))
    assert "monthly_cost_budget" in error.value.message_dict
    assert not Launch.objects.exists()


def test_a_failure_half_way_rolls_back_everything(pm):
    """A contributor failing after the launch and its stages exist leaves no trace."""
    from readiness.launch_templates import TEMPLATES

    def broken(**kwargs):
        raise ValidationError("boom")

    contributors = TEMPLATES["genai-feature"].contributors
    contributors.append(broken)
    try:
        with pytest.raises(ValidationError):
            create(pm)
    finally:
        contributors.remove(broken)
    assert not Launch.objects.exists()
    assert not RolloutStage.objects.exists()
