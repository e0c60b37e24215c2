"""Every registered model admin either is read-only or saves through the services: the admin is a
window onto the record, never a way around the rules the services keep."""

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.test import RequestFactory

from raci.models import Stakeholder, Team
from readiness.models import Launch
from tests.builders import ready_launch
from tests.helpers import admin_url

# Admins that may write, and the service each write goes through (asserted below by behaviour).
SERVICE_BACKED = {
    Team: "team_set_lead for the lead; a team's function is fixed once it exists",
    Stakeholder: "team_add_member / team_remove_member for team membership",
    User: "accounts are the directory, not launch facts",
    Group: "accounts are the directory, not launch facts",
    # django-axes' sign-in throttling records: deleting an attempt is how an administrator lifts a
    # lockout; none of them is part of the governance record.
    AccessAttempt: "sign-in throttling, not launch facts",
    AccessFailureLog: "sign-in throttling, not launch facts",
    AccessLog: "sign-in throttling, not launch facts",
}


def _admins():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.fixture
def superuser_request(db, django_user_model):
    request = RequestFactory().get("/admin/")
    request.user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    return request


@pytest.mark.parametrize(("model", "model_admin"), _admins(), ids=lambda value: getattr(value, "__name__", ""))
def test_every_admin_is_read_only_or_service_backed(superuser_request, model, model_admin):
    if model in SERVICE_BACKED:
        return
    assert not model_admin.has_add_permission(superuser_request), model._meta.label
    assert not model_admin.has_change_permission(superuser_request), model._meta.label
    assert not model_admin.has_delete_permission(superuser_request), model._meta.label
    for inline_class in model_admin.inlines:
        inline = inline_class(model, admin.site)
        assert not inline.has_add_permission(superuser_request, None), inline_class.__name__
        assert not inline.has_change_permission(superuser_request), inline_class.__name__
        assert not inline.has_delete_permission(superuser_request), inline_class.__name__


def test_a_launch_fact_posted_to_the_admin_is_refused_and_unchanged(superuser_client):
    launch = ready_launch(slug="admin-walk")
    bar = launch.quality_bars.get()
    response = superuser_client.post(
        admin_url(type(bar), "change", bar.pk),
        {"metric": bar.metric, "failure_definition": "x", "max_failure_rate": "0.5", "launch": launch.pk},
    )
    assert response.status_code == 403
    bar.refresh_from_db()
    assert str(bar.max_failure_rate) == "0.05000"
    page = superuser_client.get(admin_url(Launch, "change", launch.pk))
    assert page.status_code == 200  # still viewable, with its history


def test_a_team_lead_set_in_the_admin_goes_through_the_service(superuser_client, django_user_model):
    from tests.factories import StakeholderFactory

    team = Team.objects.create(name="Legal EU", function="legal")
    member = StakeholderFactory(teams=[team])
    response = superuser_client.post(
        admin_url(Team, "change", team.pk), {"name": team.name, "lead": member.pk}, follow=False
    )
    assert response.status_code == 302, response.content[:500]
    team.refresh_from_db()
    assert team.lead == member
    assert team.history.order_by("-history_id").first().history_change_reason == f"Lead: {member.display_name}"
    response = superuser_client.post(
        admin_url(Team, "change", team.pk), {"name": team.name, "function": "product", "lead": member.pk}
    )
    team.refresh_from_db()
    assert team.function == "legal"
