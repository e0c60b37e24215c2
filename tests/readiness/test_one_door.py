"""One door for every change: whatever the admin (or any other path) does to a launch leaves it in
the state the services would — grants follow the owner, an archived launch's facts stay as they
were on every page, the rules that bind the gate cannot be edited around it, and a launch in the
ledger can neither be deleted nor renamed."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from guardian.shortcuts import get_perms

from approvals.models import StagePolicy
from approvals.services import policy_set_requirement
from ledger.models import LedgerEntry
from raci.models import RaciAssignment, ResponsibilityArea
from readiness.models import (
    SLO,
    DataAsset,
    EvalRun,
    FeedbackChannel,
    Launch,
    QualityBar,
    RollbackPlan,
    RolloutStage,
    Runbook,
    SeverityLevel,
)
from readiness.services import fact_add, fact_version, launch_archive, launch_change, launch_create
from tests.builders import advance_to, ready_launch
from tests.factories import DataAssetFactory, LaunchFactory, UserFactory
from tests.helpers import admin_url

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """A ready launch, built once per module."""
    return ready_launch(slug="one-door").pk


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    """The module's launch, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.select_related("owner").get(pk=shared_launch)


def test_an_owner_handing_the_launch_over_takes_the_grants_with_them(db):
    old, new = UserFactory(username="old-owner"), UserFactory(username="new-owner")
    launch = launch_create(actor=old, name="Handover", slug="handover")

    launch_change(actor=old, launch=launch, seen_version=fact_version(launch), values={"owner": new})

    launch.refresh_from_db()
    assert set(get_perms(new, launch)) == {"view_launch", "change_launch"}
    assert get_perms(old, launch) == []


def test_the_admin_neither_adds_nor_changes_a_launch(superuser_client):
    launch = LaunchFactory(slug="shown")
    assert superuser_client.get(admin_url(Launch, "add")).status_code == 403
    page = superuser_client.get(admin_url(Launch, "change", launch.pk))
    assert page.status_code == 200
    assert not page.context["adminform"].form.fields  # every field is shown read-only


def test_the_slug_and_risk_tier_of_a_launch_are_read_only_once_it_exists(launch, superuser_client):
    fields = superuser_client.get(admin_url(Launch, "change", launch.pk)).context["adminform"].form.fields
    assert "slug" not in fields and "risk_tier" not in fields


FACT_PAGES = [
    (RolloutStage, lambda launch: launch.stages.first()),
    (QualityBar, lambda launch: launch.quality_bars.first()),
    (EvalRun, lambda launch: EvalRun.objects.filter(quality_bar__launch=launch).first()),
    (DataAsset, lambda launch: launch.data_assets.first()),
    (SLO, lambda launch: launch.slos.first()),
    (SeverityLevel, lambda launch: launch.severity_levels.first()),
    (RollbackPlan, lambda launch: launch.rollback_plan),
    (Runbook, lambda launch: launch.runbook),
    (FeedbackChannel, lambda launch: launch.feedback_channels.first()),
    (ResponsibilityArea, lambda launch: launch.areas.first()),
    (RaciAssignment, lambda launch: RaciAssignment.objects.filter(area__launch=launch).first()),
]


@pytest.mark.parametrize("model, fact_of", FACT_PAGES, ids=[model.__name__ for model, _ in FACT_PAGES])
def test_every_page_for_a_fact_of_an_archived_launch_is_read_only(launch, superuser_client, model, fact_of):
    Launch.objects.filter(pk=launch.pk).update(archived=True)
    fact = fact_of(Launch.objects.get(pk=launch.pk))
    response = superuser_client.get(admin_url(model, "change", fact.pk))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert not response.context["has_delete_permission"]
    assert superuser_client.post(admin_url(model, "delete", fact.pk), {"post": "yes"}).status_code == 403


def test_a_fact_cannot_be_added_to_an_archived_launch_through_the_service(launch):
    launch_archive(actor=launch.owner, launch=launch, seen_version=fact_version(launch), reason="Cancelled")

    with pytest.raises(ValidationError, match="archived"):
        fact_add(actor=launch.owner, launch=launch, model=DataAsset, values={"name": "Smuggled in"})

    assert not DataAsset.objects.filter(name="Smuggled in").exists()


def test_facts_of_an_archived_launch_cannot_change_through_any_door(launch):
    asset = DataAssetFactory(launch=launch, name="Later")
    Launch.objects.filter(pk=launch.pk).update(archived=True)
    asset = DataAsset.objects.get(pk=asset.pk)
    asset.classification = "public"
    with pytest.raises(Exception, match="archived"):
        asset.full_clean()


def test_policies_are_read_only_in_the_admin(launch, superuser_client):
    policy_set_requirement(
        actor=launch.owner, stage=launch.stages.get(name="Beta"), function="qa", approvals_required=1
    )
    policy = StagePolicy.objects.get()
    response = superuser_client.get(admin_url(StagePolicy, "change", policy.pk))
    assert not response.context["has_change_permission"]
    assert superuser_client.get(admin_url(StagePolicy, "add")).status_code == 403


def test_an_entered_stage_keeps_its_kind_and_exposure(launch, superuser_client):
    launch = advance_to(launch, "Internal")
    internal = launch.stages.get(name="Internal")
    fields = superuser_client.get(admin_url(RolloutStage, "change", internal.pk)).context["adminform"].form.fields
    assert {"kind", "exposure_percent", "order", "gating_checks"}.isdisjoint(fields)

    internal.exposure_percent = 100
    with pytest.raises(Exception, match="can no longer change"):
        internal.full_clean()
    beta = launch.stages.get(name="Beta")  # not entered yet: still the owner's plan to change
    beta.exposure_percent = 20
    beta.full_clean()


def test_a_launch_in_the_ledger_cannot_be_deleted_in_the_admin(launch, superuser_client):
    launch = advance_to(launch, "Internal")
    response = superuser_client.post(admin_url(Launch, "delete", launch.pk), {"post": "yes"})
    assert response.status_code == 403
    assert Launch.objects.filter(pk=launch.pk).exists()
    assert LedgerEntry.objects.filter(launch=launch).exists()
