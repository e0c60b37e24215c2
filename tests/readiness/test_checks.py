"""Checklist items 5, 6 and 8–12, stage gating and the query budget of evaluating a launch (of
evaluating many launches together: ``test_evaluate_many``).

Each test starts from ``ready_launch()`` (every check passes), breaks exactly one fact, re-loads the
launch the way production code does (``with_checklist_facts``) and looks at one item's result. The
ready launch is built once per module (``shared_launch``); each test runs inside it in a savepoint
of its own and reads it back from the database (like ``setUpTestData``).
"""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone, translation

from raci.choices import AreaKind, Role
from raci.services import area_omission_record
from readiness.checklist import (
    DEFAULT_STAGE_CHECKS,
    Status,
    evaluate,
    minimum_gating_checks,
    registry,
    with_checklist_facts,
)
from readiness.choices import AccessLevel, Classification, FeedbackKind, SloIndicator, StageKind
from readiness.i18n import shown_date
from readiness.models import EvalRun, Launch, RollbackPlan, RolloutStage
from tests.builders import ready_launch
from tests.factories import (
    DataAssetFactory,
    EvalRunFactory,
    FeedbackChannelFactory,
    QualityBarFactory,
    RaciAssignmentFactory,
    ResponsibilityAreaFactory,
    RolloutStageFactory,
    SLOFactory,
    StakeholderFactory,
)
from tests.helpers import archive

pytestmark = pytest.mark.django_db

# A fixed moment for the date-sensitive checks, so boundaries ("exactly at the limit") are exact.
NOW = datetime.datetime(2026, 3, 15, 12, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()
FAR_FUTURE = datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC)


def reload(launch: Launch) -> Launch:
    return with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()


def readiness_of(launch: Launch, stage=None, *, now=None):
    return evaluate(reload(launch), stage, now=now)


def result_of(launch: Launch, key: str, *, now=None):
    return next(result for result in readiness_of(launch, now=now).results if result.key == key)


def assert_fails(result, *reasons: str) -> None:
    assert result.status == Status.FAIL
    assert result.reasons == reasons


