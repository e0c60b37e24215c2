"""The launch report's briefing, read from the HTML (no PDF rendered: the PDF modules read the
files back): approvals that went out of date after the facts changed are told in words, never as
the facts' data paths; who must act on a sign-off still to decide is its addressee, and on an
objection or an out-of-date approval the launch's owner; a fraction is a percent."""

import pytest

from approvals.services import signoffs_request
from readiness.services import fact_change, fact_version
from reports.documents import document_html
from reports.services import report_request
from tests.builders import approve_signoffs, ready_launch

pytestmark = pytest.mark.django_db


def _html(launch, language: str = "en") -> str:
    return document_html(
        report_request(actor=launch.owner, kind="launch", language=language, launch=launch, dispatch=False)
    )


def _briefing(html: str) -> str:
    return html.split('id="briefing"')[1].split("</section>")[0]


def test_approvals_out_of_date_are_told_in_words_and_owned_by_the_launch_s_owner():
    launch = ready_launch(slug="stale")
    approve_signoffs(launch, "Internal")
    bar = launch.quality_bars.get()
    fact_change(actor=launch.owner, fact=bar, seen_version=fact_version(bar), values={"max_failure_rate": "0.01"})
    html = _html(launch)
    briefing = _briefing(html)
    assert "approved, but the facts changed since: to be asked again." in briefing
    assert "Out of date" in briefing
    owner = launch.owner.get_full_name() or launch.owner.get_username()
    assert owner in briefing
    # Nowhere in the report: the snapshot's paths, nor a fraction written as one.
    assert "›" not in html and "quality bars" not in html
    assert "0.01000" not in html and "1 %" in html


def test_a_sign_off_still_to_decide_is_for_its_addressees_with_its_due_date():
    launch = ready_launch(slug="waiting")
    requests = signoffs_request(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"))
    briefing = _briefing(_html(launch))
    assert "Waiting for a decision." in briefing
    for request in requests:
        for person in request.addressees.all():
            assert (person.get_full_name() or person.get_username()) in briefing


def test_the_briefing_speaks_korean():
    launch = ready_launch(slug="korean-briefing")
    briefing = _briefing(_html(launch, "ko"))
    assert "출시 준비 상태 브리핑" in briefing and "막고 있는 것, 담당자, 기한" in briefing
    assert "아직 요청되지 않았습니다." in briefing
    assert "What blocks it" not in briefing and "Not requested yet." not in briefing
