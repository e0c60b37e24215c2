"""The portfolio at scale (issue 8, point 2): the same number of queries for 10 launches and for
1,000, for an executive (who sees every launch) and a PM (who sees only theirs), plain, with the
verdict filter and with a search; the summary and the verdict filter read the stored evaluations,
and only the launches on the page are evaluated.

The launches are bulk-created (no history rows, no services): the portfolio only reads them, and
a thousand launches through the services would take minutes. ``scripts/benchmark.py`` measures
the time on launches built through the services."""

import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import StageStanding
from raci.choices import TeamFunction
from readiness.checklist import evaluate_many
from readiness.choices import StageKind
from readiness.models import Launch, LaunchEvaluation, LaunchUserObjectPermission, RolloutStage, Verdict
from tests.builders import team_for
from tests.factories import StakeholderFactory, UserFactory
from web.views import PAGE_SIZE

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_people(django_db_setup, django_db_blocker) -> dict[str, int]:
    with django_db_blocker.unblock(), transaction.atomic():
        yield {
            "pm": UserFactory(username="pam").pk,
            "other_pm": UserFactory(username="olga").pk,
            "executive": StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)]).user.pk,
        }
        transaction.set_rollback(True)


@pytest.fixture
def people(shared_people, db, django_user_model):
    return {name: django_user_model.objects.get(pk=pk) for name, pk in shared_people.items()}


def bulk_launches(owner, start: int, count: int, *, prefix: str = "Scale launch", in_stage_every: int = 0) -> None:
    """``count`` launches of ``owner`` as the portfolio reads them: a stage to enter, the owner's
    grants and a stored evaluation (every other one blocked)."""
    launches = Launch.objects.bulk_create(
        Launch(name=f"{prefix} {n:04d}", slug=f"{prefix.replace(' ', '-').lower()}-{n:04d}", owner=owner)
        for n in range(start, start + count)
    )
    stages = RolloutStage.objects.bulk_create(
        RolloutStage(launch=launch, kind=StageKind.INTERNAL, name="Internal", order=1, exposure_percent=Decimal("1"))
        for launch in launches
    )
    # With ``in_stage_every=3``, every third launch is in its stage, as the daily recertification
    # found it: every other one of those no longer holds (issue 11, point 6).
    launched = [
        (n, launch, stage)
        for n, launch, stage in zip(range(start, start + count), launches, stages, strict=True)
        if in_stage_every and n % in_stage_every == 0
    ]
    for _, launch, stage in launched:
        launch.current_stage = stage
    Launch.objects.bulk_update([launch for _, launch, _ in launched], ["current_stage"])
    StageStanding.objects.bulk_create(
        StageStanding(
            launch=launch,
            stage=stage,
            holds=n % (2 * in_stage_every) != 0,
            reasons=[] if n % (2 * in_stage_every) != 0 else ["stakeholders_approved", "quality_evidence"],
            since=timezone.now(),
            checked_at=timezone.now(),
        )
        for n, launch, stage in launched
    )
    grants = Permission.objects.filter(
        content_type__app_label="readiness", codename__in=["view_launch", "change_launch"]
    )
    LaunchUserObjectPermission.objects.bulk_create(
        LaunchUserObjectPermission(content_object=launch, permission=permission, user=owner)
        for launch in launches
        for permission in grants
    )
    now = timezone.now()
    LaunchEvaluation.objects.bulk_create(
        LaunchEvaluation(
            launch=launch,
            next_stage="Internal",
            verdict=Verdict.BLOCKED if n % 2 else Verdict.READY,
            passed=11 if n % 2 else 12,
            total=12,
            blockers=["stakeholders_approved"] if n % 2 else [],
            evaluated_at=now - datetime.timedelta(minutes=n % 60),
        )
        for n, launch in zip(range(start, start + count), launches, strict=True)
    )


def portfolio(client, params):
    """The portfolio's response, its queries, and how many launches it evaluated."""
    with (
        mock.patch("web.views.evaluate_many", wraps=evaluate_many) as evaluated,
        CaptureQueriesContext(connection) as queries,
    ):
        response = client.get("/", params)
    assert response.status_code == 200
    (launches,), _ = evaluated.call_args
    return response, len(queries), len(list(launches))


# With which parameters each sees how many of the 10 and of the 1,000 launches (the PM owns them;
# another PM owns 5 more, which only the executive sees).
CASES = {
    "executive": [
        ({}, (15, 1005)),
        ({"verdict": "blocked"}, (7, 502)),
        ({"q": "scale launch 00"}, (10, 100)),
        ({"health": "lapsed"}, (3, 168)),
        ({"health": "holds"}, (3, 168)),
    ],
    "pm": [
        ({}, (10, 1000)),
        ({"verdict": "blocked"}, (5, 500)),
        ({"q": "scale launch 00"}, (10, 100)),
        ({"health": "lapsed"}, (2, 167)),
        ({"health": "not_launched"}, (6, 666)),
    ],
}


@pytest.mark.parametrize("who", CASES)
def test_the_portfolio_runs_the_same_queries_for_10_and_1000_launches(client, people, who):
    bulk_launches(people["other_pm"], 0, 5, prefix="Other launch", in_stage_every=3)
    bulk_launches(people["pm"], 0, 10, in_stage_every=3)
    client.force_login(people[who])
    client.get("/")  # session, content types and the like are cached from here on
    few = {str(params): portfolio(client, params) for params, _ in CASES[who]}
    bulk_launches(people["pm"], 10, 990, in_stage_every=3)
    many = {str(params): portfolio(client, params) for params, _ in CASES[who]}

    for params, shown in CASES[who]:
        (few_page, few_queries, few_evaluated), (many_page, many_queries, many_evaluated) = (
            few[str(params)],
            many[str(params)],
        )
        counts = (few_page.context["page"].paginator.count, many_page.context["page"].paginator.count)
        assert counts == shown, params
        assert many_queries == few_queries, params
        # Only the launches on the page are evaluated; the rest is read from the stored evaluations.
        assert (few_evaluated, many_evaluated) == (min(shown[0], PAGE_SIZE), PAGE_SIZE), params


def test_the_summary_counts_every_visible_launch_from_the_stored_evaluations(client, people):
    bulk_launches(people["pm"], 0, 1000)
    client.force_login(people["pm"])
    html = client.get("/").content.decode()
    # Every launch is in planning: 500 ready and 500 blocked for Internal, none evaluated afresh.
    assert "<title>Ready: 500</title>" in html
    assert "<title>Blocked: 500</title>" in html


def test_a_pm_sees_none_of_another_pm_s_thousand_launches(client, people):
    bulk_launches(people["other_pm"], 0, 1000, prefix="Other launch")
    bulk_launches(people["pm"], 0, 3)
    client.force_login(people["pm"])
    response, _, evaluated = portfolio(client, {})
    assert response.context["page"].paginator.count == 3
    assert evaluated == 3
    assert "Other launch" not in response.content.decode()
