"""Hostile review of the notifications page (issue 10): its cost does not grow with the notices
shown, and it tells a reader no more about a launch than the notice told them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.choices import NotificationEvent
from approvals.notifications import notify
from readiness.models import Launch
from tests.factories import LaunchFactory, UserFactory

pytestmark = pytest.mark.django_db


def notices_about(launches, reader):
    for number, launch in enumerate(launches):
        notify(
            event=NotificationEvent.STAGE_ADVANCED,
            key=f"advance:{launch.pk}:{number}",
            launch=launch,
            actor=None,
            recipients=[reader],
            payload={"launch": launch.name, "from": "Planning", "to": "Internal", "person": "Olive Owner"},
            link=f"/launches/{launch.slug}/",
        )


def page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("web:notifications"))
    assert response.status_code == 200
    return len(queries)


def test_the_notifications_page_reads_a_fixed_number_of_queries_however_many_notices(client):
    reader = UserFactory(username="reader")
    client.force_login(reader)
    notices_about([LaunchFactory(slug="first")], reader)
    page_queries(client)  # the first request after signing in also touches the session
    few = page_queries(client)

    notices_about([LaunchFactory(slug=f"launch-{n}") for n in range(12)], reader)

    assert page_queries(client) == few


def test_a_notice_names_the_launch_as_it_was_told_not_its_later_name(client):
    """Someone told about a launch who has since lost sight of it must not learn its new name from
    their old notice: the page shows the name the notice was written with."""
    reader = UserFactory(username="reader")
    launch = LaunchFactory(slug="codename", name="Project Falcon")
    notices_about([launch], reader)
    Launch.objects.filter(pk=launch.pk).update(name="Acme acquisition assistant")
    client.force_login(reader)

    page = client.get(reverse("web:notifications")).content.decode()

    assert "Project Falcon" in page
    assert "Acme acquisition" not in page
