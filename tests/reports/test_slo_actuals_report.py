"""The launch report's SLO actuals, read back from the PDF: per SLO the month-to-date numbers, the
breach in words and the chart drawn as vectors (no fetch), and a recorded value changes what a
report shows (a new fingerprint, so asking again renders afresh)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from operations.models import SliSource
from operations.services import Measurement, sli_record
from readiness.models import Launch
from reports.services import facts_fingerprint, report_request
from tests.builders import ready_launch
from tests.reports.helpers import render, squeeze

pytestmark = pytest.mark.django_db

YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


def test_the_launch_report_prints_the_slo_actuals_with_the_breach_and_the_charts():
    launch = ready_launch(slug="ops-report")
    Launch.objects.filter(pk=launch.pk).update(current_stage=launch.stages.get(name="Internal"))
    sli_record(
        actor=launch.owner,
        launch=launch,
        measurements=[
            Measurement(day=YESTERDAY, indicator="success_rate", value=Decimal("98.75")),
            Measurement(day=YESTERDAY, indicator="latency_p95", value=Decimal("1800")),
            Measurement(day=YESTERDAY, indicator="cost_daily", value=Decimal("420")),
        ],
        source=SliSource.FORM,
    )
    rendered = render(report_request(actor=launch.owner, kind="launch", language="en", launch=launch))
    text = rendered.squeezed
    assert squeeze("SLO actuals") in text
    assert squeeze("Month to date 98.75 %; compliance 0 % of days (0 of 1).") in text
    assert squeeze("SLO 'Success rate (%)' is breached") in text
    assert squeeze("Month to date 1800 ms; compliance 100 % of days (1 of 1).") in text
    assert squeeze("Spent this month: 420 (4.2 % of the budget).") in text
    assert squeeze("Days above the daily alert: 0.") in text
    assert squeeze("Target 99.5 %") in text  # the chart's legend, drawn as text in the PDF
    assert not any("svg" in warning.lower() for warning in rendered.warnings)


def test_recording_a_value_changes_the_reports_fingerprint():
    launch = ready_launch(slug="ops-fingerprint")
    before = facts_fingerprint(kind="launch", launch=launch, stage=None, user=launch.owner)
    sli_record(
        actor=launch.owner,
        launch=launch,
        measurements=[Measurement(day=YESTERDAY, indicator="success_rate", value=Decimal("99.9"))],
        source=SliSource.FORM,
    )
    assert facts_fingerprint(kind="launch", launch=launch, stage=None, user=launch.owner) != before
