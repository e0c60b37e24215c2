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


class Relevance(models.TextChoices):
    """What a notice is to its reader, decided when it is written (``notifications.notices``):
    something asked of them (or about what was asked of them), news of a launch they own, or news
    of someone else's launch they merely see."""

    WAITING = "waiting", _("Waiting for you")
    OWN = "own", _("Your launch")
    OTHER = "other", _("For your information")


class OthersMode(models.TextChoices):
    """How a person is told of events that neither wait for them nor concern their own launches."""

    IMMEDIATE = "immediate", _("As they happen, like everything else")
    DIGEST = "digest", _("Listed in my daily digest")
    PAGE = "page", _("Only on my notifications page")
