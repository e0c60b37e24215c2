"""The in-app notifications: the header's count (one query with the sign-off badge), the list at
/notifications/ newest first, marking one or all read; a notice is its recipient's alone. The
list's cost does not grow with the notices shown, it tells a reader no more about a launch than the
notice told them, and nobody names their own executive (where their escalations go) in the admin."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals.choices import NotificationEvent
from notifications.models import Notification
from notifications.notices import one_change
from notifications.services import notify
from raci.choices import TeamFunction
from raci.models import RaciAssignment, Stakeholder
from readiness.models import Launch
from tests.builders import team_for
from tests.factories import LaunchFactory, StakeholderFactory, UserFactory
from tests.helpers import admin_url, give_view
from web.notifications import header_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    launch = LaunchFactory(slug="assistant", name="Support <b>assistant</b>")
    reader, other = UserFactory(username="reader"), UserFactory(username="other")
    give_view(reader, launch), give_view(other, launch)  # nobody else is told anything about it
    for number, to in enumerate(["Internal", "Beta", "GA"]):
        with one_change():  # three changes, as three requests would make
            notify(
                event=NotificationEvent.STAGE_ADVANCED,
                key=f"advance:{number}",
                launch=launch,
                actor=None,
                recipients=[reader, other],
                payload={
                    "launch": launch.name,
                    "from": "planning",
                    "to": to,
                    "person": "Olive Owner",
                    "text": "<script>alert(1)</script>",
                },
                link=f"/launches/{launch.slug}/",
                waiting_for=[reader, other],  # told, not filed for a digest
            )
    # Oldest first in time: GA is the newest.
    for number, notice in enumerate(Notification.objects.filter(recipient=reader).order_by("key")):
        Notification.objects.filter(pk=notice.pk).update(
            created_at=timezone.now() - datetime.timedelta(hours=3 - number)
        )
    return {"launch": launch, "reader": reader, "other": other}


def notices(user):
    return Notification.objects.filter(recipient=user).order_by("key")


def test_the_list_shows_only_my_notifications_newest_first_escaped_and_linked(client, world):
    client.force_login(world["reader"])
    response = client.get(reverse("web:notifications"))

    assert response.status_code == 200
    rows = [row["notification"] for group in response.context["groups"] for row in group["rows"]]
    assert [n.payload["to"] for n in rows] == ["GA", "Beta", "Internal"]
    assert {n.recipient for n in rows} == {world["reader"]}
    html = response.content.decode()
    assert "Olive Owner moved Support &lt;b&gt;assistant&lt;/b&gt; from planning to GA." in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert 'href="/launches/assistant/"' in html
    assert 'href="/notifications/"' in html and "Notifications <span" in html  # the header's link and count


def test_the_list_costs_a_bounded_number_of_queries(client, world, django_assert_max_num_queries):
    client.force_login(world["reader"])
    with django_assert_max_num_queries(8):
        client.get(reverse("web:notifications"))


def test_the_header_counts_sign_offs_waiting_and_unread_notifications_in_one_query(world):
    request = RequestFactory().get("/")
    request.user = world["reader"]
    Notification.objects.filter(pk=notices(world["reader"]).first().pk).update(read_at=timezone.now())

    with CaptureQueriesContext(connection) as queries:
        shown = {name: str(count) for name, count in header_counts(request).items()}  # as a page shows them

    assert shown == {"awaiting_count": "0", "unread_notifications": "2"}
    assert len(queries) == 1


def test_the_header_counts_cost_nothing_until_a_page_shows_them(world, client):
    request = RequestFactory().get("/")
    request.user = world["reader"]

    with CaptureQueriesContext(connection) as queries:
        counts = header_counts(request)
    assert len(queries) == 0  # the admin's pages and htmx fragments never show the header

    with CaptureQueriesContext(connection) as queries:
        assert str(counts["unread_notifications"]) == "3" and not counts["awaiting_count"]
    assert len(queries) == 1


def test_marking_one_read_is_the_recipient_s_alone(client, world):
    mine = notices(world["reader"]).first()

    client.force_login(world["other"])
    assert client.post(reverse("web:notification-read", args=[mine.pk])).status_code == 404
    mine.refresh_from_db()
    assert mine.read_at is None

    client.force_login(world["reader"])
    assert client.get(reverse("web:notification-read", args=[mine.pk])).status_code == 405
    response = client.post(reverse("web:notification-read", args=[mine.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("web:notifications")
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert client.post(reverse("web:notification-read", args=[987654])).status_code == 404


def test_marking_read_with_htmx_returns_the_group_without_its_button(client, world):
    mine = notices(world["reader"]).first()
    client.force_login(world["reader"])

    response = client.post(reverse("web:notification-read", args=[mine.pk]), headers={"HX-Request": "true"})

    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith(f'<li id="notification-{mine.pk}"')
    assert "Mark as read" not in html and "<html" not in html and 'class="badge"' not in html


def test_mark_all_read_clears_my_unread_and_not_anyone_else_s(client, world):
    client.force_login(world["reader"])
    assert client.get(reverse("web:notifications")).context["unread_notifications"] == 3

    response = client.post(reverse("web:notifications-read-all"))

    assert response.status_code == 302
    assert not notices(world["reader"]).filter(read_at__isnull=True).exists()
    assert notices(world["other"]).filter(read_at__isnull=True).count() == 3
    page = client.get(reverse("web:notifications"))
    assert page.context["unread_notifications"] == 0
    assert "Mark all read" not in page.content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(client, world):
    for name, args, method in [
        ("web:notifications", [], "get"),
        ("web:notifications-read-all", [], "post"),
        ("web:notification-read", [notices(world["reader"]).first().pk], "post"),
    ]:
        response = getattr(client, method)(reverse(name, args=args))
        assert response.status_code == 302 and "sign-in" in response["Location"]
    assert notices(world["reader"]).filter(read_at__isnull=True).count() == 3


def notices_about(launches, reader):
    """A notice about each launch to ``reader``, who sees them (nobody else is told anything): news
    of other people's launches, filed for the digest and listed under "everything"."""
    for number, launch in enumerate(launches):
        give_view(reader, launch)
        notify(
            event=NotificationEvent.STAGE_ADVANCED,
            key=f"advance:{launch.pk}:{number}",
            launch=launch,
            actor=None,
            recipients=[reader],
            payload={"launch": launch.name, "from": "Planning", "to": "Internal", "person": "Olive Owner"},
            link=f"/launches/{launch.slug}/",
        )
    assert Notification.objects.filter(recipient=reader, launch__in=launches).count() == len(launches)


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
    RaciAssignment.objects.filter(stakeholder__user=reader, area__launch=launch).delete()  # sight lost
    Launch.objects.filter(pk=launch.pk).update(name="Acme acquisition assistant")
    client.force_login(reader)

    page = client.get(reverse("web:notifications")).content.decode()

    assert "Project Falcon" in page
    assert "Acme acquisition" not in page


