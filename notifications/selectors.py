"""Read paths over notices and the outbox, each a fixed number of queries."""

from __future__ import annotations

from django.db.models import Q

from .choices import OutboxStatus
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
    """``user``'s notices not yet read (a queryset, to count or combine)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True)
