"""The readiness admin: every model has working pages with history, the launch form only offers its
own stages, model invariants reach the admin forms, and the launch list stays at constant queries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from readiness.models import (
    EvalRun,
    Launch,
    LaunchGroupObjectPermission,
    LaunchUserObjectPermission,
    QualityBar,
    RolloutStage,
    Runbook,
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
from tests.helpers import admin_url, form_errors, post_data_from

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
NOT_IN_ADMIN = {LaunchUserObjectPermission, LaunchGroupObjectPermission}


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
@pytest.mark.parametrize("view", ["changelist", "add"])
def test_list_and_add_pages_answer(superuser_client, factory, view):
    model = factory._meta.model
    factory()

    response = superuser_client.get(admin_url(model, view))

    assert response.status_code == 200


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


def test_the_admin_cannot_move_a_launch_between_stages(superuser_client):
    """The stage changes only through the stage gate, never by editing the launch."""
    launch = LaunchFactory()
    stage = RolloutStageFactory(launch=launch)
    response = superuser_client.get(admin_url(Launch, "change", launch.pk))
    assert "current_stage" not in response.context["adminform"].form.fields
    data = post_data_from(response)
    data["current_stage"] = stage.pk

    response = superuser_client.post(admin_url(Launch, "change", launch.pk), data)

    assert response.status_code == 302
    launch.refresh_from_db()
    assert launch.current_stage is None


def test_launch_add_through_admin_creates_launch_and_history(superuser_client):
    owner = UserFactory()
    data = post_data_from(superuser_client.get(admin_url(Launch, "add")))
    data.update(name="Support assistant", slug="support-assistant", owner=owner.pk)

    response = superuser_client.post(admin_url(Launch, "add"), data)

    assert response.status_code == 302
    launch = Launch.objects.get(slug="support-assistant")
    assert launch.owner == owner
    assert launch.history.get().history_user == superuser_client.user


def test_eval_run_with_more_failures_than_samples_is_refused(superuser_client):
    bar = QualityBarFactory()
    data = {
        "quality_bar": bar.pk,
        "samples": 100,
        "failures": 101,
        "golden_set_name": "support-golden",
        "golden_set_version": "v3",
        "human_reviewed": 0,
        "run_at_0": "2025-01-15",
        "run_at_1": "10:00:00",
        "link": "",
    }

    response = superuser_client.post(admin_url(EvalRun, "add"), data)

    assert "failures" in form_errors(response)
    assert not EvalRun.objects.exists()
    assert not EvalRun.history.exists()


def test_eval_run_within_samples_is_saved(superuser_client):
    bar = QualityBarFactory()
    data = {
        "quality_bar": bar.pk,
        "samples": 100,
        "failures": 3,
        "golden_set_name": "support-golden",
        "golden_set_version": "v3",
        "human_reviewed": 0,
        "run_at_0": "2025-01-15",
        "run_at_1": "10:00:00",
        "link": "",
    }

    response = superuser_client.post(admin_url(EvalRun, "add"), data)

    assert response.status_code == 302
    assert EvalRun.objects.get().failures == 3


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


def test_quality_bar_failure_rate_above_one_is_refused(superuser_client):
    data = _quality_bar_post(LaunchFactory(), max_failure_rate="1.2")

    response = superuser_client.post(admin_url(QualityBar, "add"), data)

    assert "max_failure_rate" in form_errors(response)
    assert not QualityBar.objects.exists()


def test_quality_bar_agreed_by_without_date_is_refused(superuser_client):
    data = _quality_bar_post(LaunchFactory(), agreed_by=UserFactory().pk)

    response = superuser_client.post(admin_url(QualityBar, "add"), data)

    assert "agreed_at" in form_errors(response)
    assert not QualityBar.objects.exists()


def test_invalid_eval_run_inline_on_quality_bar_saves_nothing(superuser_client):
    bar = QualityBarFactory(max_failure_rate=Decimal("0.05"))
    data = post_data_from(superuser_client.get(admin_url(QualityBar, "change", bar.pk)))
    data.update(
        {
            "max_failure_rate": "0.02",
            "eval_runs-TOTAL_FORMS": 1,
            "eval_runs-0-samples": 10,
            "eval_runs-0-failures": 11,
            "eval_runs-0-human_reviewed": 0,
            "eval_runs-0-golden_set_name": "support-golden",
            "eval_runs-0-golden_set_version": "v3",
            "eval_runs-0-run_at_0": "2025-01-15",
            "eval_runs-0-run_at_1": "10:00:00",
        }
    )

    response = superuser_client.post(admin_url(QualityBar, "change", bar.pk), data)

    assert response.status_code == 200
    (inline,) = response.context["inline_admin_formsets"]
    assert "failures" in inline.formset.forms[0].errors
    bar.refresh_from_db()
    assert bar.max_failure_rate == Decimal("0.05")
    assert not EvalRun.objects.exists()


def test_runbook_inline_without_link_or_text_is_refused(superuser_client):
    launch = LaunchFactory()
    data = post_data_from(superuser_client.get(admin_url(Launch, "change", launch.pk)))
    data["runbook-0-last_reviewed_at"] = "2025-01-15"

    response = superuser_client.post(admin_url(Launch, "change", launch.pk), data)

    assert response.status_code == 200
    runbook_formset = next(
        inline.formset for inline in response.context["inline_admin_formsets"] if inline.formset.prefix == "runbook"
    )
    assert "link" in runbook_formset.forms[0].errors
    assert not Runbook.objects.exists()


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


def test_an_archived_launch_and_its_facts_are_read_only_in_the_admin(superuser_client):
    launch = LaunchFactory(archived=True, name="Old assistant")
    RolloutStageFactory(launch=launch)
    response = superuser_client.get(admin_url(Launch, "change", launch.pk))
    form = response.context["adminform"].form
    assert set(form.fields) == {"archived"}
    inlines = response.context["inline_admin_formsets"]
    assert len(inlines) == 8
    for inline in inlines:
        assert not inline.has_add_permission and not inline.has_change_permission and not inline.has_delete_permission


def test_the_admin_is_branded_as_preflight(superuser_client):
    response = superuser_client.get("/admin/")
    assert b"Preflight administration" in response.content
    assert b"| Preflight</title>" in response.content
