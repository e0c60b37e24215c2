"""Notifications through an outbox: a saved request is never lost or failed by its mail.

A service writes one ``OutboxMessage`` per recipient and channel (e-mail, Slack: as each person
chose, ``approvals.preferences``) inside its own transaction (``notify``,
``outbox_signoff_requested``) and asks for delivery after commit (``deliver_after_commit``).
Enqueueing can fail (the broker is down); that is logged and the messages stay pending. Whatever
is pending and due is delivered by ``deliver_outbox``: from the task enqueued on commit, from the
periodic task beat runs every minute, or from ``manage.py deliver_notifications``.

Delivery is at-least-once per (event, recipient, channel) and in practice once: each message is
locked, sent and marked sent in one short transaction, so concurrent drains skip each other's rows;
only a crash between the mail server (or webhook) accepting a message and the commit can send it
twice. A message due in its recipient's quiet hours waits for their end without an attempt; one
given up after ``MAX_ATTEMPTS`` is shown to its launch's owner (``_tell_owner_of_failure``,
``undelivered_messages``), who may put it back (``outbox_retry``)."""

from __future__ import annotations

import datetime
import logging
from collections import Counter
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from raci.choices import TeamFunction
from raci.selectors import preferred_language
from readiness.access import can_view, require_change
from readiness.i18n import english
from readiness.people import person_name

from . import audience, slack
from .choices import DecisionOutcome, NotificationChannel, NotificationEvent, OutboxStatus, WaiverStatus
from .models import Notification, OutboxMessage, SignoffRequest
from .preferences import (
    channels_for,
    preference_of,
    preferences_of,
    quiet_hours_end,
    slack_team_names,
    slack_webhook,
)

logger = logging.getLogger(__name__)

# After a failed attempt a message waits 1, 2, 4, ... minutes, at most an hour; after MAX_ATTEMPTS
# (about a day of trying) it is marked failed and left for an operator, who sees why in the admin.
RETRY_FIRST = datetime.timedelta(minutes=1)
RETRY_LONGEST = datetime.timedelta(hours=1)
MAX_ATTEMPTS = 30
# Messages one drain sends at most, so a task stays short; the next drain carries on.
DRAIN_LIMIT = 500
OUTCOMES = ("sent", "dropped", "retrying", "failed")
# A message still failing after this many attempts shows on its launch's page, as a failed one does.
UNDELIVERED_AFTER = 3
UNDELIVERED_SHOWN = 50


# Writing (inside the service's transaction) ------------------------------------------------------


def outbox_signoff_requested(
    *, request: SignoffRequest, recipients: Iterable, channels: dict[int, list[str]] | None = None
) -> list[int]:
    """Queue a "sign-off requested" message to each recipient on each channel they want now, and an
    in-app notice to each; returns the messages' ids. Call inside the transaction that creates
    ``request``. ``channels`` (``recipient_channels``), when a caller asking several sign-offs read
    them once for everyone, saves reading them again per request."""
    recipients = list(recipients)
    if channels is None:
        channels = recipient_channels(NotificationEvent.SIGNOFF_REQUESTED, recipients)
    link = reverse("web:decide", args=[request.pk])
    payload = _request_payload(
        request,
        request.requested_by,
        due=request.due_date.isoformat() if request.due_date else None,
        text=request.message,
    )
    Notification.objects.bulk_create(
        Notification(
            event=NotificationEvent.SIGNOFF_REQUESTED,
            key=f"request:{request.pk}",
            recipient=person,
            launch=request.launch,
            payload=payload,
            link=link,
        )
        for person in recipients
        if person.is_active
    )
    messages = OutboxMessage.objects.bulk_create(
        OutboxMessage(
            event=NotificationEvent.SIGNOFF_REQUESTED,
            channel=channel,
            request=request,
            recipient=person,
            launch=request.launch,
            payload=payload,
            link=link,
        )
        for person in recipients
        if person.is_active
        for channel in channels.get(person.pk, [])
    )
    return [message.pk for message in messages]


