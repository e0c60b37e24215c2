"""Each feedback channel's failure counts, reviews and open actions, in a fixed number of queries."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone

from raci.models import Stakeholder
from readiness.models import FeedbackChannel, Launch

from ..checklist_items.failure_reviews import review_due
from ..models import FailureCount, FailureReview, ReviewAction

RECENT_COUNTS = 6
RECENT_REVIEWS = 3


@dataclass
class ChannelReviews:
    """One feedback channel's failure counts, reviews and open actions, with its cadence's state."""

    channel: FeedbackChannel
    last_review: datetime.date | None
    missed_on: datetime.date | None
    counts: list[FailureCount] = field(default_factory=list)
    reviews: list[FailureReview] = field(default_factory=list)
    open_actions: list[ReviewAction] = field(default_factory=list)

    @property
    def missed(self) -> bool:
        launch = self.channel.launch
        return (
            launch.current_stage_id is not None
            and self.missed_on is not None
            and timezone.localdate() >= self.missed_on
        )


def failure_reviews_of(launch: Launch) -> list[ChannelReviews]:
    """Each feedback channel of ``launch`` with its recent counts, its recent reviews (attendees and
    actions with their owners) and every action still open: four queries, or three when the
    launch's channels are prefetched already (``with_checklist_facts`` does)."""
    channels = sorted(launch.feedback_channels.all(), key=lambda channel: (channel.kind, channel.pk))
    prefetch_related_objects(
        channels,
        Prefetch("failure_counts", queryset=FailureCount.objects.order_by("-period_start")),
        # Into an attribute of its own: the checklist's prefetch of the same relation holds only
        # the review dates, and a cached relation is not fetched again.
        Prefetch(
            "failure_reviews",
            queryset=FailureReview.objects.order_by("-held_on", "-pk").prefetch_related(
                Prefetch("attendees", queryset=Stakeholder.objects.select_related("user")),
                Prefetch("actions", queryset=ReviewAction.objects.select_related("owner__user")),
            ),
            to_attr="reviews_in_full",
        ),
    )
    board = []
    for channel in channels:
        channel.launch = launch
        last, missed_on = review_due(channel)
        reviews = channel.reviews_in_full
        board.append(
            ChannelReviews(
                channel=channel,
                last_review=last,
                missed_on=missed_on,
                counts=list(channel.failure_counts.all())[:RECENT_COUNTS],
                reviews=reviews[:RECENT_REVIEWS],
                open_actions=sorted(
                    (action for review in reviews for action in review.actions.all() if action.done_on is None),
                    key=lambda action: (action.due_on, action.pk),
                ),
            )
        )
    return board
