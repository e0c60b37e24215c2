"""A rollout stage with sign-off requests on record is not removed: the page answers why and keeps
the stage and its record (before, decided requests made the removal a 500 and undecided ones were
deleted with the stage). A stage nobody has asked sign-offs for is still removed. Each test starts
from the module's ready launch (``tests/web/conftest.py``)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from approvals.models import SignoffDecision, SignoffRequest
from approvals.services import signoffs_request
from readiness.models import RolloutStage
from readiness.services import fact_remove, fact_version
from tests.builders import approve_signoffs

pytestmark = pytest.mark.django_db

REFUSAL = "has sign-off requests on record, so it is not removed: the record is kept"


def remove(client, launch, stage):
    client.force_login(launch.owner)
    return client.post(
        reverse("web:fact-remove", args=[launch.slug, "rolloutstage", stage.pk]),
        {"seen_version": fact_version(stage), "reason": "We skip this stage"},
    )


def first_stage(launch) -> RolloutStage:
    return launch.stages.order_by("order").first()


def test_a_stage_with_decided_sign_offs_is_refused_naming_why_and_kept(client, launch):
    stage = first_stage(launch)
    approve_signoffs(launch, stage.name)
    decisions = SignoffDecision.objects.count()

    response = remove(client, launch, stage)

    assert response.status_code == 200
    assert f"Stage &#x27;{stage.name}&#x27; {REFUSAL}" in response.content.decode()
    assert RolloutStage.objects.filter(pk=stage.pk).exists()
    assert SignoffDecision.objects.count() == decisions


def test_a_stage_with_open_requests_is_refused_and_the_requests_are_kept(client, launch):
    stage = first_stage(launch)
    requests = signoffs_request(actor=launch.owner, launch=launch, stage=stage)

    response = remove(client, launch, stage)

    assert response.status_code == 200
    assert REFUSAL in response.content.decode()
    assert SignoffRequest.objects.filter(stage=stage).count() == len(requests)


def test_the_service_refuses_it_for_every_caller(launch):
    stage = first_stage(launch)
    signoffs_request(actor=launch.owner, launch=launch, stage=stage)
    with pytest.raises(ValidationError) as refused:
        fact_remove(actor=launch.owner, fact=stage, seen_version=fact_version(stage), reason="Skip")
    assert REFUSAL in " ".join(refused.value.message_dict["fact"])


def test_a_stage_without_sign_offs_is_still_removed(client, launch):
    stage = launch.stages.order_by("order").last()

    response = remove(client, launch, stage)

    assert response.status_code == 302
    assert not RolloutStage.objects.filter(pk=stage.pk).exists()