def recipient_channels(event: str, people: Iterable) -> dict[int, list[str]]:
    """By person id, the outbox channels each of ``people`` wants a message about ``event`` on now
    (``approvals.preferences``): one query for the preferences, one more for their teams only when
    Slack webhooks are configured, however many people."""
    people = [person for person in people if person.is_active]
    if not people:
        return {}
    preferences = preferences_of(people)
    slack_teams = slack_team_names(people)
    return {
        person.pk: channels_for(person, preferences[person.pk], slack_teams.get(person.pk, []), event)
        for person in people
    }


def _request_payload(request: SignoffRequest, actor, **extra) -> dict:
    return {
        "launch": request.launch.name,
        "stage": request.stage.name,
        "function": request.function,
        "person": person_name(actor),
        **extra,
    }


def notify(*, event: str, key: str, launch, actor, recipients: Iterable, payload: dict, link: str) -> list[int]:
    """Write one in-app notice per recipient about one occurrence of ``event`` (named by ``key``),
    and one outbox message per channel each wants now (``approvals.preferences``: e-mail, Slack,
    nothing while they take a digest), inside the caller's transaction, and ask for the messages to
    be delivered after commit. Never to ``actor``, nor to inactive people, nor to anyone who does
    not see ``launch`` now (``approvals.audience``: writing the notice is delivering it; a
    withdrawal or an escalation reaches them blind, without the launch or anyone's words); a
    recipient already told about this (event, key) is not told again. Returns the messages' ids."""
    people = {}
    for person in recipients:
        if person is None or not person.is_active or (actor is not None and person.pk == actor.pk):
            continue
        people[person.pk] = person
    if not people:
        return []
    told = set(
        Notification.objects.filter(event=event, key=key, recipient__in=list(people)).values_list(
            "recipient_id", flat=True
        )
    )
    fresh = [person for pk, person in people.items() if pk not in told]
    if launch is not None and fresh:
        sees = audience.seeing(launch, fresh)
        unseeing = [] if event not in audience.TOLD_WITHOUT_SEEING else [p for p in fresh if p.pk not in sees]
        fresh = [person for person in fresh if person.pk in sees]
    else:
        unseeing = []
    common = {"event": event, "key": key, "launch": launch}
    told_as = [(person, payload, link) for person in fresh] + [
        (person, audience.blind(payload), "") for person in unseeing
    ]
    Notification.objects.bulk_create(
        Notification(recipient=person, payload=words, link=where, **common) for person, words, where in told_as
    )
    channels = recipient_channels(event, [person for person, _words, _where in told_as])
    messages = OutboxMessage.objects.bulk_create(
        OutboxMessage(recipient=person, channel=channel, payload=words, link=where, **common)
        for person, words, where in told_as
        for channel in channels.get(person.pk, [])
    )
    ids = [message.pk for message in messages]
    deliver_after_commit(ids)
    return ids


def people_on_launch(launch) -> list:
    """Everyone on ``launch``: its owner, its RACI people and the holders of its slots."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    return list(
        get_user_model()
        .objects.filter(
            Q(pk=launch.owner_id)
            | Q(stakeholder__assignments__area__launch=launch)
            | Q(stakeholder__launch_slots__launch=launch)
        )
        .distinct()
        .order_by("pk")
    )


def owner_and_accountables(launch) -> list:
    """The launch's owner and its Accountables, in one query."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    from raci.choices import Role

    return list(
        get_user_model()
        .objects.filter(
            Q(pk=launch.owner_id)
            | Q(stakeholder__assignments__area__launch=launch, stakeholder__assignments__role=Role.ACCOUNTABLE)
        )
        .distinct()
        .order_by("pk")
    )


# Wording (in the language active when called) ---------------------------------------------------


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _check_title(key: str) -> str:
    from readiness.checklist import registry

    return str(registry.get(key).title) if key in registry else key


REMINDER_EVENTS = frozenset(
    {
        NotificationEvent.SIGNOFF_STALE,
        NotificationEvent.SIGNOFF_EXPIRING,
        NotificationEvent.SIGNOFF_OVERDUE,
        NotificationEvent.SIGNOFF_ESCALATED,
        NotificationEvent.ACKNOWLEDGEMENT_REQUESTED,
        NotificationEvent.FACT_EXPIRING,
        NotificationEvent.DIGEST,
    }
)


