"""The launch report says which evaluation run counts as a bar's evidence, who accepted it, and
names a newer run that waits for acceptance without counting it."""

import pytest

from raci.choices import AreaKind
from raci.services import eval_run_accept
from readiness.models import EvalRun
from readiness.services import fact_add, fact_version
from reports.choices import ReportKind
from reports.documents import document_html
from reports.models import Report
from tests.builders import SERVING_VERSION, accountable_of, ready_launch
from tests.factories import EvalRunFactory
from tests.reports.helpers import squeeze

pytestmark = pytest.mark.django_db


def test_the_report_names_the_counting_run_and_the_one_waiting_for_acceptance():
    launch = ready_launch(slug="printed", name="Printed")
    bar = launch.quality_bars.get()
    EvalRunFactory(quality_bar=bar, samples=1000, failures=120, golden_set_name="pipeline-golden")
    mine = fact_add(
        actor=launch.owner,
        launch=launch,
        model=EvalRun,
        values={
            "quality_bar": bar,
            "samples": 1000,
            "failures": 0,
            "golden_set_name": "my-golden",
            "golden_set_version": "v1",
            "golden_set_owner": launch.owner,
            "measured_version": SERVING_VERSION,
            "human_reviewed": 100,
        },
    )
    report = Report(kind=ReportKind.LAUNCH, launch=launch, requested_by=launch.owner, language="en")
    html = squeeze(document_html(report))
    assert squeeze("The run that counts: 120/1000 on pipeline-golden v3") in html
    assert squeeze("A newer run (0/1000 on my-golden v1") in html
    ml = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    eval_run_accept(actor=ml, run=mine, seen_version=fact_version(mine))
    html = squeeze(document_html(report))
    assert squeeze("The run that counts: 0/1000 on my-golden v1") in html
    assert squeeze(f"Accepted by {ml.get_full_name()}.") in html
    assert "waitsforacceptance" not in html
