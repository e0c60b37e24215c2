"""Invariants of the launch facts, checked at both walls: ``full_clean()`` (forms, admin, services)
and the database itself (anything that saves without validating: ``objects.create``, ``.save()``,
raw SQL, a future API that forgets to validate)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils import timezone

from readiness.choices import SloIndicator, StageKind
from readiness.models import SLO, QualityBar, RollbackPlan, RolloutStage, Runbook
from tests.factories import (
    DataAssetFactory,
    EvalRunFactory,
    LaunchFactory,
    QualityBarFactory,
    RollbackPlanFactory,
    RolloutStageFactory,
    RunbookFactory,
    SeverityLevelFactory,
    SLOFactory,
    UserFactory,
)
from tests.helpers import assert_invalid, assert_rejected_everywhere, validation_messages

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def launch():
    return LaunchFactory()


@pytest.fixture
def other_launch():
    return LaunchFactory()


# --- Launch -------------------------------------------------------------------------------------


def test_launch_slug_must_be_unique(launch):
    duplicate = LaunchFactory.build(slug=launch.slug, owner=launch.owner)
    assert_rejected_everywhere(duplicate, "slug", "already exists")


def test_launch_in_planning_has_no_current_stage_and_is_valid(launch):
    launch.full_clean()


def test_launch_current_stage_may_be_one_of_its_own_stages(launch):
    launch.current_stage = RolloutStageFactory(launch=launch)
    launch.full_clean()


def test_launch_current_stage_cannot_belong_to_another_launch(launch, other_launch):
    launch.current_stage = RolloutStageFactory(launch=other_launch)
    assert_invalid(launch, "current_stage", "this launch's own stages")


def test_new_launch_cannot_start_on_another_launchs_stage(other_launch):
    stranger = LaunchFactory.build(owner=other_launch.owner, current_stage=RolloutStageFactory(launch=other_launch))
    assert_invalid(stranger, "current_stage", "this launch's own stages")


# --- RolloutStage -------------------------------------------------------------------------------


@pytest.mark.parametrize("exposure", ["0", "0.01", "50", "100"])
def test_stage_exposure_from_0_to_100_is_accepted(launch, exposure):
    kind = StageKind.FULL if exposure == "100" else StageKind.CUSTOM
    stage = RolloutStageFactory.build(launch=launch, kind=kind, exposure_percent=D(exposure))
    stage.full_clean()
    stage.save()
    assert RolloutStage.objects.filter(pk=stage.pk).exists()


@pytest.mark.parametrize(
    ("exposure", "fragment"), [("100.01", "less than or equal to 100"), ("-1", "greater than or equal to 0")]
)
def test_stage_exposure_outside_0_to_100_is_refused(launch, exposure, fragment):
    stage = RolloutStageFactory.build(launch=launch, exposure_percent=D(exposure))
    assert_rejected_everywhere(stage, "exposure_percent", fragment)


def test_stage_order_is_unique_per_launch(launch):
    RolloutStageFactory(launch=launch, order=1, name="Internal")
    duplicate = RolloutStageFactory.build(launch=launch, order=1, name="Beta")
    assert_rejected_everywhere(duplicate, NON_FIELD_ERRORS, "Launch and Order already exists")


def test_same_stage_order_on_another_launch_is_fine(launch, other_launch):
    RolloutStageFactory(launch=launch, order=1, name="Internal")
    stage = RolloutStageFactory.build(launch=other_launch, order=1, name="Internal")
    stage.full_clean()
    stage.save()
    assert RolloutStage.objects.filter(order=1, name="Internal").count() == 2


def test_stage_name_is_unique_per_launch(launch):
    RolloutStageFactory(launch=launch, order=1, name="Beta")
    duplicate = RolloutStageFactory.build(launch=launch, order=2, name="Beta")
    assert_rejected_everywhere(duplicate, NON_FIELD_ERRORS, "Launch and Name already exists")


INTERNAL_MINIMUM = [
    "stakeholders_approved",
    "failure_rate_agreed",
    "raci_defined",
    "data_classified",
    "pii_policy",
    "operating_within_slos",
]


@pytest.mark.parametrize(
    "gating_checks", [None, [], INTERNAL_MINIMUM, [*INTERNAL_MINIMUM, "rollback_plan", "slos_defined"]]
)
def test_stage_gating_checks_may_be_empty_or_add_known_keys_to_the_kind_s_defaults(launch, gating_checks):
    RolloutStageFactory.build(launch=launch, gating_checks=gating_checks).full_clean()


@pytest.mark.parametrize(
    ("kind", "exposure", "gating_checks", "dropped"),
    [
        (
            StageKind.INTERNAL,
            "1",
            ["raci_defined"],
            "stakeholders_approved, failure_rate_agreed, data_classified, pii_policy",
        ),
        (
            StageKind.BETA,
            "10",
            INTERNAL_MINIMUM,
            "incident_owner, slos_defined, monitoring_dashboard, rollback_plan, incident_runbook, feedback_loop, "
            "quality_evidence",
        ),
        (StageKind.FULL, "100", [*INTERNAL_MINIMUM, "incident_owner"], "slos_defined, monitoring_dashboard"),
        (StageKind.CUSTOM, "60", [*INTERNAL_MINIMUM], "incident_owner, slos_defined"),
        (StageKind.CUSTOM, "5", ["rollback_plan", "pii_policy"], "stakeholders_approved, failure_rate_agreed"),
    ],
)
def test_a_stage_s_own_list_never_drops_what_its_kind_requires(launch, kind, exposure, gating_checks, dropped):
    stage = RolloutStageFactory.build(
        launch=launch, kind=kind, exposure_percent=D(exposure), gating_checks=gating_checks
    )
    messages = validation_messages(stage)
    assert list(messages) == ["gating_checks"]
    assert "Add items, never drop them." in messages["gating_checks"][0]
    assert f"this list leaves out {dropped}" in messages["gating_checks"][0]


@pytest.mark.parametrize(
    ("kind", "exposure", "limit"), [(StageKind.INTERNAL, "5.01", 5), (StageKind.BETA, "50.01", 50)], ids=str
)
def test_an_internal_or_beta_stage_wider_than_its_limit_is_refused(launch, kind, exposure, limit):
    stage = RolloutStageFactory.build(launch=launch, kind=kind, exposure_percent=D(exposure))
    assert validation_messages(stage) == {
        "exposure_percent": [
            f"{stage.get_kind_display()} stages expose at most {limit} % of users; "
            "a wider stage is the next kind, gated and signed off as one."
        ]
    }


def test_the_exposure_limits_come_from_the_settings(launch, settings):
    settings.INTERNAL_MAX_EXPOSURE_PERCENT = 20
    RolloutStageFactory.build(launch=launch, kind=StageKind.INTERNAL, exposure_percent=D("20")).full_clean()


@pytest.mark.parametrize("kind", [StageKind.INTERNAL, StageKind.BETA, StageKind.CUSTOM])
def test_a_stage_exposing_every_user_is_a_full_stage(launch, kind):
    stage = RolloutStageFactory.build(launch=launch, kind=kind, exposure_percent=D("100"))
    assert validation_messages(stage) == {
        "exposure_percent": ["A stage exposing every user (100 %) is a Full stage, gated and signed off as one."]
    }


def test_stage_gating_checks_naming_an_unknown_key_are_refused_with_that_key(launch):
    stage = RolloutStageFactory.build(launch=launch, gating_checks=["raci_defined", "vibes_checked"])
    messages = validation_messages(stage)
    assert list(messages) == ["gating_checks"]
    assert "vibes_checked" in messages["gating_checks"][0]
    assert "raci_defined" not in messages["gating_checks"][0].split("Known:")[0]


@pytest.mark.parametrize("gating_checks", ["raci_defined", {"raci_defined": True}, [1], ["raci_defined", None]])
def test_stage_gating_checks_must_be_a_list_of_keys(launch, gating_checks):
    stage = RolloutStageFactory.build(launch=launch, gating_checks=gating_checks)
    assert_invalid(stage, "gating_checks", "list of checklist item keys")


# --- QualityBar ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", ["0", "0.05", "0.99999"])
def test_max_failure_rate_from_zero_up_to_one_is_accepted(launch, rate):
    bar = QualityBarFactory.build(launch=launch, max_failure_rate=D(rate))
    bar.full_clean()
    bar.save()
    assert QualityBar.objects.get(pk=bar.pk).max_failure_rate == D(rate)


@pytest.mark.parametrize("rate", ["1", "-0.1", "1.5"])
def test_max_failure_rate_must_be_a_fraction_below_one(launch, rate):
    bar = QualityBarFactory.build(launch=launch, max_failure_rate=D(rate))
    assert_rejected_everywhere(bar, "max_failure_rate")


def test_max_failure_rate_of_one_is_explained_as_a_fraction(launch):
    bar = QualityBarFactory.build(launch=launch, max_failure_rate=D("1"))
    assert_invalid(bar, "max_failure_rate", "fraction from 0 up to (not including) 1")


@pytest.mark.parametrize("level", ["0.001", "0.5", "0.95", "0.999"])
def test_confidence_level_strictly_between_zero_and_one_is_accepted(launch, level):
    QualityBarFactory.build(launch=launch, confidence_level=D(level)).full_clean()


@pytest.mark.parametrize("level", ["0", "1", "-0.5", "1.5"])
def test_confidence_level_must_be_strictly_between_zero_and_one(launch, level):
    bar = QualityBarFactory.build(launch=launch, confidence_level=D(level))
    assert_rejected_everywhere(bar, "confidence_level", "strictly between 0 and 1")


def test_min_samples_must_be_at_least_one(launch):
    bar = QualityBarFactory.build(launch=launch, min_samples=0)
    assert_rejected_everywhere(bar, "min_samples", "greater than or equal to 1")


@pytest.mark.parametrize("share", ["0", "0.1", "0.333", "1"])
def test_min_human_reviewed_share_from_zero_to_one_is_accepted(launch, share):
    QualityBarFactory.build(launch=launch, min_human_reviewed_share=D(share)).full_clean()


def test_a_quality_bar_requires_no_human_review_unless_it_says_so(launch):
    assert QualityBarFactory(launch=launch).min_human_reviewed_share == 0


@pytest.mark.parametrize("share", ["-0.001", "-1", "1.001", "2"])
def test_min_human_reviewed_share_must_be_a_fraction_from_zero_to_one(launch, share):
    bar = QualityBarFactory.build(launch=launch, min_human_reviewed_share=D(share))
    assert_rejected_everywhere(bar, "min_human_reviewed_share", "a fraction from 0 to 1")


def test_agreement_with_both_who_and_when_is_accepted(launch):
    QualityBarFactory.build(launch=launch, agreed_by=UserFactory(), agreed_at=timezone.now()).full_clean()


def test_agreement_needs_a_time_when_someone_agreed(launch):
    bar = QualityBarFactory.build(launch=launch, agreed_by=UserFactory(), agreed_at=None)
    assert_rejected_everywhere(bar, "agreed_at", "both who agreed and when")


def test_agreement_needs_a_person_when_a_time_is_given(launch):
    bar = QualityBarFactory.build(launch=launch, agreed_by=None, agreed_at=timezone.now())
    assert_rejected_everywhere(bar, "agreed_by", "both who agreed and when")


def test_quality_bar_metric_is_unique_per_launch(launch, other_launch):
    QualityBarFactory(launch=launch, metric="wrong_answers")
    QualityBarFactory.build(launch=other_launch, metric="wrong_answers").full_clean()
    duplicate = QualityBarFactory.build(launch=launch, metric="wrong_answers")
    assert_rejected_everywhere(duplicate, NON_FIELD_ERRORS, "Launch and Metric already exists")


# --- EvalRun ------------------------------------------------------------------------------------


@pytest.fixture
def bar(launch):
    return QualityBarFactory(launch=launch)


def test_failures_may_equal_samples(bar):
    EvalRunFactory.build(quality_bar=bar, samples=10, failures=10, human_reviewed=10).full_clean()


def test_failures_cannot_exceed_samples(bar):
    run = EvalRunFactory.build(quality_bar=bar, samples=10, failures=11, human_reviewed=0)
    assert_rejected_everywhere(run, "failures", "Failures (11) cannot exceed samples (10)")


def test_human_reviewed_cannot_exceed_samples(bar):
    run = EvalRunFactory.build(quality_bar=bar, samples=10, failures=0, human_reviewed=11)
    assert_rejected_everywhere(run, "human_reviewed", "Human-reviewed samples (11) cannot exceed samples (10)")


def test_an_eval_run_records_the_version_it_measured_and_who_owns_its_golden_set(bar):
    owner = UserFactory()
    run = EvalRunFactory.build(quality_bar=bar, measured_version="prompt-v7", golden_set_owner=owner)
    run.full_clean()
    run.save()
    run.refresh_from_db()
    assert (run.measured_version, run.golden_set_owner) == ("prompt-v7", owner)


def test_the_measured_version_is_a_single_line(bar):
    run = EvalRunFactory.build(quality_bar=bar, measured_version="v7\nBcc: x@example.com")
    assert_invalid(run, "measured_version", "single line")


def test_the_serving_version_is_a_single_line(launch):
    launch.serving_version = "prompt-v7\r\nX: y"
    assert_invalid(launch, "serving_version", "single line")


def test_a_golden_set_owner_cannot_be_deleted_while_a_run_names_them(bar):
    from django.db.models import ProtectedError

    owner = UserFactory()
    EvalRunFactory(quality_bar=bar, golden_set_owner=owner)
    with pytest.raises(ProtectedError):
        owner.delete()


def test_an_eval_run_needs_at_least_one_sample(bar):
    run = EvalRunFactory.build(quality_bar=bar, samples=0, failures=0, human_reviewed=0)
    assert_rejected_everywhere(run, "samples", "greater than or equal to 1")


# --- DataAsset ----------------------------------------------------------------------------------


def test_data_asset_name_is_unique_per_launch(launch, other_launch):
    DataAssetFactory(launch=launch, name="Help centre")
    DataAssetFactory.build(launch=other_launch, name="Help centre").full_clean()
    duplicate = DataAssetFactory.build(launch=launch, name="Help centre")
    assert_rejected_everywhere(duplicate, NON_FIELD_ERRORS, "Launch and Name already exists")


@pytest.mark.parametrize("days", [None, 1, 365])
def test_data_asset_retention_may_be_unset_or_positive(launch, days):
    DataAssetFactory.build(launch=launch, retention_days=days).full_clean()


@pytest.mark.parametrize("field", ["retention_days", "audit_interval_days"])
def test_data_asset_retention_and_audit_interval_must_be_at_least_one_day(launch, field):
    asset = DataAssetFactory.build(launch=launch, **{field: 0})
    assert_rejected_everywhere(asset, field, "greater than or equal to 1")


# --- SLO ----------------------------------------------------------------------------------------


def test_slo_indicator_is_unique_per_launch(launch, other_launch):
    SLOFactory(launch=launch, indicator=SloIndicator.SUCCESS_RATE)
    SLOFactory.build(launch=other_launch, indicator=SloIndicator.SUCCESS_RATE).full_clean()
    duplicate = SLOFactory.build(launch=launch, indicator=SloIndicator.SUCCESS_RATE)
    assert_rejected_everywhere(duplicate, NON_FIELD_ERRORS, "Launch and Indicator already exists")


VALID_SLOS = [
    (SloIndicator.SUCCESS_RATE, "99.5", "99"),
    (SloIndicator.SUCCESS_RATE, "100", "100"),
    (SloIndicator.SUCCESS_RATE, "99.5", None),
    (SloIndicator.ERROR_RATE, "1", "2"),
    (SloIndicator.ERROR_RATE, "1", "1"),
    (SloIndicator.LATENCY_P95, "3000", "3500"),
    (SloIndicator.LATENCY_P50, "800", "800"),
    # For the monthly cost SLO the alert threshold is a daily spend: at most the monthly budget.
    (SloIndicator.COST_MONTHLY, "5000", "200"),
    (SloIndicator.COST_MONTHLY, "5000", "5000"),
    (SloIndicator.COST_DAILY, "5000", "6000"),
    (SloIndicator.COST_DAILY, "0", "0"),
    (SloIndicator.LATENCY_P99, "250000", None),
]


@pytest.mark.parametrize(("indicator", "target", "alert"), VALID_SLOS)
def test_slo_with_a_sensible_target_and_alert_is_accepted(launch, indicator, target, alert):
    slo = SLOFactory.build(launch=launch, indicator=indicator, target=D(target), alert_threshold=alert and D(alert))
    slo.full_clean()
    slo.save()
    assert SLO.objects.filter(pk=slo.pk).exists()


@pytest.mark.parametrize("indicator", [SloIndicator.SUCCESS_RATE, SloIndicator.ERROR_RATE])
@pytest.mark.parametrize("field", ["target", "alert_threshold"])
def test_percentage_slo_values_cannot_exceed_100(launch, indicator, field):
    values = {"target": D("100"), "alert_threshold": D("100"), field: D("100.5")}
    slo = SLOFactory.build(launch=launch, indicator=indicator, **values)
    assert_rejected_everywhere(slo, field, "enter a percentage between 0 % and 100 %")


def test_success_rate_alert_must_fire_at_or_below_the_target(launch):
    slo = SLOFactory.build(
        launch=launch, indicator=SloIndicator.SUCCESS_RATE, target=D("99.5"), alert_threshold=D("99.9")
    )
    assert_rejected_everywhere(slo, "alert_threshold", "falls below", "99.5")


@pytest.mark.parametrize(
    ("indicator", "target", "alert"),
    [
        (SloIndicator.LATENCY_P50, "800", "500"),
        (SloIndicator.LATENCY_P95, "3000", "2999"),
        (SloIndicator.LATENCY_P99, "5000", "1000"),
        (SloIndicator.ERROR_RATE, "1", "0.5"),
    ],
)
def test_latency_and_error_rate_alerts_must_fire_at_or_above_the_target(launch, indicator, target, alert):
    slo = SLOFactory.build(launch=launch, indicator=indicator, target=D(target), alert_threshold=D(alert))
    assert_rejected_everywhere(slo, "alert_threshold", "rises above", target)


@pytest.mark.parametrize("indicator", [SloIndicator.SUCCESS_RATE, SloIndicator.LATENCY_P95, SloIndicator.COST_MONTHLY])
def test_slo_target_cannot_be_negative(launch, indicator):
    slo = SLOFactory.build(launch=launch, indicator=indicator, target=D("-1"), alert_threshold=None)
    assert_rejected_everywhere(slo, "target", "greater than or equal to 0")


@pytest.mark.parametrize("indicator", [SloIndicator.COST_DAILY, SloIndicator.COST_MONTHLY])
def test_cost_alert_can_be_any_non_negative_amount_but_not_negative(launch, indicator):
    SLOFactory.build(launch=launch, indicator=indicator, target=D("100"), alert_threshold=D("0")).full_clean()
    slo = SLOFactory.build(launch=launch, indicator=indicator, target=D("100"), alert_threshold=D("-1"))
    assert_rejected_everywhere(slo, "alert_threshold", "greater than or equal to 0")


def test_a_daily_cost_alert_above_the_monthly_budget_is_rejected(launch):
    slo = SLOFactory.build(
        launch=launch, indicator=SloIndicator.COST_MONTHLY, target=D("5000"), alert_threshold=D("5000.001")
    )
    assert_rejected_everywhere(slo, "alert_threshold", "daily cost alert (5000.001) cannot exceed", "budget (5000)")


def test_an_slo_agreement_with_both_who_and_when_is_accepted(launch):
    SLOFactory.build(launch=launch, agreed_by=UserFactory(), agreed_at=timezone.now()).full_clean()


def test_an_slo_agreement_needs_both_who_and_when(launch):
    slo = SLOFactory.build(launch=launch, agreed_by=UserFactory(), agreed_at=None)
    assert_rejected_everywhere(slo, "agreed_at", "both who agreed and when")
    slo = SLOFactory.build(launch=launch, agreed_by=None, agreed_at=timezone.now())
    assert_rejected_everywhere(slo, "agreed_by", "both who agreed and when")


# --- proposals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "proposable", "not_proposable"),
    [
        (RolloutStageFactory, ["exposure_percent"], "name"),
        (SLOFactory, ["target", "alert_threshold"], "dashboard_link"),
        (SeverityLevelFactory, ["response_minutes"], "definition"),
    ],
)
def test_only_the_values_a_template_fills_in_can_be_proposed(launch, factory, proposable, not_proposable):
    factory.build(launch=launch, proposed=proposable).full_clean()
    factory.build(launch=launch, proposed=[]).full_clean()
    assert_invalid(factory.build(launch=launch, proposed=[not_proposable]), "proposed", "Only these fields")
    assert_invalid(factory.build(launch=launch, proposed="exposure_percent"), "proposed", "Only these fields")


# --- SeverityLevel, Runbook, RollbackPlan --------------------------------------------------------


def test_severity_level_is_unique_per_launch(launch, other_launch):
    SeverityLevelFactory(launch=launch, level="P0")
    SeverityLevelFactory.build(launch=launch, level="P1").full_clean()
    SeverityLevelFactory.build(launch=other_launch, level="P0").full_clean()
    duplicate = SeverityLevelFactory.build(launch=launch, level="P0")
    assert_rejected_everywhere(duplicate, NON_FIELD_ERRORS, "Launch and Level already exists")


@pytest.mark.parametrize(
    ("link", "content"),
    [("https://wiki.example.com/runbook", ""), ("", "1. Page the on-call."), ("https://x.example.com", "text")],
)
def test_runbook_with_a_link_or_content_is_accepted(launch, link, content):
    runbook = RunbookFactory.build(launch=launch, link=link, content=content)
    runbook.full_clean()
    runbook.save()
    assert Runbook.objects.filter(pk=runbook.pk).exists()


def test_runbook_needs_a_link_or_content(launch):
    runbook = RunbookFactory.build(launch=launch, link="", content="")
    assert_rejected_everywhere(runbook, "link", "link or its text")


def test_runbook_content_of_only_whitespace_does_not_count(launch):
    runbook = RunbookFactory.build(launch=launch, link="", content="  \n\t ")
    assert_invalid(runbook, "link", "link or its text")


def test_runbook_review_interval_must_be_at_least_one_day(launch):
    runbook = RunbookFactory.build(launch=launch, review_interval_days=0)
    assert_rejected_everywhere(runbook, "review_interval_days", "greater than or equal to 1")


def test_rollback_plan_max_rehearsal_age_must_be_at_least_one_day(launch):
    plan = RollbackPlanFactory.build(launch=launch, max_rehearsal_age_days=0)
    assert_rejected_everywhere(plan, "max_rehearsal_age_days", "greater than or equal to 1")


def test_rollback_plan_with_a_positive_rehearsal_age_is_accepted(launch):
    plan = RollbackPlanFactory.build(
        launch=launch, max_rehearsal_age_days=1, last_rehearsed_at=datetime.date(2024, 1, 1)
    )
    plan.full_clean()
    plan.save()
    assert RollbackPlan.objects.get(launch=launch).max_rehearsal_age_days == 1


# --- History ------------------------------------------------------------------------------------


def test_creating_and_saving_a_launch_writes_history_rows():
    launch = LaunchFactory(name="Support assistant")
    assert [h.history_type for h in launch.history.all()] == ["+"]

    launch.name = "Support assistant v2"
    launch.save()

    history = list(launch.history.all())  # newest first
    assert [h.history_type for h in history] == ["~", "+"]
    assert [h.name for h in history] == ["Support assistant v2", "Support assistant"]


def test_moving_a_launch_to_a_stage_is_recorded_in_its_history(launch):
    stage = RolloutStageFactory(launch=launch)
    launch.current_stage = stage
    launch.save()
    assert launch.history.first().current_stage_id == stage.pk
    assert launch.history.last().current_stage_id is None
