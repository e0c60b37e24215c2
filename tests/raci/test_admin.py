"""The RACI admin: every model has working pages with history, open slots read "waiting to be
filled", model invariants reach the admin forms, and lists do not query per row."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from raci.choices import AreaKind, TeamFunction
from raci.models import (
    AreaOmission,
    LanguagePreference,
    LaunchStakeholder,
    RaciAssignment,
    ResponsibilityArea,
    Stakeholder,
    Team,
)
from tests.factories import (
    AreaOmissionFactory,
    LaunchStakeholderFactory,
    RaciAssignmentFactory,
    ResponsibilityAreaFactory,
    StakeholderFactory,
    TeamFactory,
    UserFactory,
)
from tests.helpers import admin_url

FACTORIES = [
    TeamFactory,
    StakeholderFactory,
    LaunchStakeholderFactory,
    ResponsibilityAreaFactory,
    RaciAssignmentFactory,
]


@pytest.mark.django_db
def test_every_raci_model_is_registered():
    models = {
        model
        for model in apps.get_app_config("raci").get_models()
        if not model._meta.model_name.startswith("historical")
    }
    assert {model for model in models if admin.site.is_registered(model)} == models
    assert models == {factory._meta.model for factory in FACTORIES} | {AreaOmission, LanguagePreference}


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f._meta.model.__name__)
def test_list_pages_answer_and_only_the_directory_can_be_added_to(superuser_client, factory):
    """Teams and people are the directory; a launch's areas, RACI rows and slots are added through
    the services (tests/test_admin_walk.py)."""
    factory()
    model = factory._meta.model

    assert superuser_client.get(admin_url(model, "changelist")).status_code == 200
    expected = 200 if model in (Team, Stakeholder) else 403
    assert superuser_client.get(admin_url(model, "add")).status_code == expected


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f._meta.model.__name__)
@pytest.mark.parametrize("view", ["change", "history"])
def test_change_and_history_pages_answer(superuser_client, factory, view):
    obj = factory()

    response = superuser_client.get(admin_url(type(obj), view, obj.pk))

    assert response.status_code == 200


# Standard areas left out are recorded through the ledgered services only: the admin shows them.


@pytest.mark.parametrize("view", ["changelist", "change", "history"])
def test_area_omission_pages_answer(superuser_client, view):
    omission = AreaOmissionFactory()
    args = () if view == "changelist" else (omission.pk,)

    response = superuser_client.get(admin_url(AreaOmission, view, *args))

    assert response.status_code == 200
    assert "Data and retrieval quality" in response.content.decode()


def test_area_omissions_cannot_be_added_changed_or_deleted_in_the_admin(superuser_client):
    omission = AreaOmissionFactory()

    shown = superuser_client.get(admin_url(AreaOmission, "change", omission.pk)).content.decode()
    assert "No retrieval: the model answers from the prompt alone." in shown

    assert superuser_client.get(admin_url(AreaOmission, "add")).status_code == 403
    assert superuser_client.get(admin_url(AreaOmission, "delete", omission.pk)).status_code == 403
    superuser_client.post(admin_url(AreaOmission, "change", omission.pk), {"reason": "Rewritten."})
    omission.refresh_from_db()
    assert omission.reason == "No retrieval: the model answers from the prompt alone."


def test_open_slot_reads_waiting_to_be_filled(superuser_client):
    LaunchStakeholderFactory(function=TeamFunction.LEGAL, stakeholder=None)
    LaunchStakeholderFactory(
        function=TeamFunction.SECURITY,
        stakeholder=StakeholderFactory(user=UserFactory(first_name="Sam", last_name="Sec")),
    )

    response = superuser_client.get(admin_url(LaunchStakeholder, "changelist"))

    content = response.content.decode()
    assert "waiting to be filled" in content
    assert "Sam Sec" in content


def test_open_slot_filter_lists_only_unfilled_slots(superuser_client):
    open_slot = LaunchStakeholderFactory(stakeholder=None)
    LaunchStakeholderFactory()

    response = superuser_client.get(admin_url(LaunchStakeholder, "changelist"), {"stakeholder__isempty": "1"})

    assert list(response.context["cl"].result_list) == [open_slot]


def _area_post(launch, **overrides) -> dict:
    data = {
        "launch": launch.pk,
        "kind": AreaKind.CUSTOM,
        "name": "Escalations",
        "concerns": '["escalation"]',
        "assignments-TOTAL_FORMS": 0,
        "assignments-INITIAL_FORMS": 0,
        "assignments-MIN_NUM_FORMS": 0,
        "assignments-MAX_NUM_FORMS": 1000,
    }
    data.update(overrides)
    return data


def test_stakeholder_search_finds_people_by_name(superuser_client):
    ada = StakeholderFactory(user=UserFactory(username="alovelace", first_name="Ada", last_name="Lovelace"))
    StakeholderFactory(user=UserFactory(username="ghopper", first_name="Grace", last_name="Hopper"))

    by_name = superuser_client.get(admin_url(Stakeholder, "changelist"), {"q": "lovelace"})
    by_username = superuser_client.get(admin_url(Stakeholder, "changelist"), {"q": "alove"})

    assert list(by_name.context["cl"].result_list) == [ada]
    assert list(by_username.context["cl"].result_list) == [ada]


def test_stakeholder_teams_are_edited_with_a_horizontal_filter(superuser_client):
    stakeholder = StakeholderFactory(teams=[TeamFactory(name="Legal")])

    response = superuser_client.get(admin_url(Stakeholder, "change", stakeholder.pk))

    assert "selectfilter" in response.content.decode()


def test_team_filter_by_function(superuser_client):
    legal = TeamFactory(name="Counsel", function=TeamFunction.LEGAL)
    TeamFactory(name="Ranking", function=TeamFunction.ML)

    response = superuser_client.get(admin_url(Team, "changelist"), {"function__exact": TeamFunction.LEGAL})

    assert list(response.context["cl"].result_list) == [legal]


def test_stakeholder_autocomplete_answers(superuser_client):
    StakeholderFactory(user=UserFactory(first_name="Ada", last_name="Lovelace"))

    response = superuser_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "raci", "model_name": "raciassignment", "field_name": "stakeholder", "term": "ada"},
    )

    assert response.status_code == 200
    assert [row["text"] for row in response.json()["results"]] == ["Ada Lovelace"]


@pytest.mark.parametrize("view", ["changelist", "add"])
def test_non_staff_user_is_sent_to_login(client, db, view):
    client.force_login(UserFactory())

    response = client.get(admin_url(RaciAssignment, view))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def _stakeholder_with_teams() -> Stakeholder:
    return StakeholderFactory(teams=[TeamFactory(), TeamFactory()])


@pytest.mark.parametrize(
    "make",
    [_stakeholder_with_teams, LaunchStakeholderFactory, RaciAssignmentFactory, ResponsibilityAreaFactory],
    ids=lambda f: f.__name__,
)
def test_changelists_do_not_query_per_row(superuser_client, make, django_assert_max_num_queries):
    model = type(make())

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert superuser_client.get(admin_url(model, "changelist")).status_code == 200
        return len(queries)

    count_queries()  # warm per-process caches
    one = count_queries()
    for _ in range(9):
        make()

    with django_assert_max_num_queries(10):
        assert count_queries() == one


def test_area_page_renders_assignments_without_a_query_per_row(superuser_client):
    area = ResponsibilityAreaFactory()

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert superuser_client.get(admin_url(ResponsibilityArea, "change", area.pk)).status_code == 200
        return len(queries)

    RaciAssignmentFactory(area=area)
    count_queries()  # warm the content-type cache
    one = count_queries()
    for _ in range(4):
        RaciAssignmentFactory(area=area)

    # Read-only rows are rendered from the inline's own query (with their people).
    assert count_queries() == one
