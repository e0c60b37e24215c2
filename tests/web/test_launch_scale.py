"""The launch page at scale (issue 8, point 10): a launch with many areas, people, data assets,
quality bars and decisions costs the page the same queries as a small one, for the owner and for
the Accountable who sees an Agree button per bar; the decisions' snapshots are read only for the
stale approvals whose diff the page shows, in one query."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.choices import RequestStatus
from approvals.models import SignoffDecision, SignoffRequest
from approvals.services import signoff_decide
from raci.choices import AreaKind, Role
from readiness.checklist import evaluate_many
from readiness.models import Launch
from readiness.services import fact_change, fact_version
from tests.builders import accountable_of, approve_signoffs, ready_launch
from tests.factories import (
    DataAssetFactory,
    EvalRunFactory,
    QualityBarFactory,
    RaciAssignmentFactory,
    ResponsibilityAreaFactory,
    StakeholderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# 35 before issue 11 and undelivered notifications; those sections add their rows' reads, the same
# for a small and a big launch. +1: the serving-version history (issue 11, point 5).
QUERY_BOUND = 37


def _stale(launch: Launch) -> None:
    """A fact the Internal approvals covered changes after them: each is stale, with a diff."""
    asset = launch.data_assets.get(name="Support tickets")
    fact_change(actor=launch.owner, fact=asset, seen_version=fact_version(asset), values={"retention_days": 45})


def _unagreed_bar(launch: Launch, metric: str, runs: int = 1) -> None:
    bar = QualityBarFactory(launch=launch, metric=metric, min_samples=100)
    for _ in range(runs):
        EvalRunFactory(quality_bar=bar)


def _grow(launch: Launch) -> None:
    """From the builder's launch to one of the demo's largest size: 30 areas (an Accountable and a
    Responsible each: 60 people), 40 data assets, 10 quality bars with runs (9 awaiting agreement)
    and 200 decisions, most on requests asked again since."""
    for n in range(30 - launch.areas.count()):
        area = ResponsibilityAreaFactory(launch=launch, name=f"Workstream {n}", concerns=[f"workstream-{n}"])
        RaciAssignmentFactory(area=area, role=Role.ACCOUNTABLE, stakeholder=StakeholderFactory())
        RaciAssignmentFactory(area=area, role=Role.RESPONSIBLE, stakeholder=StakeholderFactory())
    for n in range(40 - launch.data_assets.count()):
        DataAssetFactory(launch=launch, name=f"Source {n}")
    for n in range(10 - launch.quality_bars.count()):
        _unagreed_bar(launch, f"metric-{n}", runs=2)
    # Earlier rounds of sign-offs, replaced by the current requests: on record, read by the page.
    current = list(SignoffRequest.objects.filter(launch=launch, status=RequestStatus.APPROVED))
    template = SignoffDecision.objects.filter(request__launch=launch).first()
    needed = 200 - SignoffDecision.objects.filter(request__launch=launch).count()
    earlier = SignoffRequest.objects.bulk_create(
        SignoffRequest(
            launch=launch,
            stage=request.stage,
            function=request.function,
            requested_by=launch.owner,
            status=RequestStatus.SUPERSEDED,
        )
        for round_ in range(needed // len(current) + 1)
        for request in current
    )
    SignoffDecision.objects.bulk_create(
        SignoffDecision(
            request=request,
            decided_by=template.decided_by,
            on_behalf_of=template.on_behalf_of,
            outcome=template.outcome,
            fingerprint=template.fingerprint,
            snapshot=template.snapshot,
            decided_at=template.decided_at,
        )
        for request in earlier[:needed]
    )


@pytest.fixture(scope="module")
def shared_launches(django_db_setup, django_db_blocker) -> dict[str, int]:
    with django_db_blocker.unblock(), transaction.atomic():
        owner = UserFactory(username="pam")
        ids = {}
        for slug in ("small", "big"):
            launch = ready_launch(owner=owner, slug=slug, name=slug.title())
            approve_signoffs(launch, "Internal")
            _unagreed_bar(launch, "hallucination")
            if slug == "big":
                _grow(launch)
            _stale(launch)
            ids[slug] = launch.pk
        yield ids
        transaction.set_rollback(True)


@pytest.fixture
def launches(shared_launches, db) -> dict[str, Launch]:
    return {slug: Launch.objects.select_related("owner").get(pk=pk) for slug, pk in shared_launches.items()}


def test_the_big_launch_is_as_big_as_the_demo_s_largest(launches):
    big = launches["big"]
    assert big.areas.count() == 30
    assert big.areas.values("assignments__stakeholder").distinct().count() >= 60
    assert big.data_assets.count() == 40
    assert big.quality_bars.count() == 10
    assert SignoffDecision.objects.filter(request__launch=big).count() == 200


def _page(client, user, launch: Launch, at_most=None):
    client.force_login(user)
    path = reverse("web:launch", args=[launch.slug])
    client.get(path)  # session, content types and the like are cached from here on
    with at_most(QUERY_BOUND) if at_most else CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return response.content.decode(), queries


@pytest.mark.parametrize("viewer", ["owner", "accountable"])
def test_the_launch_page_runs_the_same_queries_for_a_small_and_a_big_launch(
    client, launches, viewer, django_assert_max_num_queries
):
    counts = {}
    for slug, launch in launches.items():
        user = launch.owner if viewer == "owner" else accountable_of(launch, AreaKind.MODEL_QUALITY).user
        html, queries = _page(client, user, launch, at_most=django_assert_max_num_queries)
        counts[slug] = len(queries)
        assert "is stale — facts changed since" in html  # the diff of a stale approval is shown
        assert ("Agree as shown" in html) == (viewer == "accountable")
        # The decisions' snapshots: only the stale approvals', once.
        snapshot_reads = [q["sql"] for q in queries if '"approvals_signoffdecision"."snapshot"' in q["sql"]]
        assert len(snapshot_reads) == 1, snapshot_reads
        assert '"approvals_signoffdecision"."id" IN' in snapshot_reads[0]
    assert counts["big"] == counts["small"], counts


def test_the_accountable_s_agree_buttons_carry_each_bar_s_version(client, launches):
    big = launches["big"]
    html, queries = _page(client, accountable_of(big, AreaKind.MODEL_QUALITY).user, big)
    for bar in big.quality_bars.exclude(agreed_by__isnull=False):
        assert f'name="seen_version" value="{fact_version(bar)}"' in html
    assert sum("historicalqualitybar" in q["sql"] for q in queries) == 1


def test_an_approval_on_the_current_facts_reads_no_snapshot(client, launches):
    small = launches["small"]
    for request in SignoffRequest.objects.filter(launch=small, status=RequestStatus.APPROVED):
        for addressee in request.addressees.all()[:1]:
            signoff_decide(actor=addressee, signoff=request, outcome="approve", comment="Again.")
    html, queries = _page(client, small.owner, small)
    assert "is stale" not in html
    assert not [q for q in queries if '"approvals_signoffdecision"."snapshot"' in q["sql"]]


def test_evaluating_many_launches_reads_their_stale_snapshots_in_one_query(launches):
    with CaptureQueriesContext(connection) as queries:
        results = evaluate_many(Launch.objects.filter(pk__in=[launch.pk for launch in launches.values()]))
    snapshot_reads = [q["sql"] for q in queries if '"approvals_signoffdecision"."snapshot"' in q["sql"]]
    assert len(snapshot_reads) == 1
    assert '"approvals_signoffdecision"."id" IN' in snapshot_reads[0]  # the stale ones, not every decision
    for readiness in results:
        (approved,) = [r for r in readiness.results if r.key == "stakeholders_approved"]
        assert any("is stale — facts changed since" in reason for reason in approved.reasons)
