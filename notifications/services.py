"""Telling people, and what each person may do with what they were told: every state change of
this app. ``notify`` is what the other apps' services call inside their own transaction."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from readiness.access import require_change
from readiness.postcommit import after_commit, enqueue

from . import notices
from .choices import OutboxStatus
from .models import Notification, NotificationPreference, OutboxMessage
from .selectors import notices_shown
from .tasks import deliver_notifications

logger = logging.getLogger(__name__)


def notify(
    *,
    event: str,
    key: str,
    launch,
    actor,
    recipients: Iterable,
    payload: dict,
    link: str,
    subject=None,
    waiting_for: Iterable | None = None,
) -> list:
    """Tell ``recipients`` about one occurrence of ``event`` (named by ``key``) inside the caller's
    transaction (``notifications.notices.tell``: an in-app notice each, a message per channel they
    want now; never ``actor``, nor anyone already told, nor anyone who does not see ``launch``), and
    ask for the messages to be delivered after commit. Everything one transaction tells one person
    about one launch is one group: listed together, sent as one message. ``waiting_for``, when
    given, names the recipients it asks something of (else the event's registration says).
    Returns the people newly told."""
    told = notices.tell(
        event=event,
        key=key,
        launch=launch,
        actor=actor,
        recipients=recipients,
        payload=payload,
        link=link,
        subject=subject,
        waiting_for=waiting_for,
    )
    deliver_after_commit(told.message_ids)
    return told.people


def deliver_after_commit(message_ids: list[int]) -> None:
    """Ask for ``message_ids`` to be delivered once the current transaction commits."""
    if message_ids:
        after_commit(partial(enqueue_delivery, list(message_ids)))


def enqueue_delivery(message_ids: list[int]) -> None:
    """Hand messages to a worker (in eager mode: deliver them now). Never raises: the messages are
    already saved, so a failure here only delays them until the next periodic drain."""
    enqueue(
        deliver_notifications,
        message_ids,
        log=logger,
        failure="Could not enqueue delivery of outbox messages %s; they stay pending for the periodic drain.",
    )


@transaction.atomic
def outbox_retry(*, actor, launch, message_id: int) -> OutboxMessage:
    """Put one of ``launch``'s failed (or still retrying) messages back in the queue, due now, with
    its attempts counted afresh. Only for people who may change the launch (``PermissionDenied``);
    a message not of this launch raises ``OutboxMessage.DoesNotExist``."""
    require_change(actor, launch)
    message = OutboxMessage.objects.select_for_update().get(pk=message_id, launch=launch)
    if message.status not in (OutboxStatus.FAILED, OutboxStatus.PENDING):
        raise ValidationError(
            {
                "message": _("This message was %(status)s; there is nothing to retry.")
                % {"status": message.get_status_display().lower()}
            }
        )
    message.status, message.attempts, message.next_attempt_at = OutboxStatus.PENDING, 0, timezone.now()
    message.save(update_fields=["status", "attempts", "next_attempt_at"])
    logger.info("Outbox message %s put back for delivery by user %s.", message.pk, actor.pk)
    deliver_after_commit([message.pk])
    return message


def notification_mark_read(*, actor, notification_id: int) -> Notification:
    """Mark one of ``actor``'s notices read (again: no change). Someone else's, or none, raises
    ``Notification.DoesNotExist``: a notice is its recipient's alone."""
    notification = Notification.objects.get(pk=notification_id, recipient=actor)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notices_answered(*, people: Iterable, event: str, keys: Iterable[str]) -> int:
    """Mark read the notices of (``event``, one of ``keys``) to ``people``: they did what the
    notice asked (decided the sign-off they were asked for, gave the acknowledgement), so it waits
    for them no more. Called by the service that records the answer, in its transaction. One query;
    returns how many were still unread."""
    ids = [person.pk for person in people if person is not None]
    keys = list(keys)
    if not ids or not keys:
        return 0
    return Notification.objects.filter(recipient_id__in=ids, event=event, key__in=keys, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def notification_group_mark_read(*, actor, notification_id: int) -> list[Notification]:
    """Mark read every notice of ``actor`` in the group of their notice ``notification_id`` (one
    change about one launch); again: no change. Someone else's notice, or none, raises
    ``Notification.DoesNotExist``. Returns the group's notices, newest first."""
    notification = Notification.objects.get(pk=notification_id, recipient=actor)
    group = Notification.objects.filter(recipient=actor, group_key=notification.group_key)
    if not notification.group_key:
        group = Notification.objects.filter(pk=notification.pk)
    group.filter(read_at__isnull=True).update(read_at=timezone.now())
    return list(group.order_by("-created_at", "-pk"))


def notifications_mark_all_read(*, actor, shown: str = "all") -> int:
    """Mark read every unread notice of ``actor`` that the filter ``shown`` lists
    (``notifications.selectors.FILTERS``: everything by default); returns how many."""
    return notices_shown(actor, shown).filter(read_at__isnull=True).order_by().update(read_at=timezone.now())


@transaction.atomic
def notification_preferences_set(
    *,
    actor,
    person=None,
    email: bool,
    slack: bool,
    mode: str,
    quiet_from: datetime.time | None,
    quiet_until: datetime.time | None,
    time_zone: str,
    others: str | None = None,
) -> NotificationPreference:
    """Keep how ``actor`` wants to be told: e-mail and Slack on or off, at once or in a daily
    digest, quiet hours (both ends or neither, not equal) in a time zone (empty: the site's), and
    how to hear of other people's launches (``others``; left as it was when not given).
    Everyone for themselves only: ``person``, if given, must be ``actor``. The whole row is
    validated (``NotificationPreference.clean``) before anything is saved."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied(_("Sign in to choose how you are notified."))
    if person is not None and person.pk != actor.pk:
        raise PermissionDenied(_("Everyone chooses their own notification settings."))
    if not isinstance(email, bool) or not isinstance(slack, bool):
        raise ValidationError({"email" if not isinstance(email, bool) else "slack": _("Choose on or off.")})
    preference = NotificationPreference.objects.select_for_update().filter(user=actor).first()
    if preference is None:
        preference = NotificationPreference(user=actor)
    preference.email, preference.slack, preference.mode = email, slack, mode
    preference.quiet_from, preference.quiet_until = quiet_from, quiet_until
    preference.time_zone = time_zone or ""
    if others is not None:
        preference.others = others
    preference.full_clean()
    preference.save()
    return preference