def describe(event: str, payload: dict) -> tuple[str, list[str]]:
    """The subject and the lines of a notice, in the active language, from its stored payload.
    Lines other than the first quote what people wrote (a comment, a reason) and are user text."""
    names = {
        **payload,
        "function": _label(TeamFunction, payload.get("function", "")),
        "event": _label(NotificationEvent, event),
        "check": _check_title(payload.get("check", "")),
    }
    if payload.get("blind"):
        return _describe_blind(event, names)
    subject = _("[Preflight] %(launch)s: %(event)s") % {
        "launch": payload.get("launch") or _("Portfolio"),
        "event": names["event"],
    }
    if event == NotificationEvent.SIGNOFF_REQUESTED:
        subject = _("[Preflight] %(launch)s: %(function)s sign-off for %(stage)s") % names
        if payload.get("due"):
            line = _("%(person)s asks for your sign-off by %(due)s to move %(launch)s to %(stage)s.") % names
        else:
            line = _("%(person)s asks for your sign-off to move %(launch)s to %(stage)s.") % names
    elif event == NotificationEvent.SIGNOFF_DECIDED:
        names["outcome"] = _label(DecisionOutcome, payload.get("outcome", ""))
        line = _("%(person)s decided the %(function)s sign-off for %(stage)s: %(outcome)s.") % names
    elif event == NotificationEvent.SIGNOFF_DELEGATED:
        line = _("%(person)s delegated the %(function)s sign-off for %(stage)s to you.") % names
    elif event == NotificationEvent.SIGNOFF_WITHDRAWN:
        line = _("%(person)s withdrew the request for the %(function)s sign-off for %(stage)s.") % names
    elif event == NotificationEvent.WAIVER_REQUESTED:
        line = _("%(person)s asks for a waiver of the check %(check)s for %(stage)s.") % names
    elif event == NotificationEvent.WAIVER_DECIDED:
        names["outcome"] = _label(WaiverStatus, payload.get("outcome", ""))
        line = _("%(person)s decided your waiver of the check %(check)s for %(stage)s: %(outcome)s.") % names
    elif event == NotificationEvent.STAGE_ADVANCED:
        line = _("%(person)s moved %(launch)s from %(from)s to %(to)s.") % names
    elif event == NotificationEvent.STAGE_ROLLED_BACK:
        line = _("%(person)s rolled %(launch)s back from %(from)s to %(to)s.") % names
    elif event == NotificationEvent.STAGE_LAPSED:
        reasons = payload.get("reasons", [])
        names["count"] = len(reasons)
        names["items"] = "; ".join(_check_title(key) for key in reasons)
        line = (
            ngettext(
                "%(launch)s is in %(stage)s, but the stage no longer holds: %(count)s reason (%(items)s).",
                "%(launch)s is in %(stage)s, but the stage no longer holds: %(count)s reasons (%(items)s).",
                len(reasons),
            )
            % names
        )
    elif event == NotificationEvent.REPORT_READY:
        if payload.get("launch"):
            line = _("Your report on %(launch)s is ready to download.") % names
        else:
            line = _("Your portfolio report is ready to download.")
    elif event == NotificationEvent.DELIVERY_FAILED:
        names["channel"] = _label(NotificationChannel, payload.get("channel", ""))
        names["about"] = _label(NotificationEvent, payload.get("about", ""))
        line = (
            _("%(person)s could not be reached about “%(about)s” on %(launch)s (%(channel)s; attempts: %(attempts)s).")
            % names
        )
        if payload.get("error"):  # as stored (a server's words, not ours): shown as a quoted line
            payload = {**payload, "text": _("Last error: %(error)s") % names}
    elif event in REMINDER_EVENTS:
        from .reminders import describe_reminder  # the scheduled sweeps' notices (approvals.reminders)

        subject, lines = describe_reminder(event, payload, names, subject)
        return subject, lines
    else:  # an event this version does not know: say what it is, not nothing
        line = names["event"]
    lines = [line]
    if payload.get("text"):
        lines.append(payload["text"])
    return subject, lines


