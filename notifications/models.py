"""In-app notices, the outbox of messages to send, and how each person wants to be told.

Plumbing, not governance: nothing the gate or the ledger reads, so none of these has history and
the outbox is updated in place. The tables kept their names from when they lived in ``approvals``."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from readiness.fields import LimitedTextField

from . import channels, events
from .choices import DeliveryMode, OthersMode, OutboxStatus, Relevance

# "<change>:<launch id>": the notices and messages of one change (one transaction) about one launch.
GROUP_KEY_LENGTH = 40


class OutboxMessage(models.Model):
    """One message to one person by one channel about one event, written in the same transaction
    as the change it reports and delivered after commit by ``notifications.outbox.deliver_outbox``
    (a task enqueued on commit, a periodic task, or ``manage.py deliver_notifications``).

    ``key`` names the occurrence ("decision:12"); with the event, recipient and channel it is
    unique, which makes delivery idempotent: each person gets each notice at most once per channel,
    however often delivery runs. ``subject``, when given, is the object the message is about (a
    sign-off request): its event may ask it whether the message is still worth sending
    (``notifications.events``), and its page is the link when the message stored none."""

    event = models.CharField(verbose_name=_("event"), max_length=events.MAX_LENGTH, choices=events.choices)
    channel = models.CharField(verbose_name=_("channel"), max_length=channels.MAX_LENGTH, choices=channels.choices)
    subject_type = models.ForeignKey(
        ContentType,
        on_delete=models.CASCADE,
        verbose_name=_("subject type"),
        related_name="+",
        null=True,
        blank=True,
    )
    subject_id = models.PositiveBigIntegerField(verbose_name=_("subject id"), null=True, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, verbose_name=_("recipient"), related_name="+"
    )
    key = models.CharField(verbose_name=_("key"), max_length=100, blank=True, default="")
    launch = models.ForeignKey(
        "readiness.Launch", on_delete=models.CASCADE, verbose_name=_("launch"), related_name="+", null=True, blank=True
    )
    # What the message says: names and codes, never sentences (it is written in the recipient's
    # language when sent); ``link`` is the path of the page it points to.
    payload = models.JSONField(verbose_name=_("payload"), default=dict, blank=True)
    link = models.CharField(verbose_name=_("link"), max_length=300, blank=True, default="")
    # The messages of one change to one person about one launch share it: the outbox sends them as
    # one (``notifications.outbox``).
    group_key = models.CharField(verbose_name=_("group"), max_length=GROUP_KEY_LENGTH, blank=True, default="")
    status = models.CharField(
        verbose_name=_("status"), max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)
    next_attempt_at = models.DateTimeField(
        verbose_name=_("next attempt at"), default=timezone.now, help_text=_("Not sent before this time (back-off).")
    )
    attempts = models.PositiveIntegerField(verbose_name=_("attempts"), default=0)
    last_error = LimitedTextField(
        verbose_name=_("last error"),
        blank=True,
        help_text=_("Why the last attempt failed, or why the message was dropped."),
    )
    sent_at = models.DateTimeField(verbose_name=_("sent at"), null=True, blank=True)

    class Meta:
        db_table = "approvals_outboxmessage"
        verbose_name = _("outbox message")
        ordering = ["-created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subject_type", "subject_id", "recipient", "channel"],
                name="one_message_per_event_subject_recipient_channel",
            ),
            models.UniqueConstraint(
                fields=["event", "key", "recipient", "channel"],
                condition=~Q(key=""),
                name="one_message_per_event_key_recipient_channel",
            ),
            models.CheckConstraint(
                condition=Q(status=OutboxStatus.SENT, sent_at__isnull=False)
                | (~Q(status=OutboxStatus.SENT) & Q(sent_at__isnull=True)),
                name="outbox_sent_at_iff_sent",
            ),
        ]
        indexes = [
            # The drain's query: what is pending and due, oldest first.
            models.Index(fields=["next_attempt_at", "id"], condition=Q(status=OutboxStatus.PENDING), name="outbox_due"),
            # A subject's messages (deleting a sign-off request deletes its messages).
            models.Index(fields=["subject_type", "subject_id"], name="outbox_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} → {self.recipient} ({self.get_status_display()})"


class Notification(models.Model):
    """One in-app notice to one person about one event, written with its outbox messages (the same
    event, key and payload) inside the transaction that causes it; listed on the person's notices."""

    event = models.CharField(verbose_name=_("event"), max_length=events.MAX_LENGTH, choices=events.choices)
    key = models.CharField(verbose_name=_("key"), max_length=100)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, verbose_name=_("recipient"), related_name="notifications"
    )
    launch = models.ForeignKey(
        "readiness.Launch", on_delete=models.CASCADE, verbose_name=_("launch"), related_name="+", null=True, blank=True
    )
    payload = models.JSONField(verbose_name=_("payload"), default=dict, blank=True)
    link = models.CharField(verbose_name=_("link"), max_length=300, blank=True, default="")
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)
    read_at = models.DateTimeField(verbose_name=_("read at"), null=True, blank=True)
    relevance = models.CharField(
        verbose_name=_("relevance"), max_length=10, choices=Relevance.choices, default=Relevance.OTHER
    )
    # Filed without telling (news of others' launches the person takes in their digest or only
    # here): listed, never counted as new in the header.
    quiet = models.BooleanField(verbose_name=_("filed quietly"), default=False)
    group_key = models.CharField(verbose_name=_("group"), max_length=GROUP_KEY_LENGTH, blank=True, default="")

    class Meta:
        db_table = "approvals_notification"
        verbose_name = _("notification")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "key", "recipient"], name="one_notification_per_event_and_recipient"
            )
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
            models.Index(fields=["recipient", "group_key"], name="notification_group"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} ({self.key}) for {self.recipient_id}"


