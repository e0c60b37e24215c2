"""The heavy pages kept per person (web/page_cache.py): a page seen again costs a handful of
queries, yet a committed change, another person, a message to show, the header's counts and the
passing of time each get a fresh page; off (0) with DEBUG on, as in development."""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from readiness.services import fact_version, launch_change
from tests.factories import UserFactory
from tests.helpers import give_view
from web.page_cache import CSRF_TOKEN, SUBMISSION_KEY

pytestmark = pytest.mark.django_db

# Session, user and the versions (web.page_cache.versions): all a page served from the cache asks.
CACHED_PAGE_QUERIES = 3
# A decision recorded from its page: the service reads the facts; the page does not read them again.
DECISION_POST_QUERIES = 90  # 109 when the page read the facts as well


@pytest.fixture
def page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 30
    caches["pages"].clear()
    yield
    caches["pages"].clear()


def seen_twice(client, url: str) -> str:
    """Seen once (and kept), then again (from the cache when it is on)."""
    client.get(url)
    return client.get(url).content.decode()


def test_it_is_off_with_debug_on():
    assert settings.PAGE_CACHE_SECONDS == 0


@pytest.mark.parametrize("name", ["web:portfolio", "web:launch", "web:inbox"])
def test_a_page_seen_again_is_served_whole_from_the_cache(
    page_cache, client, launch, name, django_assert_max_num_queries
):
    url = reverse(name, args=[launch.slug] if name == "web:launch" else [])
    client.force_login(launch.owner)
    first = seen_twice(client, url)

    with django_assert_max_num_queries(CACHED_PAGE_QUERIES):
        again = client.get(url)

    assert again.status_code == 200
    assert without_tokens(again.content.decode()) == without_tokens(first)


def without_tokens(page: str) -> str:
    """The page without its CSRF tokens and submission keys, which differ on every answer."""
    return SUBMISSION_KEY.sub(rb"\1-\2", CSRF_TOKEN.sub(rb"\1-\2", page.encode())).decode()


def test_another_session_of_the_same_person_gets_the_page_with_a_token_of_its_own(page_cache, launch):
    url = reverse("web:launch", args=[launch.slug])
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(launch.owner)
    seen_twice(first, url)
    second.force_login(launch.owner)

    page = second.get(url).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"', page).group(1)

    refused = second.post(reverse("web:notifications-read-all"), {"csrfmiddlewaretoken": "x" * 64})
    accepted = second.post(reverse("web:notifications-read-all"), {"csrfmiddlewaretoken": token})
    assert (refused.status_code, accepted.status_code) == (403, 302)


def test_without_the_cache_every_visit_renders_again(client, launch, django_assert_max_num_queries):
    url = reverse("web:launch", args=[launch.slug])
    client.force_login(launch.owner)
    seen_twice(client, url)

    with pytest.raises(pytest.fail.Exception), django_assert_max_num_queries(CACHED_PAGE_QUERIES):
        client.get(url)


def test_a_committed_change_shows_at_once(page_cache, client, launch):
    url = reverse("web:launch", args=[launch.slug])
    client.force_login(launch.owner)
    assert "Support assistant" in seen_twice(client, url)

    launch_change(actor=launch.owner, launch=launch, seen_version=fact_version(launch), values={"name": "Renamed"})

    page = client.get(url).content.decode()
    assert "Renamed" in page and "Support assistant" not in page


def test_nobody_is_served_another_person_s_page(page_cache, client, launch):
    url = reverse("web:launch", args=[launch.slug])
    client.force_login(launch.owner)
    assert 'id="request-signoffs"' in seen_twice(client, url)

    client.force_login(give_view(UserFactory(), launch))
    assert 'id="request-signoffs"' not in seen_twice(client, url)
    client.force_login(UserFactory())  # an outsider: the launch does not exist for them
    assert client.get(url).status_code == 404


def test_a_person_who_lost_access_is_never_served_the_kept_page(page_cache, client, launch):
    """Grants are taken away by sync_launch_access, which writes no ledger entry of its own: the
    key follows the person's grants, so the kept page is not served once they are gone."""
    from readiness.models import LaunchUserObjectPermission

    url = reverse("web:launch", args=[launch.slug])
    reader = give_view(UserFactory(), launch)
    client.force_login(reader)
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200  # kept

    LaunchUserObjectPermission.objects.filter(user=reader).delete()

    assert client.get(url).status_code == 404
    assert launch.name not in client.get(reverse("web:portfolio")).content.decode()


