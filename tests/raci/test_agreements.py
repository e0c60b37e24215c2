"""Agreement is an act: the Accountable of the owning area agrees a quality bar or an SLO as they
saw it, ledgered; changing what they agreed clears it. Template values are proposals a person
confirms. Every write path costs the same queries however many RACI rows the launch has."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from raci.choices import AreaKind, Role
from raci.models import RaciAssignment
from raci.services import (
    area_omission_record,
    area_omission_withdraw,
    eval_run_remove,
    quality_bar_agree,
    quality_bar_remove,
    raci_assign,
    slo_agree,
    slo_remove,
    team_remove_member,
)
from readiness.checklist import evaluate, with_checklist_facts
from readiness.choices import SloIndicator
from readiness.models import SLO, FeedbackChannel, Launch, QualityBar
from readiness.services import (
    EditConflict,
    fact_add,
    fact_change,
    fact_confirm,
    fact_remove,
    fact_version,
    launch_change,
    launch_create_from_template,
)
from tests.builders import accountable_of, ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory, seal

pytestmark = pytest.mark.usefixtures("ledger_stays_intact")


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """A ready launch, built once per module."""
    return ready_launch(slug="agreements", name="Agreements").pk


def item(launch, key):
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    return next(result for result in evaluate(facts).results if result.key == key)


def last_entry() -> LedgerEntry:
    """The newest entry other than the facts recorded with it (readiness.recording)."""
    return LedgerEntry.objects.exclude(event=LedgerEvent.FACT_RECORDED).order_by("-sequence").first()


# --- quality bars ------------------------------------------------------------------------------------


def test_loosening_an_agreed_bar_clears_the_agreement_is_ledgered_and_fails_item_2(launch):
    bar = launch.quality_bars.get()
    assert item(launch, "failure_rate_agreed").status == "pass"
    fact_change(
        actor=launch.owner, fact=bar, seen_version=fact_version(bar), values={"max_failure_rate": Decimal("0.3")}
    )
    bar = QualityBar.objects.get(pk=bar.pk)
    assert (bar.agreed_by, bar.agreed_at) == (None, None)
    entry = last_entry()
    assert entry.event == LedgerEvent.BAR_REDEFINED
    assert entry.payload["max failure rate"] == "0.3"
    assert entry.payload["agreement cleared"] is True
    result = item(launch, "failure_rate_agreed")
    assert result.status == "fail"
    assert result.reasons == ("Quality bar 'wrong_answers' has not been agreed by anyone.",)


@pytest.mark.parametrize(
    "values",
    [
        {"max_failure_rate": Decimal("0.02")},
        {"confidence_level": Decimal("0.8")},
        {"min_samples": 10},
        {"failure_definition": "Only answers a customer complains about."},
        {"min_human_reviewed_share": Decimal("0.5")},
    ],
)
def test_any_change_to_what_was_agreed_clears_it(launch, values):
    bar = launch.quality_bars.get()
    fact_change(actor=launch.owner, fact=bar, seen_version=fact_version(bar), values=values)
    assert QualityBar.objects.get(pk=bar.pk).agreed_by_id is None


def test_the_accountable_agrees_the_bar_as_they_saw_it_and_the_ledger_keeps_the_definition(launch):
    bar = launch.quality_bars.get()
    fact_change(
        actor=launch.owner, fact=bar, seen_version=fact_version(bar), values={"max_failure_rate": Decimal("0.04")}
    )
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    quality_bar_agree(actor=accountable, bar=bar, seen_version=fact_version(bar))
    bar = QualityBar.objects.get(pk=bar.pk)
    assert bar.agreed_by == accountable
    entry = last_entry()
    assert (entry.event, entry.actor, entry.payload["max failure rate"]) == (
        LedgerEvent.BAR_AGREED,
        accountable.username,
        "0.04",
    )
    assert entry.seals and entry.seals[0]["model"] == "readiness.HistoricalQualityBar"
    assert item(launch, "failure_rate_agreed").status == "pass"


def test_an_agreement_on_a_version_since_changed_is_refused(launch):
    bar = launch.quality_bars.get()
    seen = fact_version(bar)
    fact_change(actor=launch.owner, fact=bar, seen_version=seen, values={"max_failure_rate": Decimal("0.3")})
    with pytest.raises(ValidationError, match="since you opened it"):
        quality_bar_agree(actor=accountable_of(launch, AreaKind.MODEL_QUALITY).user, bar=bar, seen_version=seen)
    assert QualityBar.objects.get(pk=bar.pk).agreed_by_id is None


def test_nobody_but_the_current_accountable_agrees(launch):
    bar = launch.quality_bars.get()
    fact_change(actor=launch.owner, fact=bar, seen_version=fact_version(bar), values={"min_samples": 200})
    version = fact_version(bar)
    with pytest.raises(PermissionDenied, match="never the owner"):
        quality_bar_agree(actor=launch.owner, bar=bar, seen_version=version)
    other_accountable = accountable_of(launch, AreaKind.INFRASTRUCTURE).user
    with pytest.raises(PermissionDenied, match="Only the Accountable for 'Model/prompt quality'"):
        quality_bar_agree(actor=other_accountable, bar=bar, seen_version=version)
    with pytest.raises(Http404):
        quality_bar_agree(actor=UserFactory(username="stranger"), bar=bar, seen_version=version)
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY)
    admin = UserFactory(username="team-admin", is_superuser=True)
    team_remove_member(actor=admin, team=team_for("ml"), stakeholder=accountable)
    with pytest.raises(PermissionDenied, match="not in any ML team"):
        quality_bar_agree(actor=accountable.user, bar=bar, seen_version=version)
    assert QualityBar.objects.get(pk=bar.pk).agreed_by_id is None


def test_only_the_accountable_drops_a_bar_with_a_reason_ledgered(launch):
    bar = launch.quality_bars.get()
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    with pytest.raises(PermissionDenied):
        quality_bar_remove(actor=launch.owner, bar=bar, seen_version=fact_version(bar), reason="Blocking us")
    with pytest.raises(ValidationError, match="Say why"):
        quality_bar_remove(actor=accountable, bar=bar, seen_version=fact_version(bar), reason="")
    quality_bar_remove(actor=accountable, bar=bar, seen_version=fact_version(bar), reason="Covered by 'accuracy'")
    assert not QualityBar.objects.filter(pk=bar.pk).exists()
    entry = last_entry()
    assert (entry.event, entry.payload["removed"]) == (LedgerEvent.BAR_REDEFINED, "Covered by 'accuracy'")


# --- SLOs and proposals ------------------------------------------------------------------------------


def test_changing_an_agreed_slo_clears_the_agreement_and_item_7_says_who_must_agree(launch):
    slo = launch.slos.get(indicator=SloIndicator.LATENCY_P95)
    fact_change(actor=launch.owner, fact=slo, seen_version=fact_version(slo), values={"target": Decimal("4500")})
    assert last_entry().event == LedgerEvent.SLO_REDEFINED
    result = item(launch, "slos_defined")
    assert result.status == "fail"
    assert result.reasons == (
        "The Latency p95 (ms) SLO has not been agreed by the Accountable for 'Infrastructure and deployment'.",
    )
    operations = accountable_of(launch, AreaKind.INFRASTRUCTURE).user
    slo_agree(actor=operations, slo=slo, seen_version=fact_version(slo))
    assert last_entry().event == LedgerEvent.SLO_AGREED
    assert item(launch, "slos_defined").status == "pass"


def test_an_slo_agreed_by_someone_no_longer_accountable_fails(launch):
    area = launch.areas.get(kind=AreaKind.INFRASTRUCTURE)
    row = area.assignments.get(role=Role.ACCOUNTABLE)
    old = row.stakeholder
    row.stakeholder = StakeholderFactory(teams=[team_for("platform")])
    row.save()
    reasons = item(launch, "slos_defined").reasons
    assert reasons[0] == (
        f"The Success rate (%) SLO was agreed by {old.display_name}, but the Accountable for "
        f"'Infrastructure and deployment' is {row.stakeholder.display_name}."
    )


@pytest.fixture
def template_launch(db):
    owner = UserFactory(username="template-owner")
    launch = launch_create_from_template(
        actor=owner,
        template="genai-feature",
        name="Fresh",
        slug="fresh",
        monthly_cost_budget=Decimal("12000"),
        daily_cost_alert=Decimal("600"),
    )
    return with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()


def test_template_values_are_proposals_the_checklist_and_gate_refuse(template_launch):
    readiness = evaluate(template_launch)
    results = {result.key: result for result in readiness.results}
    assert "Internal's exposure (1 %) is proposed by the template, not yet confirmed." in readiness.refusals
    assert "P0's response time (15 min) is proposed by the template, not yet confirmed." in (
        results["incident_owner"].reasons
    )
    assert "The Success rate (%) SLO's target (99.5) is proposed by the template, not yet confirmed." in (
        results["slos_defined"].reasons
    )
    cost = template_launch.slos.get(indicator=SloIndicator.COST_MONTHLY)
    assert (cost.target, cost.alert_threshold, cost.proposed) == (Decimal("12000"), Decimal("600"), [])


def test_a_person_confirms_or_changes_a_proposal(template_launch):
    owner = template_launch.owner
    internal = template_launch.stages.get(name="Internal")
    fact_confirm(actor=owner, fact=internal, seen_version=fact_version(internal))
    internal.refresh_from_db()
    assert internal.proposed == []
    assert internal.history.order_by("-history_id").first().history_change_reason == (
        "Confirmed the proposed exposure percent"
    )
    p0 = template_launch.severity_levels.get(level="P0")
    fact_change(actor=owner, fact=p0, seen_version=fact_version(p0), values={"response_minutes": 10})
    p0.refresh_from_db()
    assert p0.proposed == []
    with pytest.raises(ValidationError, match="Nothing proposed to confirm: response_minutes"):
        fact_confirm(actor=owner, fact=p0, seen_version=fact_version(p0), fields=["response_minutes"])
    facts = with_checklist_facts(Launch.objects.filter(pk=template_launch.pk)).get()
    refusals = evaluate(facts).refusals
    assert not any("exposure" in refusal for refusal in refusals)


def test_the_cost_budget_and_its_daily_alert_come_together_from_a_person(db):
    owner = UserFactory(username="budget-owner")
    with pytest.raises(ValidationError, match="daily_cost_alert"):
        launch_create_from_template(
            actor=owner, template="genai-feature", name="B", slug="b", monthly_cost_budget=Decimal("100")
        )
    with pytest.raises(ValidationError, match="cannot exceed the monthly budget"):
        launch_create_from_template(
            actor=owner,
            template="genai-feature",
            name="B",
            slug="b",
            monthly_cost_budget=Decimal("100"),
            daily_cost_alert=Decimal("101"),
        )
    launch = launch_create_from_template(actor=owner, template="genai-feature", name="B", slug="b")
    assert not launch.slos.filter(indicator=SloIndicator.COST_MONTHLY).exists()
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    result = next(r for r in evaluate(facts).results if r.key == "slos_defined")
    assert "No monthly cost SLO is recorded." in result.reasons
    assert not Launch.objects.filter(slug="b").exclude(pk=launch.pk).exists()
    assert SLO.objects.filter(launch__slug="b").count() == 2


# --- bounded write paths -------------------------------------------------------------------------------


def _launch_with_raci_rows(slug: str, rows: int) -> Launch:
    """A ready launch whose user-experience area has ``rows`` extra Informed people."""
    launch = ready_launch(slug=slug, name=slug)
    area = launch.areas.get(kind=AreaKind.USER_EXPERIENCE)
    people = [StakeholderFactory() for _ in range(rows)]
    informed = RaciAssignment.objects.bulk_create(
        RaciAssignment(area=area, stakeholder=p, role=Role.INFORMED) for p in people
    )
    seal(*informed)  # as raci_assign would have recorded them
    return launch


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured)


def withdraw(owner, omission) -> None:
    area_omission_withdraw(actor=owner, omission=omission, seen_version=fact_version(omission), reason="Back in scope")


def _write_costs(launch: Launch) -> dict[str, int]:
    launch = Launch.objects.select_related("owner").get(pk=launch.pk)
    owner = launch.owner
    bar = launch.quality_bars.get()
    slo = launch.slos.get(indicator=SloIndicator.LATENCY_P95)
    channel = launch.feedback_channels.get()
    area = launch.areas.get(kind=AreaKind.USER_EXPERIENCE)
    policy = launch.areas.get(kind=AreaKind.POLICY)
    newcomer = StakeholderFactory(teams=[team_for("product")])
    return {
        "change a bar": _queries(
            lambda: fact_change(actor=owner, fact=bar, seen_version=fact_version(bar), values={"min_samples": 300})
        ),
        "agree a bar": _queries(
            lambda: quality_bar_agree(
                actor=accountable_of(launch, AreaKind.MODEL_QUALITY).user, bar=bar, seen_version=fact_version(bar)
            )
        ),
        "change an SLO": _queries(
            lambda: fact_change(
                actor=owner, fact=slo, seen_version=fact_version(slo), values={"target": Decimal("4000")}
            )
        ),
        "agree an SLO": _queries(
            lambda: slo_agree(
                actor=accountable_of(launch, AreaKind.INFRASTRUCTURE).user, slo=slo, seen_version=fact_version(slo)
            )
        ),
        "assign a RACI role": _queries(
            lambda: raci_assign(actor=owner, area=area, stakeholder=newcomer, role=Role.CONSULTED)
        ),
        "remove a fact": _queries(
            lambda: fact_remove(actor=owner, fact=channel, seen_version=fact_version(channel), reason="Retired")
        ),
        "leave out an area": _queries(
            lambda: (
                fact_remove(actor=owner, fact=policy, seen_version=fact_version(policy), reason="No policy")
                or area_omission_record(actor=owner, launch=launch, kind=AreaKind.POLICY, reason="Internal tool.")
            )
        ),
        "withdraw the omission": _queries(lambda: withdraw(owner, launch.area_omissions.get())),
    }


def test_write_paths_cost_the_same_queries_with_10_or_100_raci_rows(db):
    small = _write_costs(_launch_with_raci_rows("small", 10))
    large = _write_costs(_launch_with_raci_rows("large", 100))
    assert small == large
    # Each write that saves or removes a fact the gate reads also records it in the ledger
    # (readiness.recording): 6 queries more than before (60 → 66).
    assert max(small.values()) <= 66, small


# --- what binds the owner is dropped by whoever answers for it ------------------------------------------


def test_the_owner_cannot_drop_an_agreed_slo_but_operations_can_with_a_reason_ledgered(launch):
    slo = launch.slos.get(indicator=SloIndicator.LATENCY_P95)
    with pytest.raises(ValidationError, match="An agreed SLO is removed only by the Accountable"):
        fact_remove(actor=launch.owner, fact=slo, seen_version=fact_version(slo), reason="In the way")
    with pytest.raises(PermissionDenied):
        slo_remove(actor=launch.owner, slo=slo, seen_version=fact_version(slo), reason="In the way")
    operations = accountable_of(launch, AreaKind.INFRASTRUCTURE).user
    slo_remove(actor=operations, slo=slo, seen_version=fact_version(slo), reason="Measured as p99 instead")
    assert not SLO.objects.filter(pk=slo.pk).exists()
    entry = last_entry()
    assert (entry.event, entry.payload["removed"], entry.payload["was agreed"]) == (
        LedgerEvent.SLO_REDEFINED,
        "Measured as p99 instead",
        True,
    )
    assert "No p95 latency SLO is recorded." in item(launch, "slos_defined").reasons


def test_the_owner_may_drop_an_slo_nobody_agreed(launch):
    slo = launch.slos.get(indicator=SloIndicator.LATENCY_P95)
    slo = fact_change(actor=launch.owner, fact=slo, seen_version=fact_version(slo), values={"target": Decimal("4000")})
    assert slo.agreed_by_id is None
    fact_remove(actor=launch.owner, fact=slo, seen_version=fact_version(slo), reason="Not measured yet")
    assert not SLO.objects.filter(pk=slo.pk).exists()


def test_evidence_is_dropped_by_the_accountable_not_the_owner(launch):
    run = launch.quality_bars.get().eval_runs.get()
    with pytest.raises(ValidationError, match="An evaluation run is removed only by the Accountable"):
        fact_remove(actor=launch.owner, fact=run, seen_version=fact_version(run), reason="Flaky")
    with pytest.raises(PermissionDenied):
        eval_run_remove(actor=launch.owner, run=run, seen_version=fact_version(run), reason="Flaky")
    responsible = launch.areas.get(kind=AreaKind.MODEL_QUALITY).assignments.get(role=Role.RESPONSIBLE).stakeholder
    with pytest.raises(PermissionDenied):
        eval_run_remove(actor=responsible.user, run=run, seen_version=fact_version(run), reason="Flaky")
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    eval_run_remove(actor=accountable, run=run, seen_version=fact_version(run), reason="Wrong golden set")
    assert not launch.quality_bars.get().eval_runs.exists()
    removal = type(run).history.filter(id=run.pk, history_type="-").get()
    assert (removal.history_user, removal.history_change_reason) == (
        accountable,
        "Removed by the Accountable for 'Model/prompt quality': Wrong golden set",
    )


def test_a_fact_removed_meanwhile_is_an_edit_conflict_naming_who_removed_it(launch):
    channel = launch.feedback_channels.get()
    seen = fact_version(channel)
    stale = type(channel).objects.get(pk=channel.pk)
    fact_remove(actor=launch.owner, fact=channel, seen_version=seen, reason="Retired")
    with pytest.raises(EditConflict, match=r"was removed by .* since you opened it"):
        fact_change(actor=launch.owner, fact=stale, seen_version=seen, values={"description": "Still here?"})


def test_a_former_owner_holding_an_old_copy_of_the_launch_changes_nothing(launch, django_user_model):
    stale_copy = Launch.objects.get(pk=launch.pk)
    newcomer = StakeholderFactory(teams=[team_for("product")]).user
    launch_change(actor=launch.owner, launch=launch, seen_version=fact_version(launch), values={"owner": newcomer})
    channels = launch.feedback_channels.count()
    with pytest.raises((PermissionDenied, Http404)):
        fact_add(
            actor=stale_copy.owner,
            launch=stale_copy,
            model=FeedbackChannel,
            values={"kind": "negative_feedback", "review_cadence": "weekly"},
        )
    assert launch.feedback_channels.count() == channels


def test_bad_arguments_are_refused_by_name(launch):
    area = launch.areas.get(kind=AreaKind.USER_EXPERIENCE)
    with pytest.raises(ValidationError, match="cannot be set here"):
        fact_add(
            actor=launch.owner,
            launch=launch,
            model=RaciAssignment,
            values={"area": area, "stakeholder": StakeholderFactory(), "role": Role.INFORMED, "launch": launch},
        )
    level = launch.severity_levels.get(level="P1")
    with pytest.raises(ValidationError, match="as a list of field names"):
        fact_confirm(actor=launch.owner, fact=level, seen_version=fact_version(level), fields="response_minutes")


def test_rows_deleted_with_a_fact_record_who_removed_it(launch):
    area = launch.areas.get(kind=AreaKind.USER_EXPERIENCE)
    assignment_ids = list(area.assignments.values_list("pk", flat=True))
    fact_remove(actor=launch.owner, fact=area, seen_version=fact_version(area), reason="Folded into policy")
    removals = RaciAssignment.history.filter(id__in=assignment_ids, history_type="-")
    assert removals.count() == len(assignment_ids) > 0
    assert {removal.history_user_id for removal in removals} == {launch.owner.pk}
