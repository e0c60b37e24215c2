"""Delivering the outbox: a saved change is never lost or failed by its mail.

A service writes its messages inside its own transaction (``notifications.services.notify``) and
asks for delivery after commit. Enqueueing can fail (the broker is down); that is logged and the
messages stay pending. Whatever is pending and due is delivered by ``deliver_outbox``: from the
task enqueued on commit, from the periodic task beat runs every minute, or from
``manage.py deliver_notifications``.

Delivery is at-least-once per (event, recipient, channel) and in practice once: each message is
locked, sent and marked sent in one short transaction, so concurrent drains skip each other's rows;
only a crash between the mail server (or webhook) accepting a message and the commit can send it
twice. A message due in its recipient's quiet hours waits for their end without an attempt; one
given up after ``MAX_ATTEMPTS`` is shown to its launch's owner (``_tell_owner_of_failure``,
``notifications.selectors.undelivered_messages``), who may put it back
(``notifications.services.outbox_retry``)."""

from __future__ import annotations

import datetime
import logging
from collections import Counter
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from raci.selectors import preferred_language
from readiness.access import can_view
from readiness.i18n import english
from readiness.people import person_name

from . import audience, channels, events, notices
from .choices import DeliveryEvent, OutboxStatus
from .models import OutboxMessage
from .pages import absolute_url
from .preferences import preference_of, quiet_hours_end

logger = logging.getLogger(__name__)

# After a failed attempt a message waits 1, 2, 4, ... minutes, at most an hour; after MAX_ATTEMPTS
# (about a day of trying) it is marked failed and left for an operator, who sees why in the admin.
RETRY_FIRST = datetime.timedelta(minutes=1)
RETRY_LONGEST = datetime.timedelta(hours=1)
MAX_ATTEMPTS = 30
# Messages one drain sends at most, so a task stays short; the next drain carries on.
DRAIN_LIMIT = 500
OUTCOMES = ("sent", "dropped", "retrying", "failed")


def deliver_outbox(
    *, message_ids: Iterable[int] | None = None, now: datetime.datetime | None = None, limit: int = DRAIN_LIMIT
) -> dict[str, int]:
    """Deliver pending messages that are due (only ``message_ids``, if given, with the rest of
    their groups, and the messages that telling an owner of a failure among them writes), oldest
    first, each group (one change's
    messages to one person about one launch, on one channel) as one message in its own
    transaction; returns how many messages were sent, dropped, left to retry and given up
    (messages held for quiet hours are not counted: they are pending, due when the hours end). A
    message that fails is recorded and retried later; it never stops the others. Safe to run twice
    and concurrently."""
    ids = None if message_ids is None else list(message_ids)
    counts: Counter[str] = Counter()
    for _attempt in range(limit):
        outcomes = _deliver_next(ids, now or timezone.now())
        if outcomes is None:
            break
        counts.update(outcomes)
    return {outcome: counts[outcome] for outcome in OUTCOMES}


def due(now: datetime.datetime) -> models.Q:
    """Messages due now and not sent: what the drain sends next, and what it has not caught up with
    (a message waiting for its recipient's quiet hours to end, or for its next retry, is not due)."""
    return models.Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now)


