"""Evaluating many launches together (the dashboard's page): each launch gets its own readiness, at
one moment, within the same query bound as one launch. Each test builds its own launches and reads
``Launch.objects.all()``, so these tests live apart from ``test_checks`` and its shared launch."""

import datetime

import pytest

from readiness.checklist import Status, evaluate_many
from readiness.choices import StageKind
from readiness.models import Launch
from tests.builders import ready_launch
from tests.readiness.test_checks import NOW, QUERY_BOUND, TODAY, checklist_blockers, stage_of

pytestmark = pytest.mark.django_db


def test_evaluate_many_gives_each_launch_its_own_readiness_for_its_next_stage(db):
    ready = ready_launch(slug="ready", name="Ready")
    blocked = ready_launch(slug="blocked", name="Blocked")
    blocked.data_assets.all().delete()
    in_beta = ready_launch(slug="in-beta", name="In beta")
    in_beta.current_stage = stage_of(in_beta, StageKind.INTERNAL)
    in_beta.save()

    by_slug = {readiness.launch.slug: readiness for readiness in evaluate_many(Launch.objects.all())}

    assert set(by_slug) == {"ready", "blocked", "in-beta"}
    assert checklist_blockers(by_slug["ready"]) == []
    assert checklist_blockers(by_slug["blocked"]) == ["data_classified"]
    assert by_slug["in-beta"].stage.kind == StageKind.BETA
    assert by_slug["in-beta"].stage.launch_id == in_beta.pk
    assert by_slug[ready.slug].stage.launch_id == ready.pk


def test_evaluate_many_uses_one_moment_for_every_launch(db):
    first = ready_launch(slug="first", name="First")
    second = ready_launch(slug="second", name="Second")
    for launch in (first, second):
        launch.runbook.last_reviewed_at = TODAY - datetime.timedelta(days=181)
        launch.runbook.save()
    results = evaluate_many(Launch.objects.all(), now=NOW)
    for readiness in results:
        runbook = next(result for result in readiness.results if result.key == "incident_runbook")
        assert runbook.status == Status.FAIL


def launches(count: int) -> None:
    for n in range(count):
        launch = ready_launch(slug=f"launch-{n}", name=f"Launch {n}")
        if n % 3 == 1:
            launch.current_stage = stage_of(launch, StageKind.INTERNAL)
            launch.save()


def test_evaluating_two_launches_together_stays_within_the_query_bound(db, django_assert_max_num_queries):
    launches(2)
    with django_assert_max_num_queries(QUERY_BOUND):
        results = evaluate_many(Launch.objects.all())
    assert len(results) == 2


def test_evaluating_twelve_launches_together_stays_within_the_same_query_bound(db, django_assert_max_num_queries):
    launches(12)
    with django_assert_max_num_queries(QUERY_BOUND):
        results = evaluate_many(Launch.objects.all())
        stages = {readiness.launch.slug: readiness.stage.kind for readiness in results}
    assert len(results) == 12
    assert stages["launch-1"] == StageKind.BETA
    assert stages["launch-0"] == StageKind.INTERNAL


def test_at_current_stage_judges_each_launch_for_the_stage_it_is_in_not_the_next(db):
    from tests.builders import launch_at

    launched = launch_at("Internal", slug="launched")
    planned = ready_launch(slug="planned")
    found = {
        r.launch.slug: r
        for r in evaluate_many(Launch.objects.filter(pk__in=[launched.pk, planned.pk]), at_current_stage=True)
    }
    assert found["launched"].stage.name == "Internal" and found["launched"].ignore_order
    assert found["launched"].blockers == []  # it entered Internal through the gate just now
    assert found["planned"].stage is None  # in no stage: judged for nothing
    signoffs = next(r for r in found["planned"].results if r.key == "stakeholders_approved")
    assert signoffs.status == Status.NOT_APPLICABLE
    # The same launch for its next stage: Beta, whose sign-offs nobody asked for.
    [next_stage] = evaluate_many(Launch.objects.filter(pk=launched.pk))
    assert next_stage.stage.name == "Beta" and next_stage.blockers
