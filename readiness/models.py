"""The facts of an AI launch. Invariants live here (clean() and Meta.constraints) so the admin,
services, commands and later the API all hit the same wall."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from .choices import (
    COST_INDICATORS,
    HIGHER_IS_BETTER,
    PERCENT_INDICATORS,
    SENSITIVE_CLASSES,
    AccessLevel,
    Classification,
    FeedbackKind,
    NotifyScope,
    ReviewCadence,
    RiskTier,
    Severity,
    SloIndicator,
    StageKind,
)
from .fields import FactDateField, FactDateTimeField, LimitedTextField, NameField, SafeURLField
from .validators import LONG_TEXT_MAX_LENGTH

ZERO = Decimal("0")
ONE = Decimal("1")
HUNDRED = Decimal("100")


class FrozenWithArchivedLaunch:
    """A fact of a launch is kept as it was once the launch is archived: validation refuses any
    change, whichever door (service, admin page, import) it comes through."""

    launch_lookup = "launch"

    def full_clean(self, *args, **kwargs) -> None:
        launch = self
        for step in self.launch_lookup.split("__"):
            launch = getattr(launch, f"{step}_id", None) and getattr(launch, step)
        if launch is not None and launch.archived:
            raise ValidationError(
                _("Launch '%(slug)s' is archived; its facts can no longer change.") % {"slug": launch.slug}
            )
        super().full_clean(*args, **kwargs)


class ProposedValues(models.Model):
    """Values a launch template filled in are proposals: ``proposed`` names the fields no person
    has confirmed yet. A person confirms them, or changes them, through the fact services; an
    item (or the gate) that reads a proposed value fails until then."""

    PROPOSABLE: tuple[str, ...] = ()

    proposed = models.JSONField(
        verbose_name=_("proposed"),
        default=list,
        blank=True,
        help_text=_("Fields whose values the launch template proposed and no person has confirmed yet."),
    )

    class Meta:
        abstract = True

    def is_proposed(self, field: str) -> bool:
        return field in (self.proposed or ())

    def clean_proposed(self) -> None:
        if not isinstance(self.proposed, list) or not set(self.proposed) <= set(self.PROPOSABLE):
            raise ValidationError(
                {
                    "proposed": _("Only these fields can be proposed: %(fields)s.")
                    % {"fields": ", ".join(self.PROPOSABLE)}
                }
            )


PROPOSED_BY_TEMPLATE = _("proposed by the template, not yet confirmed")


class Launch(models.Model):
    name = NameField(verbose_name=_("name"), max_length=200)
    slug = models.SlugField(
        verbose_name=_("slug"), max_length=80, unique=True, help_text=_("Used in URLs, commands and the API.")
    )
    summary = LimitedTextField(verbose_name=_("summary"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        verbose_name=_("owner"),
        related_name="owned_launches",
        help_text=_("The product manager who drives the launch."),
    )
    risk_tier = models.CharField(
        verbose_name=_("risk tier"), max_length=10, choices=RiskTier.choices, default=RiskTier.MEDIUM
    )
    target_date = models.DateField(verbose_name=_("target date"), null=True, blank=True)
    current_stage = models.ForeignKey(
        "RolloutStage",
        on_delete=models.SET_NULL,
        verbose_name=_("current stage"),
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty while the launch is still in planning."),
    )
    serving_version = NameField(
        verbose_name=_("serving version"),
        max_length=120,
        blank=True,
        help_text=_(
            "The model/prompt version now in service, e.g. 'gpt-4o-2024-08-06 + prompt v12'. "
            "Evaluation runs count as evidence only when they measured this version."
        ),
    )
    archived = models.BooleanField(verbose_name=_("archived"), default=False)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("launch")
        verbose_name_plural = _("launches")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("web:launch", args=[self.slug])

    def clean(self) -> None:
        if self.pk is not None:
            stored = Launch.objects.filter(pk=self.pk).values_list("slug", flat=True).first()
            if stored is not None and stored != self.slug:
                raise ValidationError(
                    {
                        "slug": _("A launch's slug never changes: the ledger records it as '%(slug)s'.")
                        % {"slug": stored}
                    }
                )
        if self.current_stage_id and self.current_stage.launch_id != self.pk:
            raise ValidationError({"current_stage": _("The current stage must be one of this launch's own stages.")})

    def ordered_stages(self) -> list[RolloutStage]:
        """Stages in rollout order; uses the prefetch cache when present."""
        return sorted(self.stages.all(), key=lambda stage: stage.order)

    def next_stage(self) -> RolloutStage | None:
        """The stage after the current one (the first one while in planning); None at the last stage."""
        stages = self.ordered_stages()
        if self.current_stage_id is None:
            return stages[0] if stages else None
        current_order = next((s.order for s in stages if s.pk == self.current_stage_id), None)
        return next((s for s in stages if current_order is not None and s.order > current_order), None)


class LaunchUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Launch, on_delete=models.CASCADE, verbose_name=_("content object"))


class LaunchGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Launch, on_delete=models.CASCADE, verbose_name=_("content object"))


class RolloutStage(FrozenWithArchivedLaunch, ProposedValues):
    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="stages")
    kind = models.CharField(verbose_name=_("kind"), max_length=10, choices=StageKind.choices, default=StageKind.CUSTOM)
    name = NameField(verbose_name=_("name"), max_length=80)
    order = models.PositiveSmallIntegerField(
        verbose_name=_("order"), help_text=_("Position in the rollout; lower goes first.")
    )
    exposure_percent = models.DecimalField(
        verbose_name=_("exposure percent"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(ZERO), MaxValueValidator(HUNDRED)],
        help_text=_("Share of the target users exposed at this stage, 0–100."),
    )
    planned_date = models.DateField(verbose_name=_("planned date"), null=True, blank=True)
    gating_checks = models.JSONField(
        verbose_name=_("gating checks"),
        null=True,
        blank=True,
        help_text=_(
            "Checklist item keys that must pass to enter this stage. Empty means the default for the stage kind."
        ),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("rollout stage")
        verbose_name_plural = _("rollout stages")
        ordering = ["launch", "order"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "order"], name="stage_order_unique_per_launch"),
            models.UniqueConstraint(fields=["launch", "name"], name="stage_name_unique_per_launch"),
            models.CheckConstraint(
                condition=Q(exposure_percent__gte=0) & Q(exposure_percent__lte=100),
                name="stage_exposure_between_0_and_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.exposure_percent.normalize():f}%)"

    PROPOSABLE = ("exposure_percent",)

    def clean(self) -> None:
        self.clean_proposed()
        self._refuse_changes_once_entered()
        self._refuse_exposure_beyond_kind()
        if self.gating_checks is None:
            return
        from .checklist import registry

        if not isinstance(self.gating_checks, list) or not all(isinstance(k, str) for k in self.gating_checks):
            raise ValidationError({"gating_checks": _("Give a list of checklist item keys.")})
        unknown = sorted(set(self.gating_checks) - set(registry.keys()))
        if unknown:
            raise ValidationError(
                {
                    "gating_checks": _("Unknown checklist items: %(unknown)s. Known: %(known)s.")
                    % {"unknown": ", ".join(unknown), "known": ", ".join(registry.keys())}
                }
            )
        self._refuse_dropping_default_checks()

    def _refuse_exposure_beyond_kind(self) -> None:
        """An Internal stage wider than INTERNAL_MAX_EXPOSURE_PERCENT is really a Beta, a Beta wider
        than BETA_MAX_EXPOSURE_PERCENT really a Full; a stage exposing every user is a Full stage."""
        if self.exposure_percent is None:
            return
        if self.exposure_percent == HUNDRED and self.kind != StageKind.FULL:
            raise ValidationError(
                # Keyed to the exposure: a changed stage keeps its kind, so the exposure is what to fix.
                {
                    "exposure_percent": _(
                        "A stage exposing every user (100 %) is a Full stage, gated and signed off as one."
                    )
                }
            )
        limits = {
            StageKind.INTERNAL: settings.INTERNAL_MAX_EXPOSURE_PERCENT,
            StageKind.BETA: settings.BETA_MAX_EXPOSURE_PERCENT,
        }
        limit = limits.get(self.kind)
        if limit is not None and self.exposure_percent > limit:
            raise ValidationError(
                {
                    "exposure_percent": _(
                        "%(kind)s stages expose at most %(limit)s %% of users; "
                        "a wider stage is the next kind, gated and signed off as one."
                    )
                    % {"kind": self.get_kind_display(), "limit": limit}
                }
            )

    def _refuse_dropping_default_checks(self) -> None:
        """A stage's own list may add items to what its kind requires, never drop one (a custom
        stage needs at least what Internal needs): the owner does not lower the bar that binds them."""
        from .checklist import minimum_gating_checks

        minimum = minimum_gating_checks(self.kind, self.exposure_percent)
        dropped = [key for key in minimum if key not in self.gating_checks]
        if self.gating_checks and dropped:
            kind = self.get_kind_display()
            raise ValidationError(
                {
                    "gating_checks": _(
                        "A %(kind)s stage of this exposure is gated by at least %(minimum)s; "
                        "this list leaves out %(dropped)s. Add items, never drop them."
                    )
                    % {"kind": kind, "minimum": ", ".join(minimum), "dropped": ", ".join(dropped)}
                }
            )

    # What the gate and the ledger recorded when the stage was entered; never edited afterwards.
    FROZEN_ONCE_ENTERED = ("kind", "order", "exposure_percent", "gating_checks")

    def _refuse_changes_once_entered(self) -> None:
        """A stage the launch has entered (the current one or an earlier one) keeps the kind,
        position, exposure and gating items it was entered with: changing them would widen the
        rollout without passing the gate. Going back is a rollback; a new plan is a new stage."""
        if self.pk is None or not self.launch_id or self.launch.current_stage_id is None:
            return
        stored = RolloutStage.objects.filter(pk=self.pk).values(*self.FROZEN_ONCE_ENTERED).first()
        current = RolloutStage.objects.filter(pk=self.launch.current_stage_id).values_list("order", flat=True).first()
        if stored is None or current is None or stored["order"] > current:
            return
        changed = [field for field in self.FROZEN_ONCE_ENTERED if getattr(self, field) != stored[field]]
        if changed:
            raise ValidationError(
                {
                    field: _("Stage '%(stage)s' has been entered; its %(field)s can no longer change.")
                    % {"stage": self.name, "field": self._meta.get_field(field).verbose_name}
                    for field in changed
                }
            )


class QualityBar(FrozenWithArchivedLaunch, models.Model):
    """An agreed acceptable failure rate for one quality metric."""

    # What an agreement covers: changing any of these clears it (readiness.services.facts).
    AGREED_FIELDS = (
        "metric",
        "failure_definition",
        "max_failure_rate",
        "confidence_level",
        "min_samples",
        "min_human_reviewed_share",
    )

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="quality_bars")
    metric = models.SlugField(
        verbose_name=_("metric"),
        max_length=80,
        help_text=_("Metric key, e.g. 'wrong_answers'. The responsibility area owning this concern is accountable."),
    )
    failure_definition = LimitedTextField(
        verbose_name=_("failure definition"), help_text=_("What counts as one failure, in words a reviewer can apply.")
    )
    max_failure_rate = models.DecimalField(
        verbose_name=_("max failure rate"),
        max_digits=6,
        decimal_places=5,
        validators=[MinValueValidator(ZERO)],
        help_text=_("Agreed maximum failure rate as a fraction in [0, 1), e.g. 0.05 for 5 %."),
    )
    confidence_level = models.DecimalField(
        verbose_name=_("confidence level"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.95"),
        help_text=_("Confidence of the evidence check, a fraction in (0, 1), e.g. 0.95."),
    )
    min_samples = models.PositiveIntegerField(
        verbose_name=_("min samples"), default=100, validators=[MinValueValidator(1)]
    )
    min_human_reviewed_share = models.DecimalField(
        verbose_name=_("min human reviewed share"),
        max_digits=4,
        decimal_places=3,
        default=ZERO,
        help_text=_(
            "Share of an evaluation's samples a person must have reviewed, a fraction from 0 to 1, "
            "e.g. 0.1 for 10 %. 0: no human review required."
        ),
    )
    agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        verbose_name=_("agreed by"),
        null=True,
        blank=True,
        related_name="+",
    )
    agreed_at = FactDateTimeField(verbose_name=_("agreed at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("quality bar")
        verbose_name_plural = _("quality bars")
        ordering = ["launch", "metric"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "metric"], name="quality_bar_metric_unique_per_launch"),
            models.CheckConstraint(
                condition=Q(max_failure_rate__gte=0) & Q(max_failure_rate__lt=1),
                name="quality_bar_failure_rate_fraction",
            ),
            models.CheckConstraint(
                condition=Q(confidence_level__gt=0) & Q(confidence_level__lt=1),
                name="quality_bar_confidence_fraction",
            ),
            models.CheckConstraint(condition=Q(min_samples__gte=1), name="quality_bar_min_samples_positive"),
            models.CheckConstraint(
                condition=Q(min_human_reviewed_share__gte=0) & Q(min_human_reviewed_share__lte=1),
                name="quality_bar_human_review_share_fraction",
            ),
            models.CheckConstraint(
                condition=Q(agreed_by__isnull=True, agreed_at__isnull=True)
                | Q(agreed_by__isnull=False, agreed_at__isnull=False),
                name="quality_bar_agreement_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric} ≤ {(self.max_failure_rate * 100).normalize():f} %"

    def clean(self) -> None:
        errors = {}
        if self.max_failure_rate is not None and not (ZERO <= self.max_failure_rate < ONE):
            errors["max_failure_rate"] = _("The failure rate is a fraction from 0 up to (not including) 1, e.g. 0.05.")
        if self.confidence_level is not None and not (ZERO < self.confidence_level < ONE):
            errors["confidence_level"] = _("The confidence level is a fraction strictly between 0 and 1, e.g. 0.95.")
        share = self.min_human_reviewed_share
        if share is not None and not (ZERO <= share <= ONE):
            errors["min_human_reviewed_share"] = _(
                "The human-reviewed share is a fraction from 0 to 1, e.g. 0.1 for 10 %."
            )
        if (self.agreed_by_id is None) != (self.agreed_at is None):
            errors["agreed_at" if self.agreed_by_id else "agreed_by"] = _(
                "An agreement needs both who agreed and when; give both or neither."
            )
        if errors:
            raise ValidationError(errors)

    def latest_eval_run(self) -> EvalRun | None:
        """The evaluation recorded last (not the one claiming the latest run date, which anyone
        typing a date could set); uses the prefetch cache when present."""
        runs = list(self.eval_runs.all())
        return max(runs, key=lambda run: (run.recorded_at, run.pk)) if runs else None

    def latest_counting_run(self) -> EvalRun | None:
        """The latest recorded run that counts as evidence: one waiting for acceptance does not."""
        runs = [run for run in self.eval_runs.all() if run.counts]
        return max(runs, key=lambda run: (run.recorded_at, run.pk)) if runs else None

    def pending_run(self) -> EvalRun | None:
        """The latest recorded run still waiting for acceptance, if it is newer than every run that counts."""
        latest = self.latest_eval_run()
        return latest if latest is not None and not latest.counts else None


class EvalRun(FrozenWithArchivedLaunch, models.Model):
    """Measured evaluation evidence for a quality bar."""

    launch_lookup = "quality_bar__launch"

    quality_bar = models.ForeignKey(
        QualityBar, on_delete=models.CASCADE, verbose_name=_("quality bar"), related_name="eval_runs"
    )
    samples = models.PositiveIntegerField(verbose_name=_("samples"), validators=[MinValueValidator(1)])
    failures = models.PositiveIntegerField(verbose_name=_("failures"))
    golden_set_name = NameField(verbose_name=_("golden set name"), max_length=120)
    golden_set_version = NameField(verbose_name=_("golden set version"), max_length=40)
    golden_set_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        verbose_name=_("golden set owner"),
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Who maintains the golden set. A run whose golden set has no owner does not count as evidence."),
    )
    measured_version = NameField(
        verbose_name=_("measured version"),
        max_length=120,
        blank=True,
        help_text=_("The model/prompt version this run measured. It counts only while that version is in service."),
    )
    human_reviewed = models.PositiveIntegerField(
        verbose_name=_("human reviewed"), default=0, help_text=_("How many of the samples a person reviewed.")
    )
    run_at = FactDateTimeField(verbose_name=_("run at"), default=timezone.now)
    recorded_at = models.DateTimeField(
        verbose_name=_("recorded at"),
        default=timezone.now,
        editable=False,
        help_text=_(
            "When the run was recorded. The latest evidence is the latest recorded, whatever its run date says."
        ),
    )
    link = SafeURLField(verbose_name=_("link"), blank=True, help_text=_("Where the full results live."))
    # Who recorded the run, and whether it must be accepted before it counts: a run the launch
    # owner records, or one recorded while the bar's counting evidence fails, counts only once
    # someone of the bar's function other than its recorder and the owner accepts it
    # (raci.services.eval_run_accept). Set by the fact services when the run is added.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    needs_acceptance = models.BooleanField(verbose_name=_("needs acceptance"), default=False, editable=False)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        verbose_name=_("accepted by"),
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    accepted_at = FactDateTimeField(verbose_name=_("accepted at"), null=True, blank=True, editable=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("evaluation run")
        verbose_name_plural = _("evaluation runs")
        ordering = ["quality_bar", "-run_at"]
        constraints = [
            models.CheckConstraint(condition=Q(samples__gte=1), name="eval_run_samples_positive"),
            models.CheckConstraint(condition=Q(failures__lte=F("samples")), name="eval_run_failures_within_samples"),
            models.CheckConstraint(
                condition=Q(human_reviewed__lte=F("samples")), name="eval_run_reviewed_within_samples"
            ),
            models.CheckConstraint(
                condition=Q(accepted_by__isnull=True, accepted_at__isnull=True)
                | Q(accepted_by__isnull=False, accepted_at__isnull=False, needs_acceptance=True),
                name="eval_run_acceptance_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.failures}/{self.samples} on {self.golden_set_name} {self.golden_set_version}"

    @property
    def counts(self) -> bool:
        """Evidence only once accepted, where it needed acceptance."""
        return not self.needs_acceptance or self.accepted_by_id is not None

    def clean(self) -> None:
        errors = {}
        if self.samples is not None and self.failures is not None and self.failures > self.samples:
            errors["failures"] = _("Failures (%(failures)s) cannot exceed samples (%(samples)s).") % {
                "failures": self.failures,
                "samples": self.samples,
            }
        if self.samples is not None and self.human_reviewed is not None and self.human_reviewed > self.samples:
            errors["human_reviewed"] = _(
                "Human-reviewed samples (%(reviewed)s) cannot exceed samples (%(samples)s)."
            ) % {"reviewed": self.human_reviewed, "samples": self.samples}
        if errors:
            raise ValidationError(errors)


class DataAsset(FrozenWithArchivedLaunch, models.Model):
    """A data source or sink the AI system reads or writes."""

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="data_assets")
    name = NameField(verbose_name=_("name"), max_length=120)
    description = LimitedTextField(verbose_name=_("description"), blank=True, help_text=_("What it holds."))
    classification = models.CharField(
        verbose_name=_("classification"), max_length=15, choices=Classification.choices, blank=True
    )
    access_level = models.CharField(
        verbose_name=_("access level"), max_length=15, choices=AccessLevel.choices, blank=True
    )
    named_teams = models.CharField(
        verbose_name=_("named teams"),
        max_length=300,
        blank=True,
        db_default="",  # rows written before this field (or by SQL that does not name it) get none
        help_text=_(
            "The teams that need to know, e.g. Payments operations, Fraud analytics. Required for need-to-know access."
        ),
    )
    masked_in_logs = models.BooleanField(verbose_name=_("masked in logs"), default=False)
    retention_days = models.PositiveIntegerField(
        verbose_name=_("retention days"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    last_audit_at = FactDateField(verbose_name=_("last audit at"), null=True, blank=True)
    audit_interval_days = models.PositiveIntegerField(
        verbose_name=_("audit interval days"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Audit checkpoint: audit at least this often."),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("data asset")
        verbose_name_plural = _("data assets")
        ordering = ["launch", "name"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "name"], name="data_asset_name_unique_per_launch"),
            models.CheckConstraint(
                condition=Q(retention_days__isnull=True) | Q(retention_days__gte=1),
                name="data_asset_retention_positive",
            ),
            models.CheckConstraint(
                condition=Q(audit_interval_days__isnull=True) | Q(audit_interval_days__gte=1),
                name="data_asset_audit_interval_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_classification_display() or 'unclassified'})"

    def clean(self) -> None:
        if self.access_level == AccessLevel.NEED_TO_KNOW and not (self.named_teams or "").strip():
            raise ValidationError(
                {"named_teams": _("Name the teams that need to know: need-to-know access means named teams.")}
            )

    @property
    def is_personal(self) -> bool:
        return self.classification == Classification.PERSONAL

    @property
    def is_sensitive(self) -> bool:
        """Personal or confidential: only the Accountable for privacy lowers its class or removes it."""
        return self.classification in SENSITIVE_CLASSES

    def audit_due_on(self) -> datetime.date | None:
        if self.last_audit_at is None or self.audit_interval_days is None:
            return None
        return self.last_audit_at + datetime.timedelta(days=self.audit_interval_days)


class SLO(FrozenWithArchivedLaunch, ProposedValues):
    """A service level objective. For the monthly cost SLO the target is the monthly budget and the
    alert threshold the daily spend that raises an alert; both must be entered by a person."""

    PROPOSABLE = ("target", "alert_threshold")
    # What an agreement covers: changing any of these clears it.
    AGREED_FIELDS = ("target", "alert_threshold")

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="slos")
    indicator = models.CharField(verbose_name=_("indicator"), max_length=20, choices=SloIndicator.choices)
    target = models.DecimalField(
        verbose_name=_("target"),
        max_digits=14,
        decimal_places=3,
        validators=[MinValueValidator(ZERO)],
        help_text=_("Percent for rates, milliseconds for latency, currency units for cost."),
    )
    alert_threshold = models.DecimalField(
        verbose_name=_("alert threshold"),
        max_digits=14,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO)],
        help_text=_("Where the alert fires; for the monthly cost SLO, the daily spend that raises an alert."),
    )
    dashboard_link = SafeURLField(verbose_name=_("dashboard link"), blank=True)
    agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        verbose_name=_("agreed by"),
        null=True,
        blank=True,
        related_name="+",
    )
    agreed_at = FactDateTimeField(verbose_name=_("agreed at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("SLO")
        verbose_name_plural = _("SLOs")
        ordering = ["launch", "indicator"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "indicator"], name="slo_indicator_unique_per_launch"),
            models.CheckConstraint(condition=Q(target__gte=0), name="slo_target_non_negative"),
            models.CheckConstraint(
                condition=Q(alert_threshold__isnull=True) | Q(alert_threshold__gte=0),
                name="slo_alert_non_negative",
            ),
            models.CheckConstraint(
                condition=~Q(indicator__in=sorted(PERCENT_INDICATORS))
                | (Q(target__lte=100) & (Q(alert_threshold__isnull=True) | Q(alert_threshold__lte=100))),
                name="slo_percentages_at_most_100",
                violation_error_message=_("Success and error rates are percentages: at most 100."),
            ),
            models.CheckConstraint(
                condition=Q(agreed_by__isnull=True, agreed_at__isnull=True)
                | Q(agreed_by__isnull=False, agreed_at__isnull=False),
                name="slo_agreement_complete",
            ),
            models.CheckConstraint(
                condition=~Q(indicator=SloIndicator.COST_MONTHLY)
                | Q(alert_threshold__isnull=True)
                | Q(alert_threshold__lte=F("target")),
                name="slo_daily_cost_alert_within_monthly_budget",
                violation_error_message=_("The daily cost alert cannot exceed the monthly budget."),
            ),
            models.CheckConstraint(
                condition=Q(alert_threshold__isnull=True)
                | Q(indicator__in=sorted(COST_INDICATORS))
                | Q(indicator__in=sorted(HIGHER_IS_BETTER), alert_threshold__lte=F("target"))
                | (~Q(indicator__in=sorted(HIGHER_IS_BETTER | COST_INDICATORS)) & Q(alert_threshold__gte=F("target"))),
                name="slo_alert_on_the_failing_side_of_target",
                violation_error_message=_("The alert threshold must lie on the failing side of the target."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_indicator_display()} {self.comparator} {self.target.normalize():f}"

    @property
    def comparator(self) -> str:
        return "≥" if self.indicator in HIGHER_IS_BETTER else "≤"

    def clean(self) -> None:
        self.clean_proposed()
        errors = {}
        if (self.agreed_by_id is None) != (self.agreed_at is None):
            errors["agreed_at" if self.agreed_by_id else "agreed_by"] = _(
                "An agreement needs both who agreed and when; give both or neither."
            )
        if (
            self.indicator == SloIndicator.COST_MONTHLY
            and self.target is not None
            and self.alert_threshold is not None
            and self.alert_threshold > self.target
        ):
            errors["alert_threshold"] = _(
                "The daily cost alert (%(alert)s) cannot exceed the monthly budget (%(budget)s)."
            ) % {"alert": f"{self.alert_threshold.normalize():f}", "budget": f"{self.target.normalize():f}"}
        if self.indicator in PERCENT_INDICATORS:
            for field in ("target", "alert_threshold"):
                value = getattr(self, field)
                if value is not None and value > HUNDRED:
                    errors[field] = _("%(indicator)s: enter a percentage between 0 %% and 100 %%.") % {
                        "indicator": self.get_indicator_display()
                    }
        if self.target is not None and self.alert_threshold is not None and self.indicator not in COST_INDICATORS:
            if self.indicator in HIGHER_IS_BETTER and self.alert_threshold > self.target:
                errors.setdefault(
                    "alert_threshold",
                    _("Alert when the rate falls below a level at or under the target (%(target)s).")
                    % {"target": f"{self.target.normalize():f}"},
                )
            elif self.indicator not in HIGHER_IS_BETTER and self.alert_threshold < self.target:
                errors.setdefault(
                    "alert_threshold",
                    _("Alert when the value rises above a level at or over the target (%(target)s).")
                    % {"target": f"{self.target.normalize():f}"},
                )
        if errors:
            raise ValidationError(errors)


class SeverityLevel(FrozenWithArchivedLaunch, ProposedValues):
    launch = models.ForeignKey(
        Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="severity_levels"
    )
    level = models.CharField(verbose_name=_("level"), max_length=2, choices=Severity.choices)
    definition = LimitedTextField(verbose_name=_("definition"))
    response_minutes = models.PositiveIntegerField(
        verbose_name=_("response minutes"),
        null=True,
        blank=True,
        help_text=_("Time to respond; empty means 'next sprint' (backlog)."),
    )
    notify = models.CharField(verbose_name=_("notify"), max_length=15, choices=NotifyScope.choices)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("severity level")
        verbose_name_plural = _("severity levels")
        ordering = ["launch", "level"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "level"], name="severity_level_unique_per_launch"),
        ]

    PROPOSABLE = ("response_minutes",)

    def __str__(self) -> str:
        return f"{self.level}: respond within {self.response_label}"

    def clean(self) -> None:
        self.clean_proposed()

    @property
    def response_label(self) -> str:
        return minutes_label(self.response_minutes)


def minutes_label(minutes: int | None) -> str:
    """A response time as people say it: '15 min', '4 h', 'next sprint' (no time: the backlog)."""
    if minutes is None:
        return str(_("next sprint"))
    if minutes % 60 == 0:
        return _("%(hours)s h") % {"hours": minutes // 60}
    return _("%(minutes)s min") % {"minutes": minutes}


class RollbackPlan(FrozenWithArchivedLaunch, models.Model):
    launch = models.OneToOneField(
        Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="rollback_plan"
    )
    procedure = LimitedTextField(verbose_name=_("procedure"), max_chars=LONG_TEXT_MAX_LENGTH)
    one_click = models.BooleanField(
        verbose_name=_("one click"), default=False, help_text=_("Can be rolled back with a single action.")
    )
    last_rehearsed_at = FactDateField(verbose_name=_("last rehearsed at"), null=True, blank=True)
    max_rehearsal_age_days = models.PositiveIntegerField(
        verbose_name=_("max rehearsal age days"), default=90, validators=[MinValueValidator(1)]
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("rollback plan")
        verbose_name_plural = _("rollback plans")
        constraints = [
            models.CheckConstraint(condition=Q(max_rehearsal_age_days__gte=1), name="rollback_rehearsal_age_positive"),
        ]

    def __str__(self) -> str:
        return f"Rollback plan for {self.launch}"


class Runbook(FrozenWithArchivedLaunch, models.Model):
    launch = models.OneToOneField(Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="runbook")
    link = SafeURLField(verbose_name=_("link"), blank=True)
    content = LimitedTextField(verbose_name=_("content"), blank=True, max_chars=LONG_TEXT_MAX_LENGTH)
    last_reviewed_at = FactDateField(verbose_name=_("last reviewed at"), null=True, blank=True)
    review_interval_days = models.PositiveIntegerField(
        verbose_name=_("review interval days"), default=180, validators=[MinValueValidator(1)]
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("runbook")
        verbose_name_plural = _("runbooks")
        constraints = [
            models.CheckConstraint(condition=~Q(link="", content=""), name="runbook_has_link_or_content"),
            models.CheckConstraint(condition=Q(review_interval_days__gte=1), name="runbook_review_interval_positive"),
        ]

    def __str__(self) -> str:
        return f"Incident runbook for {self.launch}"

    def clean(self) -> None:
        if not self.link and not self.content.strip():
            raise ValidationError({"link": _("Give the runbook's link or its text.")})


class FeedbackChannel(FrozenWithArchivedLaunch, models.Model):
    """A way failure cases reach the team."""

    launch = models.ForeignKey(
        Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="feedback_channels"
    )
    kind = models.CharField(verbose_name=_("kind"), max_length=20, choices=FeedbackKind.choices)
    description = LimitedTextField(verbose_name=_("description"), blank=True)
    review_cadence = models.CharField(
        verbose_name=_("review cadence"), max_length=10, choices=ReviewCadence.choices, blank=True
    )
    # When the channel was recorded: the cadence's clock starts here until a first review is held.
    created_at = models.DateTimeField(verbose_name=_("recorded at"), default=timezone.now, editable=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("feedback channel")
        verbose_name_plural = _("feedback channels")
        ordering = ["launch", "kind"]

    def __str__(self) -> str:
        return self.get_kind_display()


class Verdict(models.TextChoices):
    READY = "ready", _("Ready")
    BLOCKED = "blocked", _("Blocked")
    FINAL = "final", _("Final stage")


class LaunchEvaluation(models.Model):
    """A launch's last evaluated readiness for its next stage, kept so that the portfolio's summary
    and its verdict filter read one row per launch instead of evaluating a thousand checklists.
    Recomputed after every change that touches the launch and periodically (checks decay with
    time: approvals expire, evidence ages), so it is never older than a day; ``evaluated_at`` says
    when it was taken. Never a basis for the gate, which always evaluates afresh."""

    launch = models.OneToOneField(
        Launch, on_delete=models.CASCADE, verbose_name=_("launch"), primary_key=True, related_name="evaluation"
    )
    next_stage = models.CharField(verbose_name=_("next stage"), max_length=80, blank=True)
    verdict = models.CharField(verbose_name=_("verdict"), max_length=10, choices=Verdict.choices)
    passed = models.PositiveSmallIntegerField(verbose_name=_("passed"))
    total = models.PositiveSmallIntegerField(verbose_name=_("total"))
    blockers = models.JSONField(
        verbose_name=_("blockers"), default=list, help_text=_("Keys of the checklist items blocking the next stage.")
    )
    evaluated_at = models.DateTimeField(verbose_name=_("evaluated at"))

    class Meta:
        verbose_name = _("launch evaluation")
        verbose_name_plural = _("launch evaluations")

    def __str__(self) -> str:
        return f"{self.launch_id}: {self.verdict} ({self.passed}/{self.total}) at {self.evaluated_at:%Y-%m-%d %H:%M}"