@transaction.atomic
def _deliver_next(ids: list[int] | None, now: datetime.datetime) -> Counter[str] | None:
    """Lock the next due message and the rest of its group (skipping rows another drain holds),
    send them as one and record the outcome of each. The locks are held while the message is
    handed over, so no other drain can send them meanwhile. (On SQLite, which has no row locks,
    the transaction takes the database's write lock instead.)"""
    locked = (
        OutboxMessage.objects.filter(due(now))
        .select_for_update(of=("self",), skip_locked=connection.features.has_select_for_update_skip_locked)
        .select_related("recipient__notification_preference", "launch__owner")
    )
    message = (locked if ids is None else locked.filter(pk__in=ids)).order_by("next_attempt_at", "pk").first()
    if message is None:
        return None
    group = [message]
    if message.group_key:  # the rest of its group goes with it, whichever drain was asked for it
        group += list(
            locked.filter(group_key=message.group_key, recipient=message.recipient_id, channel=message.channel)
            .exclude(pk=message.pk)
            .order_by("created_at", "pk")
        )
    outcomes: Counter[str] = Counter()
    sending = []
    for each in group:
        with english():  # an operator's note, stored: never in the language of whoever triggered delivery
            reason = _reason_to_drop(each)
        if reason:
            each.status, each.last_error = OutboxStatus.DROPPED, reason
            each.save(update_fields=["status", "last_error"])
            outcomes["dropped"] += 1
        else:
            sending.append(each)
    if not sending:
        return outcomes
    quiet_until = quiet_hours_end(preference_of(message.recipient), now)
    if quiet_until is not None:  # not an attempt: it waits for the recipient's morning
        for each in sending:
            each.next_attempt_at = quiet_until
            each.save(update_fields=["next_attempt_at"])
        logger.info(
            "Outbox messages %s held for quiet hours until %s.", [m.pk for m in sending], quiet_until.isoformat()
        )
        outcomes["held"] += 1
        return outcomes
    for each in sending:
        each.attempts += 1
    try:
        _send(sending)
    except Exception as error:
        for index, each in enumerate(sending):
            # The owner hears once of a group that could not be delivered.
            outcomes[_record_failure(each, error, now, ids, tell_owner=index == 0)] += 1
        return outcomes
    for each in sending:
        each.status, each.sent_at, each.last_error = OutboxStatus.SENT, now, ""
        each.save(update_fields=["status", "sent_at", "last_error", "attempts"])
    outcomes["sent"] += len(sending)
    return outcomes


def _reason_to_drop(message: OutboxMessage) -> str:
    """Why ``message`` is not sent now, or "". Its event may have lost its point (a request
    withdrawn before delivery: ``notifications.events``). A message waiting in the outbox (quiet
    hours, retries, a broker down) is about a launch its recipient could see when it was written;
    one who has since lost sight of the launch is not sent it (``notifications.audience``; an event
    with blind wording goes blind instead, ``_send``)."""
    reason = events.reason_not_worth_sending(message)
    if reason:
        return reason
    recipient = message.recipient
    if not recipient.is_active:
        return "Not sent: the recipient has been deactivated."
    if _blind_to_launch(message) and message.event not in events.told_without_seeing():
        return "Not sent: the recipient no longer sees the launch."
    channel = channels.get(message.channel)
    if channel is None:
        return f"Not sent: this version has no channel '{message.channel}'."
    return channel.reason_not_to_send(message, preference_of(recipient))


def _blind_to_launch(message: OutboxMessage) -> bool:
    """The recipient does not see the message's launch now (read once per message)."""
    if not hasattr(message, "_blind"):
        message._blind = message.launch is not None and not can_view(message.recipient, message.launch)
    return message._blind


def _send(group: list[OutboxMessage]) -> None:
    """The message speaks the recipient's chosen language (else the site's), whoever triggered
    delivery, and links to the page it is about (the one stored, else its subject's). A group of
    several (one change's news about one launch) goes as one message listing each, linking to the
    launch."""
    message = group[0]
    with translation.override(preferred_language(message.recipient) or settings.LANGUAGE_CODE):
        words = [_words(each) for each in group]
        if len(words) == 1:
            subject, lines, link = words[0]
        else:
            subject, lines, link = _group_words(
                message, [(events.label(m.event), *w[1:]) for m, w in zip(group, words, strict=True)]
            )
        channels.get(message.channel).send(message, subject=subject, lines=lines, url=absolute_url(link))


def _words(message: OutboxMessage) -> tuple[str, list[str], str]:
    """The subject, lines and link of one message, in the active language."""
    payload, link = dict(message.payload), message.link
    if not link and message.subject is not None and hasattr(message.subject, "get_absolute_url"):
        link = message.subject.get_absolute_url()
    if _blind_to_launch(message):  # told without seeing the launch: no launch, no words, no link
        payload, link = audience.blind(payload), ""
    subject, lines = events.describe(message.event, payload)
    return subject, lines, link


