"""The reports say whether the stage each launch is in still holds (issue 11, point 6): the launch
report's cover with the reasons, the portfolio report's operations-health column, in English and
Korean; a lapse makes a new report rather than returning one that says the stage holds."""

from __future__ import annotations

import re

import pytest

from approvals.recertification import recertify
from readiness.models import Launch
from readiness.services import fact_version, launch_change
from reports.documents import document_html
from reports.services import report_request
from tests.builders import launch_at, ready_launch

pytestmark = pytest.mark.django_db

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def lapse(launch) -> None:
    launch_change(
        actor=launch.owner, launch=launch, seen_version=fact_version(launch), values={"serving_version": "prompt-v8"}
    )
    recertify()


def cover(html: str) -> str:
    """The briefing, the report's first pages."""
    return html.split('id="briefing"')[1].split("</section>")[0]


def record(html: str) -> str:
    """The appendix's first page: the launch's standing in full."""
    return html.split('id="record"')[1].split("</section>")[0]


@pytest.fixture(scope="module")
def shared_launched(module_transaction) -> int:
    """A ready launch in Internal, built once per module."""
    return launch_at("Internal", slug="reported", name="Reported assistant").pk


@pytest.fixture
def launched(shared_launched, db) -> Launch:
    """The module's launch, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.select_related("owner").get(pk=shared_launched)


def launch_report(launch, language: str = "en"):
    return report_request(actor=launch.owner, kind="launch", language=language, launch=launch, dispatch=False)


def test_the_cover_says_the_stage_holds(launched):
    recertify()
    text = cover(document_html(launch_report(launched)))
    assert "Operations health" in text
    assert "Internal still holds" in text
    assert "no longer holds" not in text


def test_the_cover_says_the_stage_no_longer_holds_with_its_reasons(launched):
    lapse(launched)
    html = document_html(launch_report(launched))
    assert "Internal no longer holds" in cover(html) and "1. Stakeholder approvals" in cover(html)
    assert "Internal no longer holds: 1 reason" in record(html) and "1. Stakeholder approvals" in record(html)


def test_a_launch_in_planning_is_not_launched_on_the_cover():
    launch = ready_launch(slug="planned")
    html = document_html(launch_report(launch))
    assert "Not launched yet: no users are served." in cover(html) and "not launched" in record(html)


def test_a_lapse_makes_a_new_launch_report(launched):
    recertify()
    before = launch_report(launched)
    assert launch_report(launched) == before  # nothing changed: the stored report
    lapse(launched)
    assert launch_report(launched) != before


def test_the_portfolio_report_lists_operations_health(launched):
    ready_launch(owner=launched.owner, slug="planned", name="Planned assistant")
    lapse(launched)
    report = report_request(actor=launched.owner, kind="portfolio", language="en", dispatch=False)
    html = document_html(report)
    table = html.split('id="launches"')[1].split("</table>")[0]
    assert "<th>Operations health</th>" in table
    rows = table.split("<tr>")
    lapsed_row = next(row for row in rows if "Reported assistant" in row)
    assert "no longer holds: 1 reason" in lapsed_row and "Stakeholder approvals" in lapsed_row
    assert "not launched" in next(row for row in rows if "Planned assistant" in row)


def test_the_cover_speaks_korean(launched):
    lapse(launched)
    text = cover(document_html(launch_report(launched, "ko")))
    assert "no longer holds" not in text
    assert "Operations health" not in text
    assert HANGUL.search(text)
