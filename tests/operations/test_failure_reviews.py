"""Failure reviews: counts per channel and period, review meetings with owned actions, and item 11
failing once a channel's review cadence was missed."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from operations.checklist_items import review_due
from operations.models import FailureCount, FailureReview, ReviewAction
from operations.services import failure_count_record, failure_review_record, review_action_complete
from raci.choices import AreaKind, Role
from readiness.checklist import Status, evaluate, evaluate_many, with_checklist_facts
from readiness.choices import FeedbackKind, ReviewCadence
from readiness.i18n import shown_date
from readiness.models import FeedbackChannel, Launch
from readiness.services import launch_archive
from readiness.services.facts import fact_version
from reports.choices import ReportKind
from reports.services import report_request
from tests.builders import accountable_of, launch_at
from tests.factories import (
    FeedbackChannelFactory,
    LaunchFactory,
    RaciAssignmentFactory,
    RolloutStageFactory,
    StakeholderFactory,
    UserFactory,
)
from tests.reports.helpers import render, squeeze

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture(scope="module")
def launched(module_transaction) -> int:
    """A ready launch in Internal, built once per module; returns its primary key."""
    return launch_at("Internal").pk


@pytest.fixture
def launch(launched, db) -> Launch:
    """The module's launch in Internal, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.select_related("owner").get(pk=launched)


def _item_11(launch, *, today=TODAY):
    launch = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    now = timezone.make_aware(datetime.datetime.combine(today, datetime.time(12)))
    return next(r for r in evaluate(launch, now=now).results if r.key == "feedback_loop")


def _channel(launch) -> FeedbackChannel:
    return launch.feedback_channels.get()


def _review(launch, *, held_on=TODAY, actor=None, actions=()):
    return failure_review_record(
        actor=actor or launch.owner,
        channel=_channel(launch),
        held_on=held_on,
        attendees=[accountable_of(launch, AreaKind.MODEL_QUALITY)],
        decisions="Retrain the intent classifier on the refund cases.",
        actions=actions,
    )


def _backdate_channel(launch, days: int) -> None:
    FeedbackChannel.objects.filter(launch=launch).update(created_at=timezone.now() - datetime.timedelta(days=days))


# Item 11 -------------------------------------------------------------------------------------------


def test_a_launched_weekly_channel_reviewed_within_two_weeks_passes(launch):
    _backdate_channel(launch, 60)
    _review(launch, held_on=TODAY - datetime.timedelta(days=13))
    assert _item_11(launch).status == Status.PASS


def test_a_weekly_review_not_held_for_two_weeks_fails_item_11_naming_the_last(launch):
    _backdate_channel(launch, 60)
    last = TODAY - datetime.timedelta(days=14)
    _review(launch, held_on=last)
    result = _item_11(launch)
    assert result.status == Status.FAIL
    assert result.reasons == (
        f"Feedback channel 'Negative user feedback': the weekly failure review was missed; the last was held on {shown_date(last)}.",
    )


def test_a_channel_never_reviewed_fails_two_periods_after_it_was_recorded(launch):
    _backdate_channel(launch, 13)
    assert _item_11(launch).status == Status.PASS
    _backdate_channel(launch, 14)
    result = _item_11(launch)
    assert result.status == Status.FAIL
    assert "no weekly failure review has been held since it was recorded" in result.reasons[0]


def test_before_any_stage_is_entered_no_cadence_is_kept_yet(db):
    # Item 11 reads only the launch's stage and its channels: a bare launch with its rollout
    # stages (none entered) and a weekly channel is enough.
    launch = LaunchFactory(slug="not-launched")
    for order, name in enumerate(["Internal", "Beta"], start=1):
        RolloutStageFactory(launch=launch, name=name, order=order)
    FeedbackChannelFactory(launch=launch, review_cadence=ReviewCadence.WEEKLY)
    assert launch.current_stage_id is None
    _backdate_channel(launch, 365)
    assert _item_11(launch).status == Status.PASS


def test_cadences_count_their_own_periods(launch):
    channel = _channel(launch)
    FeedbackChannel.objects.filter(pk=channel.pk).update(review_cadence=ReviewCadence.MONTHLY)
    _review(launch, held_on=TODAY - datetime.timedelta(days=59))
    assert _item_11(launch).status == Status.PASS
    assert _item_11(launch, today=TODAY + datetime.timedelta(days=1)).status == Status.FAIL


