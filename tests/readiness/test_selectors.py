"""``launch_with_facts``: the one read of a launch with every fact the checklist reads, which the
gate, the sign-off services, the pages and the reports share — a fixed number of queries however
big the launch, its owner without another query, and what a caller adds besides."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from readiness.checklist import evaluate
from readiness.models import Launch
from readiness.selectors import launch_with_facts
from tests.factories import (
    DataAssetFactory,
    EvalRunFactory,
    LaunchFactory,
    QualityBarFactory,
    RaciAssignmentFactory,
    ResponsibilityAreaFactory,
    RolloutStageFactory,
    SLOFactory,
)

pytestmark = pytest.mark.django_db


def launch_of_size(n: int) -> Launch:
    launch = LaunchFactory()
    for i in range(n):
        RolloutStageFactory(launch=launch, order=i + 1)
        bar = QualityBarFactory(launch=launch, metric=f"metric-{i}")
        EvalRunFactory(quality_bar=bar)
        DataAssetFactory(launch=launch)
        area = ResponsibilityAreaFactory(launch=launch, name=f"Area {i}", concerns=[f"concern-{i}"])
        RaciAssignmentFactory(area=area)
    SLOFactory(launch=launch)
    return launch


def reading_and_evaluating(launch_id: int, **extra) -> tuple[Launch, int]:
    with CaptureQueriesContext(connection) as queries:
        launch = launch_with_facts(launch_id, **extra)
        evaluate(launch)
        launch.owner.get_full_name()
    return launch, len(queries)


def test_a_big_launch_is_read_and_evaluated_in_as_many_queries_as_a_small_one():
    small, big = launch_of_size(1), launch_of_size(12)
    _, small_queries = reading_and_evaluating(small.pk)
    read, big_queries = reading_and_evaluating(big.pk)
    assert big_queries == small_queries
    assert (read.pk, len(read.quality_bars.all()), len(read.data_assets.all())) == (big.pk, 12, 12)


def test_a_caller_adds_what_it_shows_besides_the_checklist():
    launch = launch_of_size(2)
    read = launch_with_facts(launch.pk, select_related=("stage_standing",), prefetch_related=("stakeholder_slots",))
    with CaptureQueriesContext(connection) as queries:
        list(read.stakeholder_slots.all())
        assert not hasattr(read, "stage_standing")  # never recertified: known without a query
    assert len(queries) == 0


def test_an_unknown_launch_is_not_found():
    with pytest.raises(Launch.DoesNotExist):
        launch_with_facts(0)
