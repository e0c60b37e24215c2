"""Read paths over notices and the outbox, each a fixed number of queries."""

from __future__ import annotations

from django.db.models import Count, Q

from .choices import OutboxStatus, Relevance
from .models import Notification, OutboxMessage

# A message still failing after this many attempts shows on its launch's page, as a failed one does.
UNDELIVERED_AFTER = 3
UNDELIVERED_SHOWN = 50


def undelivered_messages(launch) -> list[OutboxMessage]:
    """``launch``'s messages given up, or still failing after ``UNDELIVERED_AFTER`` attempts, with
    their recipients: one query."""
    return list(
        OutboxMessage.objects.filter(launch=launch)
        .filter(Q(status=OutboxStatus.FAILED) | Q(status=OutboxStatus.PENDING, attempts__gte=UNDELIVERED_AFTER))
        .select_related("recipient")
        .order_by("-next_attempt_at", "-pk")[:UNDELIVERED_SHOWN]
    )


def notices_of(user):
    """``user``'s notices, newest first (a queryset, to paginate)."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")


def unread_notices(user):
    """``user``'s notices not yet read that they were told of (a queryset, to count or combine):
    news of other people's launches filed quietly is listed, never counted as new."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True, quiet=False)


def unread_groups(user):
    """The groups (one change about one launch) of ``user``'s unread notices: what the header
    counts (a queryset of group keys, one per group)."""
    return unread_notices(user).order_by().values("group_key").distinct()


# The notices page's filters: what waits for the reader, their own launches' news, everything.
WAITING, MINE, ALL = "waiting", "mine", "all"
FILTERS = (WAITING, MINE, ALL)


def notices_shown(user, shown: str):
    """``user``'s notices the filter ``shown`` lists (an unknown filter lists everything): what
    waits for them, what concerns a launch they own now, or all. Newest first (a queryset)."""
    notices = notices_of(user)
    if shown == WAITING:
        return notices.filter(relevance=Relevance.WAITING)
    if shown == MINE:
        return notices.filter(Q(relevance=Relevance.OWN) | Q(launch__owner=user))
    return notices


def filter_counts(user) -> dict[str, int]:
    """How many groups of new notices (unread, not filed quietly) each filter lists, in one query."""
    new = Q(read_at__isnull=True, quiet=False)
    return Notification.objects.filter(recipient=user).aggregate(
        waiting=Count("group_key", distinct=True, filter=new & Q(relevance=Relevance.WAITING)),
        mine=Count("group_key", distinct=True, filter=new & (Q(relevance=Relevance.OWN) | Q(launch__owner=user))),
        all=Count("group_key", distinct=True, filter=new),
    )
