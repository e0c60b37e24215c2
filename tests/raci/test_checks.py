"""Checklist items 2–4 and 7, which need the RACI: who agreed each quality bar, whether every area
has exactly one Accountable and a Responsible, whether every severity level pages named people, and
whether the required SLOs are confirmed and agreed by the Accountable of the area that owns them.

Each test starts from ``ready_launch()`` (every check passes), breaks exactly one fact, re-loads the
launch with ``with_checklist_facts`` and looks at one item's result. The ready launch is built once
per module (``shared_launch``); each test runs inside it in a savepoint of its own and reads it back
from the database (like ``setUpTestData``).
"""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from raci.choices import AreaKind, Role, TeamFunction
from raci.models import RaciAssignment, ResponsibilityArea, Stakeholder
from raci.services import area_omission_record, area_omission_withdraw
from readiness.checklist import Status, evaluate, with_checklist_facts
from readiness.choices import NotifyScope, SloIndicator
from readiness.i18n import shown_date
from readiness.models import Launch
from readiness.services import fact_version
from tests.builders import ready_launch, team_for
from tests.factories import (
    QualityBarFactory,
    RaciAssignmentFactory,
    ResponsibilityAreaFactory,
    SLOFactory,
    StakeholderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MODEL_QUALITY = "Model/prompt quality"
INFRASTRUCTURE = "Infrastructure and deployment"
DATA_RETRIEVAL = "Data and retrieval quality"


def result_of(launch: Launch, key: str):
    fresh = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    return next(result for result in evaluate(fresh).results if result.key == key)


def assert_fails(result, *reasons: str) -> None:
    assert result.status == Status.FAIL
    assert result.reasons == reasons


def area(launch: Launch, name: str) -> ResponsibilityArea:
    return launch.areas.get(name=name)


def holder(launch: Launch, area_name: str, role: str) -> Stakeholder:
    """The one person holding ``role`` on the area (``ready_launch`` gives each area one A and one R)."""
    return area(launch, area_name).assignments.get(role=role).stakeholder


def person(first_name: str, last_name: str, function: str | None = None) -> Stakeholder:
    """Someone new; in a team of ``function`` when given (an Accountable's agreement counts only
    while they serve the function that answers for the concern)."""
    teams = [team_for(function)] if function else []
    return StakeholderFactory(user=UserFactory(first_name=first_name, last_name=last_name), teams=teams)


def rename(stakeholder: Stakeholder, first_name: str, last_name: str) -> Stakeholder:
    stakeholder.user.first_name, stakeholder.user.last_name = first_name, last_name
    stakeholder.user.save()
    return stakeholder


def agree(fact, user) -> None:
    """Record ``user``'s agreement of a quality bar or an SLO directly: these tests are about what
    the checklist reads, not who the services let agree."""
    fact.agreed_by = user
    fact.agreed_at = timezone.now()
    fact.save()


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


# --- 2. acceptable failure rate agreed ------------------------------------------------------------


def test_failure_rate_agreed_fails_when_no_quality_bar_is_recorded(launch):
    launch.quality_bars.all().delete()
    assert_fails(result_of(launch, "failure_rate_agreed"), "No quality metric has an agreed maximum failure rate yet.")


def test_failure_rate_agreed_fails_naming_a_bar_nobody_agreed(launch):
    launch.quality_bars.update(agreed_by=None, agreed_at=None)
    assert_fails(result_of(launch, "failure_rate_agreed"), "Quality bar 'wrong_answers' has not been agreed by anyone.")


def test_failure_rate_agreed_fails_naming_both_the_agreeing_person_and_the_real_accountable(launch):
    rename(holder(launch, MODEL_QUALITY, Role.ACCOUNTABLE), "Ada", "Lovelace")
    agree(launch.quality_bars.get(), person("Mallory", "Jones").user)
    assert_fails(
        result_of(launch, "failure_rate_agreed"),
        f"Quality bar 'wrong_answers' was agreed by Mallory Jones, but the Accountable for '{MODEL_QUALITY}' "
        "is Ada Lovelace.",
    )


def test_failure_rate_agreed_names_the_agreeing_user_by_username_when_they_have_no_full_name(launch):
    rename(holder(launch, MODEL_QUALITY, Role.ACCOUNTABLE), "Ada", "Lovelace")
    agree(launch.quality_bars.get(), UserFactory(username="mallory", first_name="", last_name=""))
    assert_fails(
        result_of(launch, "failure_rate_agreed"),
        f"Quality bar 'wrong_answers' was agreed by mallory, but the Accountable for '{MODEL_QUALITY}' "
        "is Ada Lovelace.",
    )


def test_failure_rate_agreed_does_not_accept_the_responsible_in_place_of_the_accountable(launch):
    rename(holder(launch, MODEL_QUALITY, Role.ACCOUNTABLE), "Ada", "Lovelace")
    responsible = rename(holder(launch, MODEL_QUALITY, Role.RESPONSIBLE), "Rita", "Reed")
    agree(launch.quality_bars.get(), responsible.user)
    assert_fails(
        result_of(launch, "failure_rate_agreed"),
        f"Quality bar 'wrong_answers' was agreed by Rita Reed, but the Accountable for '{MODEL_QUALITY}' "
        "is Ada Lovelace.",
    )


def test_failure_rate_agreed_finds_the_owning_area_through_its_concerns(launch):
    infra_accountable = rename(holder(launch, INFRASTRUCTURE, Role.ACCOUNTABLE), "Ian", "Frost")
    rename(holder(launch, MODEL_QUALITY, Role.ACCOUNTABLE), "Ada", "Lovelace")
    latency = QualityBarFactory(launch=launch, metric="latency")
    agree(latency, holder(launch, MODEL_QUALITY, Role.ACCOUNTABLE).user)
    assert_fails(
        result_of(launch, "failure_rate_agreed"),
        f"Quality bar 'latency' was agreed by Ada Lovelace, but the Accountable for '{INFRASTRUCTURE}' is Ian Frost.",
    )

    agree(latency, infra_accountable.user)
    assert result_of(launch, "failure_rate_agreed").status == Status.PASS


def test_failure_rate_agreed_finds_a_custom_area_that_claims_the_metric(launch):
    safety = ResponsibilityAreaFactory(launch=launch, name="Safety", concerns=["toxicity"])
    accountable = person("Sam", "Safe", TeamFunction.ML)
    RaciAssignmentFactory(area=safety, role=Role.ACCOUNTABLE, stakeholder=accountable)
    RaciAssignmentFactory(area=safety, role=Role.RESPONSIBLE, stakeholder=StakeholderFactory())
    toxicity = QualityBarFactory(launch=launch, metric="toxicity")
    agree(toxicity, holder(launch, MODEL_QUALITY, Role.ACCOUNTABLE).user)
    result = result_of(launch, "failure_rate_agreed")
    assert result.status == Status.FAIL
    assert result.reasons[0].endswith("but the Accountable for 'Safety' is Sam Safe.")

    agree(toxicity, accountable.user)
    assert result_of(launch, "failure_rate_agreed").status == Status.PASS


def test_failure_rate_agreed_falls_back_to_the_model_quality_area_for_an_unclaimed_metric(launch):
    rename(holder(launch, MODEL_QUALITY, Role.ACCOUNTABLE), "Ada", "Lovelace")
    tone = QualityBarFactory(launch=launch, metric="tone_of_voice")
    agree(tone, rename(holder(launch, INFRASTRUCTURE, Role.ACCOUNTABLE), "Ian", "Frost").user)
    assert_fails(
        result_of(launch, "failure_rate_agreed"),
        f"Quality bar 'tone_of_voice' was agreed by Ian Frost, but the Accountable for '{MODEL_QUALITY}' "
        "is Ada Lovelace.",
    )

    agree(tone, holder(launch, MODEL_QUALITY, Role.ACCOUNTABLE).user)
    assert result_of(launch, "failure_rate_agreed").status == Status.PASS


def test_failure_rate_agreed_fails_when_no_area_owns_the_metric_and_there_is_no_model_quality_area(launch):
    area(launch, MODEL_QUALITY).delete()
    assert_fails(
        result_of(launch, "failure_rate_agreed"),
        "No responsibility area owns quality bar 'wrong_answers', so its Accountable is unknown.",
    )


def test_failure_rate_agreed_fails_when_the_owning_area_has_no_accountable(launch):
    area(launch, MODEL_QUALITY).assignments.filter(role=Role.ACCOUNTABLE).delete()
    assert_fails(
        result_of(launch, "failure_rate_agreed"),
        f"Quality bar 'wrong_answers': area '{MODEL_QUALITY}' has no Accountable to agree it.",
    )


def test_failure_rate_agreed_passes_when_every_bar_is_agreed_by_the_accountable_of_its_area(launch):
    agree(QualityBarFactory(launch=launch, metric="latency"), holder(launch, INFRASTRUCTURE, Role.ACCOUNTABLE).user)
    result = result_of(launch, "failure_rate_agreed")
    assert result.status == Status.PASS
    assert result.reasons == ("2 quality bars agreed by the Accountable of the owning area.",)


# --- 3. Responsibilities (RACI) ------------------------------------------------------------------------------


def test_raci_defined_fails_when_no_area_is_defined(launch):
    launch.areas.all().delete()
    assert_fails(result_of(launch, "raci_defined"), "No responsibility areas are defined.")


def test_raci_defined_fails_naming_an_area_without_an_accountable(launch):
    area(launch, DATA_RETRIEVAL).assignments.filter(role=Role.ACCOUNTABLE).delete()
    assert_fails(result_of(launch, "raci_defined"), f"Area '{DATA_RETRIEVAL}' has no Accountable.")


def test_raci_defined_does_not_count_a_consulted_person_as_accountable(launch):
    data = area(launch, DATA_RETRIEVAL)
    data.assignments.filter(role=Role.ACCOUNTABLE).update(role=Role.CONSULTED)
    assert_fails(result_of(launch, "raci_defined"), f"Area '{DATA_RETRIEVAL}' has no Accountable.")


def test_raci_defined_fails_naming_both_people_when_an_area_has_two_accountables(launch):
    rename(holder(launch, DATA_RETRIEVAL, Role.ACCOUNTABLE), "Ada", "Lovelace")
    grace = person("Grace", "Hopper", TeamFunction.DATA)
    RaciAssignmentFactory(area=area(launch, DATA_RETRIEVAL), role=Role.ACCOUNTABLE, stakeholder=grace)
    assert_fails(
        result_of(launch, "raci_defined"),
        f"Area '{DATA_RETRIEVAL}' has 2 Accountables (Ada Lovelace, Grace Hopper); exactly one is needed.",
    )


def test_raci_defined_fails_naming_an_area_without_a_responsible(launch):
    area(launch, DATA_RETRIEVAL).assignments.filter(role=Role.RESPONSIBLE).delete()
    assert_fails(result_of(launch, "raci_defined"), f"Area '{DATA_RETRIEVAL}' has no Responsible.")


def test_raci_defined_names_every_problem_of_an_empty_custom_area(launch):
    ResponsibilityAreaFactory(launch=launch, name="Localisation")
    assert_fails(
        result_of(launch, "raci_defined"),
        "Area 'Localisation' has no Accountable.",
        "Area 'Localisation' has no Responsible.",
    )


def test_raci_defined_fails_when_the_accountable_is_deactivated(launch):
    accountable = area(launch, DATA_RETRIEVAL).assignments.get(role=Role.ACCOUNTABLE).stakeholder
    accountable.user.is_active = False
    accountable.user.save()
    assert_fails(
        result_of(launch, "raci_defined"),
        f"Area 'Data and retrieval quality': Accountable {accountable.display_name} is deactivated.",
    )


USER_EXPERIENCE = "User experience and fallbacks"
MISSING = "is missing: add it, or record why this launch does without it."


def test_raci_defined_fails_naming_a_standard_area_that_was_deleted(launch):
    area(launch, DATA_RETRIEVAL).delete()
    assert_fails(result_of(launch, "raci_defined"), f"Standard area '{DATA_RETRIEVAL}' {MISSING}")


def test_raci_defined_names_every_missing_standard_area_in_the_standard_order(launch):
    area(launch, USER_EXPERIENCE).delete()
    area(launch, DATA_RETRIEVAL).delete()
    assert_fails(
        result_of(launch, "raci_defined"),
        f"Standard area '{DATA_RETRIEVAL}' {MISSING}",
        f"Standard area '{USER_EXPERIENCE}' {MISSING}",
    )


def test_a_custom_area_does_not_stand_in_for_a_missing_standard_one(launch):
    area(launch, DATA_RETRIEVAL).delete()
    custom = ResponsibilityAreaFactory(launch=launch, name="Retrieval", concerns=["retrieval_quality"])
    RaciAssignmentFactory(area=custom, role=Role.ACCOUNTABLE, stakeholder=StakeholderFactory())
    RaciAssignmentFactory(area=custom, role=Role.RESPONSIBLE, stakeholder=StakeholderFactory())
    assert_fails(result_of(launch, "raci_defined"), f"Standard area '{DATA_RETRIEVAL}' {MISSING}")


def test_raci_defined_passes_a_left_out_standard_area_quoting_the_recorded_reason_and_who_recorded_it(launch):
    area(launch, DATA_RETRIEVAL).delete()
    launch.owner.first_name, launch.owner.last_name = "Pam", "Manager"
    launch.owner.save()
    omission = area_omission_record(
        actor=launch.owner,
        launch=launch,
        kind=AreaKind.DATA_RETRIEVAL,
        reason="No retrieval: the model answers from the prompt alone.",
    )
    result = result_of(launch, "raci_defined")
    assert result.status == Status.PASS
    assert result.reasons == (
        "4 areas, each with one Accountable and at least one Responsible.",
        f"Standard area '{DATA_RETRIEVAL}' is left out: “No retrieval: the model answers from the prompt alone.” "
        f"(recorded by Pam Manager on {shown_date(omission.recorded_at)}).",
    )


def test_a_reason_for_one_standard_area_does_not_excuse_another(launch):
    area(launch, DATA_RETRIEVAL).delete()
    area(launch, USER_EXPERIENCE).delete()
    area_omission_record(actor=launch.owner, launch=launch, kind=AreaKind.DATA_RETRIEVAL, reason="No retrieval.")
    assert_fails(result_of(launch, "raci_defined"), f"Standard area '{USER_EXPERIENCE}' {MISSING}")


def test_withdrawing_the_reason_fails_the_missing_area_again(launch):
    area(launch, DATA_RETRIEVAL).delete()
    omission = area_omission_record(
        actor=launch.owner, launch=launch, kind=AreaKind.DATA_RETRIEVAL, reason="No retrieval."
    )
    area_omission_withdraw(
        actor=launch.owner, omission=omission, seen_version=fact_version(omission), reason="Data area added back"
    )
    assert_fails(result_of(launch, "raci_defined"), f"Standard area '{DATA_RETRIEVAL}' {MISSING}")


def test_once_the_area_is_added_again_it_is_judged_as_any_area_and_the_old_reason_is_not_quoted(launch):
    area(launch, DATA_RETRIEVAL).delete()
    area_omission_record(actor=launch.owner, launch=launch, kind=AreaKind.DATA_RETRIEVAL, reason="No retrieval.")
    ResponsibilityAreaFactory(launch=launch, kind=AreaKind.DATA_RETRIEVAL, name=DATA_RETRIEVAL)
    assert_fails(
        result_of(launch, "raci_defined"),
        f"Area '{DATA_RETRIEVAL}' has no Accountable.",
        f"Area '{DATA_RETRIEVAL}' has no Responsible.",
    )


def test_raci_defined_passes_when_every_area_has_one_accountable_and_a_responsible(launch):
    RaciAssignmentFactory(area=area(launch, DATA_RETRIEVAL), role=Role.RESPONSIBLE, stakeholder=StakeholderFactory())
    RaciAssignmentFactory(area=area(launch, DATA_RETRIEVAL), role=Role.INFORMED, stakeholder=StakeholderFactory())
    result = result_of(launch, "raci_defined")
    assert result.status == Status.PASS
    assert result.reasons == ("5 areas, each with one Accountable and at least one Responsible.",)


# --- 4. incident owner is clear -------------------------------------------------------------------

ASSIGNEE = "Assignee (Responsible of the area)"
BACKLOG = "Backlog (Accountable of the area triages)"


def deactivate(stakeholder: Stakeholder) -> None:
    stakeholder.user.is_active = False
    stakeholder.user.save()


def test_incident_owner_fails_naming_a_severity_level_that_is_not_defined(launch):
    launch.severity_levels.filter(level="P2").delete()
    assert_fails(result_of(launch, "incident_owner"), "Severity level P2 is not defined.")


def test_incident_owner_fails_naming_every_missing_severity_level(launch):
    launch.severity_levels.all().delete()
    assert_fails(
        result_of(launch, "incident_owner"),
        "Severity level P0 is not defined.",
        "Severity level P1 is not defined.",
        "Severity level P2 is not defined.",
        "Severity level P3 is not defined.",
    )


def test_incident_owner_fails_when_no_area_is_defined(launch):
    launch.areas.all().delete()
    assert_fails(
        result_of(launch, "incident_owner"), "No responsibility areas are defined, so no incident resolves to people."
    )


def test_an_area_without_a_responsible_leaves_the_p2_assignee_unresolved_there(launch):
    area(launch, DATA_RETRIEVAL).assignments.filter(role=Role.RESPONSIBLE).delete()
    # P1 (owning team) still reaches the Accountable; only the assignee scope needs a Responsible.
    assert_fails(
        result_of(launch, "incident_owner"),
        f"P2 ({ASSIGNEE}) resolves to nobody in area '{DATA_RETRIEVAL}'.",
    )


def test_an_area_without_an_accountable_leaves_the_p3_backlog_untriaged_there(launch):
    area(launch, DATA_RETRIEVAL).assignments.filter(role=Role.ACCOUNTABLE).delete()
    assert_fails(
        result_of(launch, "incident_owner"),
        f"P3 ({BACKLOG}) resolves to nobody in area '{DATA_RETRIEVAL}'.",
    )


def test_an_inactive_user_does_not_count_as_the_responsible_to_page(launch):
    deactivate(holder(launch, DATA_RETRIEVAL, Role.RESPONSIBLE))
    assert_fails(
        result_of(launch, "incident_owner"),
        f"P2 ({ASSIGNEE}) resolves to nobody in area '{DATA_RETRIEVAL}'.",
    )


def test_an_area_whose_owners_are_all_inactive_resolves_every_area_scoped_level_to_nobody(launch):
    deactivate(holder(launch, DATA_RETRIEVAL, Role.RESPONSIBLE))
    deactivate(holder(launch, DATA_RETRIEVAL, Role.ACCOUNTABLE))
    owning_team = "Owning team (Responsible and Accountable of the area)"
    assert_fails(
        result_of(launch, "incident_owner"),
        f"P1 ({owning_team}) resolves to nobody in area '{DATA_RETRIEVAL}'.",
        f"P2 ({ASSIGNEE}) resolves to nobody in area '{DATA_RETRIEVAL}'.",
        f"P3 ({BACKLOG}) resolves to nobody in area '{DATA_RETRIEVAL}'.",
    )


def test_a_second_active_responsible_keeps_the_assignee_resolved(launch):
    deactivate(holder(launch, DATA_RETRIEVAL, Role.RESPONSIBLE))
    RaciAssignmentFactory(area=area(launch, DATA_RETRIEVAL), role=Role.RESPONSIBLE, stakeholder=StakeholderFactory())
    assert result_of(launch, "incident_owner").status == Status.PASS


def test_all_teams_passes_when_anyone_anywhere_is_responsible_or_accountable(launch):
    launch.severity_levels.update(notify=NotifyScope.ALL_TEAMS)
    RaciAssignment.objects.filter(area__launch=launch).exclude(
        area__name=DATA_RETRIEVAL, role=Role.RESPONSIBLE
    ).delete()
    assert RaciAssignment.objects.filter(area__launch=launch).count() == 1
    assert result_of(launch, "incident_owner").status == Status.PASS


def test_all_teams_fails_when_nobody_active_is_responsible_or_accountable_anywhere(launch):
    launch.severity_levels.update(notify=NotifyScope.ALL_TEAMS)
    for assignment in RaciAssignment.objects.filter(area__launch=launch).select_related("stakeholder__user"):
        deactivate(assignment.stakeholder)
    # Someone merely Consulted is not paged.
    RaciAssignmentFactory(area=area(launch, DATA_RETRIEVAL), role=Role.CONSULTED, stakeholder=StakeholderFactory())
    assert_fails(
        result_of(launch, "incident_owner"),
        *(
            f"{code} pages all teams, but no active person is Responsible or Accountable anywhere."
            for code in ("P0", "P1", "P2", "P3")
        ),
    )


def test_incident_owner_fails_naming_each_response_time_the_template_proposed(launch):
    launch.severity_levels.filter(level__in=["P3", "P1"]).update(proposed=["response_minutes"])
    assert_fails(
        result_of(launch, "incident_owner"),
        "P1's response time (1 h) is proposed by the template, not yet confirmed.",
        "P3's response time (next sprint) is proposed by the template, not yet confirmed.",
    )


def test_incident_owner_passes_when_every_level_resolves_to_people_in_every_area(launch):
    result = result_of(launch, "incident_owner")
    assert result.status == Status.PASS
    assert result.reasons == (
        "Every severity level resolves to named people in every area, with response times in order and "
        "P0 and P1 within their limits.",
    )


# Response times: in order of severity, and P0 and P1 within the limits from the settings.

ORDER = "response times must not shrink as severity falls (P0 ≤ P1 ≤ P2 ≤ P3)."


def respond(launch: Launch, **minutes: int | None) -> None:
    """Set response times by level, e.g. ``respond(launch, P0=60)``; None is 'next sprint'."""
    for code, value in minutes.items():
        launch.severity_levels.filter(level=code).update(response_minutes=value)


@pytest.mark.parametrize("minutes", [1, 60])
def test_p0_within_the_p0_limit_passes(launch, minutes):
    respond(launch, P0=minutes)
    assert result_of(launch, "incident_owner").status == Status.PASS


def test_p0_a_minute_over_the_p0_limit_fails_naming_its_time_and_the_limit(launch):
    respond(launch, P0=61, P1=61)
    assert_fails(result_of(launch, "incident_owner"), "P0 response time is 61 min; at most 1 h is allowed for P0.")


def test_p0_set_to_next_sprint_fails_on_its_limit_and_on_the_order(launch):
    respond(launch, P0=None)
    assert_fails(
        result_of(launch, "incident_owner"),
        f"P1 is answered faster (1 h) than P0 (next sprint): {ORDER}",
        "P0 response time is next sprint; at most 1 h is allowed for P0.",
    )


@pytest.mark.parametrize(("minutes", "status"), [(240, Status.PASS), (241, Status.FAIL)])
def test_p1_is_held_to_the_p1_limit(launch, minutes, status):
    respond(launch, P1=minutes, P2=minutes)
    result = result_of(launch, "incident_owner")
    assert result.status == status
    if status == Status.FAIL:
        assert result.reasons == ("P1 response time is 241 min; at most 4 h is allowed for P1.",)


def test_p1_set_to_next_sprint_fails(launch):
    respond(launch, P1=None, P2=None)
    assert_fails(result_of(launch, "incident_owner"), "P1 response time is next sprint; at most 4 h is allowed for P1.")


def test_the_limits_come_from_the_settings(launch, settings):
    settings.SEVERITY_P0_MAX_RESPONSE_MINUTES = 10
    settings.SEVERITY_P1_MAX_RESPONSE_MINUTES = 30
    assert_fails(
        result_of(launch, "incident_owner"),
        "P0 response time is 15 min; at most 10 min is allowed for P0.",
        "P1 response time is 1 h; at most 30 min is allowed for P1.",
    )


def test_a_level_may_be_answered_as_fast_as_the_one_above_it(launch):
    respond(launch, P0=15, P1=15, P2=15, P3=15)
    assert result_of(launch, "incident_owner").status == Status.PASS


def test_a_less_severe_level_answered_faster_than_a_more_severe_one_fails(launch):
    respond(launch, P2=30)
    assert_fails(result_of(launch, "incident_owner"), f"P2 is answered faster (30 min) than P1 (1 h): {ORDER}")


def test_a_timed_p3_below_a_next_sprint_p2_fails(launch):
    respond(launch, P2=None, P3=480)
    assert_fails(result_of(launch, "incident_owner"), f"P3 is answered faster (8 h) than P2 (next sprint): {ORDER}")


def test_the_order_skips_an_undefined_level(launch):
    launch.severity_levels.filter(level="P1").delete()
    respond(launch, P2=10)
    assert_fails(
        result_of(launch, "incident_owner"),
        "Severity level P1 is not defined.",
        f"P2 is answered faster (10 min) than P0 (15 min): {ORDER}",
    )


# --- 7. SLO targets and alerts ------------------------------------------------------------------------------

PROPOSED = "is proposed by the template, not yet confirmed."
SLOS_PASS = (
    "Success rate, p95 latency and the monthly cost budget have confirmed targets and alerts, "
    "agreed by the Accountable of the owning area."
)


def slo_of(launch: Launch, indicator: str):
    return launch.slos.get(indicator=indicator)


@pytest.mark.parametrize(
    ("indicator", "label"),
    [
        (SloIndicator.SUCCESS_RATE, "success rate"),
        (SloIndicator.LATENCY_P95, "p95 latency"),
        (SloIndicator.COST_MONTHLY, "monthly cost"),
    ],
)
def test_slos_defined_fails_naming_a_missing_required_slo(launch, indicator, label):
    launch.slos.filter(indicator=indicator).delete()
    assert_fails(result_of(launch, "slos_defined"), f"No {label} SLO is recorded.")


def test_slos_defined_fails_naming_every_missing_slo(launch):
    launch.slos.all().delete()
    assert_fails(
        result_of(launch, "slos_defined"),
        "No success rate SLO is recorded.",
        "No p95 latency SLO is recorded.",
        "No monthly cost SLO is recorded.",
    )


def test_slos_defined_does_not_accept_a_daily_cost_slo_in_place_of_the_monthly_budget(launch):
    launch.slos.filter(indicator=SloIndicator.COST_MONTHLY).update(indicator=SloIndicator.COST_DAILY)
    assert_fails(result_of(launch, "slos_defined"), "No monthly cost SLO is recorded.")


def test_slos_defined_does_not_count_p50_latency_as_p95(launch):
    launch.slos.filter(indicator=SloIndicator.LATENCY_P95).update(indicator=SloIndicator.LATENCY_P50)
    assert_fails(result_of(launch, "slos_defined"), "No p95 latency SLO is recorded.")


@pytest.mark.parametrize(
    ("indicator", "reason"),
    [
        (SloIndicator.SUCCESS_RATE, "The Success rate (%) SLO has no alert threshold."),
        (SloIndicator.LATENCY_P95, "The Latency p95 (ms) SLO has no alert threshold."),
        (SloIndicator.COST_MONTHLY, "The Monthly cost SLO has no daily alert limit."),
    ],
)
def test_slos_defined_fails_naming_an_slo_without_an_alert(launch, indicator, reason):
    launch.slos.filter(indicator=indicator).update(alert_threshold=None)
    assert_fails(result_of(launch, "slos_defined"), reason)


def test_slos_defined_judges_only_the_three_slos_it_requires(launch):
    """A daily cost SLO neither stands in for the monthly budget nor, without an alert, fails the item."""
    SLOFactory(launch=launch, indicator=SloIndicator.COST_DAILY, target=Decimal("400"), alert_threshold=None)
    result = result_of(launch, "slos_defined")
    assert result.status == Status.PASS
    assert result.reasons == (SLOS_PASS,)


@pytest.mark.parametrize(
    ("indicator", "proposed", "reasons"),
    [
        (
            SloIndicator.SUCCESS_RATE,
            ["target", "alert_threshold"],
            (
                f"The Success rate (%) SLO's target (99.5) {PROPOSED}",
                f"The Success rate (%) SLO's alert threshold (99) {PROPOSED}",
            ),
        ),
        (SloIndicator.LATENCY_P95, ["target"], (f"The Latency p95 (ms) SLO's target (3000) {PROPOSED}",)),
        (
            SloIndicator.COST_MONTHLY,
            ["alert_threshold"],
            (f"The Monthly cost SLO's daily alert limit (500) {PROPOSED}",),
        ),
    ],
)
def test_slos_defined_fails_on_a_value_the_template_proposed_even_when_agreed(launch, indicator, proposed, reasons):
    launch.slos.filter(indicator=indicator).update(proposed=proposed)
    assert slo_of(launch, indicator).agreed_by_id is not None
    assert_fails(result_of(launch, "slos_defined"), *reasons)


def test_slos_defined_fails_naming_an_slo_nobody_agreed(launch):
    launch.slos.filter(indicator=SloIndicator.LATENCY_P95).update(agreed_by=None, agreed_at=None)
    assert_fails(
        result_of(launch, "slos_defined"),
        f"The Latency p95 (ms) SLO has not been agreed by the Accountable for '{INFRASTRUCTURE}'.",
    )


def test_slos_defined_names_every_slo_nobody_agreed(launch):
    launch.slos.update(agreed_by=None, agreed_at=None)
    assert_fails(
        result_of(launch, "slos_defined"),
        f"The Success rate (%) SLO has not been agreed by the Accountable for '{INFRASTRUCTURE}'.",
        f"The Latency p95 (ms) SLO has not been agreed by the Accountable for '{INFRASTRUCTURE}'.",
        f"The Monthly cost SLO has not been agreed by the Accountable for '{INFRASTRUCTURE}'.",
    )


def test_slos_defined_fails_naming_both_the_agreeing_person_and_the_real_accountable(launch):
    rename(holder(launch, INFRASTRUCTURE, Role.ACCOUNTABLE), "Ian", "Frost")
    agree(slo_of(launch, SloIndicator.COST_MONTHLY), person("Mallory", "Jones").user)
    assert_fails(
        result_of(launch, "slos_defined"),
        f"The Monthly cost SLO was agreed by Mallory Jones, but the Accountable for '{INFRASTRUCTURE}' is Ian Frost.",
    )


def test_slos_defined_does_not_accept_the_launch_owner_s_agreement(launch):
    rename(holder(launch, INFRASTRUCTURE, Role.ACCOUNTABLE), "Ian", "Frost")
    owner = launch.owner
    owner.first_name, owner.last_name = "Olive", "Owner"
    owner.save()
    agree(slo_of(launch, SloIndicator.SUCCESS_RATE), owner)
    assert_fails(
        result_of(launch, "slos_defined"),
        f"The Success rate (%) SLO was agreed by Olive Owner, but the Accountable for '{INFRASTRUCTURE}' is Ian Frost.",
    )


def test_slos_defined_does_not_accept_the_responsible_in_place_of_the_accountable(launch):
    rename(holder(launch, INFRASTRUCTURE, Role.ACCOUNTABLE), "Ian", "Frost")
    agree(
        slo_of(launch, SloIndicator.LATENCY_P95),
        rename(holder(launch, INFRASTRUCTURE, Role.RESPONSIBLE), "Rita", "Reed").user,
    )
    assert_fails(
        result_of(launch, "slos_defined"),
        f"The Latency p95 (ms) SLO was agreed by Rita Reed, but the Accountable for '{INFRASTRUCTURE}' is Ian Frost.",
    )


def test_an_slo_agreed_by_an_accountable_since_replaced_fails_until_the_new_one_agrees(launch):
    previous = rename(holder(launch, INFRASTRUCTURE, Role.ACCOUNTABLE), "Ian", "Frost")
    area(launch, INFRASTRUCTURE).assignments.filter(role=Role.ACCOUNTABLE).delete()
    successor = person("Nina", "New", TeamFunction.PLATFORM)
    RaciAssignmentFactory(area=area(launch, INFRASTRUCTURE), role=Role.ACCOUNTABLE, stakeholder=successor)
    assert_fails(
        result_of(launch, "slos_defined"),
        *(
            f"The {label} SLO was agreed by {previous.display_name}, but the Accountable for '{INFRASTRUCTURE}' "
            "is Nina New."
            for label in ("Success rate (%)", "Latency p95 (ms)", "Monthly cost")
        ),
    )

    for slo in launch.slos.all():
        agree(slo, successor.user)
    assert result_of(launch, "slos_defined").status == Status.PASS


def test_slos_defined_finds_the_owning_area_through_its_concerns(launch):
    infrastructure = area(launch, INFRASTRUCTURE)
    infrastructure.concerns = [concern for concern in infrastructure.concerns if concern != "latency"]
    infrastructure.save()
    performance = ResponsibilityAreaFactory(launch=launch, name="Performance", concerns=["latency"])
    accountable = person("Pia", "Perf", TeamFunction.PLATFORM)
    RaciAssignmentFactory(area=performance, role=Role.ACCOUNTABLE, stakeholder=accountable)
    rename(holder(launch, INFRASTRUCTURE, Role.ACCOUNTABLE), "Ian", "Frost")
    assert_fails(
        result_of(launch, "slos_defined"),
        "The Latency p95 (ms) SLO was agreed by Ian Frost, but the Accountable for 'Performance' is Pia Perf.",
    )

    agree(slo_of(launch, SloIndicator.LATENCY_P95), accountable.user)
    assert result_of(launch, "slos_defined").status == Status.PASS


def test_slos_defined_falls_back_to_the_infrastructure_area_when_no_area_claims_the_concern(launch):
    infrastructure = area(launch, INFRASTRUCTURE)
    infrastructure.concerns = ["deployment"]
    infrastructure.save()
    assert result_of(launch, "slos_defined").status == Status.PASS

    rename(holder(launch, INFRASTRUCTURE, Role.ACCOUNTABLE), "Ian", "Frost")
    agree(
        slo_of(launch, SloIndicator.SUCCESS_RATE),
        rename(holder(launch, MODEL_QUALITY, Role.ACCOUNTABLE), "Ada", "Lovelace").user,
    )
    assert_fails(
        result_of(launch, "slos_defined"),
        f"The Success rate (%) SLO was agreed by Ada Lovelace, but the Accountable for '{INFRASTRUCTURE}' is Ian Frost.",
    )


def test_slos_defined_fails_when_no_area_owns_the_slos(launch):
    agreed_by = rename(holder(launch, INFRASTRUCTURE, Role.ACCOUNTABLE), "Ian", "Frost")
    area(launch, INFRASTRUCTURE).delete()
    labels = ("Success rate (%)", "Latency p95 (ms)", "Monthly cost")
    assert_fails(
        result_of(launch, "slos_defined"),
        *(f"The {label} SLO was agreed by {agreed_by.display_name}, but no area owns it." for label in labels),
    )

    launch.slos.update(agreed_by=None, agreed_at=None)
    assert_fails(
        result_of(launch, "slos_defined"),
        *(f"The {label} SLO has not been agreed by an Accountable (no area owns it)." for label in labels),
    )


def test_slos_defined_fails_when_the_owning_area_has_no_accountable(launch):
    rename(holder(launch, INFRASTRUCTURE, Role.ACCOUNTABLE), "Ian", "Frost")
    area(launch, INFRASTRUCTURE).assignments.filter(role=Role.ACCOUNTABLE).delete()
    assert_fails(
        result_of(launch, "slos_defined"),
        *(
            f"The {label} SLO was agreed by Ian Frost, but the Accountable for '{INFRASTRUCTURE}' is nobody."
            for label in ("Success rate (%)", "Latency p95 (ms)", "Monthly cost")
        ),
    )


def test_slos_defined_passes_when_the_required_slos_are_confirmed_and_agreed_by_the_accountable(launch):
    result = result_of(launch, "slos_defined")
    assert result.status == Status.PASS
    assert result.reasons == (SLOS_PASS,)


# --- an agreement counts only from someone serving the function that answers for the concern -------


def test_an_accountable_who_left_the_function_no_longer_agrees_or_holds_the_area(launch):
    accountable = rename(holder(launch, MODEL_QUALITY, Role.ACCOUNTABLE), "Mia", "Chen")
    accountable.teams.clear()
    assert_fails(
        result_of(launch, "failure_rate_agreed"),
        "Quality bar 'wrong_answers' was agreed by Mia Chen, who is not in any ML team.",
    )
    assert_fails(
        result_of(launch, "raci_defined"), f"Area '{MODEL_QUALITY}': Accountable Mia Chen is not in any ML team."
    )


def test_moving_a_standard_concern_to_an_area_of_ones_own_does_not_choose_who_agrees(launch):
    """The owner moves 'latency' to a custom area and makes a friend outside platform its
    Accountable: the friend's agreement of the latency SLO does not count."""
    infrastructure = area(launch, INFRASTRUCTURE)
    infrastructure.concerns = [c for c in infrastructure.concerns if c != "latency"]
    infrastructure.save()
    speed = ResponsibilityAreaFactory(launch=launch, name="Speed", concerns=["latency"])
    friend = person("Fred", "Friend", TeamFunction.PRODUCT)
    RaciAssignmentFactory(area=speed, role=Role.ACCOUNTABLE, stakeholder=friend)
    agree(launch.slos.get(indicator="latency_p95"), friend.user)
    assert_fails(
        result_of(launch, "slos_defined"),
        "The Latency p95 (ms) SLO was agreed by Fred Friend, who is not in any Platform team.",
    )
