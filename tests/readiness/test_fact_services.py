"""One door for every fact: the owner changes facts through the services, on the version they saw;
nobody else does, nothing changes on an archived launch, and bad input saves nothing."""

import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from raci.choices import Role
from raci.models import AreaOmission, LaunchStakeholder, RaciAssignment, ResponsibilityArea
from raci.services import launch_stakeholder_fill, raci_assign, raci_unassign
from readiness.checklist import evaluate, with_checklist_facts
from readiness.models import (
    SLO,
    DataAsset,
    EvalRun,
    FeedbackChannel,
    FrozenWithArchivedLaunch,
    Launch,
    QualityBar,
    RollbackPlan,
    RolloutStage,
    Runbook,
    SeverityLevel,
)
from readiness.services import (
    EditConflict,
    fact_add,
    fact_change,
    fact_kinds,
    fact_remove,
    fact_version,
    fact_versions,
    launch_archive,
    launch_change,
)
from tests.builders import ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import archive, give_view


@pytest.fixture(scope="module")
def shared_launch(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        launch = ready_launch(slug="facts", name="Fact services")
        viewer = UserFactory(username="fact-viewer")
        give_view(viewer, launch)
        UserFactory(username="fact-outsider")
        yield launch.pk
        transaction.set_rollback(True)


@pytest.fixture
def launch(shared_launch, db):
    return Launch.objects.select_related("owner").get(pk=shared_launch)


@pytest.fixture
def owner(launch):
    return launch.owner


@pytest.fixture
def viewer(launch):
    return UserFactory(username="fact-viewer")


@pytest.fixture
def outsider(launch):
    return UserFactory(username="fact-outsider")


# One existing fact of each kind on the ready launch, and a change a person may make to it.
CHANGES = {
    RolloutStage: (lambda launch: launch.stages.get(name="Full"), {"planned_date": datetime.date(2027, 3, 1)}),
    QualityBar: (lambda launch: launch.quality_bars.get(), {"min_samples": 500}),
    EvalRun: (
        lambda launch: EvalRun.objects.get(quality_bar__launch=launch),
        {"link": "https://evals.example.com/runs/7"},
    ),
    DataAsset: (lambda launch: launch.data_assets.get(name="Help-centre articles"), {"description": "Public FAQ"}),
    SLO: (lambda launch: launch.slos.get(indicator="latency_p95"), {"dashboard_link": "https://grafana.example.com/x"}),
    SeverityLevel: (lambda launch: launch.severity_levels.get(level="P2"), {"definition": "Some answers are slow."}),
    RollbackPlan: (lambda launch: launch.rollback_plan, {"max_rehearsal_age_days": 60}),
    Runbook: (lambda launch: launch.runbook, {"content": "Page the on-call, then roll back."}),
    FeedbackChannel: (lambda launch: launch.feedback_channels.get(), {"description": "Thumbs-down in the widget"}),
    ResponsibilityArea: (lambda launch: launch.areas.get(kind="policy"), {"concerns": ["harmful_content", "privacy"]}),
    LaunchStakeholder: (
        lambda launch: launch.stakeholder_slots.get(function="legal"),
        {"stakeholder": None},
    ),
}


def reread(fact):
    return type(fact).objects.get(pk=fact.pk)


def test_every_fact_of_a_launch_has_a_service():
    """Every fact goes through the generic services, except the reason for leaving out a standard
    area, which has its own ledgered pair (raci.services.area_omission_record / _withdraw), and
    the operating record, which its Responsible and Accountable people write too
    (operations.services)."""
    facts = {
        model
        for model in apps.get_models()
        if issubclass(model, FrozenWithArchivedLaunch)
        and not model._meta.label.startswith(("approvals.", "operations."))
        and model is not AreaOmission
    }
    assert facts == set(fact_kinds())
    assert set(CHANGES) | {RaciAssignment} == facts


@pytest.mark.parametrize("model", CHANGES, ids=lambda m: m.__name__)
def test_the_owner_changes_a_fact_on_the_version_they_saw_and_history_names_them(launch, owner, model):
    find, values = CHANGES[model]
    fact = find(launch)
    before = fact_version(fact)
    fact_change(actor=owner, fact=fact, seen_version=before, values=values)
    fact = reread(fact)
    for name, value in values.items():
        assert getattr(fact, name) == value
    latest = fact.history.order_by("-history_id").first()
    assert latest.history_user == owner
    assert latest.history_change_reason.startswith("Changed") or "emptied" in latest.history_change_reason
    assert fact_version(fact) == latest.history_id > before


@pytest.mark.parametrize("model", CHANGES, ids=lambda m: m.__name__)
def test_an_edit_on_an_older_version_is_refused_naming_who_changed_it_since(launch, owner, model):
    find, values = CHANGES[model]
    fact = find(launch)
    seen = fact_version(fact)
    colleague = UserFactory(username="colleague", first_name="Mina", last_name="Park")
    touched = reread(fact)
    touched._history_user = colleague
    touched.save()  # someone else saved the fact after our editor opened it
    with pytest.raises(EditConflict, match="changed by Mina Park at .* since you opened it"):
        fact_change(actor=owner, fact=fact, seen_version=seen, values=values)
    after = reread(fact)
    assert all(getattr(after, name) == getattr(fact, name) for name in values)


def test_a_version_from_the_future_or_not_a_number_is_refused(launch, owner):
    bar = launch.quality_bars.get()
    with pytest.raises(ValidationError, match="has no version"):
        fact_change(actor=owner, fact=bar, seen_version=fact_version(bar) + 1000, values={"min_samples": 5})
    with pytest.raises(ValidationError, match="Give the version"):
        fact_change(actor=owner, fact=bar, seen_version="latest", values={"min_samples": 5})
    assert reread(bar).min_samples == 100


def test_the_versions_of_many_facts_are_read_at_once(launch, owner, django_assert_num_queries):
    stages = list(launch.stages.order_by("order"))
    fact_change(actor=owner, fact=stages[0], seen_version=fact_version(stages[0]), values={"name": "Dogfood"})
    without_history = DataAsset.objects.bulk_create([DataAsset(launch=launch, name="Bulk-created, no history")])
    with django_assert_num_queries(1):
        versions = fact_versions(RolloutStage, [stage.pk for stage in stages])
    assert versions == {stage.pk: fact_version(stage) for stage in stages}
    assert versions[stages[0].pk] > versions[stages[1].pk]  # changed last
    assert fact_versions(DataAsset, [asset.pk for asset in without_history]) == {}  # no history: version 0
    with django_assert_num_queries(0):
        assert fact_versions(RolloutStage, []) == {}


@pytest.mark.parametrize("model", CHANGES, ids=lambda m: m.__name__)
def test_a_viewer_may_not_change_a_fact_and_an_outsider_does_not_learn_it_exists(launch, viewer, outsider, model):
    find, values = CHANGES[model]
    fact = find(launch)
    with pytest.raises(PermissionDenied, match="Only the launch owner"):
        fact_change(actor=viewer, fact=fact, seen_version=fact_version(fact), values=values)
    with pytest.raises(Http404):
        fact_change(actor=outsider, fact=fact, seen_version=fact_version(fact), values=values)
    after = reread(fact)
    assert all(getattr(after, name) == getattr(fact, name) for name in values)


@pytest.mark.parametrize("model", CHANGES, ids=lambda m: m.__name__)
def test_no_fact_of_an_archived_launch_changes(launch, owner, model):
    launch_archive(actor=owner, launch=launch, seen_version=fact_version(launch), reason="Cancelled")
    find, values = CHANGES[model]
    fact = find(launch)
    with pytest.raises(ValidationError, match="archived"):
        fact_change(actor=owner, fact=fact, seen_version=fact_version(fact), values=values)


@pytest.mark.parametrize(
    ("model", "values", "message"),
    [
        (QualityBar, {"agreed_by": None}, "cannot be set here"),
        (SLO, {"proposed": []}, "cannot be set here"),
        (SLO, {"indicator": "error_rate"}, "is set once"),
        (RolloutStage, {"kind": "internal"}, "is set once"),
        (EvalRun, {"failures": 0}, "is set once"),
        (EvalRun, {"measured_version": "prompt-v8"}, "is set once"),
        (EvalRun, {"golden_set_owner": None}, "is set once"),
        (EvalRun, {"recorded_at": timezone.now()}, "cannot be set here"),
        (RolloutStage, {"launch": None}, "cannot be set here"),
    ],
)
def test_fields_a_person_may_not_set_are_refused_by_name(launch, owner, model, values, message):
    fact = CHANGES[model][0](launch)
    with pytest.raises(ValidationError, match=message) as refused:
        fact_change(actor=owner, fact=fact, seen_version=fact_version(fact), values=values)
    assert set(refused.value.message_dict) == set(values)


def test_a_bad_value_is_refused_naming_the_field_and_nothing_is_saved(launch, owner):
    stage = launch.stages.get(name="Full")
    with pytest.raises(ValidationError) as refused:
        fact_change(
            actor=owner,
            fact=stage,
            seen_version=fact_version(stage),
            values={"exposure_percent": Decimal("150"), "name": "Everyone"},
        )
    assert "exposure_percent" in refused.value.message_dict
    assert reread(stage).name == "Full"


def test_an_unchanged_value_writes_no_history(launch, owner):
    plan = launch.rollback_plan
    seen = fact_version(plan)
    fact_change(actor=owner, fact=plan, seen_version=seen, values={"one_click": plan.one_click})
    assert fact_version(plan) == seen


def test_the_owner_adds_a_fact_and_history_names_them(launch, owner):
    asset = fact_add(actor=owner, launch=launch, model=DataAsset, values={"name": "Chat transcripts"})
    assert asset.launch == launch
    assert asset.history.get().history_user == owner


def test_an_evaluation_run_for_another_launch_s_bar_is_refused(launch, owner):
    other = ready_launch(slug="other-launch", owner=owner)
    values = {
        "quality_bar": other.quality_bars.get(),
        "samples": 100,
        "failures": 1,
        "golden_set_name": "g",
        "golden_set_version": "1",
    }
    with pytest.raises(ValidationError, match="another launch than 'facts'"):
        fact_add(actor=owner, launch=launch, model=EvalRun, values=values)
    assert EvalRun.objects.filter(quality_bar__launch=other).count() == 1


def test_adding_something_that_is_not_a_fact_is_refused(launch, owner):
    with pytest.raises(ValidationError, match="is not a fact of a launch"):
        fact_add(actor=owner, launch=launch, model=Launch, values={})


def test_removing_a_fact_needs_a_reason_which_history_keeps(launch, owner):
    channel = launch.feedback_channels.get()
    with pytest.raises(ValidationError, match="Say why the feedback channel is removed"):
        fact_remove(actor=owner, fact=channel, seen_version=fact_version(channel), reason="  ")
    fact_remove(actor=owner, fact=channel, seen_version=fact_version(channel), reason="Replaced by surveys")
    assert not FeedbackChannel.objects.filter(pk=channel.pk).exists()
    gone = FeedbackChannel.history.filter(id=channel.pk).order_by("-history_id").first()
    assert (gone.history_type, gone.history_user, gone.history_change_reason) == (
        "-",
        owner,
        "Removed: Replaced by surveys",
    )


def test_the_owner_cannot_drop_a_quality_bar(launch, owner):
    bar = launch.quality_bars.get()
    with pytest.raises(ValidationError, match="only by the Accountable"):
        fact_remove(actor=owner, fact=bar, seen_version=fact_version(bar), reason="In the way")
    assert QualityBar.objects.filter(pk=bar.pk).exists()


def test_raci_rows_and_slots_go_through_the_same_door(launch, owner, viewer):
    area = launch.areas.get(kind="user_experience")
    person = StakeholderFactory(teams=[team_for("product")])
    with pytest.raises(PermissionDenied):
        raci_assign(actor=viewer, area=area, stakeholder=person, role="C")
    row = raci_assign(actor=owner, area=area, stakeholder=person, role="C")
    assert row.history.get().history_user == owner
    with pytest.raises(ValidationError, match="version"):
        raci_unassign(actor=owner, assignment=row, seen_version=None)
    raci_unassign(actor=owner, assignment=row, seen_version=fact_version(row))
    assert not RaciAssignment.objects.filter(pk=row.pk).exists()
    slot = launch.stakeholder_slots.get(function="business")
    stale = fact_version(slot)
    with pytest.raises(ValidationError, match="not in any Business team"):
        launch_stakeholder_fill(actor=owner, slot=slot, stakeholder=person, seen_version=stale)


# --- the launch row itself ---------------------------------------------------------------------------


def test_the_owner_renames_the_launch_on_the_version_they_saw(launch, owner):
    seen = fact_version(launch)
    launch_change(actor=owner, launch=launch, seen_version=seen, values={"name": "Support copilot"})
    assert reread(launch).name == "Support copilot"
    with pytest.raises(EditConflict, match="since you opened it"):
        launch_change(actor=owner, launch=launch, seen_version=seen, values={"summary": "Old page"})


def test_the_owner_records_the_version_in_service_which_decides_what_evidence_counts(launch, owner, viewer):
    with pytest.raises(PermissionDenied):
        launch_change(
            actor=viewer, launch=launch, seen_version=fact_version(launch), values={"serving_version": "prompt-v8"}
        )
    launch_change(
        actor=owner, launch=launch, seen_version=fact_version(launch), values={"serving_version": "prompt-v8"}
    )
    launch = reread(launch)
    assert launch.serving_version == "prompt-v8"
    assert launch.history.first().history_change_reason == "Changed serving version"
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    evidence = next(r for r in evaluate(facts).results if r.key == "quality_evidence")
    assert evidence.status == "fail"
    assert "but 'prompt-v8' is in service" in evidence.reasons[0]


@pytest.mark.parametrize("field", ["slug", "risk_tier", "current_stage", "archived"])
def test_the_launch_fields_the_gate_and_ledger_own_cannot_be_changed_here(launch, owner, field):
    with pytest.raises(ValidationError, match="cannot be changed here"):
        launch_change(actor=owner, launch=launch, seen_version=fact_version(launch), values={field: None})


def test_archiving_needs_the_owner_a_reason_and_the_current_version(launch, owner, viewer):
    with pytest.raises(PermissionDenied):
        launch_archive(actor=viewer, launch=launch, seen_version=fact_version(launch), reason="No")
    with pytest.raises(ValidationError, match="Say why"):
        launch_archive(actor=owner, launch=launch, seen_version=fact_version(launch), reason="")
    launch_archive(actor=owner, launch=launch, seen_version=fact_version(launch), reason="Cancelled")
    launch = reread(launch)
    assert launch.archived
    with pytest.raises(ValidationError, match="archived"):
        launch_change(actor=owner, launch=launch, seen_version=fact_version(launch), values={"name": "X"})
    launch_archive(actor=owner, launch=launch, seen_version=fact_version(launch), archived=False, reason="Back on")
    assert not reread(launch).archived


# --- the RACI of an archived launch -----------------------------------------------------------


def test_the_raci_of_an_archived_launch_cannot_change(launch, owner):
    archive(launch)
    with pytest.raises(ValidationError, match="archived"):
        raci_assign(area=launch.areas.first(), stakeholder=StakeholderFactory(), role=Role.ACCOUNTABLE, actor=owner)
