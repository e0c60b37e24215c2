"""Checklist item 15, "operating within SLOs": not applicable before launch, failing on a breached
SLO (month-to-date mean off target, monthly cost over budget, latest day over the daily alert) and
gating the next stage; the boundaries (exactly at target, budget exactly used) pass."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from operations.models import SliSource
from operations.selectors import load_recent_actuals, slo_standings
from operations.services import sli_record
from readiness.checklist import Context, Status, evaluate, with_checklist_facts
from readiness.i18n import shown_date
from readiness.models import Launch
from tests.operations.conftest import period_days, serving, values

pytestmark = pytest.mark.django_db


def record(launch, *batches):
    sli_record(actor=launch.owner, launch=launch, measurements=[m for b in batches for m in b], source=SliSource.FORM)


def all_fine(days):
    n = len(days)
    return [
        values("success_rate", *[99.9] * n),
        values("latency_p95", *[1500] * n),
        values("cost_daily", *[100] * n),
    ]


def item(launch):
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    readiness = evaluate(facts)
    return next(r for r in readiness.results if r.key == "operating_within_slos"), readiness


def test_not_applicable_while_in_planning(launch):
    result, _ = item(launch)
    assert result.status == Status.NOT_APPLICABLE
    assert "serves no users yet" in result.reasons[0]


def test_in_service_without_any_actual_there_is_nothing_to_judge_and_it_says_what_to_record(launch):
    result, readiness = item(serving(launch))
    assert result.status == Status.NOT_APPLICABLE
    assert result.gating and result not in readiness.blockers
    assert len(result.reasons) == 3
    assert all("no measured value" in r and "record_sli" in r for r in result.reasons)


def test_an_slo_without_actuals_is_named_when_the_others_are_judged(launch):
    days = period_days()
    record(serving(launch), values("success_rate", *[99.9] * len(days)))
    result, _ = item(launch)
    assert result.status == Status.PASS
    assert "Success rate (%)" in result.reasons[0]
    assert any("'Latency p95 (ms)' has no measured value" in r for r in result.reasons[1:])


def test_within_every_slo_it_passes(launch):
    record(serving(launch), *all_fine(period_days()))
    result, _ = item(launch)
    assert result.status == Status.PASS, result.reasons
    assert result.reasons == (
        f"No SLO is breached from {shown_date(period_days()[0])} to {shown_date(period_days()[-1])}: "
        "Success rate (%), Latency p95 (ms), Monthly cost.",
    )


def test_exactly_at_target_every_day_is_met_and_the_budget_used_pro_rata(launch):
    days = period_days()
    n = len(days)
    record(
        serving(launch),
        values("success_rate", *[99.5] * n),
        values("latency_p95", *[3000] * n),
        values("cost_daily", *[100] * n),
    )
    result, _ = item(launch)
    assert result.status == Status.PASS, result.reasons
    standing = next(s for s in slo_standings(launch, timezone.localdate()) if s.slo.indicator == "success_rate")
    month_days = __import__("calendar").monthrange(days[0].year, days[0].month)[1]
    assert standing.compliance == 100
    assert standing.budget_left == 1 - Decimal(n) / month_days


def test_a_success_rate_averaging_below_target_breaches_and_blocks_the_next_stage(launch):
    days = period_days()
    fine = all_fine(days)
    fine[0] = values("success_rate", *[99.4] * len(days))
    record(serving(launch), *fine)
    result, readiness = item(launch)
    assert result.status == Status.FAIL
    assert readiness.stage.name == "Beta" and result in readiness.blockers
    assert any("Success rate (%)" in r and "averaged 99.4" in r and "≥ 99.5" in r for r in result.reasons)


@pytest.mark.skipif(len(period_days()) < 2, reason="needs two days in the month of yesterday")
def test_a_bad_day_made_up_for_exactly_uses_the_budget_and_passes_one_more_bad_day_breaches(launch):
    days = period_days()
    rates = [99.0, 100.0] + [99.5] * (len(days) - 2)  # mean exactly 99.5: the budget exactly used
    fine = all_fine(days)
    fine[0] = values("success_rate", *rates)
    record(serving(launch), *fine)
    assert item(launch)[0].status == Status.PASS
    record(launch, values("success_rate", 99.0, days=[days[1]]))
    result, _ = item(launch)
    assert result.status == Status.FAIL


def test_latency_above_target_on_average_breaches(launch):
    days = period_days()
    fine = all_fine(days)
    fine[1] = values("latency_p95", *[3000.01] * len(days))
    record(serving(launch), *fine)
    result, _ = item(launch)
    assert result.status == Status.FAIL and any("Latency p95" in r for r in result.reasons)


def test_monthly_cost_exactly_at_budget_passes_and_above_it_fails(launch):
    days = period_days()
    n = len(days)
    # The builder's budget is 10000 a month with a daily alert at 500.
    base = 10000 // n
    per_day = [Decimal(base)] * (n - 1) + [Decimal(10000 - base * (n - 1))]
    fine = all_fine(days)
    fine[2] = values("cost_daily", *per_day)
    if max(per_day) >= 500:  # early in a month a day's share trips the alert: test the budget alone
        launch.slos.filter(indicator="cost_monthly").update(alert_threshold=None)
    record(serving(launch), *fine)
    assert item(launch)[0].status == Status.PASS
    record(launch, values("cost_daily", per_day[-1] + Decimal("0.01"), days=[days[-1]]))
    result, _ = item(launch)
    assert result.status == Status.FAIL
    assert any("monthly cost budget is exceeded" in r for r in result.reasons)


def test_the_latest_day_over_the_daily_alert_fails_an_earlier_one_is_counted_only(launch):
    days = period_days()
    n = len(days)
    fine = all_fine(days)
    fine[2] = values("cost_daily", *([600] + [100] * (n - 1)) if n > 1 else [100])
    record(serving(launch), *fine)
    standing = next(s for s in slo_standings(launch, timezone.localdate()) if s.slo.indicator == "cost_monthly")
    if n > 1:
        assert standing.days_over_alert == 1 and item(launch)[0].status == Status.PASS
    record(launch, values("cost_daily", 500.01, days=[days[-1]]))
    result, _ = item(launch)
    assert result.status == Status.FAIL
    assert any("above the daily alert limit of 500" in r for r in result.reasons)
    record(launch, values("cost_daily", 500, days=[days[-1]]))
    assert item(launch)[0].status == Status.PASS


def test_the_actuals_cost_one_query_for_launches_in_service_and_none_in_planning(launch, django_assert_num_queries):
    planning = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    with django_assert_num_queries(0):
        load_recent_actuals([Context(planning, None, timezone.localdate(), timezone.now())])
    record(serving(launch), *all_fine(period_days()))
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    with django_assert_num_queries(1):
        load_recent_actuals([Context(facts, None, timezone.localdate(), timezone.now())])
    with django_assert_num_queries(0):
        standings = slo_standings(facts, timezone.localdate())
    assert [s.slo.indicator for s in standings] == ["success_rate", "latency_p95", "cost_monthly"]


def test_the_stored_evaluation_the_portfolio_reads_shows_the_breach(launch):
    from readiness.evaluations import refresh_evaluations
    from readiness.models import LaunchEvaluation

    days = period_days()
    fine = all_fine(days)
    fine[0] = values("success_rate", *[90] * len(days))
    record(serving(launch), *fine)
    refresh_evaluations([launch.pk])  # what the commit of the recording triggers (readiness.signals)
    stored = LaunchEvaluation.objects.get(launch=launch)
    assert stored.next_stage == "Beta" and "operating_within_slos" in stored.blockers


def test_a_breach_may_be_waived_for_the_next_stage_by_the_accountable_for_operations(launch):
    from approvals.services import waiver_decide, waiver_request
    from raci.choices import AreaKind, Role

    days = period_days()
    fine = all_fine(days)
    fine[0] = values("success_rate", *[90] * len(days))
    record(serving(launch), *fine)
    beta = launch.stages.get(name="Beta")
    waiver = waiver_request(
        actor=launch.owner,
        launch=launch,
        stage=beta,
        check_key="operating_within_slos",
        justification="A provider outage; the fallback is deployed.",
        expires_on=timezone.localdate() + datetime.timedelta(days=7),
    )
    operations = launch.areas.get(kind=AreaKind.INFRASTRUCTURE).assignments.get(role=Role.ACCOUNTABLE)
    waiver_decide(actor=operations.stakeholder.user, waiver=waiver, approve=True)
    result, readiness = item(launch)
    assert result.status == Status.WAIVED and result not in readiness.blockers


def test_a_mean_just_off_target_is_printed_with_the_decimals_that_show_it():
    from operations.checklist_items import number

    assert number(Decimal("99.4966667"), apart_from=Decimal("99.5")) == "99.497"
    assert number(Decimal("99.41"), apart_from=Decimal("99.5")) == "99.41"
    assert number(Decimal("500.001"), apart_from=Decimal("500")) == "500.001"
    assert number(Decimal("99.5"), apart_from=Decimal("99.5")) == "99.5"