def rendered_afresh(client, url: str, django_assert_max_num_queries) -> bool:
    """Whether the page is rendered again (more queries than a kept page costs)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries) > CACHED_PAGE_QUERIES


def test_what_decides_that_a_person_sees_every_launch_gives_fresh_pages(page_cache, client, launch):
    """Joining an executive team, a team becoming or ceasing to be an executive one, and the
    superuser flag each change what the portfolio shows, ledger or not."""
    from raci.choices import TeamFunction
    from tests.factories import TeamFactory

    url = reverse("web:portfolio")
    person = give_view(UserFactory(), launch)
    client.force_login(person)
    client.get(url)
    assert not rendered_afresh(client, url, None)  # kept

    team = TeamFactory(function=TeamFunction.LEGAL)
    person.stakeholder.teams.add(team)
    assert rendered_afresh(client, url, None)
    assert not rendered_afresh(client, url, None)

    type(team).objects.filter(pk=team.pk).update(function=TeamFunction.EXECUTIVE)
    assert rendered_afresh(client, url, None)
    assert not rendered_afresh(client, url, None)

    type(person).objects.filter(pk=person.pk).update(is_superuser=True)
    assert rendered_afresh(client, url, None)


def test_a_kept_page_never_hands_out_a_form_s_submission_key_twice(page_cache, client, launch):
    """A key served twice would make the second form's action a replay of the first's: a
    sign-out, say, answered from the stored redirect while the session stays signed in."""
    url = reverse("web:launch", args=[launch.slug])
    client.force_login(launch.owner)
    keys = re.compile(r'name="submission" value="([^"]+)"')
    first = keys.findall(client.get(url).content.decode())
    again = keys.findall(client.get(url).content.decode())  # from the cache
    assert first and len(again) == len(first)
    assert not set(first) & set(again)
    assert len(set(again)) == len(again)


def test_a_cache_that_cannot_answer_renders_the_page_instead(client, launch, settings):
    """PAGE_CACHE_URL's Redis down (a real Redis client, nothing listening): the pages render as
    without a cache, never an error. (Changing CACHES makes Django build its caches afresh.)"""
    settings.PAGE_CACHE_SECONDS = 30
    settings.CACHES = {
        **settings.CACHES,
        "pages": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"},
    }
    client.force_login(launch.owner)
    for name in ("web:portfolio", "web:launch", "web:inbox"):
        url = reverse(name, args=[launch.slug] if name == "web:launch" else [])
        assert client.get(url).status_code == 200
        assert client.get(url).status_code == 200


def test_a_message_is_shown_once_and_its_page_is_not_kept(page_cache, client, launch):
    url = reverse("web:launch", args=[launch.slug])
    client.force_login(launch.owner)
    seen_twice(client, url)
    edit = reverse("web:edit-launch", args=[launch.slug])
    form = client.get(edit).context["form"]
    data = {name: getattr(value, "pk", value) for name, value in form.initial.items() if value is not None}
    data.update(name="Renamed", summary="A summary.")

    assert client.post(edit, data).status_code == 302

    assert "Saved the launch." in client.get(url).content.decode()
    again = client.get(url).content.decode()
    assert "Saved the launch." not in again and "Renamed" in again


def test_a_page_is_rendered_again_once_it_was_kept_its_time(page_cache, client, launch, django_assert_max_num_queries):
    url = reverse("web:portfolio")
    client.force_login(launch.owner)
    with time_machine.travel(datetime.datetime(2026, 12, 1, 12, 0, 1, tzinfo=datetime.UTC), tick=False) as traveller:
        seen_twice(client, url)
        with django_assert_max_num_queries(CACHED_PAGE_QUERIES):
            client.get(url)
        traveller.shift(datetime.timedelta(seconds=31))
        with pytest.raises(pytest.fail.Exception), django_assert_max_num_queries(CACHED_PAGE_QUERIES):
            client.get(url)


def test_a_post_is_never_answered_from_the_cache(page_cache, client, launch):
    client.force_login(launch.owner)
    seen_twice(client, reverse("web:portfolio"))

    assert client.post(reverse("web:portfolio")).status_code == 405


# --- the decision POST reads the launch's facts once (the service's read, under its lock) -------


def _decision_post(client, launch):
    from approvals.services import signoffs_request

    signoff = signoffs_request(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"))[0]
    addressee = signoff.addressees.first()
    client.force_login(addressee)
    url = reverse("web:decide", args=[signoff.pk])
    shown = client.get(url).context["form"].initial["fingerprint"]
    return signoff, url, shown


def test_a_recorded_decision_reads_the_facts_once_and_redirects(client, launch, django_assert_max_num_queries):
    from approvals.models import SignoffDecision

    signoff, url, shown = _decision_post(client, launch)

    with django_assert_max_num_queries(DECISION_POST_QUERIES):
        response = client.post(url, {"outcome": "approve", "fingerprint": shown})

    assert response.status_code == 302 and response.url == reverse("web:inbox")
    assert SignoffDecision.objects.get(request=signoff).fingerprint == shown


def test_a_refused_decision_still_shows_the_page_with_the_reason(client, launch):
    from approvals.models import SignoffDecision

    signoff, url, shown = _decision_post(client, launch)

    response = client.post(url, {"outcome": "reject", "fingerprint": shown})  # a rejection needs a comment

    assert response.status_code == 200
    assert "A comment is required to reject." in response.content.decode()
    assert f'name="fingerprint" value="{shown}"' in response.content.decode()
    assert not SignoffDecision.objects.filter(request=signoff).exists()


def test_the_header_s_unread_count_follows_a_new_notice_and_reading_it(page_cache, client, launch):
    from notifications.models import Notification

    url = reverse("web:portfolio")
    client.force_login(launch.owner)
    badge = 'title="Unread notifications">'
    assert badge not in seen_twice(client, url)

    Notification.objects.create(event="signoff_decided", key="k1", recipient=launch.owner, group_key="g1")
    assert f"{badge}1</span>" in client.get(url).content.decode()

    assert client.post(reverse("web:notifications-read-all")).status_code == 302
    assert badge not in client.get(url).content.decode()
