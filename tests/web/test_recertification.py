"""Operations health on the pages (issue 11, points 5 and 6): the launch page's banner when the stage
the launch is in no longer holds, with links to its items; the portfolio's column and filter; the
serving-version history; Korean; outsiders see nothing of it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from approvals.recertification import recertify
from readiness.models import Launch
from readiness.services import fact_version, launch_change
from tests.builders import SERVING_VERSION, launch_at, ready_launch
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def shared_lapsed(module_transaction) -> int:
    """A launch in Internal whose new serving version made the stage lapse, and two more of its
    owner's (not recertified since they were built), built once per module."""
    launch = launch_at("Internal", slug="lapsed", name="Lapsed assistant")
    launch_change(
        actor=launch.owner, launch=launch, seen_version=fact_version(launch), values={"serving_version": "prompt-v8"}
    )
    recertify()
    # Two more of the owner's, for the portfolio: one in Internal, where it holds, and one planned.
    launch_at("Internal", owner=launch.owner, slug="holding", name="Holding assistant")
    ready_launch(owner=launch.owner, slug="planning", name="Planned assistant")
    return launch.pk


@pytest.fixture
def lapsed(shared_lapsed, db) -> Launch:
    """The module's lapsed launch, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.select_related("owner").get(pk=shared_lapsed)


def page(client, user, path: str, language: str = "en") -> str:
    client.force_login(user)
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def test_the_launch_page_shows_the_lapse_with_links_to_its_items(client, lapsed):
    html = page(client, lapsed.owner, reverse("web:launch", args=[lapsed.slug]))
    assert 'id="stage-health"' in html
    assert "In Internal — no longer holds: 1 reason" in html
    assert '<a href="#item-stakeholders_approved">1. Stakeholder approvals</a>' in html
    assert 'id="item-stakeholders_approved"' in html  # the link lands on the checklist item


def test_a_stage_that_holds_shows_no_banner_only_when_it_was_recertified(client):
    launch = launch_at("Internal")
    html = page(client, launch.owner, reverse("web:launch", args=[launch.slug]))
    assert 'id="stage-health"' not in html  # not judged yet: nothing to say
    recertify()
    html = page(client, launch.owner, reverse("web:launch", args=[launch.slug]))
    assert "Internal still holds (recertified" in html
    assert "no longer holds" not in html


def test_the_launch_page_lists_the_version_history(client, lapsed):
    html = page(client, lapsed.owner, reverse("web:launch", args=[lapsed.slug]))
    assert "Version history" in html
    assert f"{SERVING_VERSION} → prompt-v8 by {lapsed.owner.username}" in html
    assert "(in Internal)" in html


def test_the_version_history_escapes_what_the_owner_typed(client, lapsed):
    launch_change(
        actor=lapsed.owner,
        launch=lapsed,
        seen_version=fact_version(lapsed),
        values={"serving_version": "<script>alert(1)</script>"},
    )
    html = page(client, lapsed.owner, reverse("web:launch", args=[lapsed.slug]))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_portfolio_shows_each_launch_s_operations_health(client, lapsed):
    recertify()
    html = page(client, lapsed.owner, reverse("web:portfolio"))
    rows = {
        name: row for row in html.split("<tr>")[2:] for name in re.findall(r'href="/launches/[^"]+/">([^<]+)<', row)
    }
    assert "no longer holds: 1 reason" in rows["Lapsed assistant"]
    assert f'href="/launches/{lapsed.slug}/#stage-health"' in rows["Lapsed assistant"]
    assert "Stakeholder approvals" in rows["Lapsed assistant"]
    assert ">holds<" in rows["Holding assistant"]
    assert "not launched" in rows["Planned assistant"]


def test_an_archived_launch_shows_no_lapse_it_is_no_longer_judged(client, lapsed):
    from readiness.services import launch_archive

    launch_archive(actor=lapsed.owner, launch=lapsed, seen_version=fact_version(lapsed), reason="Retired")
    html = page(client, lapsed.owner, reverse("web:launch", args=[lapsed.slug]))
    assert 'id="stage-health"' not in html
    html = page(client, lapsed.owner, reverse("web:portfolio") + "?show=archived")
    assert "no longer holds" not in html and "health-archived" in html


@pytest.mark.parametrize(
    ("health", "shown"),
    [
        ("lapsed", {"Lapsed assistant"}),
        ("holds", {"Holding assistant"}),
        ("not_launched", {"Planned assistant"}),
        ("", {"Lapsed assistant", "Holding assistant", "Planned assistant"}),
    ],
)
def test_the_portfolio_filters_by_operations_health(client, lapsed, health, shown):
    client.force_login(lapsed.owner)
    response = client.get(reverse("web:portfolio"), {"health": health})
    assert {launch.name for launch, _verdict, _health in response.context["entries"]} == shown


def test_an_unknown_health_is_refused_by_the_filter_not_an_error(client, lapsed):
    client.force_login(lapsed.owner)
    response = client.get(reverse("web:portfolio"), {"health": "bogus"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_the_banner_and_the_column_speak_korean(client, lapsed):
    html = page(client, lapsed.owner, reverse("web:launch", args=[lapsed.slug]), "ko")
    banner = html.split('id="stage-health"')[1].split("</section>")[0]
    assert HANGUL.search(banner.split("</h2>")[0])
    assert "no longer holds" not in banner
    portfolio = page(client, lapsed.owner, reverse("web:portfolio"), "ko")
    assert "no longer holds" not in portfolio
    assert "Operations health" not in portfolio


def test_outsiders_see_nothing_of_the_launch_s_health(client, lapsed):
    outsider = UserFactory()
    client.force_login(outsider)
    assert client.get(reverse("web:launch", args=[lapsed.slug])).status_code == 404
    html = client.get(reverse("web:portfolio"), {"health": "lapsed"}).content.decode()
    assert "Lapsed assistant" not in html
