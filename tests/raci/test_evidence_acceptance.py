"""Failing evidence cannot be outvoted: a run the launch owner records, or one recorded while the
bar's counting evidence fails, counts only once someone of the bar's function (ML for a quality
metric) accepts it — never the owner, never its recorder. Until then the earlier run keeps
counting. Accepting is ledgered and cross-checked."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from approvals.snapshot import launch_snapshot
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from raci.choices import AreaKind, TeamFunction
from raci.services import eval_run_accept
from readiness.checklist import Context, evaluate, with_checklist_facts
from readiness.checklist_items import counted_run
from readiness.models import EvalRun, Launch
from readiness.services import fact_add, fact_version
from tests.builders import SERVING_VERSION, accountable_of, ready_launch, team_for
from tests.factories import EvalRunFactory, StakeholderFactory, UserFactory
from tests.web.bounds import LAUNCH_PAGE_QUERIES

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_stays_intact")]


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """A ready launch, built once per module."""
    return ready_launch(slug="evidence", name="Evidence").pk


@pytest.fixture
def failing(launch):
    """A newer run, recorded by a pipeline (no person: it counts at once), that fails the 5 % bar."""
    return EvalRunFactory(quality_bar=launch.quality_bars.get(), samples=1000, failures=120)


def item(launch, key):
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    return next(result for result in evaluate(facts).results if result.key == key)


def counting(launch):
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    now = timezone.now()
    bar = facts.quality_bars.get()
    return counted_run(bar, facts, Context(launch=facts, stage=None, today=timezone.localdate(now), now=now))


def own_numbers(launch) -> dict:
    """What the owner's add-run form posts: 0 failures in 1,000, herself as golden-set owner."""
    return {
        "quality_bar": launch.quality_bars.get().pk,
        "samples": "1000",
        "failures": "0",
        "golden_set_name": "my-golden",
        "golden_set_version": "v1",
        "golden_set_owner": launch.owner.pk,
        "measured_version": SERVING_VERSION,
        "human_reviewed": "100",
        "run_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        "link": "",
    }


def record_as_owner(client, launch) -> EvalRun:
    client.force_login(launch.owner)
    url = reverse("web:fact-add", args=[launch.slug, "evalrun"])
    assert client.get(url).status_code == 200
    response = client.post(url, own_numbers(launch))
    assert response.status_code == 302, response.context["form"].errors
    return EvalRun.objects.latest("pk")


def test_the_owner_s_run_after_a_failing_one_waits_and_the_failing_one_keeps_counting(client, launch, failing):
    assert item(launch, "quality_evidence").status == "fail"
    mine = record_as_owner(client, launch)
    assert (mine.recorded_by, mine.needs_acceptance, mine.accepted_by) == (launch.owner, True, None)
    assert counting(launch) == failing
    result = item(launch, "quality_evidence")
    assert result.status == "fail"
    assert "120/1000 failures" in result.reasons[0]
    assert any("waits for acceptance and does not count yet" in reason for reason in result.reasons)
    # The page says whom it waits for and offers the owner no Accept button.
    page = client.get(reverse("web:launch", args=[launch.slug])).content.decode()
    ml = accountable_of(launch, AreaKind.MODEL_QUALITY)
    assert f"waiting for acceptance by {ml.display_name} (or another ML team member)" in page
    assert "a ML" not in page
    assert reverse("web:evalrun-accept", args=[launch.slug, mine.pk]) not in page


