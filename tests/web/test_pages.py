"""The portfolio and the launch page: each user sees exactly the launches a role grants them (an
outsider is told a launch does not exist), user text is escaped, filters narrow the list, and the
pages run a number of queries that does not grow with the portfolio."""

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.services import signoffs_request
from raci.choices import TeamFunction
from readiness.checklist import registry
from readiness.choices import RiskTier
from readiness.evaluations import refresh_evaluations
from readiness.models import Launch
from readiness.services import launch_create
from tests.builders import ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import give_view
from tests.web.bounds import LAUNCH_PAGE_QUERIES

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker) -> dict[str, int]:
    """A ready launch with its Internal sign-offs requested (one overdue), and a small launch of
    another owner; built once per module, each test in a savepoint of its own."""
    with django_db_blocker.unblock(), transaction.atomic():
        owner = UserFactory(username="pam", first_name="Pam", last_name="Okafor")
        launch = ready_launch(owner=owner, slug="assistant", name="Support <b>assistant</b>")
        requests = signoffs_request(
            actor=owner,
            launch=launch,
            stage=launch.stages.get(name="Internal"),
            due_date=datetime.date.today() + datetime.timedelta(days=3),
        )
        other_owner = UserFactory(username="olga", first_name="Olga", last_name="Other")
        other = launch_create(actor=other_owner, name="Contract summariser", slug="contracts", risk_tier=RiskTier.HIGH)
        yield {
            "launch": launch.pk,
            "other": other.pk,
            "owner": owner.pk,
            "addressee": requests[0].addressees.first().pk,
        }
        transaction.set_rollback(True)


@pytest.fixture
def world(shared_world, db, django_user_model):
    return {
        name: (Launch if name in ("launch", "other") else django_user_model).objects.get(pk=pk)
        for name, pk in shared_world.items()
    }


def page(client, user, path="/", **params):
    client.force_login(user)
    response = client.get(path, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- the portfolio --------------------------------------------------------------------------------


def test_the_owner_sees_their_launch_with_its_readiness_and_pending_sign_offs(client, world):
    html = page(client, world["owner"])
    assert "Support &lt;b&gt;assistant&lt;/b&gt;" in html
    assert "<b>assistant</b>" not in html
    assert "Contract summariser" not in html
    assert "1 launch" in html
    assert "Blocked" in html and "Stakeholder approvals" in html
    items = len(registry.keys())  # every item but sign-offs passes, however many items there are
    assert f"{items - 1} of {items} items pass" in html
    assert "4 pending" in html


def test_an_outsider_sees_no_launch(client, world):
    html = page(client, UserFactory())
    assert "0 launches" in html
    assert "Support" not in html and "Contract" not in html


def test_an_executive_sees_every_launch(client, world):
    executive = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)]).user
    html = page(client, executive)
    assert "2 launches" in html
    assert "Contract summariser" in html and "Support &lt;b&gt;assistant" in html


def test_someone_given_a_role_sees_that_launch_only(client, world):
    viewer = give_view(UserFactory(), world["other"])
    html = page(client, viewer)
    assert "Contract summariser" in html and "Support" not in html


@pytest.mark.parametrize(
    ("params", "shown"),
    [
        ({"q": "contract"}, ["Contract summariser"]),
        ({"q": "assist"}, ["Support &lt;b&gt;assistant"]),
        ({"risk_tier": "high"}, ["Contract summariser"]),
        ({"stage": "planning"}, ["Contract summariser", "Support &lt;b&gt;assistant"]),
        ({"stage": "beta"}, []),
    ],
    ids=str,
)
def test_filters_narrow_the_portfolio(client, world, params, shown):
    executive = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)]).user
    html = page(client, executive, **params)
    for name in ("Contract summariser", "Support &lt;b&gt;assistant"):
        assert (name in html) == (name in shown), (name, params)


def test_filtering_by_owner_offers_only_owners_of_visible_launches(client, world):
    html = page(client, world["owner"], owner=world["owner"].pk)
    assert "Support &lt;b&gt;assistant" in html
    assert f'value="{world["other"].owner_id}"' not in html


def test_a_bad_filter_value_is_named_and_nothing_breaks(client, world):
    html = page(client, world["owner"], risk_tier="extreme")
    assert "Select a valid choice" in html


