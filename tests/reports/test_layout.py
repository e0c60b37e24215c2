"""A stored report is returned only in the current layout: after a change to the templates (a new
``REPORT_LAYOUT``), asking again renders afresh, while the old PDF stays downloadable."""

import pytest

from reports.choices import ReportStatus
from reports.models import Report
from reports.services import REPORT_LAYOUT, facts_fingerprint, report_request
from tests.builders import ready_launch

pytestmark = pytest.mark.django_db


def test_a_report_in_an_older_layout_is_not_returned_as_the_stored_one():
    launch = ready_launch(slug="layout")
    owner = launch.owner
    fingerprint = facts_fingerprint(kind="launch", launch=launch, stage=None, user=owner)
    old = Report.objects.create(
        kind="launch",
        launch=launch,
        language="en",
        requested_by=owner,
        facts_fingerprint=fingerprint,
        layout=REPORT_LAYOUT - 1,
        status=ReportStatus.READY,
        pdf=b"%PDF-1.7 old",
        sha256="0" * 64,
    )
    fresh = report_request(actor=owner, kind="launch", language="en", launch=launch, dispatch=False)
    assert fresh.pk != old.pk and fresh.layout == REPORT_LAYOUT
    again = report_request(actor=owner, kind="launch", language="en", launch=launch, dispatch=False)
    assert again.pk == fresh.pk  # the current layout's report is the stored one