def _describe_blind(event: str, names: dict) -> tuple[str, list[str]]:
    """A notice to someone who does not see its launch (``approvals.audience.blind``): what
    happened, to whose sign-off, with no launch, no stage and nobody's words."""
    subject = _("[Preflight] %(event)s") % names
    if event == NotificationEvent.SIGNOFF_WITHDRAWN:
        line = _("%(person)s withdrew a request for your %(function)s sign-off; nothing is asked of you any more.")
    elif event == NotificationEvent.SIGNOFF_ESCALATED:
        names["people"] = ", ".join(names.get("people", [])) or _("nobody")
        line = ngettext(
            "Escalated to you: a %(function)s sign-off was due on %(due)s and is %(days)s day overdue; "
            "it waits for %(people)s.",
            "Escalated to you: a %(function)s sign-off was due on %(due)s and is %(days)s days overdue; "
            "it waits for %(people)s.",
            names.get("days", 0),
        )
    else:
        return subject, [names["event"]]
    return subject, [line % names]


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path if path else ""


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
    its own transaction; returns how many were sent, dropped, left to retry and given up (messages
    held for quiet hours are not counted: they are pending, due when the hours end). A message
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
        .select_related(
            "request__launch",
            "request__stage",
            "request__requested_by",
            "recipient__notification_preference",
            "launch__owner",
        )
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
    quiet_until = quiet_hours_end(preference_of(message.recipient), now)
    if quiet_until is not None:  # not an attempt: it waits for the recipient's morning
        message.next_attempt_at = quiet_until
        message.save(update_fields=["next_attempt_at"])
        logger.info("Outbox message %s held for quiet hours until %s.", message.pk, quiet_until.isoformat())
        return "held"
    message.attempts += 1
    try:
        _send(message)
    except Exception as error:
        return _record_failure(message, error, now)
    message.status, message.sent_at, message.last_error = OutboxStatus.SENT, now, ""
    message.save(update_fields=["status", "sent_at", "last_error", "attempts"])
    return "sent"


def _reason_to_drop(message: OutboxMessage) -> str:
    """Why ``message`` is not sent now, or "". A message waiting in the outbox (quiet hours,
    retries, a broker down) is about a launch its recipient could see when it was written; one who
    has since lost sight of the launch is not sent it (``approvals.audience``; a withdrawal or an
    escalation goes blind instead, ``_send``)."""
    request, recipient = message.request, message.recipient
    if request is not None and not request.is_open:
        return f"Not sent: the request was {request.get_status_display().lower()} before delivery."
    if not recipient.is_active:
        return "Not sent: the recipient has been deactivated."
    if _blind_to_launch(message) and message.event not in audience.TOLD_WITHOUT_SEEING:
        return "Not sent: the recipient no longer sees the launch."
    preference = preference_of(recipient)
    if message.channel == NotificationChannel.SLACK:
        if not preference.slack:
            return "Not sent: the recipient turned Slack off."
        if _slack_webhook_of(recipient) is None:
            return "Not sent: none of the recipient's teams has a Slack webhook any more."
        return ""
    if not preference.email:
        return "Not sent: the recipient turned e-mail off."
    if not recipient.email:
        return "Not sent: the recipient has no e-mail address."
    return ""


def _blind_to_launch(message: OutboxMessage) -> bool:
    """The recipient does not see the message's launch now (read once per message)."""
    if not hasattr(message, "_blind"):
        message._blind = message.launch is not None and not can_view(message.recipient, message.launch)
    return message._blind


def _slack_webhook_of(recipient) -> str | None:
    return slack_webhook(slack_team_names([recipient]).get(recipient.pk, []))


def _send(message: OutboxMessage) -> None:
    """The mail speaks the recipient's chosen language (else the site's), whoever triggered delivery:
    a plain-text body and the same in HTML, each with the link to the page it is about."""
    payload = dict(message.payload)
    request = message.request
    if request is not None:  # messages written before payloads were stored: read the request
        payload = {
            **_request_payload(request, request.requested_by),
            **payload,
            "due": request.due_date.isoformat() if request.due_date else None,
            "text": request.message,
        }
    link = message.link or (reverse("web:decide", args=[request.pk]) if request is not None else "")
    if _blind_to_launch(message):  # a withdrawal or an escalation to someone off the launch
        payload, link = audience.blind(payload), ""
    with translation.override(preferred_language(message.recipient) or settings.LANGUAGE_CODE):
        subject, lines = describe(message.event, payload)
        if message.channel == NotificationChannel.SLACK:
            _post_to_slack(message.recipient)
            return
        context = {"subject": subject, "lines": lines, "url": absolute_url(link)}
        text = render_to_string("notifications/email.txt", context)
        html = render_to_string("notifications/email.html", context)
    send_mail(
        subject=subject,
        message=text,
        recipient_list=[message.recipient.email],
        html_message=html,
        headers={"Message-ID": message_id(message)},
    )


