"""Item 11, "Feedback loop", asks for channels with a review cadence; once the launch serves
users (it has entered a stage), the cadence must also be kept: a channel whose last review (or,
before the first, its recording) is two cadence periods old or more fails the item ("a weekly
review not held for two weeks")."""

from __future__ import annotations

import datetime

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from readiness.checklist import Context, registry
from readiness.choices import ReviewCadence
from readiness.i18n import shown_date

from ..models import FailureReview

CADENCE_DAYS = {
    ReviewCadence.DAILY: 1,
    ReviewCadence.WEEKLY: 7,
    ReviewCadence.BIWEEKLY: 14,
    ReviewCadence.MONTHLY: 30,
    ReviewCadence.QUARTERLY: 91,
}
# A cadence counts as missed once this many periods pass without a review.
MISSED_AFTER_PERIODS = 2


def _latest_reviews() -> Prefetch:
    return Prefetch(
        "feedback_channels__failure_reviews",
        queryset=FailureReview.objects.only("pk", "channel_id", "held_on").order_by("-held_on", "-pk"),
    )


def review_due(channel) -> tuple[datetime.date | None, datetime.date | None]:
    """The channel's last review date and the date its cadence counts as missed (reviews prefetched
    newest first); (last, None) when the channel has no cadence."""
    reviews = list(channel.failure_reviews.all())
    last = reviews[0].held_on if reviews else None
    days = CADENCE_DAYS.get(channel.review_cadence)
    if days is None:
        return last, None
    start = last or timezone.localdate(channel.created_at)
    return last, start + datetime.timedelta(days=days * MISSED_AFTER_PERIODS)


def missed_reviews(ctx: Context) -> list[str]:
    launch = ctx.launch
    if launch.current_stage_id is None:  # nothing serves users yet: no cadence to keep
        return []
    problems = []
    for channel in launch.feedback_channels.all():
        last, missed_on = review_due(channel)
        if missed_on is None or ctx.today < missed_on:
            continue
        names = {"kind": channel.get_kind_display(), "cadence": channel.get_review_cadence_display().lower()}
        if last is None:
            problems.append(
                _(
                    "Feedback channel '%(kind)s': no %(cadence)s failure review has been held since it was recorded on %(date)s."
                )
                % {**names, "date": shown_date(channel.created_at)}
            )
        else:
            problems.append(
                _(
                    "Feedback channel '%(kind)s': the %(cadence)s failure review was missed; the last was held on %(date)s."
                )
                % {**names, "date": shown_date(last)}
            )
    return problems


registry.contribute("feedback_loop", missed_reviews, prefetch=[_latest_reviews])
