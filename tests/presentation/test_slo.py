"""``standing_row``: what the launch page and the report show of one SLO's actuals — the objective,
values with their units, compliance, the error budget, the breach in words, and the chart of the
last days (none without a measured day)."""

import datetime
from decimal import Decimal

from operations.selectors import CHART_DAYS, SloStanding
from presentation.slo import standing_row
from readiness.choices import SloIndicator
from readiness.models import SLO

TODAY = datetime.date(2025, 3, 31)
START = datetime.date(2025, 3, 1)


def slo(indicator: str, target: str, alert: str | None) -> SLO:
    return SLO(indicator=indicator, target=Decimal(target), alert_threshold=None if alert is None else Decimal(alert))


def test_a_breached_success_rate_shows_its_compliance_budget_reason_and_chart():
    standing = SloStanding(
        slo=slo(SloIndicator.SUCCESS_RATE, "99.5", "99"),
        series=[(TODAY - datetime.timedelta(days=1), Decimal("99.7")), (TODAY, Decimal("98.2"))],
        start=START,
        end=TODAY,
        days_measured=2,
        days_meeting=1,
        value=Decimal("98.95"),
        budget_left=Decimal("-1.1"),
        breaches=["target"],
    )
    row = standing_row(standing, TODAY)
    assert (row["label"], row["objective"], row["value"]) == ("Success rate (%)", "Success rate (%) ≥ 99.5", "98.95 %")
    assert (row["compliance"], row["budget_left"], row["budget_used"]) == ("50 %", "-110 %", None)
    assert row["reasons"][0].startswith("SLO 'Success rate (%)' is breached: from March 1, 2025 to March 31, 2025")
    chart = row["chart"]
    assert f"over the last {CHART_DAYS} days" in chart
    assert chart.count('class="dot-miss"') == 1  # 98.2 misses the target
    assert ">Target 99.5 %<" in chart and ">Alert at 99 %<" in chart


def test_latency_is_in_milliseconds_and_an_unmeasured_slo_has_no_chart():
    standing = SloStanding(slo=slo(SloIndicator.LATENCY_P95, "3000", None), series=[], start=START, end=TODAY)
    row = standing_row(standing, TODAY)
    assert (row["value"], row["compliance"], row["chart"], row["reasons"]) == ("—", None, None, [])
    standing.value = Decimal("2750")
    assert standing_row(standing, TODAY)["value"] == "2750 ms"


def test_monthly_cost_draws_the_daily_alert_limit_and_the_budget_used():
    standing = SloStanding(
        slo=slo(SloIndicator.COST_MONTHLY, "10000", "500"),
        series=[(TODAY, Decimal("620"))],
        start=START,
        end=TODAY,
        value=Decimal("4000"),
    )
    row = standing_row(standing, TODAY)
    assert row["budget_used"] == "40 %"
    assert ">Daily alert limit 500<" in row["chart"] and "Target" not in row["chart"]
    assert row["chart"].count('class="dot-miss"') == 1  # a day over the alert limit
