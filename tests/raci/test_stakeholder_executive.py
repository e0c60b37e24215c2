"""Who a person's overdue sign-offs escalate to (``Stakeholder.executive``): a reporting line that
team administrators set, in the admin or through ``stakeholder_set_executive``, with history; never
the person themselves, and only ever an executive."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from raci.choices import TeamFunction
from raci.models import Stakeholder
from tests.builders import team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import admin_url, post_data_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss():
    return StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)], title="VP Product")


@pytest.fixture
def person():
    return StakeholderFactory(teams=[team_for(TeamFunction.PRODUCT)])


def staff(client, *codenames):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_stakeholder", "change_stakeholder", *codenames])
    )
    client.force_login(user)
    return user


def test_a_team_administrator_sets_the_executive_in_the_admin_with_history(client, person, boss):
    admin = staff(client, "manage_teams")
    url = admin_url(Stakeholder, "change", person.pk)
    form = client.get(url)
    choices = {int(str(value)) for value, _label in form.context["adminform"].form.fields["executive"].choices if value}
    assert choices == {boss.pk}  # only executives are offered
    response = client.post(url, {**post_data_from(form), "executive": boss.pk})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.executive == boss
    record = person.history.first()
    assert (record.history_user, record.history_change_reason) == (admin, f"Executive: {boss.display_name}")


def test_without_manage_teams_the_executive_is_read_only(client, person, boss):
    staff(client)
    url = admin_url(Stakeholder, "change", person.pk)
    form = client.get(url)
    assert "executive" not in form.context["adminform"].form.fields
    client.post(url, {**post_data_from(form), "executive": boss.pk})
    person.refresh_from_db()
    assert person.executive is None


def test_nobody_names_their_own_executive_in_the_admin(client, boss):
    admin = staff(client, "manage_teams")
    mine = StakeholderFactory(user=admin)
    url = admin_url(Stakeholder, "change", mine.pk)
    response = client.post(url, {**post_data_from(client.get(url)), "executive": boss.pk})
    assert response.status_code == 403
    mine.refresh_from_db()
    assert mine.executive is None


def test_a_non_executive_is_refused_with_a_clear_error(client, person):
    staff(client, "manage_teams")
    lawyer = StakeholderFactory(teams=[team_for(TeamFunction.LEGAL)])
    url = admin_url(Stakeholder, "change", person.pk)
    response = client.post(url, {**post_data_from(client.get(url)), "executive": lawyer.pk})
    assert response.status_code == 200
    assert "executive" in response.context["adminform"].form.errors
    person.refresh_from_db()
    assert person.executive is None
