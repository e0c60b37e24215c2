"""The launch's people on its page: stakeholder slots, the RACI grid (areas × people, violations
marked, each cell edited in place with htmx through raci.services), the standard areas left out
with a reason, and whom each severity level pages. Viewers see the grid without controls; anyone
but the owner who posts is refused and nothing is saved."""

import pytest
from django.urls import reverse

from raci.choices import AreaKind, Role, TeamFunction
from raci.models import AreaOmission, LaunchStakeholder, RaciAssignment, ResponsibilityArea, Stakeholder
from raci.services import raci_set_roles
from readiness.models import Launch
from readiness.services import EditConflict, fact_remove, fact_version
from tests.builders import accountable_of, ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import give_view
from tests.web.bounds import LAUNCH_PAGE_QUERIES

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    launch = ready_launch(owner=UserFactory(username="pam", first_name="Pam", last_name="Okafor"), slug="raci")
    StakeholderFactory(user=UserFactory(username="newcomer", first_name="Nia", last_name="Newcomer"))
    return launch.pk


@pytest.fixture
def owner(client, launch):
    client.force_login(launch.owner)
    return client


@pytest.fixture
def newcomer(db) -> Stakeholder:
    return Stakeholder.objects.get(user__username="newcomer")


def url(name: str, launch: Launch, *args) -> str:
    return reverse(f"web:{name}", args=[launch.slug, *args])


def area_of(launch: Launch, kind: str) -> ResponsibilityArea:
    return launch.areas.get(kind=kind)


def cell_url(launch: Launch, area: ResponsibilityArea, person: Stakeholder) -> str:
    return url("raci-cell", launch, area.pk, person.pk)


def roles_of(area: ResponsibilityArea, person: Stakeholder) -> set[str]:
    return set(RaciAssignment.objects.filter(area=area, stakeholder=person).values_list("role", flat=True))


# --- the grid on the launch page -------------------------------------------------------------------


def test_the_grid_shows_areas_by_people_with_their_roles_and_cell_controls_for_the_owner(owner, launch):
    response = owner.get(url("launch", launch))
    page = response.content.decode()
    grid = response.context["raci"]
    assert [row.area.name for row in grid["rows"]] == [area.name for area in launch.areas.order_by("pk")]
    quality = area_of(launch, AreaKind.MODEL_QUALITY)
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY)
    row = next(row for row in grid["rows"] if row.area == quality)
    cell = next(cell for cell in row.cells if cell.id == f"cell-{quality.pk}-{accountable.pk}")
    assert cell.roles == [("A", "Accountable")]
    assert 'id="raci"' in page and '<abbr title="Accountable">A</abbr>' in page
    assert f'hx-get="{cell_url(launch, quality, accountable)}"' in page
    assert grid["problems"] == [] and 'class="violation"' not in page
    # Slot holders are columns too, so the owner can give them a role in place.
    slot_holder = LaunchStakeholder.objects.filter(launch=launch).first().stakeholder
    assert slot_holder in grid["people"]


def test_a_viewer_sees_the_grid_without_controls(client, launch):
    viewer = give_view(UserFactory(), launch)
    client.force_login(viewer)
    page = client.get(url("launch", launch)).content.decode()
    assert "RACI matrix" in page
    assert "hx-get" not in page
    assert url("fact-add", launch, "responsibilityarea") not in page


def test_rule_violations_mark_the_row_and_the_cell_of_the_person_they_are_about(owner, launch):
    quality = area_of(launch, AreaKind.MODEL_QUALITY)
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY)
    accountable.teams.clear()  # no longer serves ML: may not answer for model quality
    responsible = quality.assignments.get(role=Role.RESPONSIBLE)
    fact_remove(actor=launch.owner, fact=responsible, seen_version=fact_version(responsible), reason="Left")
    response = owner.get(url("launch", launch))
    row = next(row for row in response.context["raci"]["rows"] if row.area == quality)
    assert row.problems == [
        f"Area '{quality.name}': Accountable {accountable.display_name} is not in any ML team.",
        f"Area '{quality.name}' has no Responsible.",
    ]
    assert [cell.id for cell in row.cells if cell.flagged] == [f"cell-{quality.pk}-{accountable.pk}"]
    assert f"{accountable.display_name} on {quality.name} (breaks a RACI rule)" in response.content.decode()
    page = response.content.decode()
    assert 'class="violation"' in page and "cell flagged" in page
    assert f"Area &#x27;{quality.name}&#x27; has no Responsible." in page


