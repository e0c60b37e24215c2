"""Reading SLI actuals against the launch's SLOs: month-to-date compliance, the error budget left
for the month, and cost against the monthly budget and the daily alert.

``slo_standings`` works on a launch from ``with_checklist_facts`` (its SLOs and its recent actuals
are prefetched there, for checklist item 15), so it costs no query; the page, the report and the
checklist all read the same numbers.

The period judged is the calendar month of the latest complete day (yesterday): from its first day
through yesterday. Today's value, if recorded, is drawn on the chart but not judged (the day is not
over). On the first of a month the period is therefore the whole previous month.

What is computed, per SLO (each measured day weighs the same: Preflight records daily values, not
request counts):

- **compliance**: the share of the period's measured days whose value meets the target.
- **month-to-date value**: the mean of the period's daily values (for the monthly cost SLO: their
  sum, the month's spend so far).
- **breached** (what item 15 fails on): the month-to-date value misses the target — for the success
  rate below it, for error rate, latency and daily cost above it; for the monthly cost SLO, the
  spend so far above the monthly budget, or the latest day's cost above the daily alert limit.
  A value exactly at the target is met.
- **error budget** (success and error rate SLOs): the allowed bad fraction is 100 − target for the
  success rate and the target itself for the error rate (in percent of requests). The month's budget
  is that fraction times the days of the month (in "percent-days"); each measured day consumes its
  bad fraction (100 − success rate, or the error rate). Budget left = 1 − consumed / budget, for the
  whole month, so it falls as the month goes by. Month to date, the SLO is breached exactly when
  more than the pro-rata budget of the measured days is used (the mean above the allowed fraction);
  a budget exactly used is not a breach.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from readiness.choices import HIGHER_IS_BETTER, SloIndicator

from ..models import SliActual

HUNDRED = Decimal("100")
# How far back the launch's actuals are read: the chart's days and the judged month.
CHART_DAYS = 60
ACTUALS_WINDOW_DAYS = 62


def load_recent_actuals(contexts) -> None:
    """Checklist preparer: for the launches being evaluated that serve users (in a stage), their
    recent actuals in one query, kept on the launch as ``recent_sli_actuals``. Launches in
    planning need none (item 15 does not apply to them), so evaluating them costs no query."""
    serving = {ctx.launch.pk: ctx.launch for ctx in contexts if ctx.launch.current_stage_id is not None}
    missing = {pk: launch for pk, launch in serving.items() if not hasattr(launch, "recent_sli_actuals")}
    if not missing:
        return
    since = min(ctx.today for ctx in contexts) - datetime.timedelta(days=ACTUALS_WINDOW_DAYS)
    found: dict[int, list] = {pk: [] for pk in missing}
    for actual in SliActual.objects.filter(launch_id__in=missing, day__gte=since).order_by("indicator", "day"):
        found[actual.launch_id].append(actual)
    for pk, launch in missing.items():
        launch.recent_sli_actuals = found[pk]


def measured_indicator(slo_indicator: str) -> str:
    """Which daily SLI an SLO is judged on: both cost SLOs read the daily cost."""
    return SloIndicator.COST_DAILY if slo_indicator == SloIndicator.COST_MONTHLY else slo_indicator


def period(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The judged period: the month of yesterday, from its first day through yesterday."""
    last = today - datetime.timedelta(days=1)
    return last.replace(day=1), last


def meets(slo, value: Decimal) -> bool:
    if slo.indicator in HIGHER_IS_BETTER:
        return value >= slo.target
    return value <= slo.target