def test_a_missed_review_adds_to_an_item_that_already_fails(launch):
    _backdate_channel(launch, 60)
    FeedbackChannelFactory(launch=launch, kind=FeedbackKind.LOW_CONFIDENCE, review_cadence="")
    result = _item_11(launch)
    assert result.status == Status.FAIL
    assert result.reasons[0] == "Feedback channel 'Low-confidence capture' has no review cadence."
    assert "Negative user feedback" in result.reasons[1]


def test_the_latest_review_counts_whatever_order_they_were_recorded_in(launch):
    _review(launch, held_on=TODAY - datetime.timedelta(days=2))
    _review(launch, held_on=TODAY - datetime.timedelta(days=30))
    channel = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get().feedback_channels.get()
    assert review_due(channel) == (TODAY - datetime.timedelta(days=2), TODAY + datetime.timedelta(days=12))


def test_evaluating_many_launches_reads_reviews_in_one_query(launch, django_assert_max_num_queries):
    _review(launch)
    with django_assert_max_num_queries(40) as few:
        evaluate_many(Launch.objects.filter(pk=launch.pk))
    for extra in range(3):
        launch_at("Internal", slug=f"more-{extra}", name=f"More {extra}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        evaluate_many(Launch.objects.all())


# Recording --------------------------------------------------------------------------------------


def test_a_review_is_recorded_with_attendees_and_owned_actions_and_history(launch):
    owner_of_action = accountable_of(launch, AreaKind.MODEL_QUALITY)
    review = _review(
        launch,
        actions=[{"description": "Add refund cases to the golden set", "owner": owner_of_action, "due_on": TODAY}],
    )
    assert list(review.attendees.all()) == [owner_of_action]
    action = review.actions.get()
    assert (action.owner, action.due_on, action.done_on) == (owner_of_action, TODAY, None)
    assert {(h.history_user, h.history_change_reason) for h in review.history.all()} == {
        (launch.owner, "Failure review recorded")
    }
    assert [list(h.attendees.values_list("stakeholder", flat=True)) for h in review.history.order_by("history_id")][
        -1
    ] == [owner_of_action.pk]
    assert action.history.get().history_change_reason == "Review action recorded"


def test_an_action_owned_by_someone_off_the_raci_is_refused_and_nothing_is_saved(launch):
    stranger = StakeholderFactory()
    with pytest.raises(ValidationError) as refused:
        _review(launch, actions=[{"description": "Fix it", "owner": stranger, "due_on": TODAY}])
    assert "is not on the launch's RACI" in str(refused.value)
    assert not FailureReview.objects.exists() and not ReviewAction.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"attendees": []}, "attendees"),
        ({"decisions": ""}, "decisions"),
        ({"held_on": TODAY + datetime.timedelta(days=1)}, "held_on"),
    ],
)
def test_a_bad_review_names_what_is_wrong_and_saves_nothing(launch, change, field):
    values = {
        "channel": _channel(launch),
        "held_on": TODAY,
        "attendees": [accountable_of(launch, AreaKind.MODEL_QUALITY)],
        "decisions": "Nothing to change.",
        **change,
    }
    with pytest.raises(ValidationError) as refused:
        failure_review_record(actor=launch.owner, **values)
    assert field in refused.value.message_dict
    assert not FailureReview.objects.exists()


@pytest.mark.parametrize(
    "action",
    [
        {"description": "", "due_on": TODAY},
        {"description": "Fix it", "due_on": None},
    ],
)
def test_an_action_without_a_description_or_due_date_is_refused(launch, action):
    with pytest.raises(ValidationError) as refused:
        _review(launch, actions=[{**action, "owner": accountable_of(launch, AreaKind.MODEL_QUALITY)}])
    assert refused.value.message_dict["actions"][0].startswith("Action 1: ")
    assert not FailureReview.objects.exists()


def _informed(launch):
    """Someone Informed on the launch's RACI: they see the launch, they do not run it."""
    person = StakeholderFactory()
    RaciAssignmentFactory(area=launch.areas.get(kind=AreaKind.MODEL_QUALITY), stakeholder=person, role=Role.INFORMED)
    return person


def test_the_raci_responsible_may_record_and_informed_people_and_strangers_may_not(launch):
    responsible = launch.areas.get(kind=AreaKind.MODEL_QUALITY).assignments.get(role=Role.RESPONSIBLE).stakeholder.user
    _review(launch, actor=responsible)
    with pytest.raises(PermissionDenied):
        _review(launch, actor=_informed(launch).user)
    with pytest.raises(Http404):
        _review(launch, actor=UserFactory())
    assert FailureReview.objects.count() == 1