# The escalation line cannot be set by the person it escalates about, on any admin path ----------


def test_nobody_names_their_own_executive_by_adding_their_own_stakeholder_in_the_admin(client):
    """A team administrator who owns launches and has no stakeholder row yet must not be able to add
    one for themselves with an executive of their choosing (their escalations would go there)."""
    boss = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)], title="Friendly VP")
    owner = UserFactory(is_staff=True)
    owner.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_stakeholder", "change_stakeholder", "add_stakeholder", "manage_teams"]
        )
    )
    client.force_login(owner)

    response = client.post(
        admin_url(Stakeholder, "add"), {"user": owner.pk, "title": "PM", "executive": boss.pk, "teams": []}
    )

    assert response.status_code == 403
    mine = Stakeholder.objects.filter(user=owner).first()
    assert mine is None or mine.executive_id is None


def test_a_team_administrator_adds_someone_elses_stakeholder_with_an_executive_through_the_service(client):
    boss = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)], title="VP")
    admin = UserFactory(is_staff=True)
    admin.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_stakeholder", "change_stakeholder", "add_stakeholder", "manage_teams"]
        )
    )
    client.force_login(admin)
    person = UserFactory()

    response = client.post(
        admin_url(Stakeholder, "add"), {"user": person.pk, "title": "PM", "executive": boss.pk, "teams": []}
    )

    assert response.status_code == 302
    added = Stakeholder.objects.get(user=person)
    assert added.executive == boss
    assert added.history.first().history_change_reason == f"Executive: {boss.display_name}"


