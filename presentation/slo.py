"""What the launch page and the launch report show of an SLO's actuals: the last days as a chart
against the target and alert lines, month-to-date compliance, the error budget left and the
reasons it is breached."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext as _

from operations.checklist_items import breach_reasons, number
from operations.selectors import CHART_DAYS, SloStanding, meets
from readiness.choices import SloIndicator

from .charts import slo_series_chart


def _value(indicator: str, value: Decimal | None) -> str:
    if value is None:
        return "—"
    if indicator in (SloIndicator.SUCCESS_RATE, SloIndicator.ERROR_RATE):
        return f"{number(value)} %"
    if indicator in (SloIndicator.LATENCY_P50, SloIndicator.LATENCY_P95, SloIndicator.LATENCY_P99):
        return f"{number(value)} ms"
    return number(value)


def standing_row(standing: SloStanding, today: datetime.date) -> dict:
    """What the page and the report show of one SLO."""
    slo = standing.slo
    first_day = today - datetime.timedelta(days=CHART_DAYS - 1)
    monthly = standing.is_monthly_cost
    points = [
        (
            (day - first_day).days,
            float(value),
            (value <= slo.alert_threshold if slo.alert_threshold is not None else True)
            if monthly
            else meets(slo, value),
        )
        for day, value in standing.series
    ]
    lines = []
    if not monthly:
        lines.append(
            (float(slo.target), "target", _("Target %(target)s") % {"target": _value(slo.indicator, slo.target)})
        )
    if slo.alert_threshold is not None:
        label = _("Daily alert limit %(limit)s") if monthly else _("Alert at %(limit)s")
        lines.append(
            (float(slo.alert_threshold), "alert", label % {"limit": _value(slo.indicator, slo.alert_threshold)})
        )
    title = _("%(slo)s, daily values over the last %(days)s days") % {
        "slo": slo.get_indicator_display(),
        "days": CHART_DAYS,
    }
    return {
        "standing": standing,
        "label": slo.get_indicator_display(),
        "objective": str(slo),
        "chart": slo_series_chart(
            title,
            points,
            CHART_DAYS,
            lines,
            {
                "values": _("Daily cost") if monthly else _("Daily value"),
                "first": formats.date_format(first_day, "DATE_FORMAT"),
                "last": formats.date_format(today, "DATE_FORMAT"),
            },
            lambda tick: _value(slo.indicator, Decimal(str(tick))),
        )
        if points
        else None,
        "value": _value(slo.indicator, standing.value),
        "compliance": None if standing.compliance is None else f"{number(standing.compliance)} %",
        "budget_left": None if standing.budget_left is None else f"{number(standing.budget_left * 100)} %",
        "budget_used": None if standing.budget_used_percent is None else f"{number(standing.budget_used_percent)} %",
        "reasons": breach_reasons(standing),
    }
