"""Notifications through an outbox: a saved request is never lost or failed by its mail.

A service writes one ``OutboxMessage`` per recipient inside its own transaction
(``outbox_signoff_requested``) and asks for delivery after commit (``deliver_after_commit``).
Enqueueing can fail (the broker is down); that is logged and the messages stay pending. Whatever
is pending and due is delivered by ``deliver_outbox``: from the task enqueued on commit, from the
periodic task beat runs every minute, or from ``manage.py deliver_notifications``.

Delivery is at-least-once per (event, recipient) and in practice once: each message is locked,
sent and marked sent in one short transaction, so concurrent drains skip each other's rows; only a
crash between the mail server accepting a message and the commit can send it twice."""

from __future__ import annotations

import datetime
import logging
from collections import Counter
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from raci.selectors import preferred_language
from readiness.i18n import english
from readiness.people import person_name

from .choices import NotificationEvent, OutboxStatus
from .models import OutboxMessage, SignoffRequest

logger = logging.getLogger(__name__)

# After a failed attempt a message waits 1, 2, 4, ... minutes, at most an hour; after MAX_ATTEMPTS
# (about a day of trying) it is marked failed and left for an operator, who sees why in the admin.
RETRY_FIRST = datetime.timedelta(minutes=1)
RETRY_LONGEST = datetime.timedelta(hours=1)
MAX_ATTEMPTS = 30
# Messages one drain sends at most, so a task stays short; the next drain carries on.
DRAIN_LIMIT = 500
OUTCOMES = ("sent", "dropped", "retrying", "failed")


# Writing (inside the service's transaction) ------------------------------------------------------


def outbox_signoff_requested(*, request: SignoffRequest, recipients: Iterable) -> list[int]:
    """Queue a "sign-off requested" mail to each recipient with an e-mail address; returns the
    messages' ids. Call inside the transaction that creates ``request``."""
    messages = OutboxMessage.objects.bulk_create(
        OutboxMessage(event=NotificationEvent.SIGNOFF_REQUESTED, request=request, recipient=person)
        for person in recipients
        if person.email
    )
    return [message.pk for message in messages]


def deliver_after_commit(message_ids: list[int]) -> None:
    """Ask for ``message_ids`` to be delivered once the current transaction commits."""
    if message_ids:
        transaction.on_commit(partial(enqueue_delivery, list(message_ids)))


def enqueue_delivery(message_ids: list[int]) -> None:
    """Hand messages to a worker (in eager mode: deliver them now). Never raises: the messages are
    already saved, so a failure here only delays them until the next periodic drain."""
    from .tasks import deliver_notifications  # the tasks module imports this one

    try:
        deliver_notifications.delay(message_ids)
    except Exception:
        logger.exception(
            "Could not enqueue delivery of outbox messages %s; they stay pending for the periodic drain.",
            message_ids,
        )


# Delivering ------------------------------------------------------------------------------------


def deliver_outbox(
    *, message_ids: Iterable[int] | None = None, now: datetime.datetime | None = None, limit: int = DRAIN_LIMIT
) -> dict[str, int]:
    """Deliver pending messages that are due (only ``message_ids``, if given), oldest first, each in
    its own transaction; returns how many were sent, dropped, left to retry and given up. A message
    that fails is recorded and retried later; it never stops the others. Safe to run twice and
    concurrently."""
    ids = None if message_ids is None else list(message_ids)
    counts: Counter[str] = Counter()
    for _attempt in range(limit):
        outcome = _deliver_next(ids, now or timezone.now())
        if outcome is None:
            break
        counts[outcome] += 1
    return {outcome: counts[outcome] for outcome in OUTCOMES}


@transaction.atomic
def _deliver_next(ids: list[int] | None, now: datetime.datetime) -> str | None:
    """Lock the next due message (skipping rows another drain holds), send it and record the
    outcome. The lock is held while the mail is handed to the backend, so no other drain can send
    it meanwhile. (On SQLite, which has no row locks, the transaction takes the database's write
    lock instead.)"""
    due = OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
    if ids is not None:
        due = due.filter(pk__in=ids)
    message = (
        due.select_for_update(of=("self",), skip_locked=connection.features.has_select_for_update_skip_locked)
        .select_related("request__launch", "request__stage", "request__requested_by", "recipient")
        .order_by("next_attempt_at", "pk")
        .first()
    )
    if message is None:
        return None
    with english():  # an operator's note, stored: never in the language of whoever triggered delivery
        reason = _reason_to_drop(message)
    if reason:
        message.status, message.last_error = OutboxStatus.DROPPED, reason
        message.save(update_fields=["status", "last_error"])
        return "dropped"
    message.attempts += 1
    try:
        _send(message)
    except Exception as error:
        return _record_failure(message, error, now)
    message.status, message.sent_at, message.last_error = OutboxStatus.SENT, now, ""
    message.save(update_fields=["status", "sent_at", "last_error", "attempts"])
    return "sent"


def _reason_to_drop(message: OutboxMessage) -> str:
    request, recipient = message.request, message.recipient
    if not request.is_open:
        return f"Not sent: the request was {request.get_status_display().lower()} before delivery."
    if not recipient.is_active:
        return "Not sent: the recipient has been deactivated."
    if not recipient.email:
        return "Not sent: the recipient has no e-mail address."
    return ""


def _send(message: OutboxMessage) -> None:
    """The mail speaks the recipient's chosen language (else the site's), whoever triggered delivery."""
    request = message.request
    with translation.override(preferred_language(message.recipient) or settings.LANGUAGE_CODE):
        names = {
            "launch": request.launch.name,
            "function": request.get_function_display(),
            "stage": request.stage.name,
            "person": person_name(request.requested_by),
        }
        subject = _("[Preflight] %(launch)s: %(function)s sign-off for %(stage)s") % names
        if request.due_date:
            ask = _("%(person)s asks for your sign-off by %(due)s to move %(launch)s to %(stage)s.") % {
                **names,
                "due": request.due_date.isoformat(),
            }
        else:
            ask = _("%(person)s asks for your sign-off to move %(launch)s to %(stage)s.") % names
    send_mail(
        subject=subject,
        message=f"{ask}\n\n{request.message}",
        from_email=None,
        recipient_list=[message.recipient.email],
    )


def _record_failure(message: OutboxMessage, error: Exception, now: datetime.datetime) -> str:
    message.last_error = f"{type(error).__name__}: {error}"[:2000]
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.FAILED
        logger.error("Gave up on outbox message %s after %s attempts: %s", message.pk, message.attempts, error)
    else:
        message.next_attempt_at = now + min(RETRY_FIRST * 2 ** (message.attempts - 1), RETRY_LONGEST)
        logger.warning(
            "Outbox message %s failed (attempt %s); retrying at %s.",
            message.pk,
            message.attempts,
            message.next_attempt_at.isoformat(),
            exc_info=error,
        )
    message.save(update_fields=["status", "last_error", "attempts", "next_attempt_at"])
    return "failed" if message.status == OutboxStatus.FAILED else "retrying"