def test_the_inbox_does_not_ask_for_an_acknowledgement_on_a_launch_the_person_no_longer_sees(client):
    """As the digest: a Consulted person taken off the launch cannot acknowledge (404); the inbox
    must not keep naming the launch and asking."""
    from approvals.models import Acknowledgement
    from raci.models import RaciAssignment
    from tests.builders import ready_launch
    from tests.helpers import give_view

    launch = ready_launch(slug="codename", name="Project Falcon")
    person = give_view(UserFactory(username="consulted"), launch)
    Acknowledgement.objects.create(
        launch=launch, stage=launch.stages.get(name="Internal"), user=person, requested_by=launch.owner
    )
    client.force_login(person)
    assert "Project Falcon" in client.get(reverse("web:inbox")).content.decode()

    RaciAssignment.objects.filter(stakeholder__user=person, area__launch=launch).delete()

    assert "Project Falcon" not in client.get(reverse("web:inbox")).content.decode()


# Filters, groups and marking them read (issue 20, point 7) ------------------------------------------


@pytest.fixture
def mixed(db):
    """An approver's notices: a request waiting for them (one change, two items), news of their own
    launch, and a decision on someone else's launch they merely see (filed for the digest)."""
    approver = UserFactory(username="priya", first_name="Priya", last_name="Product")
    theirs = LaunchFactory(slug="theirs", name="Their launch")
    mine = LaunchFactory(slug="mine", name="My launch", owner=approver)
    give_view(approver, theirs)
    with one_change():
        for number in range(2):
            notify(
                event=NotificationEvent.ACKNOWLEDGEMENT_REQUESTED,
                key=f"ack:{number}",
                launch=theirs,
                actor=None,
                recipients=[approver],
                payload={"launch": theirs.name, "stage": f"Stage {number}", "person": "Olive Owner"},
                link="/launches/theirs/",
            )
    with one_change():
        notify(
            event=NotificationEvent.STAGE_ROLLED_BACK,
            key="rollback:mine",
            launch=mine,
            actor=None,
            recipients=[approver],
            payload={"launch": mine.name, "from": "Beta", "to": "Internal", "person": "Sam Security"},
            link="/launches/mine/",
        )
    with one_change():
        notify(
            event=NotificationEvent.SIGNOFF_DECIDED,
            key="decision:1",
            launch=theirs,
            actor=None,
            recipients=[approver],
            payload={
                "launch": theirs.name,
                "stage": "Beta",
                "function": "legal",
                "person": "Lena Legal",
                "outcome": "approve",
            },
            link="/launches/theirs/",
        )
    return {"approver": approver, "theirs": theirs, "mine": mine}


def shown(client, show=None):
    response = client.get(reverse("web:notifications"), {"show": show} if show else {})
    assert response.status_code == 200
    return response


def events_of(response) -> list[list[str]]:
    return [[row["notification"].event for row in group["rows"]] for group in response.context["groups"]]


def test_the_page_filters_what_waits_for_me_my_launches_and_everything(client, mixed):
    client.force_login(mixed["approver"])

    assert events_of(shown(client, "waiting")) == [[NotificationEvent.ACKNOWLEDGEMENT_REQUESTED] * 2]
    assert events_of(shown(client, "mine")) == [[NotificationEvent.STAGE_ROLLED_BACK]]
    everything = shown(client)
    assert events_of(everything) == [
        [NotificationEvent.SIGNOFF_DECIDED],
        [NotificationEvent.STAGE_ROLLED_BACK],
        [NotificationEvent.ACKNOWLEDGEMENT_REQUESTED] * 2,
    ]
    assert events_of(shown(client, "nonsense")) == events_of(everything)  # an unknown filter: everything
    # The tabs count new groups; the decision on someone else's launch was filed, not counted.
    counts = {link["value"]: link["count"] for link in everything.context["filters"]}
    assert counts == {"waiting": 1, "mine": 1, "all": 2}
    assert everything.context["unread_notifications"] == 2
    html = everything.content.decode()
    assert 'href="/notifications/?show=waiting"' in html and 'aria-current="page">Everything' in html
    assert html.count('class="notification card unread"') == 2 and html.count("notification card filed") == 1
    assert "Mark these as read" in html  # the group of two


