"""Breaches of the severity policy, computed by ``operations.selectors`` in a fixed number of
queries: answered late or not yet past the level's time, paged people not notified, a resolved
P0/P1 without a post-mortem, a severity the policy lacks."""

import pytest
from django.utils import timezone

from operations.selectors import BreachKind, incident_review, launch_incidents, paged_people
from raci.choices import Role
from raci.models import ResponsibilityArea
from readiness.models import SeverityLevel
from tests.factories import RaciAssignmentFactory, StakeholderFactory, UserFactory

from .conftest import ago, report

pytestmark = pytest.mark.django_db


def _paged(launch, code):
    areas = list(ResponsibilityArea.objects.filter(launch=launch).prefetch_related("assignments__stakeholder__user"))
    return paged_people(launch.severity_levels.get(level=code), areas)


def kinds(launch, incident):
    return [breach.kind for breach in incident_review(incident=incident).breaches]


def test_a_p0_answered_in_time_with_everyone_paged_has_no_breach(launch):
    everyone = _paged(launch, "P0")
    assert len(everyone) == 10  # every Responsible and Accountable of the five areas
    incident = report(launch, severity="P0", detected=ago(minutes=30), acknowledged_at=ago(minutes=20))
    assert set(incident.notified.all()) == set(everyone)  # reporting paged them
    assert kinds(launch, incident) == []


def test_a_p0_acknowledged_after_its_fifteen_minutes_is_late(launch):
    incident = report(
        launch,
        severity="P0",
        detected=ago(minutes=40),
        acknowledged_at=ago(minutes=20),
    )
    review = incident_review(incident=incident)
    assert [b.kind for b in review.breaches] == [BreachKind.LATE]
    assert "after 20 min" in review.breaches[0].message
    assert "15 min" in review.breaches[0].message


@pytest.mark.parametrize(("minutes", "late"), [(59, False), (61, True)])
def test_an_unacknowledged_p1_is_late_once_its_hour_has_passed(launch, minutes, late):
    incident = report(launch, severity="P1", detected=ago(minutes=minutes))
    assert (BreachKind.LATE in kinds(launch, incident)) is late


def test_a_p3_has_no_response_time_to_miss(launch):
    incident = report(launch, severity="P3", detected=ago(days=20))
    assert kinds(launch, incident) == []


def test_people_the_level_pages_but_nobody_notified_are_named(launch):
    incident = report(launch, severity="P2", detected=ago(minutes=5))
    paged = _paged(launch, "P2")[0]
    # Made Responsible after the report: the level pages them now, but nobody told them.
    newcomer = StakeholderFactory(user=UserFactory(username="newcomer", first_name="Nia", last_name="Newcomer"))
    RaciAssignmentFactory(area=launch.areas.order_by("pk").first(), stakeholder=newcomer, role=Role.RESPONSIBLE)
    review = incident_review(incident=incident)
    assert [b.kind for b in review.breaches] == [BreachKind.NOT_NOTIFIED]
    assert newcomer.display_name in review.breaches[0].message
    assert paged.display_name not in review.breaches[0].message


def test_a_resolved_p1_without_postmortem_is_a_breach_and_overdue_after_seven_days(launch):
    recent = report(
        launch,
        severity="P1",
        detected=ago(hours=3),
        acknowledged_at=ago(hours=3),
        mitigated_at=ago(hours=2),
        resolved_at=ago(hours=1),
    )
    old = report(
        launch,
        severity="P1",
        detected=ago(days=9),
        acknowledged_at=ago(days=9),
        mitigated_at=ago(days=9),
        resolved_at=ago(days=8),
    )
    reviews = {review.incident.pk: review for review in launch_incidents(launch=launch)}
    assert [b.kind for b in reviews[recent.pk].breaches] == [BreachKind.NO_POSTMORTEM]
    assert "due within 7 days" in reviews[recent.pk].breaches[0].message
    assert "overdue" in reviews[old.pk].breaches[0].message


def test_a_severity_missing_from_the_policy_is_a_breach(launch):
    incident = report(launch, severity="P2", detected=ago(minutes=5))
    SeverityLevel.objects.filter(launch=launch, level="P2").delete()
    assert kinds(launch, incident) == [BreachKind.NO_POLICY]


def test_reviewing_a_launch_costs_the_same_queries_for_one_or_many_incidents(
    launch, django_assert_max_num_queries, django_assert_num_queries
):
    report(launch, severity="P0")
    with django_assert_max_num_queries(8) as one:
        launch_incidents(launch=launch, now=timezone.now())
    for severity in ("P0", "P1", "P2", "P3") * 3:
        report(launch, severity=severity)
    with django_assert_num_queries(len(one.captured_queries)):
        reviews = launch_incidents(launch=launch)
        assert len(reviews) == 13
        assert all(review.pages for review in reviews)