def send_mail(*, subject: str, message: str, recipient_list: list[str], html_message: str, headers: dict) -> None:
    """Django's ``send_mail`` (plain text with an HTML alternative, from DEFAULT_FROM_EMAIL), with
    headers, which that function does not take."""
    mail = EmailMultiAlternatives(subject=subject, body=message, to=recipient_list, headers=headers)
    mail.attach_alternative(html_message, "text/html")
    mail.send()


def message_id(message: OutboxMessage) -> str:
    """The same Message-ID however often the message is sent. Delivery is at-least-once: a worker
    killed after the mail server accepted a message but before its "sent" committed sends it again,
    and this lets mail servers and clients recognise the copy as the same message."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "preflight.invalid"
    return f"<preflight-outbox-{message.pk}-{message.created_at:%Y%m%d%H%M%S}@{domain}>"


def _post_to_slack(recipient) -> None:
    """To the channel of the recipient's team: only whom it is for and a link to their notices.
    A team channel may hold people who do not see the launch, so the post names no launch, no
    stage, nobody else and nothing anyone wrote (the subject and lines stay behind the sign-in,
    as does the page the notice is about: its address can carry the launch's name). Escaped, so
    a person's name cannot mention or link anyone."""
    webhook = _slack_webhook_of(recipient)
    if webhook is None:  # removed between the check and now: fail, the next attempt drops it
        raise slack.SlackError("no Slack webhook for the recipient's teams")
    text = _("%(person)s: you have a new notice in Preflight.") % {"person": person_name(recipient)}
    slack.post(webhook, "\n".join(slack.escape(part) for part in (text, absolute_url(reverse("web:notifications")))))


def _record_failure(message: OutboxMessage, error: Exception, now: datetime.datetime) -> str:
    message.last_error = f"{type(error).__name__}: {error}"[:2000]
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.FAILED
        logger.error("Gave up on outbox message %s after %s attempts: %s", message.pk, message.attempts, error)
        _tell_owner_of_failure(message, now)
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


def _tell_owner_of_failure(message: OutboxMessage, now: datetime.datetime) -> None:
    """The launch's owner learns (in-app, and by their channels) who was not reached, how and
    why; the launch page lists the message with a "retry now". Not for a failed notice of a failure
    (no chain of them), nor for messages about no launch (they are logged only)."""
    launch = message.launch
    if launch is None or message.event == NotificationEvent.DELIVERY_FAILED:
        return
    notify(
        event=NotificationEvent.DELIVERY_FAILED,
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
        link=reverse("web:launch", args=[launch.slug]) + "#undelivered",
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


def undelivered_messages(launch) -> list[OutboxMessage]:
    """``launch``'s messages given up, or still failing after ``UNDELIVERED_AFTER`` attempts, with
    their recipients: one query."""
    return list(
        OutboxMessage.objects.filter(launch=launch)
        .filter(Q(status=OutboxStatus.FAILED) | Q(status=OutboxStatus.PENDING, attempts__gte=UNDELIVERED_AFTER))
        .select_related("recipient")
        .order_by("-next_attempt_at", "-pk")[:UNDELIVERED_SHOWN]
    )


# In-app notices ---------------------------------------------------------------------------------


def notification_mark_read(*, actor, notification_id: int) -> Notification:
    """Mark one of ``actor``'s notices read (again: no change). Someone else's, or none, raises
    ``Notification.DoesNotExist``: a notice is its recipient's alone."""
    notification = Notification.objects.get(pk=notification_id, recipient=actor)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, actor) -> int:
    """Mark every unread notice of ``actor`` read; returns how many."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())
