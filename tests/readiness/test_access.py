"""The one helper views and the API resolve a launch through: 404 for what a user may not know of,
403 for what they may see but not do."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.exceptions import PermissionDenied
from django.http import Http404
from guardian.shortcuts import assign_perm

from raci.choices import TeamFunction
from readiness.access import CHANGE_LAUNCH, VIEW_LAUNCH, get_launch_for, get_of_launch, visible_launches
from readiness.models import EvalRun, QualityBar
from tests.factories import (
    EvalRunFactory,
    LaunchFactory,
    QualityBarFactory,
    StakeholderFactory,
    TeamFactory,
    UserFactory,
)
from tests.helpers import give_view

pytestmark = pytest.mark.django_db


@pytest.fixture
def launch(pm):
    launch = LaunchFactory(slug="assistant", owner=pm)
    assign_perm(VIEW_LAUNCH, pm, launch)
    assign_perm(CHANGE_LAUNCH, pm, launch)
    return launch


def test_the_owner_gets_the_launch_to_view_and_to_change(launch, pm):
    assert get_launch_for(pm, "assistant") == launch
    assert get_launch_for(pm, "assistant", CHANGE_LAUNCH) == launch


def test_a_stakeholder_may_view_but_changing_is_forbidden(launch):
    viewer = UserFactory()
    give_view(viewer, launch)
    assert get_launch_for(viewer, "assistant") == launch
    with pytest.raises(PermissionDenied):
        get_launch_for(viewer, "assistant", CHANGE_LAUNCH)


def test_an_executive_is_a_member_of_an_executive_team_and_views_every_launch(launch):
    executive = StakeholderFactory(teams=[TeamFactory(function=TeamFunction.EXECUTIVE)]).user
    assert get_launch_for(executive, "assistant") == launch
    assert list(visible_launches(executive)) == [launch]


def test_a_model_wide_view_grant_alone_does_not_make_an_executive(launch):
    """One definition of "executive": the team, not a permission someone ticked in the admin."""
    user = UserFactory()
    group = Group.objects.create(name="Executives")
    group.permissions.add(Permission.objects.get(codename="view_launch"))
    user.groups.add(group)
    with pytest.raises(Http404):
        get_launch_for(user, "assistant")
    assert not visible_launches(user).exists()


@pytest.mark.parametrize("who", ["outsider", "anonymous", "inactive viewer"])
def test_a_launch_one_may_not_know_of_answers_404_like_an_unknown_one(launch, who):
    user = {"outsider": UserFactory(), "anonymous": AnonymousUser(), "inactive viewer": UserFactory(is_active=False)}[
        who
    ]
    if who == "inactive viewer":
        give_view(user, launch)
    for slug in ("assistant", "no-such-launch"):
        with pytest.raises(Http404):
            get_launch_for(user, slug)


def test_a_row_of_the_launch_is_found_and_another_launch_s_is_as_unknown_as_none(launch):
    other = LaunchFactory()
    bar = QualityBarFactory(launch=launch)
    run, elsewhere = EvalRunFactory(quality_bar=bar), EvalRunFactory(quality_bar=QualityBarFactory(launch=other))
    assert get_of_launch(QualityBar.objects, launch, bar.pk) == bar
    assert get_of_launch(EvalRun.objects, launch, run.pk) == run  # through its launch_lookup, the bar
    for queryset, pk in ((EvalRun.objects, elsewhere.pk), (EvalRun.objects, 999_999), (QualityBar.objects, "x")):
        with pytest.raises(Http404):
            get_of_launch(queryset, launch, pk)
    with pytest.raises(Http404):
        get_of_launch(QualityBar.objects, other, bar.pk)
