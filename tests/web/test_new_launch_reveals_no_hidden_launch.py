"""Starting a launch tells nobody about launches they cannot see. Slugs are unique across all
launches, so a short name the person chose would be refused ("taken") exactly when a launch they
cannot see holds it, and a suffix added only on a clash would say the same. The page derives the
slug from the name with a random suffix, always: the same answer whatever exists out of sight."""

import re

import pytest
from django.urls import reverse

from readiness.access import can_view
from readiness.models import Launch
from readiness.services.launches import new_launch_slug
from tests.builders import ready_launch
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW = {"name": "Claims triage", "summary": "", "risk_tier": "high", "target_date": "", "template": "blank"}
DERIVED = re.compile(r"^claims-triage-[0-9a-f]{6}$")


def start(client, **changes):
    response = client.post(reverse("web:new-launch"), {**NEW, **changes})
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    return Launch.objects.exclude(owner__username="pam").get(name=changes.get("name", NEW["name"]))


def answer_of(client, response_launch) -> tuple:
    page = client.get(reverse("web:launch", args=[response_launch.slug]))
    return page.status_code, bool(DERIVED.match(response_launch.slug))


@pytest.mark.parametrize("hidden", [False, True], ids=["nothing hidden", "a hidden launch holds the name"])
def test_an_outsider_gets_the_same_answer_whether_or_not_a_hidden_launch_holds_the_name(client, hidden):
    if hidden:
        secret = ready_launch(owner=UserFactory(username="pam"), slug="claims-triage", name="Claims triage")
    outsider = UserFactory()
    client.force_login(outsider)

    # The old page's short-name field, posted as before: it chooses nothing any more.
    launch = start(client, slug="claims-triage")

    assert DERIVED.match(launch.slug)
    assert launch.owner == outsider
    assert answer_of(client, launch) == (200, True)
    if hidden:
        assert not can_view(outsider, secret)
        assert client.get(reverse("web:launch", args=["claims-triage"])).status_code == 404


def test_two_launches_of_one_name_each_get_their_own_slug(client):
    client.force_login(UserFactory())
    first = start(client)
    first.name = "Claims triage (old)"
    first.save()
    second = start(client)
    assert first.slug != second.slug
    assert DERIVED.match(second.slug)


def test_the_page_no_longer_asks_for_a_short_name(client):
    client.force_login(UserFactory())
    page = client.get(reverse("web:new-launch")).content.decode()
    assert 'name="slug"' not in page
    assert 'name="name"' in page


@pytest.mark.parametrize(
    ("name", "stem"),
    [("Claims triage", "claims-triage"), ("상담 도우미", "launch"), ("A" * 200, "a" * 60), ("--Q&A bot--", "qa-bot")],
)
def test_the_slug_is_the_name_as_a_slug_plus_a_random_suffix(name, stem):
    slug = new_launch_slug(name)
    assert re.fullmatch(rf"{re.escape(stem)}-[0-9a-f]{{6}}", slug), slug
    assert len(slug) <= Launch._meta.get_field("slug").max_length


def test_a_suffix_already_taken_is_drawn_again(monkeypatch):
    ready_launch(slug="claims-triage-aaaaaa")
    draws = iter(["aaaaaa", "bbbbbb"])
    monkeypatch.setattr("readiness.services.launches.secrets.token_hex", lambda n: next(draws))
    assert new_launch_slug("Claims triage") == "claims-triage-bbbbbb"