def test_blockers_link_to_where_they_are_fixed(owner, launch):
    page = owner.get(url("launch", launch)).content.decode()
    # Nobody has requested sign-offs: item 1 blocks, and links to the sign-offs section.
    assert '<a href="#signoffs-heading">1. Stakeholder approvals</a>' in page
    assert 'id="facts-qualitybar"' in page and 'id="facts-severitylevel"' in page


def test_each_severity_level_shows_whom_it_pages_area_by_area(owner, launch):
    response = owner.get(url("launch", launch))
    section = next(s for s in response.context["fact_sections"] if s.get("name") == "severitylevel")
    p0 = next(row for row in section["rows"] if row["fact"].level == "P0")
    quality = area_of(launch, AreaKind.MODEL_QUALITY)
    paged = dict(p0["reaches"])[quality.name]
    for assignment in quality.assignments.filter(role__in=[Role.ACCOUNTABLE, Role.RESPONSIBLE]):
        assert assignment.stakeholder.display_name in paged
    assert "Pages:" in response.content.decode()


# --- editing a cell in place -------------------------------------------------------------------------


def test_opening_a_cell_with_htmx_returns_the_cell_as_a_small_form(owner, launch, newcomer):
    quality = area_of(launch, AreaKind.MODEL_QUALITY)
    fragment = owner.get(cell_url(launch, quality, newcomer), **HTMX).content.decode()
    assert fragment.lstrip().startswith(f'<td id="cell-{quality.pk}-{newcomer.pk}"')
    assert 'hx-post="' in fragment and 'name="roles"' in fragment
    assert "<html" not in fragment
    # Without JavaScript the same URL is a page of its own.
    page = owner.get(cell_url(launch, quality, newcomer)).content.decode()
    assert "<html" in page and "Roles of Nia Newcomer on" in page


def test_saving_a_cell_with_htmx_assigns_and_redraws_the_section_the_verdict_and_the_checklist(owner, launch, newcomer):
    quality = area_of(launch, AreaKind.MODEL_QUALITY)
    response = owner.post(cell_url(launch, quality, newcomer), {"roles": ["C", "I"]}, **HTMX)
    assert response.status_code == 200
    assert roles_of(quality, newcomer) == {"C", "I"}
    assert RaciAssignment.objects.filter(area=quality, stakeholder=newcomer).first().history.get().history_user == (
        launch.owner
    )
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<section id="raci"')
    assert 'id="verdict" hx-swap-oob="true"' in fragment and 'id="checklist" hx-swap-oob="true"' in fragment
    # The edited cell takes the keyboard focus back.
    assert f'hx-get="{cell_url(launch, quality, newcomer)}" autofocus' in fragment


def test_saving_a_cell_without_htmx_redirects_to_the_grid(owner, launch, newcomer):
    quality = area_of(launch, AreaKind.MODEL_QUALITY)
    response = owner.post(cell_url(launch, quality, newcomer), {"roles": ["I"]})
    assert response.status_code == 302 and response.url.endswith("#raci")
    assert roles_of(quality, newcomer) == {"I"}


def test_unticking_a_role_takes_it_away_as_of_the_version_shown(owner, launch):
    quality = area_of(launch, AreaKind.MODEL_QUALITY)
    person = quality.assignments.get(role=Role.RESPONSIBLE).stakeholder
    form = owner.get(cell_url(launch, quality, person), **HTMX).context["form"]
    versions = {name: field.initial for name, field in form.fields.items() if name.startswith("v")}
    response = owner.post(cell_url(launch, quality, person), {"roles": [], **versions}, **HTMX)
    assert response.status_code == 200
    assert roles_of(quality, person) == set()
    assert "has no Responsible" in response.content.decode()  # the redrawn grid marks the area


def test_a_role_given_since_the_cell_was_opened_is_never_taken_away_unseen(owner, launch, newcomer):
    quality = area_of(launch, AreaKind.MODEL_QUALITY)
    # The owner opened the empty cell; meanwhile someone made the newcomer Informed there.
    raci_set_roles(actor=launch.owner, area=quality, stakeholder=newcomer, roles={"I"}, seen_versions={})
    response = owner.post(cell_url(launch, quality, newcomer), {"roles": ["C"]}, **HTMX)
    assert response.status_code == 200
    assert roles_of(quality, newcomer) == {"I"}  # nothing changed, not even the C
    assert "after you opened this" in response.content.decode()
    assert response["HX-Retarget"] == f"#cell-{quality.pk}-{newcomer.pk}"


