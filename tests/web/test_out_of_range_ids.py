"""A person or row id far beyond the id column's range, posted to any form that picks people or rows
(the pages and the admin), is a field error naming the choice, never a 500: SQLite raises
OverflowError on such a number and PostgreSQL may answer "out of range". Every form picks rows
through readiness.formfields, which refuses the number before the database sees it."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from approvals.services import signoffs_request
from operations.models import ActionItem, FailureReview, Incident
from operations.services import incident_report
from raci.choices import AreaKind, Role, TeamFunction
from raci.models import Stakeholder, Team
from readiness.formfields import RowChoiceField, RowsChoiceField
from tests.builders import accountable_of, ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import admin_url, post_data_from

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"
TODAY = timezone.localdate()
INVALID = "Select a valid choice."


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """A ready launch, built once per module."""
    return ready_launch().pk


def errors_of(response, field: str) -> str:
    assert response.status_code == 200, response.status_code
    return " ".join(str(e) for e in response.context["form"].errors.get(field, []))


def incident_data(**overrides):
    when = timezone.localtime(timezone.now() - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    return {
        "title": "Answers time out",
        "severity": "P1",
        "user_impact": "Half the answers failed.",
        "detected_at": when,
    } | overrides


def test_an_incident_naming_a_huge_person_id_is_a_field_error(client, launch):
    client.force_login(launch.owner)
    response = client.post(reverse("web:incident-new", args=[launch.slug]), incident_data(responders=[HUGE]))
    assert INVALID in errors_of(response, "responders")
    assert HUGE in errors_of(response, "responders")
    assert not Incident.objects.exists()


def test_a_postmortem_action_owned_by_a_huge_id_is_a_field_error(client, launch):
    now = timezone.now()
    incident = incident_report(
        actor=launch.owner,
        launch=launch,
        title="Down",
        severity="P0",
        user_impact="All answers failed.",
        detected_at=now - datetime.timedelta(hours=3),
        acknowledged_at=now - datetime.timedelta(hours=2),
        mitigated_at=now - datetime.timedelta(hours=1),
        resolved_at=now - datetime.timedelta(minutes=30),
    )
    client.force_login(launch.owner)
    response = client.post(
        reverse("web:incident-postmortem", args=[launch.slug, incident.pk]),
        {
            "summary": "Bad deploy",
            "root_cause": "No canary",
            "form-TOTAL_FORMS": "3",
            "form-INITIAL_FORMS": "0",
            "form-0-description": "Add a canary",
            "form-0-owner": HUGE,
            "form-0-due_date": (TODAY + datetime.timedelta(days=14)).isoformat(),
        },
    )
    assert response.status_code == 400  # the incident page again, with the form's errors
    assert INVALID in response.content.decode()
    assert not ActionItem.objects.exists()


@pytest.mark.parametrize("field", ["attendees", "owner_1"])
def test_a_failure_review_naming_a_huge_person_id_is_a_field_error(client, launch, field):
    ml = accountable_of(launch, AreaKind.MODEL_QUALITY)
    channel = launch.feedback_channels.first()
    data = {
        "held_on": TODAY.isoformat(),
        "attendees": [ml.pk],
        "decisions": "Add the refund cases to the golden set.",
        "action_1": "Label 200 refund conversations",
        "owner_1": ml.pk,
        "due_1": (TODAY + datetime.timedelta(days=7)).isoformat(),
    }
    data[field] = [HUGE] if field == "attendees" else HUGE
    client.force_login(launch.owner)
    response = client.post(reverse("web:failure-review-add", args=[launch.slug, channel.pk]), data)
    assert INVALID in errors_of(response, field)
    assert not FailureReview.objects.exists()


def test_delegating_to_a_huge_user_id_is_a_field_error(client, launch):
    signoff = signoffs_request(actor=launch.owner, launch=launch, stage=launch.stages.order_by("order").first())[0]
    client.force_login(signoff.addressees.first())
    response = client.post(reverse("web:delegate", args=[signoff.pk]), {"delegate": HUGE, "reason": ""})
    assert response.status_code == 200
    assert INVALID in response.content.decode()
    assert not signoff.delegations.exists()


# --- the admin ------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["teams", "executive"])
def test_a_huge_id_in_the_stakeholder_admin_is_a_field_error(superuser_client, field):
    person = StakeholderFactory(teams=[team_for(TeamFunction.PRODUCT)])
    url = admin_url(Stakeholder, "change", person.pk)
    data = post_data_from(superuser_client.get(url))
    data[field] = [HUGE] if field == "teams" else HUGE
    response = superuser_client.post(url, data)
    assert response.status_code == 200
    assert INVALID in " ".join(response.context["adminform"].form.errors[field])
    assert list(person.teams.all()) == [team_for(TeamFunction.PRODUCT)]


def test_a_huge_user_id_on_the_stakeholder_add_form_is_a_field_error(superuser_client):
    before = set(Stakeholder.objects.values_list("pk", flat=True))  # the module's launch's people
    response = superuser_client.post(admin_url(Stakeholder, "add"), {"user": HUGE, "title": "Counsel"})
    assert response.status_code == 200
    assert INVALID in " ".join(response.context["adminform"].form.errors["user"])
    assert set(Stakeholder.objects.values_list("pk", flat=True)) == before


def test_a_huge_lead_id_in_the_team_admin_is_a_field_error(superuser_client):
    team = Team.objects.create(name="Legal EU", function=TeamFunction.LEGAL)
    response = superuser_client.post(admin_url(Team, "change", team.pk), {"name": team.name, "lead": HUGE})
    assert response.status_code == 200
    assert INVALID in " ".join(response.context["adminform"].form.errors["lead"])


# --- the fields, and that every form uses them -----------------------------------------------------


@pytest.mark.parametrize("value", [HUGE, f"-{HUGE}", "9223372036854775808"])
def test_the_fields_refuse_an_id_out_of_range_without_asking_the_database(value, django_assert_num_queries):
    person = StakeholderFactory()
    one = RowChoiceField(queryset=Stakeholder.objects.all())
    many = RowsChoiceField(queryset=Stakeholder.objects.all())
    with django_assert_num_queries(0):
        assert not one.has_changed(None, None)
        for field, posted in ((one, value), (many, [str(person.pk), value])):
            with pytest.raises(Exception) as refused:
                field.clean(posted)
            assert type(refused.value).__name__ == "ValidationError"
            assert refused.value.code == "invalid_choice"
    assert one.clean(str(person.pk)) == person
    assert list(many.clean([str(person.pk)])) == [person]


def test_no_form_of_the_project_picks_rows_with_djangos_plain_fields():
    plain = re.compile(r"forms\.Model(Multiple)?ChoiceField\(")
    root = Path(settings.BASE_DIR)
    offenders = [
        str(path.relative_to(root))
        for app in ("web", "raci", "readiness", "approvals", "operations", "reports", "config")
        for path in (root / app).rglob("*.py")
        if path.name != "formfields.py" and plain.search(path.read_text())
    ]
    assert not offenders, "pick rows with readiness.formfields.RowChoiceField / RowsChoiceField: " + ", ".join(
        offenders
    )


def test_a_person_still_on_the_raci_is_accepted(client, launch):
    person = launch.areas.first().assignments.get(role=Role.ACCOUNTABLE).stakeholder
    client.force_login(launch.owner)
    response = client.post(reverse("web:incident-new", args=[launch.slug]), incident_data(responders=[person.pk]))
    assert response.status_code == 302
    assert list(Incident.objects.get().responders.all()) == [person]
    assert UserFactory  # the factories stay importable for the people above
