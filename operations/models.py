"""Operations after launch: what happens once a stage is entered."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from readiness.fields import LimitedTextField, NameField
from readiness.models import FeedbackChannel, FrozenWithArchivedLaunch

# Failure reviews ----------------------------------------------------------------------------------


class FailureCount(FrozenWithArchivedLaunch, models.Model):
    """How many failure cases one feedback channel caught in one period (low-confidence answers
    captured, negative feedback, golden-set items a human reviewer marked wrong)."""

    launch_lookup = "channel__launch"

    channel = models.ForeignKey(
        FeedbackChannel, on_delete=models.CASCADE, verbose_name=_("feedback channel"), related_name="failure_counts"
    )
    period_start = models.DateField(verbose_name=_("period start"))
    period_end = models.DateField(verbose_name=_("period end"))
    cases = models.PositiveIntegerField(verbose_name=_("failure cases"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("recorded by"), related_name="+"
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("failure count")
        verbose_name_plural = _("failure counts")
        ordering = ["channel", "-period_start"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "period_start"], name="one_failure_count_per_channel_period"),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="failure_count_period_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.cases} on {self.channel} {self.period_start}–{self.period_end}"

    def clean(self) -> None:
        if self.period_start and self.period_end:
            if self.period_end < self.period_start:
                raise ValidationError({"period_end": _("The period cannot end before it starts.")})
            if self.period_end > timezone.localdate():
                raise ValidationError({"period_end": _("A period still to come has no failure cases to count.")})


class FailureReview(FrozenWithArchivedLaunch, models.Model):
    """A review meeting of one feedback channel's failure cases: when, who attended, what was decided."""

    launch_lookup = "channel__launch"

    channel = models.ForeignKey(
        FeedbackChannel, on_delete=models.CASCADE, verbose_name=_("feedback channel"), related_name="failure_reviews"
    )
    held_on = models.DateField(verbose_name=_("held on"))
    attendees = models.ManyToManyField("raci.Stakeholder", verbose_name=_("attendees"), related_name="+")
    decisions = LimitedTextField(verbose_name=_("what was decided"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("recorded by"), related_name="+"
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), default=timezone.now)

    history = HistoricalRecords(m2m_fields=[attendees])

    class Meta:
        verbose_name = _("failure review")
        verbose_name_plural = _("failure reviews")
        ordering = ["channel", "-held_on", "-pk"]

    def __str__(self) -> str:
        return f"Review of {self.channel} on {self.held_on}"

    def clean(self) -> None:
        if self.held_on and self.held_on > timezone.localdate():
            raise ValidationError({"held_on": _("Record a review once it has been held, not before.")})


class ReviewAction(FrozenWithArchivedLaunch, models.Model):
    """Something a failure review decided to do, owned by a person on the launch's RACI."""

    launch_lookup = "review__channel__launch"

    review = models.ForeignKey(
        FailureReview, on_delete=models.CASCADE, verbose_name=_("failure review"), related_name="actions"
    )
    description = NameField(verbose_name=_("action"), max_length=300)
    owner = models.ForeignKey(
        "raci.Stakeholder", on_delete=models.PROTECT, verbose_name=_("owner"), related_name="review_actions"
    )
    due_on = models.DateField(verbose_name=_("due on"))
    done_on = models.DateField(verbose_name=_("done on"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("review action")
        verbose_name_plural = _("review actions")
        ordering = ["due_on", "pk"]

    def __str__(self) -> str:
        return self.description
