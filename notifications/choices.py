from django.db import models
from django.utils.translation import gettext_lazy as _


class DeliveryEvent(models.TextChoices):
    """What the outbox itself tells people about (each app names its own events: ``notifications.events``)."""

    FAILED = "delivery_failed", _("A notification could not be delivered")


class DeliveryMode(models.TextChoices):
    IMMEDIATE = "immediate", _("As it happens")
    DIGEST = "digest", _("In one daily digest")


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    DROPPED = "dropped", _("Dropped: no longer relevant")
    FAILED = "failed", _("Failed: gave up after repeated errors")