def _group_words(message: OutboxMessage, words: list[tuple[str, list[str], str]]) -> tuple[str, list[str], str]:
    """One message for a group: a subject counting its news, then each one's lines under what it
    is called (``words``: the event's name, its lines, its link), with its own link; the link is the launch's page (none for a reader blind to it)."""
    blind = _blind_to_launch(message)
    launch = "" if blind or message.launch is None else message.launch.name
    count = len(words)
    if launch:
        subject = ngettext(
            "[Preflight] %(launch)s: %(count)s update", "[Preflight] %(launch)s: %(count)s updates", count
        ) % {"launch": launch, "count": count}
    else:
        subject = ngettext("[Preflight] %(count)s update", "[Preflight] %(count)s updates", count) % {"count": count}
    lines: list[str] = []
    for called, each_lines, each_link in words:
        lines.append(f"— {called}")
        # A line the message already says (the same changed fact behind several approvals) once.
        lines += [line for line in each_lines if line not in lines]
        if each_link and absolute_url(each_link) not in lines:
            lines.append(absolute_url(each_link))
    link = "" if blind or message.launch is None else message.launch.get_absolute_url()
    return subject, lines, link


def _record_failure(
    message: OutboxMessage, error: Exception, now: datetime.datetime, ids: list[int] | None, *, tell_owner: bool = True
) -> str:
    message.last_error = f"{type(error).__name__}: {error}"[:2000]
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.FAILED
        logger.error("Gave up on outbox message %s after %s attempts: %s", message.pk, message.attempts, error)
        told = _tell_owner_of_failure(message, now) if tell_owner else []
        if ids is not None:  # this drain delivers the owner's notice too
            ids.extend(told)
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


def _tell_owner_of_failure(message: OutboxMessage, now: datetime.datetime) -> list[int]:
    """The launch's owner learns (in-app, and by their channels) who was not reached, how and
    why; the launch page lists the message with a "retry now". Not for a failed notice of a failure
    (no chain of them), nor for messages about no launch (they are logged only). Returns the
    owner's messages' ids."""
    launch = message.launch
    if launch is None or message.event == DeliveryEvent.FAILED:
        return []
    return notices.tell(
        event=DeliveryEvent.FAILED,
        # Names the message; the time tells apart a second give-up after a "retry now".
        key=f"outbox:{message.pk}:{now:%Y%m%dT%H%M%S}",
        launch=launch,
        actor=None,
        recipients=[launch.owner],
        payload={
            "launch": launch.name,
            "person": person_name(message.recipient),
            "channel": message.channel,
            "about": message.event,
            "attempts": message.attempts,
            "error": message.last_error,
        },
        link=launch.get_absolute_url() + "#undelivered",
    ).message_ids


@events.register(DeliveryEvent.FAILED, held_for_digest=False)
def _delivery_failed(payload: dict) -> list[str]:
    channel = channels.get(payload.get("channel", ""))
    names = {
        **payload,
        "channel": str(channel.label) if channel is not None else payload.get("channel", ""),
        "about": events.label(payload.get("about", "")),
    }
    lines = [
        _("%(person)s could not be reached about “%(about)s” on %(launch)s (%(channel)s; attempts: %(attempts)s).")
        % names
    ]
    if payload.get("error"):  # as stored (a server's words, not ours): shown as a quoted line
        lines.append(_("Last error: %(error)s") % names)
    return lines


# Rows one purge statement deletes at most, so no statement holds the table for long.
PURGE_BATCH = 1000


def outbox_purge(*, before: datetime.datetime) -> int:
    """Delete the messages the outbox is done with (housekeeping, ``OUTBOX_RETENTION_DAYS``): sent
    before ``before``, or dropped (no longer relevant) when written before it; returns how many.
    Pending and failed messages stay (an owner may still put a failed one back), and so does every
    in-app notice, which is what keeps a reminder from being sent twice. Nothing in the ledger names
    an outbox row (README: what ``verify_ledger`` cannot see)."""
    done = models.Q(status=OutboxStatus.SENT, sent_at__lt=before) | models.Q(
        status=OutboxStatus.DROPPED, created_at__lt=before
    )
    deleted = 0
    while True:
        batch = list(OutboxMessage.objects.filter(done).order_by("pk").values_list("pk", flat=True)[:PURGE_BATCH])
        if not batch:
            return deleted
        deleted += OutboxMessage.objects.filter(done, pk__in=batch).delete()[0]
