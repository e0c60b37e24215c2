"""Operations after launch (issue 11): what happens once a stage is entered."""

from __future__ import annotations

import datetime
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from readiness.choices import PERCENT_INDICATORS, SloIndicator
from readiness.models import FrozenWithArchivedLaunch, Launch

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
    if indicator in PERCENT_INDICATORS and value > HUNDRED:
        return str(_("%(indicator)s is a percentage: 0 to 100.")) % {"indicator": SloIndicator(indicator).label}
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
                "day": self.day.isoformat()
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