def test_the_header_counts_the_sign_offs_waiting_for_the_user(client, world):
    html = page(client, world["addressee"])
    assert 'title="Sign-offs waiting for you">1</span>' in html


def _launches(start: int, count: int) -> None:
    owner = UserFactory()
    for n in range(start, start + count):
        launch_create(actor=owner, name=f"Bulk {n}", slug=f"bulk-{n}")


def test_the_portfolio_runs_the_same_queries_for_a_few_or_many_launches(client, db):
    """Compared on the same kind of launches (``q=bulk``); a richer launch on the page costs the
    prefetches an empty one skips, still within the bound below."""
    executive = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)]).user
    client.force_login(executive)
    _launches(0, 3)
    client.get("/", {"q": "bulk"})  # session, content types and the like are cached from here on
    with CaptureQueriesContext(connection) as few:
        assert client.get("/", {"q": "bulk"}).status_code == 200
    _launches(3, 40)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/", {"q": "bulk"})
    assert "43 launches" in response.content.decode()
    assert "Page 1 of 2" in response.content.decode()
    assert len(many) == len(few)


def test_a_page_of_rich_launches_stays_within_the_bound(client, world, django_assert_max_num_queries):
    executive = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)]).user
    client.force_login(executive)
    client.get("/")
    # 30 before issue 11; +1: the incidents the checklist reads, +1: the feedback channels' reviews.
    with django_assert_max_num_queries(32):
        assert client.get("/").status_code == 200


# --- the launch page ------------------------------------------------------------------------------


def test_the_launch_page_shows_the_verdict_blockers_and_checklist(client, world):
    html = page(client, world["owner"], reverse("web:launch", args=["assistant"]))
    assert "Not ready to enter Internal" in html
    assert 'href="#item-stakeholders_approved"' in html
    assert "Legal sign-off has 0 of 1 fresh approvals" in html
    assert "<b>assistant</b>" not in html


def test_an_outsider_is_told_the_launch_does_not_exist(client, world):
    client.force_login(UserFactory())
    response = client.get(reverse("web:launch", args=["assistant"]))
    assert response.status_code == 404
    assert "Nothing here" in response.content.decode()
    assert "Support" not in response.content.decode()


def test_an_unknown_launch_is_a_branded_404(client, world):
    client.force_login(world["owner"])
    response = client.get(reverse("web:launch", args=["nope"]))
    assert response.status_code == 404
    assert "Nothing here" in response.content.decode()


def test_the_launch_page_runs_a_bounded_number_of_queries(client, world, django_assert_max_num_queries):
    client.force_login(world["owner"])
    client.get(reverse("web:launch", args=["assistant"]))
    with django_assert_max_num_queries(LAUNCH_PAGE_QUERIES):
        assert client.get(reverse("web:launch", args=["assistant"])).status_code == 200


def test_archived_launches_are_hidden_unless_asked_for(client, world):
    Launch.objects.filter(pk=world["other"].pk).update(archived=True)
    executive = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)]).user
    assert "Contract summariser" not in page(client, executive)
    assert "Contract summariser" in page(client, executive, show="archived")
    assert "Support &lt;b&gt;assistant" not in page(client, executive, show="archived")
    html = page(client, executive, show="all")
    assert "Contract summariser" in html and "Support &lt;b&gt;assistant" in html


def test_the_summary_draws_launches_by_stage_and_verdict_and_sign_offs_by_function(client, world):
    refresh_evaluations()
    executive = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)]).user
    html = page(client, executive)
    assert html.count('<svg class="chart" role="img"') == 2
    assert "<title>Blocked: 2</title>" in html  # both launches in planning, blocked for Internal
    assert "<title>Waiting: 4</title>" not in html  # one per function
    assert "<title>Waiting: 1</title>" in html
    assert "Verdicts as evaluated at" in html


def test_the_verdict_filter_reads_the_stored_evaluation(client, world):
    refresh_evaluations()
    executive = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)]).user
    assert "0 launches" in page(client, executive, verdict="ready")
    assert "2 launches" in page(client, executive, verdict="blocked")


def test_the_team_filter_finds_launches_its_members_work_on(client, world):
    executive = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)]).user
    legal = team_for(TeamFunction.LEGAL)
    html = page(client, executive, team=legal.pk)
    assert "Support &lt;b&gt;assistant" in html and "Contract summariser" not in html
