"""Operations after launch (issue 11): what happens once a stage is entered.

Sections, one per piece of work sharing this app: "Incidents" (incidents, post-mortems and their
action items), "Rollbacks" (rollbacks that happened), "Failure reviews" (failure cases counted
per feedback channel, review meetings and their actions) and "SLI actuals" (daily measured values
and their Prometheus source)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import DecimalValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from raci.models import RaciAssignment, Stakeholder
from readiness.choices import PERCENT_INDICATORS, Severity, SloIndicator
from readiness.fields import LimitedTextField, NameField
from readiness.i18n import shown_date
from readiness.models import FeedbackChannel, FrozenWithArchivedLaunch, Launch, RolloutStage

# =============================================================================================
# Incidents
# =============================================================================================

# Severities whose incidents block advancing while open and need a post-mortem once resolved.
MAJOR_SEVERITIES = (Severity.P0, Severity.P1)
# A resolved major incident has this many days to get its post-mortem before "Incident post-mortems" fails.
POSTMORTEM_DUE_DAYS = 7

# Each step of an incident, in the order it must happen, with its label.
INCIDENT_STEPS = (
    ("detected_at", _("detected")),
    ("acknowledged_at", _("acknowledged")),
    ("mitigated_at", _("mitigated")),
    ("resolved_at", _("resolved")),
)


def _step_constraints() -> list[models.CheckConstraint]:
    """detected ≤ acknowledged ≤ mitigated ≤ resolved, and no step without the one before it."""
    constraints = []
    for (earlier, _label), (later, _later_label) in zip(INCIDENT_STEPS, INCIDENT_STEPS[1:], strict=False):
        constraints.append(
            models.CheckConstraint(
                condition=Q(**{f"{later}__isnull": True})
                | (Q(**{f"{earlier}__isnull": False}) & Q(**{f"{later}__gte": F(earlier)})),
                name=f"incident_{later.removesuffix('_at')}_after_{earlier.removesuffix('_at')}",
            )
        )
    return constraints


class Incident(FrozenWithArchivedLaunch, models.Model):
    """Something that went wrong with a launch in service, judged against its severity policy."""

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="incidents")
    # "title" is also a person's job title (raci): the context keeps an incident's its own word.
    title = models.CharField(verbose_name=pgettext_lazy("incident", "title"), max_length=200)
    severity = models.CharField(verbose_name=_("severity"), max_length=2, choices=Severity.choices)
    user_impact = LimitedTextField(
        verbose_name=_("impact on users"), help_text=_("What the incident did to users, and how many.")
    )
    detected_at = models.DateTimeField(verbose_name=_("detected at"))
    acknowledged_at = models.DateTimeField(verbose_name=_("acknowledged at"), null=True, blank=True)
    mitigated_at = models.DateTimeField(verbose_name=_("mitigated at"), null=True, blank=True)
    resolved_at = models.DateTimeField(verbose_name=_("resolved at"), null=True, blank=True)
    responders = models.ManyToManyField(
        Stakeholder, verbose_name=_("responders"), related_name="incidents_responded", blank=True
    )
    notified = models.ManyToManyField(
        Stakeholder,
        verbose_name=_("people notified"),
        related_name="incidents_notified",
        blank=True,
        help_text=_("Who was paged; compared with whom the severity level pages through the RACI."),
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("reported by"), related_name="+"
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)

    history = HistoricalRecords(m2m_fields=[responders, notified])

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-detected_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="incident_severity_p0_to_p3"),
            models.CheckConstraint(condition=~Q(title=""), name="incident_title_not_empty"),
            *_step_constraints(),
        ]

    def __str__(self) -> str:
        return f"{self.severity} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("web:incident", args=[self.launch.slug, self.pk])

    def clean(self) -> None:
        if not self.title.strip():
            raise ValidationError({"title": _("Give the incident a title.")})
        errors = {}
        for (earlier, earlier_label), (later, later_label) in zip(INCIDENT_STEPS, INCIDENT_STEPS[1:], strict=False):
            before, after = getattr(self, earlier), getattr(self, later)
            if after is None:
                continue
            if before is None:
                errors[later] = _("It cannot be %(later)s before it is %(earlier)s.") % {
                    "later": later_label,
                    "earlier": earlier_label,
                }
            elif after < before:
                errors[later] = _("It was %(later)s before it was %(earlier)s: the times are out of order.") % {
                    "later": later_label,
                    "earlier": earlier_label,
                }
        if errors:
            raise ValidationError(errors)

    @property
    def is_major(self) -> bool:
        return self.severity in MAJOR_SEVERITIES

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def status_label(self) -> str:
        for field, label in reversed(INCIDENT_STEPS):
            if getattr(self, field) is not None:
                return str(label)
        return ""


class PostMortem(FrozenWithArchivedLaunch, models.Model):
    """What was learned from a resolved incident, with the actions it led to."""

    launch_lookup = "incident__launch"

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, verbose_name=_("incident"), related_name="postmortem"
    )
    summary = LimitedTextField(verbose_name=_("summary"))
    root_cause = LimitedTextField(verbose_name=_("root cause"))
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("written by"), related_name="+"
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("post-mortem")
        verbose_name_plural = _("post-mortems")

    def __str__(self) -> str:
        return f"Post-mortem of {self.incident}"

    def clean(self) -> None:
        if self.incident_id and self.incident.resolved_at is None:
            raise ValidationError({"incident": _("A post-mortem is written once the incident is resolved.")})


class ActionItem(FrozenWithArchivedLaunch, models.Model):
    """Something a post-mortem says must change, owned by a person on the launch's RACI, by a date."""

    launch_lookup = "postmortem__incident__launch"

    postmortem = models.ForeignKey(
        PostMortem, on_delete=models.CASCADE, verbose_name=_("post-mortem"), related_name="action_items"
    )
    description = models.CharField(verbose_name=_("description"), max_length=500)
    owner = models.ForeignKey(
        Stakeholder,
        on_delete=models.PROTECT,
        verbose_name=pgettext_lazy("action", "owner"),  # 담당자, not the launch owner's 소유자
        related_name="incident_actions",
    )
    due_date = models.DateField(verbose_name=_("due date"))
    completed_at = models.DateTimeField(verbose_name=_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        verbose_name=_("completed by"),
        related_name="+",
        null=True,
        blank=True,
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        ordering = ["due_date", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(description=""), name="action_item_description_not_empty"),
            models.CheckConstraint(
                condition=Q(completed_at__isnull=True, completed_by__isnull=True)
                | Q(completed_at__isnull=False, completed_by__isnull=False),
                name="action_item_completed_with_who",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    def clean(self) -> None:
        if not self.description.strip():
            raise ValidationError({"description": _("Say what must be done.")})
        if self.owner_id and self.postmortem_id:
            launch_id = self.postmortem.incident.launch_id
            if not RaciAssignment.objects.filter(area__launch_id=launch_id, stakeholder_id=self.owner_id).exists():
                raise ValidationError(
                    {
                        "owner": _("%(person)s is not on this launch's RACI; an action item's owner must be.")
                        % {"person": self.owner.display_name}
                    }
                )


# =============================================================================================
# Rollbacks
# =============================================================================================


class RollbackExecution(FrozenWithArchivedLaunch, models.Model):
    """A rollback that happened (``approvals.services.gate.stage_rollback``), as opposed to a
    rehearsal (``RollbackPlan.last_rehearsed_at``): who, why, how long it took, which incident caused it."""

    launch = models.ForeignKey(
        Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="rollback_executions"
    )
    from_stage = models.ForeignKey(
        RolloutStage, on_delete=models.SET_NULL, null=True, verbose_name=_("from stage"), related_name="+"
    )
    to_stage = models.ForeignKey(
        RolloutStage, on_delete=models.SET_NULL, null=True, verbose_name=_("to stage"), related_name="+"
    )
    # The stages' names as they were, kept should a stage later be renamed or removed.
    from_stage_name = models.CharField(verbose_name=_("from stage name"), max_length=100)
    to_stage_name = models.CharField(verbose_name=_("to stage name"), max_length=100)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("performed by"), related_name="+"
    )
    reason = LimitedTextField(verbose_name=_("reason"))
    rolled_back_at = models.DateTimeField(verbose_name=_("rolled back at"), default=timezone.now)
    duration = models.DurationField(
        verbose_name=_("how long it took"),
        null=True,
        blank=True,
        help_text=_("From starting the rollback to users being on the earlier stage."),
    )
    incident = models.ForeignKey(
        Incident,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("caused by incident"),
        related_name="rollbacks",
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("rollback executed")
        verbose_name_plural = _("rollbacks executed")
        ordering = ["-rolled_back_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration__isnull=True) | Q(duration__gte=datetime.timedelta(0)),
                name="rollback_execution_duration_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage_name} → {self.to_stage_name}"

    @property
    def duration_minutes(self) -> int | None:
        return None if self.duration is None else int(self.duration.total_seconds() // 60)

    def clean(self) -> None:
        if self.duration is not None and self.duration < datetime.timedelta(0):
            raise ValidationError({"duration": _("How long it took cannot be negative.")})
        if self.incident_id and self.launch_id and self.incident.launch_id != self.launch_id:
            raise ValidationError({"incident": _("The incident belongs to another launch.")})


# =============================================================================================
# Failure reviews
# =============================================================================================


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
        "raci.Stakeholder",
        on_delete=models.PROTECT,
        verbose_name=pgettext_lazy("action", "owner"),
        related_name="review_actions",
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


# ================================================================================================
# SLI actuals
# ================================================================================================

HUNDRED = Decimal("100")

# What is measured per day. The monthly cost SLO is judged on the sum of the daily costs, so cost
# is measured once a day as ``cost_daily``; ``cost_monthly`` is never recorded.
SLI_INDICATORS = tuple(code for code in SloIndicator.values if code != SloIndicator.COST_MONTHLY)
SLI_CHOICES = [(code, label) for code, label in SloIndicator.choices if code in SLI_INDICATORS]
# Accepted in CSV files and Prometheus query maps as another name for the daily cost.
SLI_ALIASES = {"cost": SloIndicator.COST_DAILY}


class SliSource(models.TextChoices):
    COMMAND = "command", _("Command")
    FORM = "form", _("Form")
    PROMETHEUS = "prometheus", _("Prometheus")


# The value column's digits (``SliActual.value``): checked with the other problems of a value, so a
# file's bad row is named by its line instead of failing when saved.
SLI_VALUE_DIGITS = DecimalValidator(max_digits=14, decimal_places=3)


def sli_value_problem(indicator: str, value: Decimal | None) -> str | None:
    """Why ``value`` cannot be a day's measurement of ``indicator`` (None when it can)."""
    if indicator not in SLI_INDICATORS:
        return str(_("Unknown indicator '%(indicator)s'; use one of %(known)s.")) % {
            "indicator": indicator,
            "known": ", ".join(SLI_INDICATORS),
        }
    if value is None:
        return str(_("A value is required."))
    if not value.is_finite():
        return str(_("The value must be a finite number."))
    if value < 0:
        return str(_("%(indicator)s cannot be negative.")) % {"indicator": SloIndicator(indicator).label}
    try:  # what the column keeps: a value rounded or cut on saving would not be the one measured
        SLI_VALUE_DIGITS(value)
    except ValidationError as error:
        return " ".join(error.messages)
    if indicator in PERCENT_INDICATORS and value > HUNDRED:
        return str(_("%(indicator)s: enter a percentage between 0 %% and 100 %%.")) % {
            "indicator": SloIndicator(indicator).label
        }
    return None


class SliActual(FrozenWithArchivedLaunch, models.Model):
    """One day's measured value of one SLI of a launch, in the SLO's unit: percent for success and
    error rates, milliseconds for latency, currency units for the day's cost. Recording the same
    day again replaces the value (its history keeps the old one)."""

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="sli_actuals")
    indicator = models.CharField(verbose_name=_("indicator"), max_length=20, choices=SLI_CHOICES)
    day = models.DateField(verbose_name=_("day"))
    value = models.DecimalField(
        verbose_name=_("value"), max_digits=14, decimal_places=3, validators=[MinValueValidator(Decimal("0"))]
    )
    source = models.CharField(verbose_name=_("source"), max_length=12, choices=SliSource.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty only for values pulled from Prometheus by the scheduled task."),
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("SLI actual")
        verbose_name_plural = _("SLI actuals")
        ordering = ["launch", "indicator", "day"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "indicator", "day"], name="sli_actual_one_per_day"),
            models.CheckConstraint(condition=Q(value__gte=0), name="sli_actual_non_negative"),
            models.CheckConstraint(
                condition=~Q(indicator__in=sorted(PERCENT_INDICATORS)) | Q(value__lte=100),
                name="sli_actual_percentages_at_most_100",
                violation_error_message=_("Success and error rates are percentages: at most 100."),
            ),
            models.CheckConstraint(condition=Q(indicator__in=SLI_INDICATORS), name="sli_actual_known_indicator"),
            models.CheckConstraint(
                condition=Q(recorded_by__isnull=False) | Q(source="prometheus"),
                name="sli_actual_person_unless_pulled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator} {self.day.isoformat()}: {self.value.normalize():f}"

    def clean(self) -> None:
        errors = {}
        if self.indicator and (problem := sli_value_problem(self.indicator, self.value)):
            errors["indicator" if self.indicator not in SLI_INDICATORS else "value"] = problem
        if self.day and self.day > timezone.localdate():
            errors["day"] = _("%(day)s is in the future; record a day once it has been measured.") % {
                "day": shown_date(self.day)
            }
        if self.recorded_by_id is None and self.source != SliSource.PROMETHEUS:
            errors["recorded_by"] = _("A value a person records names who recorded it.")
        if errors:
            raise ValidationError(errors)


def prometheus_url_problem(url: str) -> str | None:
    """Why the server may not fetch ``url`` (None when it may): http or https only, no user or
    password in it, and its host among ``PROMETHEUS_ALLOWED_HOSTS`` (empty: no pulls at all). The
    URL is chosen by a user and fetched by the server, so anything else would let a launch owner
    make Preflight call any host it can reach (SSRF)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return str(_("'%(url)s' is not a valid URL.")) % {"url": url}
    if parts.scheme not in ("http", "https"):
        return str(_("Only http and https Prometheus URLs are allowed."))
    if parts.username or parts.password:
        return str(_("Put no user name or password in the URL."))
    if parts.query or parts.fragment:
        return str(_("Give the server's base URL, without a query or fragment."))
    host = (parts.hostname or "").lower()
    allowed = [entry.lower() for entry in settings.PROMETHEUS_ALLOWED_HOSTS]
    if not allowed:
        return str(_("Prometheus pulls are turned off on this server (PROMETHEUS_ALLOWED_HOSTS is empty)."))
    if host not in allowed and f"{host}:{port}" not in allowed:
        return str(_("Host '%(host)s' is not among the Prometheus servers this Preflight may ask (%(allowed)s).")) % {
            "host": host,
            "allowed": ", ".join(allowed),
        }
    return None


class PrometheusSource(FrozenWithArchivedLaunch, models.Model):
    """Where the scheduled task pulls a launch's daily SLI values: a Prometheus server and one
    PromQL query per indicator, each returning one series whose value is in the SLI's unit (e.g.
    ``100 * sum(rate(ok[1d])) / sum(rate(all[1d]))`` for a success rate in percent)."""

    launch = models.OneToOneField(
        Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="prometheus_source"
    )
    base_url = models.URLField(
        verbose_name=_("Prometheus URL"), max_length=300, help_text=_("e.g. http://prometheus.internal:9090")
    )
    queries = models.JSONField(
        verbose_name=_("queries"), default=dict, help_text=_("One PromQL query per SLI indicator.")
    )
    configured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("configured by"), related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("Prometheus source")
        verbose_name_plural = _("Prometheus sources")

    def __str__(self) -> str:
        return f"Prometheus {self.base_url} for {self.launch}"

    def clean(self) -> None:
        errors = {}
        if self.base_url and (problem := prometheus_url_problem(self.base_url)):
            errors["base_url"] = problem
        if not isinstance(self.queries, dict) or not self.queries:
            errors["queries"] = _("Give at least one PromQL query, keyed by SLI indicator.")
        else:
            unknown = sorted(set(self.queries) - set(SLI_INDICATORS))
            if unknown:
                errors["queries"] = _("Unknown indicators: %(unknown)s. Known: %(known)s.") % {
                    "unknown": ", ".join(unknown),
                    "known": ", ".join(SLI_INDICATORS),
                }
            elif not all(isinstance(q, str) and q.strip() and len(q) <= 2000 for q in self.queries.values()):
                errors["queries"] = _("Each query is non-empty PromQL text of at most 2000 characters.")
        if errors:
            raise ValidationError(errors)


class PullStatus(models.TextChoices):
    OK = "ok", _("OK")
    FAILED = "failed", _("Failed")


class PrometheusPull(models.Model):
    """One run of the scheduled pull for a source: what it recorded and what went wrong. An
    operational log, not governance data (the values it records carry their own history)."""

    source = models.ForeignKey(
        PrometheusSource, on_delete=models.CASCADE, verbose_name=_("source"), related_name="pulls"
    )
    pulled_at = models.DateTimeField(verbose_name=_("pulled at"), default=timezone.now)
    status = models.CharField(verbose_name=_("status"), max_length=8, choices=PullStatus.choices)
    recorded = models.PositiveIntegerField(verbose_name=_("values recorded"), default=0)
    errors = models.JSONField(verbose_name=_("errors"), default=list, blank=True)

    class Meta:
        verbose_name = _("Prometheus pull")
        verbose_name_plural = _("Prometheus pulls")
        ordering = ["-pulled_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.source_id} {self.pulled_at:%Y-%m-%d %H:%M} {self.status}"


def day_end(day: datetime.date) -> datetime.datetime:
    """The instant a day ends in the server's time zone (midnight of the next day)."""
    return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()))
