"""A stakeholder row is one person: its user account never changes once the row exists. Moving the
executive's row to another account would make that account an executive (every launch in view,
waivers and policy changes to decide) without ever passing the membership services, so the admin
shows the user read-only, the model refuses the change and PostgreSQL refuses it too."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from raci.choices import TeamFunction
from raci.models import Stakeholder, Team
from tests.builders import team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import admin_url, post_data_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def executive():
    return StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)], title="VP Product")


@pytest.fixture
def team_admin(client):
    """A team administrator who is not a superuser: staff, may change people and manage teams."""
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_stakeholder", "change_stakeholder", "add_stakeholder", "manage_teams", "view_user"]
        )
    )
    client.force_login(user)
    return user


def test_a_team_administrator_cannot_take_over_the_executives_row_in_the_admin(client, team_admin, executive):
    url = admin_url(Stakeholder, "change", executive.pk)
    form = client.get(url)
    assert "user" not in form.context["adminform"].form.fields  # shown, not editable

    client.post(url, {**post_data_from(form), "user": team_admin.pk, "title": "VP Product"})

    executive.refresh_from_db()
    assert executive.user_id != team_admin.pk
    assert not Stakeholder.objects.filter(user=team_admin).exists()
    assert not team_admin.has_perm("readiness.view_launch")


def test_the_rest_of_the_row_still_changes_in_the_admin(client, team_admin, executive):
    url = admin_url(Stakeholder, "change", executive.pk)
    response = client.post(url, {**post_data_from(client.get(url)), "title": "Chief Product Officer"})
    assert response.status_code == 302
    executive.refresh_from_db()
    assert executive.title == "Chief Product Officer"


def test_a_new_stakeholder_still_chooses_its_user_in_the_admin(client, team_admin):
    newcomer = UserFactory()
    url = admin_url(Stakeholder, "add")
    form = client.get(url)
    assert "user" in form.context["adminform"].form.fields
    data = {key: value for key, value in post_data_from(form).items() if key != "teams"}  # none chosen
    response = client.post(url, {**data, "user": newcomer.pk, "title": "Counsel"})
    assert response.status_code == 302
    assert Stakeholder.objects.get(user=newcomer).title == "Counsel"


def test_the_model_refuses_another_user_on_clean_and_on_save(executive):
    original = executive.user_id
    executive.user = UserFactory()

    with pytest.raises(ValidationError) as cleaned:
        executive.full_clean()
    assert "never changes" in " ".join(cleaned.value.message_dict["user"])
    with pytest.raises(ValidationError):
        executive.save()
    assert Stakeholder.objects.get(pk=executive.pk).user_id == original


def test_a_row_built_by_hand_with_an_existing_pk_is_refused_too(executive):
    impostor = Stakeholder(pk=executive.pk, user=UserFactory(), title="VP Product")
    with pytest.raises(ValidationError):
        impostor.save()
    assert Stakeholder.objects.get(pk=executive.pk).user_id == executive.user_id


def test_saving_the_same_user_again_is_allowed(executive):
    executive = Stakeholder.objects.get(pk=executive.pk)
    executive.title = "SVP"
    executive.save()
    assert Stakeholder.objects.get(pk=executive.pk).title == "SVP"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_postgresql_refuses_a_changed_user_past_the_model(executive):
    other = UserFactory()
    with pytest.raises(DatabaseError, match="never changes"):
        with transaction.atomic():
            Stakeholder.objects.filter(pk=executive.pk).update(user=other)
    assert Stakeholder.objects.get(pk=executive.pk).user_id == executive.user_id
    Stakeholder.objects.filter(pk=executive.pk).update(title="still editable")
    assert Stakeholder.objects.get(pk=executive.pk).title == "still editable"


def test_a_team_with_members_is_not_deleted_in_the_admin(superuser_client, executive):
    """Deleting a team would drop its memberships without the membership services (and without the
    access they re-derive): members leave through team_remove_member first."""
    team = Team.objects.get(function=TeamFunction.EXECUTIVE)
    response = superuser_client.post(admin_url(Team, "delete", team.pk), {"post": "yes"})
    assert response.status_code == 403
    assert executive.teams.filter(pk=team.pk).exists()

    empty = Team.objects.create(name="Dormant", function=TeamFunction.LEGAL)
    response = superuser_client.post(admin_url(Team, "delete", empty.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Team.objects.filter(pk=empty.pk).exists()


def test_a_stakeholder_with_teams_is_not_deleted_in_the_admin(superuser_client, executive):
    response = superuser_client.post(admin_url(Stakeholder, "delete", executive.pk), {"post": "yes"})
    assert response.status_code == 403
    assert Stakeholder.objects.filter(pk=executive.pk).exists()
