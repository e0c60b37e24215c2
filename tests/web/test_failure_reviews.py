"""Failure reviews on the launch page: each channel's counts, reviews, open actions and cadence;
the owner and the RACI's Responsible/Accountable record them, an action's owner marks it done;
viewers are refused (403), outsiders told nothing exists (404), and nothing is saved."""

import datetime

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from operations.models import FailureCount, FailureReview, ReviewAction
from operations.services import failure_review_record
from raci.choices import AreaKind, Role
from readiness.choices import FeedbackKind
from readiness.models import FeedbackChannel, Launch
from tests.builders import accountable_of, launch_at, ready_launch
from tests.factories import FeedbackChannelFactory, UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker) -> dict[str, int]:
    with django_db_blocker.unblock(), transaction.atomic():
        launch = launch_at("Internal")
        FeedbackChannel.objects.filter(launch=launch).update(created_at=timezone.now() - datetime.timedelta(days=30))
        other = ready_launch(slug="other", name="Other launch")
        ml = accountable_of(launch, AreaKind.MODEL_QUALITY)
        yield {
            "launch": launch.pk,
            "owner": launch.owner_id,
            "ml": ml.user_id,
            "responsible": launch.areas.get(kind=AreaKind.MODEL_QUALITY)
            .assignments.get(role=Role.RESPONSIBLE)
            .stakeholder.user_id,
            "viewer": give_view(UserFactory(), launch).pk,
            "outsider": UserFactory().pk,
            "other_channel": other.feedback_channels.get().pk,
        }
        transaction.set_rollback(True)


@pytest.fixture
def world(shared_world, db, django_user_model):
    users = {
        k: django_user_model.objects.get(pk=v) for k, v in shared_world.items() if k not in ("launch", "other_channel")
    }
    return {
        **users,
        "launch": Launch.objects.get(pk=shared_world["launch"]),
        "other_channel": shared_world["other_channel"],
    }


def channel(world) -> FeedbackChannel:
    return world["launch"].feedback_channels.get()


def review_url(world, channel_pk=None) -> str:
    return reverse("web:failure-review-add", args=[world["launch"].slug, channel_pk or channel(world).pk])


def count_url(world) -> str:
    return reverse("web:failure-count-add", args=[world["launch"].slug, channel(world).pk])


def review_data(world, **changes) -> dict:
    ml = accountable_of(world["launch"], AreaKind.MODEL_QUALITY)
    return {
        "held_on": TODAY.isoformat(),
        "attendees": [ml.pk],
        "decisions": "Add the <b>refund</b> cases to the golden set.",
        "action_1": "Label 200 refund conversations",
        "owner_1": ml.pk,
        "due_1": (TODAY + datetime.timedelta(days=7)).isoformat(),
        **changes,
    }