def test_a_role_changed_since_its_version_was_shown_is_refused(owner, launch, newcomer):
    quality = area_of(launch, AreaKind.MODEL_QUALITY)
    (informed,) = raci_set_roles(actor=launch.owner, area=quality, stakeholder=newcomer, roles={"I"}, seen_versions={})
    response = owner.post(
        cell_url(launch, quality, newcomer), {"roles": [], f"v{informed.pk}": fact_version(informed) - 1}, **HTMX
    )
    assert roles_of(quality, newcomer) == {"I"}
    assert response.context["form"].non_field_errors()


def test_an_accountable_who_does_not_serve_the_function_is_refused_and_named(owner, launch, newcomer):
    quality = area_of(launch, AreaKind.MODEL_QUALITY)
    response = owner.post(cell_url(launch, quality, newcomer), {"roles": ["A"]}, **HTMX)
    assert response.status_code == 200
    assert roles_of(quality, newcomer) == set()
    assert "Nia Newcomer is not in any ML team" in response.content.decode()


def test_an_unknown_role_is_named_and_nothing_is_saved(owner, launch, newcomer):
    quality = area_of(launch, AreaKind.MODEL_QUALITY)
    response = owner.post(cell_url(launch, quality, newcomer), {"roles": ["I", "X"]}, **HTMX)
    assert "roles" in response.context["form"].errors
    assert roles_of(quality, newcomer) == set()


def test_a_viewer_cannot_edit_a_cell(client, launch, newcomer):
    viewer = give_view(UserFactory(), launch)
    client.force_login(viewer)
    quality = area_of(launch, AreaKind.MODEL_QUALITY)
    assert client.get(cell_url(launch, quality, newcomer)).status_code == 403
    assert client.post(cell_url(launch, quality, newcomer), {"roles": ["A"]}, **HTMX).status_code == 403
    assert roles_of(quality, newcomer) == set()


def test_an_outsider_gets_404_and_nothing_is_saved(client, launch, newcomer):
    client.force_login(UserFactory())
    quality = area_of(launch, AreaKind.MODEL_QUALITY)
    assert client.post(cell_url(launch, quality, newcomer), {"roles": ["I"]}).status_code == 404
    assert roles_of(quality, newcomer) == set()


def test_an_area_of_another_launch_answers_404(owner, launch, newcomer):
    other = ready_launch(owner=launch.owner, slug="other")
    foreign = area_of(other, AreaKind.MODEL_QUALITY)
    assert owner.post(cell_url(launch, foreign, newcomer), {"roles": ["I"]}).status_code == 404
    assert roles_of(foreign, newcomer) == set()


def test_the_service_refuses_someone_who_is_not_the_owner(launch, newcomer):
    from django.core.exceptions import PermissionDenied

    quality = area_of(launch, AreaKind.MODEL_QUALITY)
    give_view(newcomer.user, launch)
    with pytest.raises(PermissionDenied):
        raci_set_roles(actor=newcomer.user, area=quality, stakeholder=newcomer, roles={"C"}, seen_versions={})
    with pytest.raises(EditConflict):
        person = quality.assignments.get(role=Role.RESPONSIBLE).stakeholder
        raci_set_roles(actor=launch.owner, area=quality, stakeholder=person, roles=set(), seen_versions={})
    assert roles_of(quality, newcomer) == {"I"}  # only what give_view made it


# --- areas, slots and omissions through forms -----------------------------------------------------------


def test_an_area_is_added_with_its_concerns_typed_as_a_list(owner, launch):
    response = owner.post(
        url("fact-add", launch, "responsibilityarea"),
        {"kind": AreaKind.CUSTOM, "name": "Billing", "concerns": "invoice_accuracy, , refunds "},
    )
    assert response.status_code == 302 and response.url.endswith("#raci")
    assert launch.areas.get(name="Billing").concerns == ["invoice_accuracy", "refunds"]
    form = owner.get(url("fact-change", launch, "responsibilityarea", launch.areas.get(name="Billing").pk))
    assert 'value="invoice_accuracy, refunds"' in form.content.decode()


