"""The readiness admin: every model has working pages with history, the launch form only offers its
own stages, model invariants reach the admin forms, and the launch list stays at constant queries."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from readiness.models import (
    Launch,
    LaunchEvaluation,
    LaunchGroupObjectPermission,
    LaunchUserObjectPermission,
    RolloutStage,
)
from tests.builders import ready_launch
from tests.factories import (
    DataAssetFactory,
    EvalRunFactory,
    FeedbackChannelFactory,
    LaunchFactory,
    QualityBarFactory,
    RollbackPlanFactory,
    RolloutStageFactory,
    RunbookFactory,
    SeverityLevelFactory,
    SLOFactory,
    UserFactory,
)
from tests.helpers import admin_url

FACTORIES = [
    LaunchFactory,
    RolloutStageFactory,
    QualityBarFactory,
    EvalRunFactory,
    DataAssetFactory,
    SLOFactory,
    SeverityLevelFactory,
    RollbackPlanFactory,
    RunbookFactory,
    FeedbackChannelFactory,
]
# Object permissions, and the stored evaluations (a cache the portfolio reads, not part of the record).
NOT_IN_ADMIN = {LaunchUserObjectPermission, LaunchGroupObjectPermission, LaunchEvaluation}


@pytest.mark.django_db
def test_every_readiness_model_except_object_permissions_is_registered():
    models = {
        model
        for model in apps.get_app_config("readiness").get_models()
        if not model._meta.model_name.startswith("historical")
    }
    registered = {model for model in models if admin.site.is_registered(model)}
    assert registered == models - NOT_IN_ADMIN
    assert registered == {factory._meta.model for factory in FACTORIES}


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f._meta.model.__name__)
def test_list_pages_answer_and_add_pages_are_refused(superuser_client, factory):
    """Facts are added through the services (tests/test_admin_walk.py); the admin only shows them."""
    model = factory._meta.model
    factory()

    assert superuser_client.get(admin_url(model, "changelist")).status_code == 200
    assert superuser_client.get(admin_url(model, "add")).status_code == 403


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f._meta.model.__name__)
@pytest.mark.parametrize("view", ["change", "history"])
def test_change_and_history_pages_answer(superuser_client, factory, view):
    obj = factory()

    response = superuser_client.get(admin_url(type(obj), view, obj.pk))

    assert response.status_code == 200


def test_fully_filled_launch_change_page_renders_every_inline(superuser_client):
    launch = ready_launch()

    response = superuser_client.get(admin_url(Launch, "change", launch.pk))

    assert response.status_code == 200
    prefixes = {inline.formset.prefix for inline in response.context["inline_admin_formsets"]}
    assert prefixes == {
        "stages",
        "quality_bars",
        "data_assets",
        "slos",
        "severity_levels",
        "feedback_channels",
        "rollback_plan",
        "runbook",
    }


def _quality_bar_post(launch, **overrides) -> dict:
    data = {
        "launch": launch.pk,
        "metric": "wrong_answers",
        "failure_definition": "A factually wrong answer.",
        "max_failure_rate": "0.05",
        "confidence_level": "0.95",
        "min_samples": 100,
        "agreed_by": "",
        "agreed_at_0": "",
        "agreed_at_1": "",
        "eval_runs-TOTAL_FORMS": 0,
        "eval_runs-INITIAL_FORMS": 0,
        "eval_runs-MIN_NUM_FORMS": 0,
        "eval_runs-MAX_NUM_FORMS": 1000,
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("view", ["changelist", "add"])
def test_non_staff_user_is_sent_to_login(client, db, view):
    client.force_login(UserFactory())
    url = admin_url(Launch, view)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_anonymous_user_is_sent_to_login(client, db):
    response = client.get(admin_url(Launch, "changelist"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def _launch_with_stage() -> Launch:
    launch = LaunchFactory()
    launch.current_stage = RolloutStageFactory(launch=launch)
    launch.save()
    return launch


def test_launch_changelist_runs_a_bounded_number_of_queries(superuser_client, django_assert_max_num_queries):
    for _ in range(10):
        _launch_with_stage()

    with django_assert_max_num_queries(10):
        response = superuser_client.get(admin_url(Launch, "changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count == 10


@pytest.mark.parametrize(
    "factory", [EvalRunFactory, RolloutStageFactory, QualityBarFactory, RollbackPlanFactory], ids=lambda f: f.__name__
)
def test_changelists_do_not_query_per_row(superuser_client, factory):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert superuser_client.get(admin_url(factory._meta.model, "changelist")).status_code == 200
        return len(queries)

    factory()
    count_queries()  # warm per-process caches
    one = count_queries()
    for _ in range(5):
        factory()

    assert count_queries() == one


def test_launch_changelist_does_not_query_per_row(superuser_client):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            superuser_client.get(admin_url(Launch, "changelist"))
        return len(queries)

    _launch_with_stage()
    count_queries()  # warm per-process caches
    one = count_queries()
    for _ in range(9):
        _launch_with_stage()

    assert count_queries() == one


def test_launch_autocomplete_answers_for_pickers_in_other_admins(superuser_client):
    LaunchFactory(name="Support assistant")
    LaunchFactory(name="Search ranking")

    response = superuser_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "readiness", "model_name": "rolloutstage", "field_name": "launch", "term": "support"},
    )

    assert response.status_code == 200
    assert [row["text"] for row in response.json()["results"]] == ["Support assistant"]


def test_object_permission_models_are_not_in_admin():
    assert not admin.site.is_registered(LaunchUserObjectPermission)
    assert not admin.site.is_registered(LaunchGroupObjectPermission)


def test_rollout_stage_admin_lists_the_launch(superuser_client):
    stage = RolloutStageFactory(name="Internal dogfood")

    response = superuser_client.get(admin_url(RolloutStage, "changelist"), {"q": "dogfood"})

    assert list(response.context["cl"].result_list) == [stage]
    assert stage.launch.name in response.content.decode()


def test_the_admin_is_branded_as_preflight(superuser_client):
    response = superuser_client.get("/admin/")
    assert b"Preflight administration" in response.content
    assert b"| Preflight</title>" in response.content
