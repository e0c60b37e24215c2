"""Evaluating many launches together (the dashboard's page): each launch gets its own readiness, at
one moment, within the same query bound as one launch. The module's twelve launches are built once
(see ``module_transaction``) and are the only launches there are, so these tests live apart from
``test_checks`` and its shared launch; each test changes what it needs in its own savepoint."""

import datetime

import pytest

from readiness.checklist import Status, evaluate_many
from readiness.choices import StageKind
from readiness.models import Launch
from tests.builders import advance_to, ready_launch
from tests.readiness.test_checks import NOW, QUERY_BOUND, TODAY, checklist_blockers, stage_of

pytestmark = pytest.mark.django_db


def build_launches(count: int) -> list[int]:
    """``count`` ready launches, ``launch-0`` …; every third from ``launch-1`` is in Internal (put
    there directly, not through the gate). Their primary keys."""
    built = []
    for n in range(count):
        launch = ready_launch(slug=f"launch-{n}", name=f"Launch {n}")
        if n % 3 == 1:
            launch.current_stage = stage_of(launch, StageKind.INTERNAL)
            launch.save()
        built.append(launch.pk)
    return built


@pytest.fixture(scope="module")
def shared_launches(module_transaction) -> list[int] | None:
    return build_launches(12) if module_transaction else None


@pytest.fixture
def launches(shared_launches, db) -> dict[str, Launch]:
    """The module's twelve launches by slug, read back for each test."""
    pks = build_launches(12) if shared_launches is None else shared_launches
    return {launch.slug: launch for launch in Launch.objects.filter(pk__in=pks)}


def test_evaluate_many_gives_each_launch_its_own_readiness_for_its_next_stage(launches):
    ready = launches["launch-0"]
    blocked = launches["launch-2"]
    blocked.data_assets.all().delete()
    in_beta = launches["launch-1"]
    assert in_beta.current_stage == stage_of(in_beta, StageKind.INTERNAL)
    three = Launch.objects.filter(pk__in=[ready.pk, blocked.pk, in_beta.pk])

    by_slug = {readiness.launch.slug: readiness for readiness in evaluate_many(three)}

    assert set(by_slug) == {"launch-0", "launch-2", "launch-1"}
    assert checklist_blockers(by_slug["launch-0"]) == []
    assert checklist_blockers(by_slug["launch-2"]) == ["data_classified"]
    assert by_slug["launch-1"].stage.kind == StageKind.BETA
    assert by_slug["launch-1"].stage.launch_id == in_beta.pk
    assert by_slug[ready.slug].stage.launch_id == ready.pk


def test_evaluate_many_uses_one_moment_for_every_launch(launches):
    first, second = launches["launch-0"], launches["launch-3"]
    for launch in (first, second):
        launch.runbook.last_reviewed_at = TODAY - datetime.timedelta(days=181)
        launch.runbook.save()
    results = evaluate_many(Launch.objects.filter(pk__in=[first.pk, second.pk]), now=NOW)
    assert len(results) == 2
    for readiness in results:
        runbook = next(result for result in readiness.results if result.key == "incident_runbook")
        assert runbook.status == Status.FAIL


def test_evaluating_two_launches_together_stays_within_the_query_bound(launches, django_assert_max_num_queries):
    two = Launch.objects.filter(slug__in=["launch-0", "launch-1"])
    with django_assert_max_num_queries(QUERY_BOUND):
        results = evaluate_many(two)
    assert len(results) == 2


def test_evaluating_twelve_launches_together_stays_within_the_same_query_bound(launches, django_assert_max_num_queries):
    with django_assert_max_num_queries(QUERY_BOUND):
        results = evaluate_many(Launch.objects.all())
        stages = {readiness.launch.slug: readiness.stage.kind for readiness in results}
    assert len(results) == 12
    assert stages["launch-1"] == StageKind.BETA
    assert stages["launch-0"] == StageKind.INTERNAL


def test_at_current_stage_judges_each_launch_for_the_stage_it_is_in_not_the_next(launches):
    launched = advance_to(launches["launch-0"], "Internal")
    planned = launches["launch-2"]
    found = {
        r.launch.slug: r
        for r in evaluate_many(Launch.objects.filter(pk__in=[launched.pk, planned.pk]), at_current_stage=True)
    }
    assert found["launch-0"].stage.name == "Internal" and found["launch-0"].ignore_order
    assert found["launch-0"].blockers == []  # it entered Internal through the gate just now
    assert found["launch-2"].stage is None  # in no stage: judged for nothing
    signoffs = next(r for r in found["launch-2"].results if r.key == "stakeholders_approved")
    assert signoffs.status == Status.NOT_APPLICABLE
    # The same launch for its next stage: Beta, whose sign-offs nobody asked for.
    [next_stage] = evaluate_many(Launch.objects.filter(pk=launched.pk))
    assert next_stage.stage.name == "Beta" and next_stage.blockers