def test_a_second_area_of_a_standard_kind_is_refused_by_field(owner, launch):
    response = owner.post(
        url("fact-add", launch, "responsibilityarea"), {"kind": AreaKind.POLICY, "name": "Policy 2", "concerns": ""}
    )
    assert response.status_code == 200
    assert "already has an area of this kind" in str(response.context["form"].errors)
    assert not launch.areas.filter(name="Policy 2").exists()


def test_a_slot_is_filled_only_from_people_of_its_function(owner, launch, newcomer):
    slot = LaunchStakeholder.objects.filter(launch=launch, function=TeamFunction.LEGAL).first()
    response = owner.get(url("fact-change", launch, "launchstakeholder", slot.pk))
    choices = list(response.context["form"].fields["stakeholder"].queryset)
    assert choices and all(person.teams.filter(function=TeamFunction.LEGAL).exists() for person in choices)
    assert newcomer not in choices
    response = owner.post(
        url("fact-change", launch, "launchstakeholder", slot.pk),
        {"stakeholder": newcomer.pk, "seen_version": fact_version(slot)},
    )
    assert response.status_code == 200 and "stakeholder" in response.context["form"].errors
    assert LaunchStakeholder.objects.get(pk=slot.pk).stakeholder != newcomer
    lawyer = StakeholderFactory(teams=[team_for(TeamFunction.LEGAL)])
    response = owner.post(
        url("fact-change", launch, "launchstakeholder", slot.pk),
        {"stakeholder": lawyer.pk, "seen_version": fact_version(slot)},
    )
    assert response.status_code == 302
    assert LaunchStakeholder.objects.get(pk=slot.pk).stakeholder == lawyer


def test_a_missing_standard_area_is_left_out_with_a_reason_and_withdrawn(owner, launch):
    area = area_of(launch, AreaKind.DATA_RETRIEVAL)
    for assignment in area.assignments.all():
        fact_remove(actor=launch.owner, fact=assignment, seen_version=fact_version(assignment), reason="No retrieval")
    fact_remove(actor=launch.owner, fact=area, seen_version=fact_version(area), reason="No retrieval")
    page = owner.get(url("launch", launch))
    assert page.context["raci"]["missing"] == [(AreaKind.DATA_RETRIEVAL, "Data and retrieval quality")]
    assert f"{url('omission-record', launch)}?kind=data_retrieval" in page.content.decode()

    refused = owner.post(url("omission-record", launch), {"kind": AreaKind.DATA_RETRIEVAL, "reason": "  "})
    assert "reason" in refused.context["form"].errors and not AreaOmission.objects.filter(launch=launch).exists()
    wrong_kind = owner.post(url("omission-record", launch), {"kind": AreaKind.POLICY, "reason": "Nope"})
    assert "kind" in wrong_kind.context["form"].errors

    done = owner.post(
        url("omission-record", launch), {"kind": AreaKind.DATA_RETRIEVAL, "reason": "Answers use no retrieval."}
    )
    assert done.status_code == 302
    omission = AreaOmission.objects.get(launch=launch)
    assert omission.recorded_by == launch.owner
    page = owner.get(url("launch", launch)).content.decode()
    assert "“Answers use no retrieval.”" in page

    stale = owner.post(
        url("omission-withdraw", launch, omission.pk), {"seen_version": fact_version(omission) + 1, "reason": "x"}
    )
    assert stale.status_code == 200 and AreaOmission.objects.filter(pk=omission.pk).exists()
    withdrawn = owner.post(
        url("omission-withdraw", launch, omission.pk), {"seen_version": fact_version(omission), "reason": "We do now."}
    )
    assert withdrawn.status_code == 302 and not AreaOmission.objects.filter(pk=omission.pk).exists()


def test_only_the_owner_records_or_withdraws_an_omission(client, launch):
    viewer = give_view(UserFactory(), launch)
    client.force_login(viewer)
    assert client.post(url("omission-record", launch), {"kind": "policy", "reason": "x"}).status_code == 403
    client.force_login(UserFactory())
    assert client.post(url("omission-record", launch), {"kind": "policy", "reason": "x"}).status_code == 404
    assert not AreaOmission.objects.filter(launch=launch).exists()


def test_the_launch_page_runs_a_bounded_number_of_queries(owner, launch, django_assert_max_num_queries):
    with django_assert_max_num_queries(LAUNCH_PAGE_QUERIES):
        owner.get(url("launch", launch))