def test_the_ml_accountable_accepts_through_the_page_and_then_it_counts(client, launch, failing):
    mine = record_as_owner(client, launch)
    ml = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    client.force_login(ml)
    url = reverse("web:evalrun-accept", args=[launch.slug, mine.pk])
    assert url in client.get(reverse("web:launch", args=[launch.slug])).content.decode()
    assert client.post(url, {"seen_version": fact_version(mine)}).status_code == 302
    mine.refresh_from_db()
    assert mine.accepted_by == ml and mine.accepted_at is not None
    assert counting(launch) == mine
    assert item(launch, "quality_evidence").status == "pass"
    entry = LedgerEntry.objects.order_by("-sequence").first()
    assert (entry.event, entry.actor, entry.payload["evaluation run"]) == (
        LedgerEvent.EVAL_RUN_ACCEPTED,
        ml.username,
        mine.pk,
    )
    assert entry.seals and entry.seals[0]["model"] == "readiness.HistoricalEvalRun"
    assert mine.history.first().history_user == ml
    page = client.get(reverse("web:launch", args=[launch.slug])).content.decode()
    assert f"accepted as evidence by {ml.get_full_name() or ml.username}" in page
    assert url not in page  # accepted once: no button any more


def test_any_run_the_owner_records_waits_for_acceptance_even_after_passing_evidence(client, launch):
    mine = record_as_owner(client, launch)
    assert mine.needs_acceptance
    assert counting(launch) != mine


def test_the_owner_cannot_accept(client, launch, failing):
    mine = record_as_owner(client, launch)
    with pytest.raises(PermissionDenied, match="You own this launch"):
        eval_run_accept(actor=launch.owner, run=mine, seen_version=fact_version(mine))
    response = client.post(
        reverse("web:evalrun-accept", args=[launch.slug, mine.pk]), {"seen_version": fact_version(mine)}
    )
    assert response.status_code == 403
    assert EvalRun.objects.get(pk=mine.pk).accepted_by_id is None


@pytest.fixture
def ml_admin(launch):
    """A superuser (who may record facts on any launch; not the owner), in ML. A pipeline API
    recording runs comes later, through the same rule."""
    user = UserFactory(is_superuser=True)
    StakeholderFactory(user=user, teams=[team_for(TeamFunction.ML)])
    return type(user).objects.get(pk=user.pk)


def test_the_recorder_cannot_accept_their_own_run(launch, failing, ml_admin):
    run = fact_add(actor=ml_admin, launch=launch, model=EvalRun, values=_values(launch))
    assert run.needs_acceptance  # it replaces failing evidence
    with pytest.raises(PermissionDenied, match="You recorded this run"):
        eval_run_accept(actor=ml_admin, run=run, seen_version=fact_version(run))
    assert counting(launch) == failing


def test_a_non_owner_s_run_that_replaces_no_failing_run_counts_at_once(launch, ml_admin):
    run = fact_add(actor=ml_admin, launch=launch, model=EvalRun, values=_values(launch))
    assert (run.recorded_by, run.needs_acceptance) == (ml_admin, False)
    assert counting(launch) == run
    with pytest.raises(ValidationError, match="needs no acceptance"):
        eval_run_accept(
            actor=accountable_of(launch, AreaKind.MODEL_QUALITY).user, run=run, seen_version=fact_version(run)
        )


def test_an_outsider_cannot_accept(client, launch, failing):
    mine = record_as_owner(client, launch)
    outsider = UserFactory()
    StakeholderFactory(user=outsider, teams=[team_for(TeamFunction.ML)])
    with pytest.raises(Http404):
        eval_run_accept(actor=outsider, run=mine, seen_version=fact_version(mine))
    client.force_login(outsider)
    response = client.post(
        reverse("web:evalrun-accept", args=[launch.slug, mine.pk]), {"seen_version": fact_version(mine)}
    )
    assert response.status_code == 404
    assert EvalRun.objects.get(pk=mine.pk).accepted_by_id is None


def test_a_person_of_another_function_cannot_accept(client, launch, failing):
    mine = record_as_owner(client, launch)
    product = accountable_of(launch, AreaKind.USER_EXPERIENCE).user  # may view the launch, not in ML
    client.force_login(product)
    assert (
        reverse("web:evalrun-accept", args=[launch.slug, mine.pk])
        not in client.get(reverse("web:launch", args=[launch.slug])).content.decode()
    )
    response = client.post(
        reverse("web:evalrun-accept", args=[launch.slug, mine.pk]), {"seen_version": fact_version(mine)}
    )
    assert response.status_code == 403
    assert "You are not in any ML team" in response.content.decode()
    assert EvalRun.objects.get(pk=mine.pk).accepted_by_id is None