def page(client, user, world) -> str:
    client.force_login(user)
    response = client.get(reverse("web:launch", args=[world["launch"].slug]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_missed_cadence_is_marked_on_the_page_and_in_the_checklist(client, world):
    html = page(client, world["owner"], world)
    assert 'id="failure-reviews"' in html
    assert "Review missed." in html
    assert "no weekly failure review has been held since it was recorded" in html


def test_the_owner_records_a_review_with_an_action_and_the_miss_clears(client, world):
    client.force_login(world["owner"])
    response = client.post(review_url(world), review_data(world))
    assert response.status_code == 302 and response.url.endswith("#failure-reviews")
    review = FailureReview.objects.get()
    assert review.actions.get().description == "Label 200 refund conversations"
    html = page(client, world["owner"], world)
    assert "Review missed." not in html
    assert "Add the &lt;b&gt;refund&lt;/b&gt; cases" in html  # user text escaped
    assert "Label 200 refund conversations" in html and "Mark done" in html


def test_a_responsible_person_records_a_review_too(client, world):
    client.force_login(world["responsible"])
    assert client.post(review_url(world), review_data(world)).status_code == 302
    assert FailureReview.objects.get().recorded_by == world["responsible"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"attendees": []}, "This field is required."),
        ({"held_on": (TODAY + datetime.timedelta(days=1)).isoformat()}, "Record a review once it has been held"),
        ({"owner_1": ""}, "Give action 1 a description, an owner and a due date"),
        ({"decisions": ""}, "This field is required."),
    ],
)
def test_bad_input_is_named_and_nothing_is_saved(client, world, changes, message):
    client.force_login(world["owner"])
    response = client.post(review_url(world), review_data(world, **changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not FailureReview.objects.exists() and not ReviewAction.objects.exists()


def test_a_viewer_sees_no_controls_and_is_refused_on_the_server(client, world):
    html = page(client, world["viewer"], world)
    assert "Record a review" not in html
    client.force_login(world["viewer"])
    assert client.get(review_url(world)).status_code == 403
    assert client.post(review_url(world), review_data(world)).status_code == 403
    assert client.post(count_url(world), {"period_start": TODAY, "period_end": TODAY, "cases": 3}).status_code == 403
    assert not FailureReview.objects.exists() and not FailureCount.objects.exists()


def test_an_outsider_is_told_nothing_exists(client, world):
    client.force_login(world["outsider"])
    assert client.get(review_url(world)).status_code == 404
    assert client.post(review_url(world), review_data(world)).status_code == 404
    assert not FailureReview.objects.exists()


def test_another_launchs_channel_is_not_found_through_this_launch(client, world):
    client.force_login(world["owner"])
    assert client.post(review_url(world, world["other_channel"]), review_data(world)).status_code == 404
    assert not FailureReview.objects.exists()


def test_failure_cases_are_counted_and_listed(client, world):
    client.force_login(world["owner"])
    start = TODAY - datetime.timedelta(days=7)
    response = client.post(count_url(world), {"period_start": start, "period_end": TODAY, "cases": 17})
    assert response.status_code == 302
    assert FailureCount.objects.get().cases == 17
    assert '<td data-label="Failure cases">17</td>' in page(client, world["owner"], world)


def test_a_count_ending_before_it_starts_is_named_and_not_saved(client, world):
    client.force_login(world["owner"])
    response = client.post(
        count_url(world), {"period_start": TODAY, "period_end": TODAY - datetime.timedelta(days=1), "cases": 2}
    )
    assert response.status_code == 200
    assert "The period cannot end before it starts." in response.content.decode()
    assert not FailureCount.objects.exists()


def _review_with_action(world):
    ml = accountable_of(world["launch"], AreaKind.MODEL_QUALITY)
    review = failure_review_record(
        actor=world["owner"],
        channel=channel(world),
        held_on=TODAY,
        attendees=[ml],
        decisions="Retrain.",
        actions=[{"description": "Retrain the classifier", "owner": ml, "due_on": TODAY}],
    )
    return review.actions.get()


def test_the_actions_owner_marks_it_done_and_a_viewer_cannot(client, world):
    action = _review_with_action(world)
    url = reverse("web:review-action-done", args=[world["launch"].slug, action.pk])
    client.force_login(world["viewer"])
    assert client.post(url).status_code == 403
    assert ReviewAction.objects.get().done_on is None
    client.force_login(world["ml"])
    assert client.post(url).status_code == 302
    assert ReviewAction.objects.get().done_on == TODAY


def test_the_page_reads_reviews_in_the_same_queries_however_many(client, world, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _review_with_action(world)
    client.force_login(world["owner"])
    url = reverse("web:launch", args=[world["launch"].slug])
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    extra = FeedbackChannelFactory(launch=world["launch"], kind=FeedbackKind.LOW_CONFIDENCE)
    ml = accountable_of(world["launch"], AreaKind.MODEL_QUALITY)
    for days in range(5):
        failure_review_record(
            actor=world["owner"],
            channel=extra,
            held_on=TODAY - datetime.timedelta(days=days),
            attendees=[ml],
            decisions="More.",
            actions=[{"description": f"Action {days}", "owner": ml, "due_on": TODAY}],
        )
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(url).status_code == 200
