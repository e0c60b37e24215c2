"""``portfolio_summary``: what an executive reads of the portfolio at a glance, from the stored
evaluations — launches by stage and verdict, sign-offs waiting or overdue by function — in three
queries however many launches, counting only the launches the reader sees and none archived."""

import datetime
import re

import pytest
from django.utils import timezone

from approvals.choices import RequestStatus
from approvals.models import SignoffRequest
from presentation.portfolio import portfolio_summary
from readiness.choices import StageKind
from readiness.models import Launch, LaunchEvaluation, Verdict
from tests.factories import LaunchFactory, RolloutStageFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2025, 3, 31)


def launch_in(kind: str | None, verdict: str | None, **kwargs) -> Launch:
    launch = LaunchFactory(**kwargs)
    stage = RolloutStageFactory(launch=launch, kind=kind or StageKind.INTERNAL, order=1)
    if kind is not None:
        Launch.objects.filter(pk=launch.pk).update(current_stage=stage)
    if verdict is not None:
        LaunchEvaluation.objects.create(
            launch=launch, verdict=verdict, passed=1, total=2, evaluated_at=timezone.now() - datetime.timedelta(hours=3)
        )
    return launch


def waiting(launch: Launch, function: str, due: datetime.date | None, status=RequestStatus.PENDING) -> None:
    SignoffRequest.objects.create(
        launch=launch,
        stage=launch.stages.get(),
        function=function,
        requested_by=launch.owner,
        due_date=due,
        status=status,
    )


def bars(svg: str) -> list[str]:
    """The bars' tooltips in order: "series: count"."""
    return re.findall(r"<title>([^<]+: \d+)</title>", str(svg))


def test_launches_are_counted_by_stage_and_verdict_and_sign_offs_by_function(django_assert_num_queries):
    planning = launch_in(None, Verdict.BLOCKED)
    launch_in(None, None)
    beta = launch_in(StageKind.BETA, Verdict.READY)
    blocked = launch_in(StageKind.BETA, Verdict.BLOCKED)
    archived = launch_in(StageKind.BETA, Verdict.BLOCKED, archived=True)  # archived: left out
    waiting(planning, "legal", TODAY - datetime.timedelta(days=1))  # overdue
    waiting(planning, "product", TODAY)
    waiting(beta, "security", None)
    waiting(blocked, "security", None, status=RequestStatus.APPROVED)  # decided: not waiting
    waiting(archived, "security", None)  # on an archived launch: not counted

    with django_assert_num_queries(3):
        summary = portfolio_summary(Launch.objects.all(), TODAY)

    assert "Launches by stage and verdict" in summary["stage_chart"]
    assert [label for label in ("In planning", "Beta") if f">{label}</text>" in summary["stage_chart"]] == [
        "In planning",
        "Beta",
    ]
    assert bars(summary["stage_chart"]) == ["Blocked: 1", "Not yet evaluated: 1", "Ready: 1", "Blocked: 1"]
    # Legal: one overdue; product: one waiting, due today; security: one waiting, the decided one not.
    assert bars(summary["signoff_chart"]) == ["Overdue: 1", "Waiting: 1", "Waiting: 1"]
    assert summary["evaluated_as_of"] is not None


def test_only_the_launches_the_reader_sees_count():
    seen = launch_in(StageKind.BETA, Verdict.READY)
    unseen = launch_in(StageKind.BETA, Verdict.BLOCKED)
    waiting(unseen, "legal", None)
    summary = portfolio_summary(Launch.objects.filter(pk=seen.pk), TODAY)
    assert bars(summary["stage_chart"]) == ["Ready: 1"]
    assert summary["signoff_chart"] is None


def test_an_empty_portfolio_has_no_charts():
    assert portfolio_summary(Launch.objects.none(), TODAY) == {
        "stage_chart": None,
        "signoff_chart": None,
        "evaluated_as_of": None,
    }


def test_rejected_and_changes_requested_sign_offs_are_counted_apart_from_waiting(django_assert_num_queries):
    launch = launch_in(StageKind.BETA, Verdict.BLOCKED)
    waiting(launch, "legal", None, status=RequestStatus.REJECTED)
    waiting(launch, "data", None, status=RequestStatus.CHANGES_REQUESTED)
    waiting(launch, "security", None, status=RequestStatus.WITHDRAWN)  # closed: not counted
    with django_assert_num_queries(3):
        summary = portfolio_summary(Launch.objects.all(), TODAY)
    assert bars(summary["signoff_chart"]) == ["Rejected or changes requested: 1", "Rejected or changes requested: 1"]
    assert "Rejected or changes requested" in summary["signoff_chart"]  # in the legend


def test_the_portfolio_counts_each_launch_s_sign_offs_by_state():
    from presentation.portfolio import with_signoff_counts

    launch = launch_in(StageKind.BETA, Verdict.BLOCKED)
    quiet = launch_in(StageKind.BETA, Verdict.READY)
    waiting(launch, "legal", None, status=RequestStatus.REJECTED)
    waiting(launch, "data", None, status=RequestStatus.CHANGES_REQUESTED)
    waiting(launch, "product", TODAY - datetime.timedelta(days=2))
    waiting(quiet, "product", None, status=RequestStatus.APPROVED)
    counts = {
        row.pk: (row.pending_signoffs, row.overdue_signoffs, row.rejected_signoffs, row.changes_requested_signoffs)
        for row in with_signoff_counts(Launch.objects.all(), TODAY)
    }
    assert counts == {launch.pk: (1, 1, 1, 1), quiet.pk: (0, 0, 0, 0)}