def test_counts_per_period_are_recorded_and_a_recount_replaces_with_history(launch):
    start, end = TODAY - datetime.timedelta(days=7), TODAY - datetime.timedelta(days=1)
    failure_count_record(actor=launch.owner, channel=_channel(launch), period_start=start, period_end=end, cases=12)
    count = failure_count_record(
        actor=launch.owner, channel=_channel(launch), period_start=start, period_end=end, cases=14
    )
    assert FailureCount.objects.get().cases == 14
    assert [h.cases for h in count.history.order_by("history_date")] == [12, 14]


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (TODAY, TODAY - datetime.timedelta(days=1), "period_end"),
        (TODAY, TODAY + datetime.timedelta(days=1), "period_end"),
    ],
)
def test_a_period_ending_before_it_starts_or_in_the_future_is_refused(launch, start, end, field):
    with pytest.raises(ValidationError) as refused:
        failure_count_record(actor=launch.owner, channel=_channel(launch), period_start=start, period_end=end, cases=1)
    assert field in refused.value.message_dict
    assert not FailureCount.objects.exists()


def test_an_action_is_marked_done_by_its_owner_once(launch):
    owner_of_action = accountable_of(launch, AreaKind.MODEL_QUALITY)
    review = _review(launch, actions=[{"description": "Fix it", "owner": owner_of_action, "due_on": TODAY}])
    action = review.actions.get()
    done = review_action_complete(actor=owner_of_action.user, action=action)
    assert done.done_on == TODAY
    with pytest.raises(ValidationError):
        review_action_complete(actor=owner_of_action.user, action=action)


def test_nobody_else_marks_an_action_done(launch):
    review = _review(
        launch,
        actions=[{"description": "Fix it", "owner": accountable_of(launch, AreaKind.MODEL_QUALITY), "due_on": TODAY}],
    )
    with pytest.raises(PermissionDenied):
        review_action_complete(actor=_informed(launch).user, action=review.actions.get())
    assert review.actions.get().done_on is None


def test_an_archived_launch_takes_no_more_reviews(launch):
    launch_archive(actor=launch.owner, launch=launch, seen_version=fact_version(launch), reason="Pulled")
    with pytest.raises(ValidationError) as refused:
        _review(launch)
    assert "archived" in str(refused.value)


# The launch report ---------------------------------------------------------------------------------


def test_the_launch_report_prints_the_reviews_and_a_missed_cadence(launch):
    owner_of_action = accountable_of(launch, AreaKind.MODEL_QUALITY)
    _review(
        launch,
        actions=[{"description": "Label <b>refund</b> cases", "owner": owner_of_action, "due_on": TODAY}],
    )
    FeedbackChannelFactory(launch=launch, kind=FeedbackKind.LOW_CONFIDENCE, review_cadence=ReviewCadence.DAILY)
    FeedbackChannel.objects.filter(launch=launch).update(created_at=timezone.now() - datetime.timedelta(days=30))
    report = report_request(actor=launch.owner, kind=ReportKind.LAUNCH, language="en", launch=launch, dispatch=False)
    text = render(report).squeezed
    assert squeeze("Failure reviews: Negative user feedback") in text
    assert squeeze("Retrain the intent classifier on the refund cases.") in text
    assert squeeze(f"Label <b>refund</b> cases — {owner_of_action.display_name}") in text
    assert squeeze("Failure reviews: Low-confidence capture") in text
    assert squeeze("No review held yet. Review missed.") in text


# --- the ledger holds each review; verify_ledger catches one invented or moved in SQL ---------


def test_a_failure_review_is_ledgered(launch):
    review = _review(launch, held_on=TODAY)
    (entry,) = LedgerEntry.objects.filter(event=LedgerEvent.FAILURE_REVIEW_RECORDED)
    assert entry.payload["review"] == review.pk and entry.payload["held on"] == review.held_on.isoformat()
    assert verify().ok


def test_verify_ledger_catches_a_failure_review_invented_or_moved_in_sql(launch):
    review = _review(launch, held_on=TODAY - datetime.timedelta(days=30))
    assert verify().ok
    FailureReview.objects.filter(pk=review.pk).update(held_on=timezone.localdate())  # the cadence looks kept
    result = verify()
    assert not result.ok and "failure review" in result.problem
    FailureReview.objects.filter(pk=review.pk).update(held_on=review.held_on)
    assert verify().ok
    invented = FailureReview.objects.create(
        channel=review.channel, held_on=timezone.localdate(), decisions="None", recorded_by=launch.owner
    )
    result = verify()
    assert not result.ok and f"failure review #{invented.pk}" in result.problem
    invented.delete()
    FailureReview.objects.filter(pk=review.pk).delete()
    result = verify()
    assert not result.ok and "no longer exists" in result.problem