@dataclass
class SloStanding:
    slo: object
    series: list[tuple[datetime.date, Decimal]]  # the chart's days, oldest first
    start: datetime.date
    end: datetime.date
    days_measured: int = 0
    days_meeting: int = 0
    value: Decimal | None = None  # month-to-date mean (monthly cost: the spend so far)
    budget_left: Decimal | None = None  # share of the month's error budget left, may be negative
    latest: tuple[datetime.date, Decimal] | None = None
    days_over_alert: int = 0
    breaches: list[str] = field(default_factory=list)  # machine-readable: "target", "budget", "alert"

    @property
    def compliance(self) -> Decimal | None:
        if not self.days_measured:
            return None
        return HUNDRED * self.days_meeting / self.days_measured

    @property
    def breached(self) -> bool:
        return bool(self.breaches)

    @property
    def is_monthly_cost(self) -> bool:
        return self.slo.indicator == SloIndicator.COST_MONTHLY

    @property
    def budget_used_percent(self) -> Decimal | None:
        """Monthly cost: the spend so far as a percentage of the monthly budget."""
        if not self.is_monthly_cost or self.value is None or not self.slo.target:
            return None
        return HUNDRED * self.value / self.slo.target


def _bad_fraction(indicator: str, value: Decimal) -> Decimal:
    return HUNDRED - value if indicator == SloIndicator.SUCCESS_RATE else value


def _allowed_fraction(slo) -> Decimal:
    return HUNDRED - slo.target if slo.indicator == SloIndicator.SUCCESS_RATE else slo.target


def standing_of(slo, actuals: list, today: datetime.date) -> SloStanding:
    """One SLO judged on ``actuals`` (the launch's actuals of its measured indicator)."""
    start, end = period(today)
    chart_start = today - datetime.timedelta(days=CHART_DAYS - 1)
    series = [(a.day, a.value) for a in actuals if chart_start <= a.day <= today]
    judged = [(a.day, a.value) for a in actuals if start <= a.day <= end]
    standing = SloStanding(slo=slo, series=series, start=start, end=end, days_measured=len(judged))
    if not judged:
        return standing
    values = [value for _, value in judged]
    standing.latest = judged[-1]
    if standing.is_monthly_cost:
        standing.value = sum(values, Decimal("0"))
        standing.days_meeting = len(values)
        if standing.value > slo.target:
            standing.breaches.append("budget")
        if slo.alert_threshold is not None:
            standing.days_over_alert = sum(value > slo.alert_threshold for value in values)
            standing.days_meeting = len(values) - standing.days_over_alert
            if standing.latest[1] > slo.alert_threshold:
                standing.breaches.append("alert")
        return standing
    standing.value = sum(values, Decimal("0")) / len(values)
    standing.days_meeting = sum(meets(slo, value) for value in values)
    if not meets(slo, standing.value):
        standing.breaches.append("target")
    if slo.indicator in (SloIndicator.SUCCESS_RATE, SloIndicator.ERROR_RATE):
        month_days = calendar.monthrange(start.year, start.month)[1]
        budget = _allowed_fraction(slo) * month_days
        consumed = sum((_bad_fraction(slo.indicator, value) for value in values), Decimal("0"))
        if budget > 0:
            standing.budget_left = 1 - consumed / budget
        else:
            standing.budget_left = Decimal("0") if consumed == 0 else Decimal("-1")
    if slo.alert_threshold is not None:
        standing.days_over_alert = sum(not _within(slo, value, slo.alert_threshold) for value in values)
    return standing


def _within(slo, value: Decimal, limit: Decimal) -> bool:
    return value >= limit if slo.indicator in HIGHER_IS_BETTER else value <= limit


def slo_standings(launch, today: datetime.date) -> list[SloStanding]:
    """Every SLO of ``launch`` judged on its actuals; no query when the launch came from
    ``with_checklist_facts`` evaluated on ``today`` (otherwise two)."""
    actuals = getattr(launch, "recent_sli_actuals", None)
    if actuals is None:
        since = today - datetime.timedelta(days=ACTUALS_WINDOW_DAYS)
        actuals = list(launch.sli_actuals.filter(day__gte=since).order_by("indicator", "day"))
    by_indicator: dict[str, list] = {}
    for actual in sorted(actuals, key=lambda a: (a.indicator, a.day)):
        by_indicator.setdefault(actual.indicator, []).append(actual)
    return [
        standing_of(slo, by_indicator.get(measured_indicator(slo.indicator), []), today)
        for slo in sorted(launch.slos.all(), key=lambda s: list(SloIndicator.values).index(s.indicator))
    ]