def test_the_page_speaks_korean(client, mixed):
    client.force_login(mixed["approver"])
    html = client.get(reverse("web:notifications"), headers={"accept-language": "ko"}).content.decode()
    for english in ("Waiting for me", "My launches", "Everything", "Mark these as read", "Mark all read"):
        assert english not in html


def test_marking_a_group_read_marks_all_of_it_and_nothing_else_and_again_changes_nothing(client, mixed):
    approver = mixed["approver"]
    first = Notification.objects.filter(recipient=approver, key__startswith="ack:").order_by("-created_at", "-pk")[0]
    client.force_login(approver)
    form = shown(client, "waiting").content.decode()
    action = reverse("web:notification-group-read", args=[first.pk])
    assert f'action="{action}"' in form

    response = client.post(action, {"show": "waiting"})  # what the rendered form submits

    assert response.status_code == 302 and response["Location"] == "/notifications/?show=waiting"
    unread = set(Notification.objects.filter(recipient=approver, read_at__isnull=True).values_list("key", flat=True))
    assert unread == {"rollback:mine", "decision:1"}
    read_at = Notification.objects.get(key="ack:0").read_at
    assert read_at is not None
    assert client.post(action, {"show": "waiting"}).status_code == 302  # idempotent
    assert Notification.objects.get(key="ack:0").read_at == read_at


def test_marking_a_group_read_with_htmx_redraws_it(client, mixed):
    first = Notification.objects.get(recipient=mixed["approver"], key="ack:0")
    client.force_login(mixed["approver"])

    response = client.post(reverse("web:notification-group-read", args=[first.pk]), headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.startswith('<li id="notification-')
    assert html.count('<li class="seen">') == 2 and "Mark these as read" not in html and "<html" not in html


def test_nobody_marks_someone_elses_group_read(client, mixed):
    first = Notification.objects.get(recipient=mixed["approver"], key="ack:0")
    intruder = give_view(UserFactory(username="intruder"), mixed["theirs"])
    client.force_login(intruder)

    assert client.post(reverse("web:notification-group-read", args=[first.pk])).status_code == 404
    assert client.post(reverse("web:notification-group-read", args=[987654])).status_code == 404
    assert client.get(reverse("web:notification-group-read", args=[first.pk])).status_code == 405
    assert Notification.objects.filter(recipient=mixed["approver"], read_at__isnull=False).count() == 0
    client.logout()
    response = client.post(reverse("web:notification-group-read", args=[first.pk]))
    assert response.status_code == 302 and "sign-in" in response["Location"]


def test_mark_all_shown_read_marks_only_what_the_filter_shows(client, mixed):
    approver = mixed["approver"]
    client.force_login(approver)
    assert "Mark all shown read" in shown(client, "mine").content.decode()

    response = client.post(reverse("web:notifications-read-all"), {"show": "mine"})

    assert response.status_code == 302 and response["Location"] == "/notifications/?show=mine"
    read = set(Notification.objects.filter(recipient=approver, read_at__isnull=False).values_list("key", flat=True))
    assert read == {"rollback:mine"}
    assert client.post(reverse("web:notifications-read-all"), {"show": "mine"}).status_code == 302  # idempotent
    assert Notification.objects.filter(recipient=approver, read_at__isnull=False).count() == 1
    # Someone else's "mark all" never touches the approver's notices.
    client.force_login(UserFactory(username="someone"))
    client.post(reverse("web:notifications-read-all"))
    assert Notification.objects.filter(recipient=approver, read_at__isnull=True).count() == 3


@pytest.mark.parametrize("show", ["waiting", "mine", "all"])
def test_each_filter_costs_a_bounded_number_of_queries(client, mixed, show, django_assert_max_num_queries):
    client.force_login(mixed["approver"])
    shown(client, show)
    with django_assert_max_num_queries(8):
        shown(client, show)
