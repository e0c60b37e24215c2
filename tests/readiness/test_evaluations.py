"""The stored readiness the portfolio reads: refreshed for a launch after any audited change to it
commits, and for every launch by the periodic task or the command. The module's six launches are
built once (see ``module_transaction``), before any evaluation is stored; the tests of what a
build's commit triggers build their own launch."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from readiness.checklist import registry
from readiness.evaluations import refresh_evaluations
from readiness.models import Launch, LaunchEvaluation, Verdict
from readiness.services import fact_change, fact_version
from tests.builders import ready_launch

pytestmark = pytest.mark.django_db

COUNT = 6


def build_launches() -> list[int]:
    return [ready_launch(slug=f"bulk-{n}", name=f"Bulk {n}").pk for n in range(COUNT)]


@pytest.fixture(scope="module")
def shared_launches(module_transaction) -> list[int] | None:
    return build_launches() if module_transaction else None


@pytest.fixture
def launches(shared_launches, db) -> list[Launch]:
    """The module's six ready launches (with no evaluation stored), read back for each test."""
    pks = build_launches() if shared_launches is None else shared_launches
    return list(Launch.objects.filter(pk__in=pks).order_by("pk"))


def test_refreshing_stores_the_verdict_the_items_passed_and_the_blockers(launches):
    launch = launches[0]
    moment = timezone.now() - datetime.timedelta(minutes=5)
    assert refresh_evaluations([launch.pk], now=moment) == 1
    stored = LaunchEvaluation.objects.get(launch=launch)
    total = len(registry.all())  # every item but sign-offs passes
    assert (stored.next_stage, stored.verdict, stored.passed, stored.total) == (
        "Internal",
        Verdict.BLOCKED,
        total - 1,
        total,
    )
    assert stored.blockers == ["stakeholders_approved"]
    assert stored.evaluated_at == moment


def test_refreshing_again_updates_the_same_row(launches):
    launch = launches[0]
    refresh_evaluations([launch.pk])
    assert LaunchEvaluation.objects.count() == 1
    launch.data_assets.all().delete()
    refresh_evaluations()
    stored = LaunchEvaluation.objects.get(launch=launch)
    assert stored.blockers == ["stakeholders_approved", "data_classified"]
    # One row each: the launch's was updated, not joined by another.
    assert LaunchEvaluation.objects.filter(launch=launch).count() == 1
    assert LaunchEvaluation.objects.count() == COUNT


def test_a_change_re_evaluates_its_launch_once_it_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as created:
        launch = ready_launch()
    # One evaluation for the whole build, however many rows it wrote.
    assert sum(getattr(callback, "__qualname__", "").startswith("evaluate_after_commit") for callback in created) == 1
    assert LaunchEvaluation.objects.get(launch=launch).blockers == ["stakeholders_approved"]
    with django_capture_on_commit_callbacks(execute=True):
        asset = launch.data_assets.get(name="Support tickets")
        fact_change(actor=launch.owner, fact=asset, seen_version=fact_version(asset), values={"masked_in_logs": False})
    stored = LaunchEvaluation.objects.get(launch=launch)
    assert "pii_policy" in stored.blockers


def test_nothing_is_re_evaluated_before_the_change_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        launch = ready_launch()
        asset = launch.data_assets.get(name="Support tickets")
        fact_change(actor=launch.owner, fact=asset, seen_version=fact_version(asset), values={"masked_in_logs": False})
    assert callbacks  # scheduled for the commit, not run inside the transaction
    assert not LaunchEvaluation.objects.exists()


def test_the_command_refreshes_every_launch(launches):
    out = StringIO()
    call_command("refresh_evaluations", stdout=out)
    assert f"Stored the readiness of {COUNT} launches." in out.getvalue()
    assert LaunchEvaluation.objects.count() == COUNT


def test_refreshing_many_launches_runs_a_bounded_number_of_queries(launches, django_assert_max_num_queries):
    with django_assert_max_num_queries(25):
        assert refresh_evaluations() == COUNT