def test_the_snapshot_keeps_the_counting_run_and_names_the_pending_one(client, launch, failing):
    mine = record_as_owner(client, launch)
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    bar = launch_snapshot(facts, facts.stages.get(name="Internal"))["quality bars"]["wrong_answers"]
    assert bar["evidence"]["failures"] == 120
    assert bar["evidence waiting for acceptance"] == {"samples": 1000, "failures": 0, "golden set": "my-golden v1"}
    eval_run_accept(
        actor=accountable_of(launch, AreaKind.MODEL_QUALITY).user, run=mine, seen_version=fact_version(mine)
    )
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    bar = launch_snapshot(facts, facts.stages.get(name="Internal"))["quality bars"]["wrong_answers"]
    assert bar["evidence"]["failures"] == 0
    assert "evidence waiting for acceptance" not in bar


def test_a_run_counting_without_acceptance_after_sql_tampering_is_caught(client, launch):
    mine = record_as_owner(client, launch)
    EvalRun.objects.filter(pk=mine.pk).update(needs_acceptance=False)
    result = verify()
    assert not result.ok
    assert "recorded by the launch owner but counts without acceptance" in result.problem
    EvalRun.objects.filter(pk=mine.pk).update(needs_acceptance=True)


def test_an_acceptance_rewritten_in_sql_is_caught(client, launch, failing):
    mine = record_as_owner(client, launch)
    eval_run_accept(
        actor=accountable_of(launch, AreaKind.MODEL_QUALITY).user, run=mine, seen_version=fact_version(mine)
    )
    other = UserFactory()
    EvalRun.objects.filter(pk=mine.pk).update(accepted_by=other)
    result = verify()
    assert not result.ok
    assert f"evaluation run #{mine.pk} does not match its acceptance" in result.problem
    EvalRun.objects.filter(pk=mine.pk).update(accepted_by=accountable_of(launch, AreaKind.MODEL_QUALITY).user)


def _values(launch) -> dict:
    return {
        "quality_bar": launch.quality_bars.get(),
        "samples": 1000,
        "failures": 10,
        "golden_set_name": "pipeline-golden",
        "golden_set_version": "v2",
        "golden_set_owner": launch.owner,
        "measured_version": SERVING_VERSION,
        "human_reviewed": 100,
    }


def test_my_signoffs_lists_runs_waiting_for_my_acceptance_in_bounded_queries(
    client, launch, failing, django_assert_max_num_queries
):
    mine = record_as_owner(client, launch)
    other = ready_launch(slug="evidence-two", name="Evidence two")
    record_as_owner(client, other)
    ml = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    client.force_login(ml)
    with django_assert_max_num_queries(20):
        page = client.get(reverse("web:inbox")).content.decode()
    assert "Evaluation runs to accept" in page
    assert "0/1000 · my-golden v1" in page
    assert "Evidence two" not in page  # another launch's ML Accountable, whom she is not
    client.force_login(launch.owner)
    assert "Evaluation runs to accept" not in client.get(reverse("web:inbox")).content.decode()
    assert mine.pk


def test_the_launch_page_stays_within_its_bound_however_many_runs_wait(
    client, launch, failing, django_assert_max_num_queries
):
    for _ in range(3):
        record_as_owner(client, launch)
    ml = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    client.force_login(ml)
    url = reverse("web:launch", args=[launch.slug])
    client.get(url)  # warm the session and the caches of the first request
    with django_assert_max_num_queries(LAUNCH_PAGE_QUERIES):
        page = client.get(url).content.decode()
    assert page.count("Accept as evidence") == 3