class NotificationPreference(models.Model):
    """How one person wants to be told: which channels, at once or in a daily digest, and hours in
    which nothing is sent (in their time zone), and how they hear of what neither waits for them nor
    concerns their own launches (``others``). Without a row: e-mail and Slack (where their team
    has a webhook), at once, no quiet hours, others' news in the digest. In-app notices are always
    written."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        verbose_name=_("user"),
        related_name="notification_preference",
    )
    email = models.BooleanField(verbose_name=_("by e-mail"), default=True)
    slack = models.BooleanField(
        verbose_name=_("in Slack"), default=True, help_text=_("Only where your team has a Slack webhook.")
    )
    mode = models.CharField(
        verbose_name=_("when"), max_length=10, choices=DeliveryMode.choices, default=DeliveryMode.IMMEDIATE
    )
    others = models.CharField(
        verbose_name=_("news of other people's launches"),
        max_length=10,
        choices=OthersMode.choices,
        default=OthersMode.DIGEST,
        help_text=_("Events that neither wait for you nor concern a launch you own."),
    )
    quiet_from = models.TimeField(verbose_name=_("quiet from"), null=True, blank=True)
    quiet_until = models.TimeField(verbose_name=_("quiet until"), null=True, blank=True)
    time_zone = models.CharField(
        verbose_name=_("time zone"),
        max_length=64,
        blank=True,
        help_text=_("For quiet hours and the digest; empty means the site's time zone."),
    )
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        db_table = "approvals_notificationpreference"
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.CheckConstraint(
                condition=Q(quiet_from__isnull=True, quiet_until__isnull=True)
                | (Q(quiet_from__isnull=False, quiet_until__isnull=False) & ~Q(quiet_from=F("quiet_until"))),
                name="quiet_hours_both_or_neither_and_not_empty",
            )
        ]

    def __str__(self) -> str:
        return f"Notification preferences of {self.user_id}"

    def clean(self) -> None:
        if (self.quiet_from is None) != (self.quiet_until is None):
            raise ValidationError({"quiet_until": _("Give both ends of the quiet hours, or neither.")})
        if self.quiet_from is not None and self.quiet_from == self.quiet_until:
            raise ValidationError({"quiet_until": _("Quiet hours must not start and end at the same time.")})
        if self.time_zone and self.time_zone not in zoneinfo.available_timezones():
            raise ValidationError({"time_zone": _("“%(zone)s” is not a known time zone.") % {"zone": self.time_zone}})
