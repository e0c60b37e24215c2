"""Every launch URL of the web app, present and future, answers 404 to someone who may not see the
launch, whether they read it or post to it, and nothing is saved: the URL patterns are walked, so a
new page cannot forget the check."""

import pytest
from django.db import transaction
from django.urls import URLPattern, reverse

from readiness.models import Launch
from tests.builders import ready_launch
from tests.factories import UserFactory
from web import urls as web_urls

pytestmark = pytest.mark.django_db

SAMPLE_ARGUMENTS = {"int": 1, "string": "slo"}


def launch_patterns() -> list[URLPattern]:
    return [p for p in web_urls.urlpatterns if "slug" in p.pattern.converters]


@pytest.fixture(scope="module")
def shared_launch(django_db_setup, django_db_blocker) -> int:
    with django_db_blocker.unblock(), transaction.atomic():
        yield ready_launch(slug="private").pk
        transaction.set_rollback(True)


def test_the_walk_covers_the_launch_pages():
    names = {pattern.name for pattern in launch_patterns()}
    assert {"launch", "history", "raci-cell", "fact-add", "edit-launch", "advance"} <= names


@pytest.mark.parametrize("pattern", launch_patterns(), ids=lambda pattern: pattern.name)
def test_an_outsider_gets_404_reading_or_posting(client, shared_launch, pattern):
    launch = Launch.objects.get(pk=shared_launch)
    kwargs = {
        name: launch.slug
        if name == "slug"
        else SAMPLE_ARGUMENTS[type(converter).__name__.removesuffix("Converter").lower()]
        for name, converter in pattern.pattern.converters.items()
    }
    path = reverse(f"web:{pattern.name}", kwargs=kwargs)
    client.force_login(UserFactory())
    history_rows = launch.history.count()
    assert client.get(path).status_code in (404, 405), path
    assert client.post(path, {"reason": "x", "seen_version": 1, "roles": ["A"]}).status_code in (404, 405), path
    assert launch.history.count() == history_rows