@pytest.fixture(scope="module")
def shared_launch(django_db_setup, django_db_blocker) -> int:
    """``ready_launch()`` built once per module in a transaction rolled back at its end; each test
    runs inside it in a savepoint of its own (like ``setUpTestData``)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield ready_launch().pk
        transaction.set_rollback(True)


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    return Launch.objects.get(pk=shared_launch)


# --- the starting point ---------------------------------------------------------------------------


# Items about operating after launch do not apply to a launch still in planning (tests/operations).
AFTER_LAUNCH = ("operating_within_slos",)


@pytest.mark.parametrize(
    "key", [key for key in registry.keys() if key != "stakeholders_approved" and key not in AFTER_LAUNCH]
)
def test_a_ready_launch_passes_every_check_but_sign_offs(launch, key):
    assert result_of(launch, key).status == Status.PASS


@pytest.mark.parametrize("key", AFTER_LAUNCH)
def test_items_about_operating_after_launch_do_not_apply_in_planning(launch, key):
    assert result_of(launch, key).status == Status.NOT_APPLICABLE


# --- 5. data classified ---------------------------------------------------------------------------


def test_data_classified_fails_when_no_data_asset_is_recorded(launch):
    launch.data_assets.all().delete()
    assert_fails(
        result_of(launch, "data_classified"),
        "No data assets are recorded: list every data source the AI system reads or writes.",
    )


def test_data_classified_fails_naming_an_asset_without_a_classification(launch):
    launch.data_assets.filter(name="Help-centre articles").update(classification="")
    assert_fails(result_of(launch, "data_classified"), "Data asset 'Help-centre articles' has no classification.")


def test_data_classified_fails_naming_an_asset_without_an_access_level(launch):
    launch.data_assets.filter(name="Support tickets").update(access_level="")
    assert_fails(result_of(launch, "data_classified"), "Data asset 'Support tickets' has no access level.")


def test_data_classified_fails_naming_an_asset_with_neither_classification_nor_access_level(launch):
    launch.data_assets.filter(name="Help-centre articles").update(classification="", access_level="")
    assert_fails(
        result_of(launch, "data_classified"),
        "Data asset 'Help-centre articles' has no classification and no access level.",
    )


def test_data_classified_names_every_unclassified_asset(launch):
    launch.data_assets.filter(name="Help-centre articles").update(access_level="")
    DataAssetFactory(launch=launch, name="Chat transcripts", classification="", access_level="")
    assert_fails(
        result_of(launch, "data_classified"),
        "Data asset 'Chat transcripts' has no classification and no access level.",
        "Data asset 'Help-centre articles' has no access level.",
    )


def test_data_classified_passes_when_every_asset_has_a_classification_and_an_access_level(launch):
    result = result_of(launch, "data_classified")
    assert result.status == Status.PASS
    assert result.reasons == ("2 data assets, all classified, each with an access level its class allows.",)


NEEDS = "it needs 'Need to know (named teams)' or 'Restricted (named people, logged)'."


@pytest.mark.parametrize(
    ("access", "label"), [(AccessLevel.OPEN, "Open to anyone"), (AccessLevel.ALL_EMPLOYEES, "All employees")]
)
def test_data_classified_fails_naming_a_pii_asset_open_to_everyone_or_every_employee(launch, access, label):
    launch.data_assets.filter(name="Support tickets").update(access_level=access)
    assert_fails(
        result_of(launch, "data_classified"),
        f"Data asset 'Support tickets' holds personal data (PII) but its access level is '{label}'; {NEEDS}",
    )


def test_data_classified_fails_naming_a_confidential_asset_open_to_everyone(launch):
    DataAssetFactory(
        launch=launch, name="Pricing sheet", classification=Classification.CONFIDENTIAL, access_level=AccessLevel.OPEN
    )
    assert_fails(
        result_of(launch, "data_classified"),
        f"Data asset 'Pricing sheet' holds confidential data but its access level is 'Open to anyone'; {NEEDS}",
    )


@pytest.mark.parametrize("access", [AccessLevel.NEED_TO_KNOW, AccessLevel.RESTRICTED])
@pytest.mark.parametrize("classification", [Classification.PERSONAL, Classification.CONFIDENTIAL])
def test_data_classified_accepts_sensitive_data_kept_to_named_teams_or_people(launch, classification, access):
    launch.data_assets.filter(name="Support tickets").update(
        classification=classification, access_level=access, named_teams="Support operations"
    )
    assert result_of(launch, "data_classified").status == Status.PASS


def test_data_classified_fails_need_to_know_access_that_names_no_teams(launch):
    launch.data_assets.filter(name="Support tickets").update(
        classification=Classification.PERSONAL, access_level=AccessLevel.NEED_TO_KNOW, named_teams=" "
    )
    assert_fails(
        result_of(launch, "data_classified"),
        "Data asset 'Support tickets' is need to know but names no teams that need to know.",
    )


@pytest.mark.parametrize("classification", [Classification.PUBLIC, Classification.INTERNAL])
def test_data_classified_lets_public_and_internal_data_be_open(launch, classification):
    launch.data_assets.filter(name="Help-centre articles").update(
        classification=classification, access_level=AccessLevel.OPEN
    )
    assert result_of(launch, "data_classified").status == Status.PASS


# --- 6. PII policy --------------------------------------------------------------------------------


def test_pii_policy_is_not_applicable_when_no_asset_holds_personal_or_confidential_data(launch):
    launch.data_assets.filter(name="Support tickets").update(classification=Classification.INTERNAL)
    result = result_of(launch, "pii_policy")
    assert result.status == Status.NOT_APPLICABLE
    assert result.reasons == ("No data asset is classified as personal data (PII) or confidential.",)


def test_pii_policy_fails_naming_a_personal_asset_not_masked_in_logs(launch):
    launch.data_assets.filter(name="Support tickets").update(masked_in_logs=False)
    assert_fails(result_of(launch, "pii_policy"), "PII asset 'Support tickets' is not masked in logs.")


def test_pii_policy_fails_naming_a_personal_asset_without_a_retention_period(launch):
    launch.data_assets.filter(name="Support tickets").update(retention_days=None)
    assert_fails(result_of(launch, "pii_policy"), "PII asset 'Support tickets' has no retention period.")


def test_pii_policy_fails_naming_a_personal_asset_without_an_audit_interval(launch):
    launch.data_assets.filter(name="Support tickets").update(audit_interval_days=None)
    assert_fails(
        result_of(launch, "pii_policy"), "PII asset 'Support tickets' has no audit checkpoint (audit interval)."
    )


def test_pii_policy_fails_naming_a_personal_asset_whose_audit_is_overdue(launch):
    launch.data_assets.filter(name="Support tickets").update(
        last_audit_at=TODAY - datetime.timedelta(days=91), audit_interval_days=90
    )
    due = TODAY - datetime.timedelta(days=1)
    assert_fails(
        result_of(launch, "pii_policy", now=NOW),
        f"PII asset 'Support tickets' is overdue for its audit (due {shown_date(due)}).",
    )


def test_pii_policy_fails_naming_a_personal_asset_whose_audit_is_dated_in_the_future(launch):
    launch.data_assets.filter(name="Support tickets").update(last_audit_at=datetime.date(2099, 1, 1))
    assert_fails(
        result_of(launch, "pii_policy"),
        "PII asset 'Support tickets' has its last audit dated in the future (Jan. 1, 2099).",
    )


def test_pii_policy_fails_naming_a_personal_asset_with_an_audit_interval_but_no_first_audit(launch):
    launch.data_assets.filter(name="Support tickets").update(last_audit_at=None)
    assert_fails(
        result_of(launch, "pii_policy"),
        "PII asset 'Support tickets' has an audit interval of 90 days but was never audited.",
    )


def confidential(launch, **controls):
    """A confidential asset with every control, except what ``controls`` changes."""
    values = {
        "masked_in_logs": True,
        "retention_days": 365,
        "audit_interval_days": 180,
        "last_audit_at": timezone.localdate() - datetime.timedelta(days=30),
        **controls,
    }
    return DataAssetFactory(
        launch=launch,
        name="Pricing sheet",
        classification=Classification.CONFIDENTIAL,
        access_level=AccessLevel.NEED_TO_KNOW,
        **values,
    )


def test_pii_policy_holds_confidential_assets_to_masking_retention_and_an_audit_interval(launch):
    confidential(launch, masked_in_logs=False, retention_days=None, audit_interval_days=None, last_audit_at=None)
    assert_fails(
        result_of(launch, "pii_policy"),
        "Confidential asset 'Pricing sheet' is not masked in logs.",
        "Confidential asset 'Pricing sheet' has no retention period.",
        "Confidential asset 'Pricing sheet' has no audit checkpoint (audit interval).",
    )


def test_pii_policy_fails_naming_a_confidential_asset_never_audited(launch):
    confidential(launch, last_audit_at=None)
    assert_fails(
        result_of(launch, "pii_policy"),
        "Confidential asset 'Pricing sheet' has an audit interval of 180 days but was never audited.",
    )


def test_pii_policy_fails_naming_a_confidential_asset_whose_audit_is_overdue(launch):
    today = timezone.localdate()
    confidential(launch, last_audit_at=today - datetime.timedelta(days=181))
    due = today - datetime.timedelta(days=1)
    assert_fails(
        result_of(launch, "pii_policy"),
        f"Confidential asset 'Pricing sheet' is overdue for its audit (due {shown_date(due)}).",
    )


def test_pii_policy_applies_to_a_launch_whose_only_sensitive_asset_is_confidential(launch):
    launch.data_assets.filter(name="Support tickets").delete()
    confidential(launch)
    result = result_of(launch, "pii_policy")
    assert result.status == Status.PASS
    assert result.reasons == ("1 confidential asset, all masked in logs, retained and audited.",)


def test_pii_policy_passes_counting_pii_and_confidential_assets_with_every_control(launch):
    confidential(launch)
    result = result_of(launch, "pii_policy")
    assert result.status == Status.PASS
    assert result.reasons == ("1 PII asset and 1 confidential asset, all masked in logs, retained and audited.",)


def test_pii_policy_passes_when_the_audit_is_due_exactly_today(launch):
    launch.data_assets.filter(name="Support tickets").update(
        last_audit_at=TODAY - datetime.timedelta(days=90), audit_interval_days=90
    )
    assert result_of(launch, "pii_policy", now=NOW).status == Status.PASS


def test_pii_policy_checks_every_personal_asset(launch):
    DataAssetFactory(
        launch=launch,
        name="User profiles",
        classification=Classification.PERSONAL,
        access_level=AccessLevel.RESTRICTED,
        masked_in_logs=False,
        retention_days=None,
        audit_interval_days=None,
    )
    assert_fails(
        result_of(launch, "pii_policy"),
        "PII asset 'User profiles' is not masked in logs.",
        "PII asset 'User profiles' has no retention period.",
        "PII asset 'User profiles' has no audit checkpoint (audit interval).",
    )


def test_pii_policy_passes_when_every_personal_asset_is_masked_retained_and_audited(launch):
    result = result_of(launch, "pii_policy")
    assert result.status == Status.PASS
    assert result.reasons == ("1 PII asset, all masked in logs, retained and audited.",)


# --- 7. SLO targets and alerts: agreed by the Accountable of the owning area, so tested with the RACI items
# in tests/raci/test_checks.py.


# --- 8. monitoring dashboard ----------------------------------------------------------------------


def test_monitoring_dashboard_fails_when_no_sli_is_recorded(launch):
    launch.slos.all().delete()
    assert_fails(
        result_of(launch, "monitoring_dashboard"),
        "No SLIs are recorded, so there is nothing a dashboard shows yet.",
    )


def test_monitoring_dashboard_fails_naming_the_sli_without_a_dashboard_link(launch):
    launch.slos.filter(indicator=SloIndicator.LATENCY_P95).update(dashboard_link="")
    assert_fails(result_of(launch, "monitoring_dashboard"), "SLI 'Latency p95 (ms)' has no dashboard link.")


def test_monitoring_dashboard_passes_when_every_sli_has_a_dashboard_link(launch):
    result = result_of(launch, "monitoring_dashboard")
    assert result.status == Status.PASS
    assert result.reasons == ("A dashboard link is recorded for 3 SLIs.",)


# --- 9. rollback plan -----------------------------------------------------------------------------


def test_rollback_plan_fails_when_none_is_recorded(launch):
    launch.rollback_plan.delete()
    assert_fails(result_of(launch, "rollback_plan"), "No rollback plan is recorded.")


@pytest.mark.parametrize("procedure", ["", "   \n\t "])
def test_rollback_plan_fails_when_its_procedure_is_empty(launch, procedure):
    plan = launch.rollback_plan
    plan.procedure = procedure
    plan.save()
    assert_fails(result_of(launch, "rollback_plan"), "The rollback plan has no procedure.")


def test_rollback_plan_fails_when_it_was_never_rehearsed(launch):
    plan = launch.rollback_plan
    plan.last_rehearsed_at = None
    plan.save()
    assert_fails(result_of(launch, "rollback_plan"), "The rollback procedure has never been rehearsed.")


def test_rollback_plan_fails_when_last_rehearsed_longer_ago_than_allowed(launch):
    plan = launch.rollback_plan
    plan.last_rehearsed_at = TODAY - datetime.timedelta(days=31)
    plan.max_rehearsal_age_days = 30
    plan.save()
    assert_fails(
        result_of(launch, "rollback_plan", now=NOW),
        f"The rollback was last rehearsed 31 days ago ({shown_date(plan.last_rehearsed_at)}); "
        "at most 30 days are allowed.",
    )


def test_rollback_plan_fails_when_the_rehearsal_is_dated_in_the_future(launch):
    after_tomorrow = TODAY + datetime.timedelta(days=2)
    RollbackPlan.objects.filter(launch=launch).update(last_rehearsed_at=after_tomorrow)
    assert_fails(
        result_of(launch, "rollback_plan", now=NOW),
        f"The rollback rehearsal is dated in the future ({shown_date(after_tomorrow)}).",
    )


def test_rollback_plan_dated_tomorrow_is_a_time_zone_ahead_and_counts_as_rehearsed_today(launch):
    RollbackPlan.objects.filter(launch=launch).update(last_rehearsed_at=TODAY + datetime.timedelta(days=1))
    result = result_of(launch, "rollback_plan", now=NOW)
    assert result.status == Status.PASS
    assert result.reasons == ("Rollback rehearsed 0 days ago (one-click).",)


def test_rollback_plan_passes_when_rehearsed_exactly_at_the_allowed_age(launch):
    plan = launch.rollback_plan
    plan.last_rehearsed_at = TODAY - datetime.timedelta(days=30)
    plan.max_rehearsal_age_days = 30
    plan.one_click = False
    plan.save()
    result = result_of(launch, "rollback_plan", now=NOW)
    assert result.status == Status.PASS
    assert result.reasons == ("Rollback rehearsed 30 days ago (manual).",)


def test_rollback_plan_passes_when_rehearsed_recently(launch):
    result = result_of(launch, "rollback_plan")
    assert result.status == Status.PASS
    assert result.reasons == ("Rollback rehearsed 10 days ago (one-click).",)


# --- 10. incident runbook -------------------------------------------------------------------------


def test_incident_runbook_fails_when_none_is_recorded(launch):
    launch.runbook.delete()
    assert_fails(result_of(launch, "incident_runbook"), "No incident runbook is recorded.")


def test_incident_runbook_fails_when_it_has_neither_a_link_nor_any_text(launch):
    runbook = launch.runbook
    runbook.link = ""
    runbook.content = "   "
    runbook.save()
    assert_fails(result_of(launch, "incident_runbook"), "The incident runbook has neither a link nor any text.")


def test_incident_runbook_fails_when_it_was_never_reviewed(launch):
    runbook = launch.runbook
    runbook.last_reviewed_at = None
    runbook.save()
    assert_fails(result_of(launch, "incident_runbook"), "The incident runbook has never been reviewed.")


def test_incident_runbook_fails_when_its_review_is_overdue(launch):
    runbook = launch.runbook
    runbook.last_reviewed_at = TODAY - datetime.timedelta(days=181)
    runbook.review_interval_days = 180
    runbook.save()
    due = TODAY - datetime.timedelta(days=1)
    assert_fails(
        result_of(launch, "incident_runbook", now=NOW),
        f"The incident runbook was last reviewed on {shown_date(runbook.last_reviewed_at)}; "
        f"its review was due on {shown_date(due)}.",
    )


def test_incident_runbook_reviewed_in_2099_fails(launch):
    runbook = launch.runbook
    runbook.last_reviewed_at = datetime.date(2099, 1, 1)
    runbook.save()  # as recorded before dates were validated, or by anything that skips validation
    assert_fails(
        result_of(launch, "incident_runbook"), "The incident runbook's review is dated in the future (Jan. 1, 2099)."
    )


def test_incident_runbook_passes_when_its_review_is_due_exactly_today(launch):
    runbook = launch.runbook
    runbook.last_reviewed_at = TODAY - datetime.timedelta(days=180)
    runbook.review_interval_days = 180
    runbook.save()
    assert result_of(launch, "incident_runbook", now=NOW).status == Status.PASS


def test_incident_runbook_passes_when_recorded_and_recently_reviewed(launch):
    runbook = launch.runbook
    runbook.link = ""
    runbook.content = "Page the on-call, then flip the flag."
    runbook.save()
    result = result_of(launch, "incident_runbook")
    assert result.status == Status.PASS
    assert result.reasons == (f"Runbook reviewed on {shown_date(runbook.last_reviewed_at)}.",)


@pytest.mark.parametrize(
    ("language", "reason"),
    [("en", "Runbook reviewed on March 2, 2026."), ("ko", "2026년 3월 2일에 런북을 검토했습니다.")],
)
def test_a_reason_writes_its_date_as_the_language_writes_dates(launch, language, reason):
    launch.runbook.__class__.objects.filter(pk=launch.runbook.pk).update(last_reviewed_at=datetime.date(2026, 3, 2))
    with translation.override(language):
        result = result_of(launch, "incident_runbook", now=NOW)
    assert result.status == Status.PASS
    assert result.reasons == (reason,)


@pytest.mark.parametrize(
    ("language", "reason"),
    [
        ("en", "Quality bar 'wrong_answers': the latest evaluation is dated in the future (Jan. 1, 2099 09:00)"),
        ("ko", "품질 기준 'wrong_answers'"),
    ],
)
def test_a_moment_in_a_reason_is_its_local_date_and_time(launch, language, reason):
    EvalRunFactory(quality_bar=bar_of(launch), samples=1000, failures=0, run_at=FAR_FUTURE)
    with timezone.override("Asia/Seoul"), translation.override(language):
        (shown,) = result_of(launch, "quality_evidence").reasons
    assert shown.startswith(reason)
    if language == "ko":
        assert "2099년 1월 1일 09:00" in shown


# --- 11. feedback loop ----------------------------------------------------------------------------


def test_feedback_loop_fails_when_no_failure_case_channel_is_recorded(launch):
    launch.feedback_channels.all().delete()
    assert_fails(
        result_of(launch, "feedback_loop"),
        "No failure-case channel is recorded (e.g. negative user feedback, low-confidence capture).",
    )


def test_feedback_loop_fails_naming_a_channel_without_a_review_cadence(launch):
    FeedbackChannelFactory(launch=launch, kind=FeedbackKind.LOW_CONFIDENCE, review_cadence="")
    assert_fails(result_of(launch, "feedback_loop"), "Feedback channel 'Low-confidence capture' has no review cadence.")


def test_feedback_loop_passes_when_every_channel_has_a_review_cadence(launch):
    FeedbackChannelFactory(launch=launch, kind=FeedbackKind.GOLDEN_SET_REVIEW)
    result = result_of(launch, "feedback_loop")
    assert result.status == Status.PASS
    assert result.reasons == ("2 failure-case channels, each with a review cadence.",)


# --- 12. quality evidence -------------------------------------------------------------------------


def bar_of(launch: Launch):
    return launch.quality_bars.get(metric="wrong_answers")


def test_quality_evidence_fails_when_no_quality_bar_is_recorded(launch):
    launch.quality_bars.all().delete()
    assert_fails(
        result_of(launch, "quality_evidence"),
        "No quality bar is recorded, so no evidence can show the failure rate is acceptable.",
    )


def test_quality_evidence_fails_naming_a_bar_without_an_evaluation_run(launch):
    EvalRun.objects.filter(quality_bar__launch=launch).delete()
    assert_fails(result_of(launch, "quality_evidence"), "Quality bar 'wrong_answers' has no evaluation run.")


def test_quality_evidence_fails_when_the_latest_run_has_fewer_samples_than_required(launch):
    EvalRun.objects.filter(quality_bar__launch=launch).update(samples=99, failures=0, human_reviewed=0)
    assert_fails(
        result_of(launch, "quality_evidence"),
        "Quality bar 'wrong_answers': the latest evaluation has 99 samples, fewer than the 100 required.",
    )


def test_quality_evidence_accepts_exactly_the_required_number_of_samples(launch):
    EvalRun.objects.filter(quality_bar__launch=launch).update(samples=100, failures=0, human_reviewed=0)
    assert result_of(launch, "quality_evidence").status == Status.PASS


def test_quality_evidence_fails_when_3_failures_in_100_samples_do_not_prove_at_most_5_percent(launch):
    EvalRun.objects.filter(quality_bar__launch=launch).update(samples=100, failures=3, human_reviewed=0)
    assert_fails(
        result_of(launch, "quality_evidence"),
        "Quality bar 'wrong_answers': 3/100 failures on support-golden v3, measured on 'prompt-v7' today; "
        "the one-sided 95 % upper bound is 7.27 % against an agreed maximum of 5 % — not yet proven; "
        "passes with up to 1 failure in 100.",
    )


def test_quality_evidence_passes_when_30_failures_in_1000_samples_prove_at_most_5_percent(launch):
    result = result_of(launch, "quality_evidence")
    assert result.status == Status.PASS
    assert result.reasons == (
        "Quality bar 'wrong_answers': 30/1000 failures on support-golden v3, measured on 'prompt-v7' today; "
        "the one-sided 95 % upper bound is 4.02 % against an agreed maximum of 5 %; "
        "passes with up to 38 failures in 1,000.",
    )


@pytest.mark.parametrize(("failures", "status"), [(38, Status.PASS), (39, Status.FAIL)])
def test_quality_evidence_passes_with_exactly_the_failures_it_says_it_tolerates(launch, failures, status):
    EvalRun.objects.filter(quality_bar__launch=launch).update(failures=failures)
    result = result_of(launch, "quality_evidence")
    assert result.status == status
    assert result.reasons[0].endswith("passes with up to 38 failures in 1,000.")


def test_quality_evidence_says_how_many_samples_a_flawless_run_needs_when_no_failure_count_passes(launch):
    EvalRun.objects.filter(quality_bar__launch=launch).update(samples=50, failures=0, human_reviewed=0)
    bar = bar_of(launch)
    bar.min_samples = 50
    bar.save()
    assert_fails(
        result_of(launch, "quality_evidence"),
        "Quality bar 'wrong_answers': 0/50 failures on support-golden v3, measured on 'prompt-v7' today; "
        "the one-sided 95 % upper bound is 5.13 % against an agreed maximum of 5 % — not yet proven; "
        "no failure count passes at 50 samples; without failures it takes at least 52 samples.",
    )


def test_quality_evidence_says_no_evaluation_proves_a_maximum_of_zero(launch):
    bar = bar_of(launch)
    bar.max_failure_rate = Decimal("0")
    bar.save()
    result = result_of(launch, "quality_evidence")
    assert result.status == Status.FAIL
    assert result.reasons[0].endswith("— not yet proven; no evaluation proves a maximum of 0 %, whatever its size.")


def test_quality_evidence_judges_the_latest_run_so_a_newer_bad_run_fails_the_bar(launch):
    bar = bar_of(launch)
    bar.eval_runs.update(run_at=timezone.now() - datetime.timedelta(days=2))
    EvalRunFactory(quality_bar=bar, samples=100, failures=3, golden_set_version="v4")
    result = result_of(launch, "quality_evidence")
    assert result.status == Status.FAIL
    assert result.reasons[0].startswith("Quality bar 'wrong_answers': 3/100 failures on support-golden v4,")


def test_quality_evidence_judges_the_latest_recorded_run_whatever_run_date_it_claims(launch):
    bar = bar_of(launch)
    # Recorded last but dated earlier: the latest evidence is the latest recorded.
    EvalRunFactory(
        quality_bar=bar,
        samples=100,
        failures=3,
        golden_set_version="v2",
        run_at=timezone.now() - datetime.timedelta(days=2),
    )
    result = result_of(launch, "quality_evidence")
    assert result.status == Status.FAIL
    assert result.reasons[0].startswith("Quality bar 'wrong_answers': 3/100 failures on support-golden v2,")


def test_an_evaluation_run_dated_2099_no_longer_hides_todays_failing_run(launch):
    bar = bar_of(launch)
    # A passing run dated 2099 (recorded before dates were validated, or saved without validation)...
    EvalRunFactory(quality_bar=bar, samples=1000, failures=0, golden_set_version="v9", run_at=FAR_FUTURE)
    # ...then today's run fails the bar.
    EvalRunFactory(quality_bar=bar, samples=1000, failures=200, golden_set_version="v4")
    result = result_of(launch, "quality_evidence")
    assert result.status == Status.FAIL
    assert result.reasons[0].startswith("Quality bar 'wrong_answers': 200/1000 failures on support-golden v4,")


def test_an_evaluation_run_dated_in_the_future_proves_nothing_even_when_recorded_last(launch):
    EvalRunFactory(quality_bar=bar_of(launch), samples=1000, failures=0, run_at=FAR_FUTURE)
    assert_fails(
        result_of(launch, "quality_evidence"),
        "Quality bar 'wrong_answers': the latest evaluation is dated in the future (Jan. 1, 2099 00:00), "
        "so it proves nothing.",
    )


def test_quality_evidence_uses_the_confidence_level_agreed_for_the_bar(launch):
    bar = bar_of(launch)
    bar.max_failure_rate = Decimal("0.045")
    bar.save()
    assert result_of(launch, "quality_evidence").status == Status.PASS  # 95 % bound 4.02 % ≤ 4.5 %

    bar.confidence_level = Decimal("0.99")
    bar.save()
    assert_fails(
        result_of(launch, "quality_evidence"),
        "Quality bar 'wrong_answers': 30/1000 failures on support-golden v3, measured on 'prompt-v7' today; "
        "the one-sided 99 % upper bound is 4.53 % against an agreed maximum of 4.5 % — not yet proven; "
        "passes with up to 29 failures in 1,000.",
    )


def test_quality_evidence_names_only_the_bar_that_is_not_proven(launch):
    other = QualityBarFactory(launch=launch, metric="harmful_content", max_failure_rate=Decimal("0.01"))
    EvalRunFactory(quality_bar=other, samples=500, failures=10)
    result = result_of(launch, "quality_evidence")
    assert result.status == Status.FAIL
    assert len(result.reasons) == 1
    assert result.reasons[0].startswith("Quality bar 'harmful_content': 10/500 failures")


# Evidence ages and knows what it measured.


def runs_dated(launch: Launch, days_before_now: int) -> None:
    EvalRun.objects.filter(quality_bar__launch=launch).update(run_at=NOW - datetime.timedelta(days=days_before_now))


def test_quality_evidence_counts_a_run_exactly_evidence_max_age_days_old(launch, settings):
    settings.EVIDENCE_MAX_AGE_DAYS = 90
    runs_dated(launch, 90)
    result = result_of(launch, "quality_evidence", now=NOW)
    assert result.status == Status.PASS
    assert "measured on 'prompt-v7' 90 days ago;" in result.reasons[0]


def test_quality_evidence_does_not_count_a_run_a_day_older_than_evidence_max_age_days(launch, settings):
    settings.EVIDENCE_MAX_AGE_DAYS = 90
    runs_dated(launch, 91)
    assert_fails(
        result_of(launch, "quality_evidence", now=NOW),
        "Quality bar 'wrong_answers': no evaluation counts; the latest recorded ran 91 days ago (Dec. 14, 2025), "
        "older than the 90 days evidence counts for.",
    )


def test_evidence_max_age_days_comes_from_the_settings(launch, settings):
    runs_dated(launch, 91)
    settings.EVIDENCE_MAX_AGE_DAYS = 120
    assert result_of(launch, "quality_evidence", now=NOW).status == Status.PASS
    settings.EVIDENCE_MAX_AGE_DAYS = 30
    assert (
        result_of(launch, "quality_evidence", now=NOW)
        .reasons[0]
        .endswith("older than the 30 days evidence counts for.")
    )


def test_quality_evidence_does_not_count_a_run_of_another_version(launch):
    EvalRun.objects.filter(quality_bar__launch=launch).update(measured_version="prompt-v6")
    assert_fails(
        result_of(launch, "quality_evidence"),
        "Quality bar 'wrong_answers': no evaluation counts; the latest recorded measured 'prompt-v6', "
        "but 'prompt-v7' is in service.",
    )


def test_quality_evidence_names_both_reasons_when_the_latest_run_is_old_and_of_another_version(launch):
    runs_dated(launch, 200)
    EvalRun.objects.filter(quality_bar__launch=launch).update(measured_version="")
    assert_fails(
        result_of(launch, "quality_evidence", now=NOW),
        "Quality bar 'wrong_answers': no evaluation counts; the latest recorded measured no recorded version, "
        "but 'prompt-v7' is in service and ran 200 days ago (Aug. 27, 2025), older than the 90 days evidence "
        "counts for.",
    )


def test_quality_evidence_fails_when_the_launch_records_no_serving_version(launch):
    Launch.objects.filter(pk=launch.pk).update(serving_version="")
    assert_fails(
        result_of(launch, "quality_evidence"),
        "Quality bar 'wrong_answers': the launch records no serving version (the model/prompt version in "
        "service), so no evaluation can show it measured what users get.",
    )


def test_a_newer_run_of_another_version_leaves_the_run_of_the_serving_version_counting(launch):
    # A candidate version's failing run does not judge what users get now...
    EvalRunFactory(quality_bar=bar_of(launch), samples=100, failures=30, measured_version="prompt-v8")
    result = result_of(launch, "quality_evidence")
    assert result.status == Status.PASS
    assert result.reasons[0].startswith("Quality bar 'wrong_answers': 30/1000 failures")

    # ...until it goes into service: then it is the evidence, and the bar fails.
    Launch.objects.filter(pk=launch.pk).update(serving_version="prompt-v8")
    result = result_of(launch, "quality_evidence")
    assert result.status == Status.FAIL
    assert result.reasons[0].startswith("Quality bar 'wrong_answers': 30/100 failures")


def test_a_stale_newer_run_leaves_the_fresh_run_counting(launch, settings):
    settings.EVIDENCE_MAX_AGE_DAYS = 90
    runs_dated(launch, 10)
    EvalRunFactory(quality_bar=bar_of(launch), samples=100, failures=30, run_at=NOW - datetime.timedelta(days=100))
    result = result_of(launch, "quality_evidence", now=NOW)
    assert result.status == Status.PASS
    assert result.reasons[0].startswith("Quality bar 'wrong_answers': 30/1000 failures")


def test_a_run_whose_golden_set_has_no_owner_does_not_count(launch):
    EvalRun.objects.filter(quality_bar__launch=launch).update(golden_set_owner=None)
    assert_fails(
        result_of(launch, "quality_evidence"),
        "Quality bar 'wrong_answers': golden set support-golden v3 has no owner, so its evaluation does not count.",
    )


def test_leaving_out_the_golden_set_owner_cannot_hide_a_newer_bad_run(launch):
    EvalRunFactory(quality_bar=bar_of(launch), samples=1000, failures=200, golden_set_owner=None)
    result = result_of(launch, "quality_evidence")
    assert result.status == Status.FAIL
    assert "has no owner" in result.reasons[0]


def require_human_review(launch: Launch, share: str) -> None:
    bar = bar_of(launch)
    bar.min_human_reviewed_share = Decimal(share)
    bar.save()


def test_quality_evidence_passes_with_exactly_the_required_share_of_human_review(launch):
    require_human_review(launch, "0.1")  # 100 of 1,000 reviewed
    assert result_of(launch, "quality_evidence").status == Status.PASS


def test_quality_evidence_fails_naming_both_shares_when_too_few_samples_were_reviewed_by_a_person(launch):
    require_human_review(launch, "0.101")
    assert_fails(
        result_of(launch, "quality_evidence"),
        "Quality bar 'wrong_answers': a person reviewed 100 of 1000 samples (10 %), less than the 10.1 % "
        "the bar requires.",
    )


def test_a_bar_requiring_no_human_review_accepts_a_run_nobody_reviewed(launch):
    EvalRun.objects.filter(quality_bar__launch=launch).update(human_reviewed=0)
    assert result_of(launch, "quality_evidence").status == Status.PASS


# --- stage gating ---------------------------------------------------------------------------------


def stage_of(launch: Launch, kind: str) -> RolloutStage:
    return launch.stages.get(kind=kind)


def gating_keys(readiness) -> set[str]:
    return {result.key for result in readiness.results if result.gating}


def every_stage() -> set[str]:
    """Items that gate every stage whatever its list says (e.g. operations' incident items)."""
    return {check.key for check in registry.all() if check.gates_every_stage}


def blocker_keys(readiness) -> list[str]:
    return [result.key for result in readiness.blockers]


def checklist_blockers(readiness) -> list[str]:
    """Blocking items other than sign-offs: item 1 is the approvals app's to test, and whether it
    passes depends on sign-off requests that ``ready_launch`` does not make."""
    return [key for key in blocker_keys(readiness) if key != "stakeholders_approved"]


def test_entering_internal_is_gated_by_sign_offs_agreement_raci_and_data_only(launch):
    readiness = readiness_of(launch)
    assert readiness.stage.kind == StageKind.INTERNAL
    assert (
        gating_keys(readiness)
        == {
            "stakeholders_approved",
            "failure_rate_agreed",
            "raci_defined",
            "data_classified",
            "pii_policy",
            "operating_within_slos",  # not applicable in planning: it gates the stages after the first
        }
        | every_stage()
    )
    assert checklist_blockers(readiness) == []


def test_a_failing_rollback_plan_does_not_block_entering_internal(launch):
    launch.rollback_plan.delete()
    readiness = readiness_of(launch, stage_of(launch, StageKind.INTERNAL))
    rollback = next(result for result in readiness.results if result.key == "rollback_plan")
    assert rollback.status == Status.FAIL
    assert not rollback.gating
    assert not rollback.blocks
    assert checklist_blockers(readiness) == []


def test_a_failing_rollback_plan_blocks_entering_beta(launch):
    launch.rollback_plan.delete()
    readiness = readiness_of(launch, stage_of(launch, StageKind.BETA))
    assert checklist_blockers(readiness) == ["rollback_plan"]
    assert not readiness.may_enter


def test_a_missing_feedback_loop_blocks_entering_beta_but_not_internal(launch):
    launch.feedback_channels.all().delete()
    assert checklist_blockers(readiness_of(launch, stage_of(launch, StageKind.INTERNAL))) == []
    beta = readiness_of(launch, stage_of(launch, StageKind.BETA))
    assert checklist_blockers(beta) == ["feedback_loop"]
    assert not beta.may_enter


def test_entering_beta_is_gated_by_every_item_the_feedback_loop_included(launch):
    readiness = readiness_of(launch, stage_of(launch, StageKind.BETA))
    assert gating_keys(readiness) == set(registry.keys())


def test_a_failing_data_classification_blocks_entering_internal(launch):
    launch.data_assets.all().delete()
    readiness = readiness_of(launch)
    assert checklist_blockers(readiness) == ["data_classified"]
    assert not readiness.may_enter


def test_a_stages_own_gating_checks_add_to_the_default_for_its_kind(launch):
    internal = stage_of(launch, StageKind.INTERNAL)
    internal.gating_checks = [*DEFAULT_STAGE_CHECKS["internal"], "rollback_plan"]
    internal.save()
    launch.rollback_plan.delete()
    readiness = readiness_of(launch)
    assert gating_keys(readiness) == {*DEFAULT_STAGE_CHECKS["internal"], "rollback_plan"} | every_stage()
    assert blocker_keys(readiness) == ["stakeholders_approved", "rollback_plan"]
    assert not readiness.may_enter


def test_a_narrower_list_stored_before_the_rule_still_gates_everything_the_kind_requires(launch):
    """A list written straight to the database (bypassing validation) cannot narrow the gate."""
    stage_of(launch, StageKind.INTERNAL)
    launch.stages.filter(kind=StageKind.INTERNAL).update(gating_checks=["rollback_plan"])
    launch.data_assets.all().delete()
    readiness = readiness_of(launch)
    assert gating_keys(readiness) == {*DEFAULT_STAGE_CHECKS["internal"], "rollback_plan"} | every_stage()
    assert "data_classified" in blocker_keys(readiness)


@pytest.mark.parametrize(("exposure", "kind"), [("5", "internal"), ("5.01", "beta"), ("50", "beta"), ("50.5", "full")])
def test_a_custom_stage_is_gated_at_least_as_its_exposure_calls_for(launch, exposure, kind):
    custom = RolloutStageFactory(launch=launch, kind=StageKind.CUSTOM, order=0, exposure_percent=Decimal(exposure))
    expected = registry.keys() if kind == "full" else list(DEFAULT_STAGE_CHECKS[kind])
    assert set(minimum_gating_checks(custom.kind, custom.exposure_percent)) == set(expected)


def test_an_empty_gating_checks_list_means_the_default_for_the_stage_kind(launch):
    internal = stage_of(launch, StageKind.INTERNAL)
    internal.gating_checks = []
    internal.save()
    launch.rollback_plan.delete()
    readiness = readiness_of(launch)
    assert "rollback_plan" not in gating_keys(readiness)
    assert checklist_blockers(readiness) == []


def test_a_custom_stage_without_its_own_list_is_gated_by_every_check(launch):
    canary = RolloutStageFactory(launch=launch, kind=StageKind.CUSTOM, name="Canary", order=10, gating_checks=None)
    launch.feedback_channels.all().delete()
    readiness = readiness_of(launch, canary)
    assert gating_keys(readiness) == set(registry.keys())
    assert checklist_blockers(readiness) == ["feedback_loop"]
    assert not readiness.may_enter


def test_an_archived_launch_may_not_enter_a_stage_whatever_its_checks_say(launch):
    archive(launch)
    readiness = readiness_of(launch)
    assert checklist_blockers(readiness) == []
    assert readiness.refusals == ["The launch is archived."]
    assert not readiness.may_enter


def test_a_launch_at_its_last_stage_has_no_stage_to_enter(launch):
    launch.current_stage = stage_of(launch, StageKind.FULL)
    launch.save()
    readiness = readiness_of(launch)
    assert readiness.stage is None
    assert readiness.refusals == ["The launch is in its final stage, Full: there is no stage to enter."]
    assert not readiness.may_enter


def test_a_stage_that_is_not_the_next_one_is_refused_naming_the_next_stage(launch):
    readiness = readiness_of(launch, stage_of(launch, StageKind.BETA))
    assert readiness.refusals == [
        "Beta is not the next stage; stages are entered in order and the next one is Internal."
    ]
    assert not readiness.may_enter


def test_a_stage_whose_exposure_the_template_proposed_is_refused(launch):
    launch.stages.filter(kind=StageKind.INTERNAL).update(proposed=["exposure_percent"])
    readiness = readiness_of(launch)
    assert readiness.stage.kind == StageKind.INTERNAL
    assert readiness.refusals == ["Internal's exposure (1 %) is proposed by the template, not yet confirmed."]
    assert checklist_blockers(readiness) == []
    assert not readiness.may_enter


def test_a_proposed_exposure_refuses_only_the_stage_it_belongs_to(launch):
    launch.stages.filter(kind=StageKind.FULL).update(proposed=["exposure_percent"])
    assert readiness_of(launch).refusals == []
    readiness = readiness_of(launch, stage_of(launch, StageKind.FULL))
    assert readiness.refusals == [
        "Full is not the next stage; stages are entered in order and the next one is Internal.",
        "Full's exposure (100 %) is proposed by the template, not yet confirmed.",
    ]


def test_a_what_if_judges_a_later_stage_on_its_checklist_alone(launch):
    readiness = evaluate(reload(launch), stage_of(launch, StageKind.BETA), ignore_order=True)
    assert readiness.refusals == []
    assert checklist_blockers(readiness) == []


def test_the_current_stage_is_not_the_next_one(launch):
    launch.current_stage = stage_of(launch, StageKind.BETA)
    launch.save()
    readiness = readiness_of(launch, stage_of(launch, StageKind.BETA))
    assert readiness.refusals == [
        "Beta is not the next stage: it is the current stage (the next one is Full); to go back, roll back instead."
    ]


def test_a_stage_of_another_launch_is_not_the_next_stage(launch):
    elsewhere = RolloutStageFactory(name="Elsewhere")
    readiness = evaluate(reload(launch), elsewhere)
    assert readiness.refusals == ["Elsewhere is not a stage of this launch."]


def test_the_next_stage_follows_the_current_one(launch):
    launch.current_stage = stage_of(launch, StageKind.INTERNAL)
    launch.save()
    assert readiness_of(launch).stage.kind == StageKind.BETA


# --- query budget ---------------------------------------------------------------------------------

# Measured on a launch without sign-off rows: 1 launch query (current stage, rollback plan and
# runbook joined) + rollout stages + 4 for sign-offs (requests, stage policies, acknowledgements,
# waivers) + 9 for the facts (quality bars with their agreeing users, their eval runs with
# golden-set owners, areas, RACI assignments with people, standard areas left out with who recorded
# why, severity levels, data assets, SLOs with their agreeing users, feedback channels) + 1 for the
# recent SLI actuals of the launches in service (item 15; none when every launch is in planning).
# The bound is the same whatever the number of launches, areas, people, assets or runs; raise it
# only when a check starts reading a new kind of row. 17: incidents with their post-mortems (operations,
# issue 11; who was notified is one query more, only for launches that have incidents); 18: the
# feedback channels' failure reviews (item 11's cadence); 19: SLI actuals (item 15), loaded by a
# preparer only when a launch is in a stage.
QUERY_BOUND = 19


def grow(launch: Launch) -> None:
    """Add 10 areas with people, 20 data assets, more quality bars, many more evaluation runs and
    more SLOs, agreed by different people."""
    for _ in range(10):
        area = ResponsibilityAreaFactory(launch=launch)
        RaciAssignmentFactory(area=area, role=Role.ACCOUNTABLE, stakeholder=StakeholderFactory())
        RaciAssignmentFactory(area=area, role=Role.RESPONSIBLE, stakeholder=StakeholderFactory())
        RaciAssignmentFactory(area=area, role=Role.CONSULTED, stakeholder=StakeholderFactory())
    for n in range(20):
        personal = n % 2 == 0
        DataAssetFactory(
            launch=launch,
            classification=Classification.PERSONAL if personal else Classification.INTERNAL,
            access_level=AccessLevel.RESTRICTED if personal else AccessLevel.ALL_EMPLOYEES,
            masked_in_logs=personal,
            retention_days=30 if personal else None,
            audit_interval_days=90 if personal else None,
            last_audit_at=timezone.localdate() if personal else None,
        )
    bar = bar_of(launch)
    for days in range(1, 11):
        EvalRunFactory(quality_bar=bar, run_at=timezone.now() - datetime.timedelta(days=days))
    accountable = launch.areas.get(kind="model_quality").assignments.get(role=Role.ACCOUNTABLE).stakeholder.user
    for metric in ("accuracy", "hallucination", "prompt_quality"):
        extra = QualityBarFactory(launch=launch, metric=metric, agreed_by=accountable, agreed_at=timezone.now())
        for days in range(5):
            EvalRunFactory(quality_bar=extra, run_at=timezone.now() - datetime.timedelta(days=days))
    extra_slos = (
        (SloIndicator.ERROR_RATE, "0.5", "1"),
        (SloIndicator.LATENCY_P50, "800", "1000"),
        (SloIndicator.LATENCY_P99, "6000", "8000"),
        (SloIndicator.COST_DAILY, "300", "400"),
    )
    for indicator, target, alert in extra_slos:
        SLOFactory(
            launch=launch,
            indicator=indicator,
            target=Decimal(target),
            alert_threshold=Decimal(alert),
            agreed_by=StakeholderFactory().user,
            agreed_at=timezone.now(),
        )
    launch.areas.get(kind=AreaKind.USER_EXPERIENCE).delete()
    area_omission_record(actor=launch.owner, launch=launch, kind=AreaKind.USER_EXPERIENCE, reason="No UI.")


def test_evaluating_a_small_launch_stays_within_the_query_bound(launch, django_assert_max_num_queries):
    with django_assert_max_num_queries(QUERY_BOUND):
        readiness = evaluate(reload(launch))
    assert checklist_blockers(readiness) == []


def test_evaluating_a_large_launch_stays_within_the_same_query_bound(launch, django_assert_max_num_queries):
    grow(launch)
    with django_assert_max_num_queries(QUERY_BOUND):
        readiness = evaluate(reload(launch))
        reasons = {result.key: result.reasons for result in readiness.results}
    # The facts really were loaded: the added areas, assets and bars were all evaluated.
    assert reasons["raci_defined"][0] == "14 areas, each with one Accountable and at least one Responsible."
    assert reasons["raci_defined"][1].startswith("Standard area 'User experience and fallbacks' is left out: “No UI.”")
    assert reasons["data_classified"] == (
        "22 data assets, all classified, each with an access level its class allows.",
    )
    assert reasons["pii_policy"] == ("11 PII assets, all masked in logs, retained and audited.",)
    assert reasons["failure_rate_agreed"] == ("4 quality bars agreed by the Accountable of the owning area.",)
    assert len(reasons["quality_evidence"]) == 4
    assert reasons["monitoring_dashboard"] == ("A dashboard link is recorded for 7 SLIs.",)
    # Item 7 judges only the three SLOs it requires, each agreement against the owning area's Accountable.
    assert reasons["slos_defined"] == (
        "Success rate, p95 latency and the monthly cost budget have confirmed targets and alerts, "
        "agreed by the Accountable of the owning area.",
    )


def test_the_registry_refuses_a_second_item_with_a_key_or_number_already_taken():
    from readiness.checklist import registry

    with pytest.raises(ValueError, match="already registered"):
        registry.register("raci_defined", number=99, title="Again")
    with pytest.raises(ValueError, match="number 3 is already taken"):
        registry.register("something_new", number=3, title="Clash")
    assert "something_new" not in registry
