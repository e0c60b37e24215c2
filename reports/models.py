"""PDF reports Preflight issued: what each shows, for whom, and the SHA-256 of its bytes, so a file
can later be checked against the record (``verify_report``)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from readiness.models import Launch, RolloutStage

from .choices import ReportKind, ReportStatus


class Report(models.Model):
    """One rendering of a report. Its id is printed in the PDF; ``sha256`` is of the PDF's bytes;
    ``facts_fingerprint`` is of the facts it shows, so asking again while they are unchanged
    returns this row, and a verified file can say whether its facts still hold."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=10, choices=ReportKind.choices)
    launch = models.ForeignKey(
        Launch, verbose_name=_("launch"), on_delete=models.CASCADE, null=True, blank=True, related_name="reports"
    )
    stage = models.ForeignKey(
        RolloutStage, verbose_name=_("stage"), on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    language = models.CharField(_("language"), max_length=8)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    facts_fingerprint = models.CharField(_("facts fingerprint"), max_length=64)
    layout = models.PositiveSmallIntegerField(
        _("layout"),
        default=1,  # reports rendered before layouts were numbered
        help_text=_("The version of the report's layout it was rendered with; a new layout renders afresh."),
    )
    ledger_head = models.CharField(_("ledger head"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    pdf = models.BinaryField(_("PDF"), null=True, blank=True, editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, db_index=True)
    seal = models.CharField(
        _("seal"),
        max_length=64,
        blank=True,
        help_text=_(
            "HMAC-SHA256 with LEDGER_KEY over what the report is: a row rewritten in the database no longer verifies."
        ),
    )

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=ReportKind.PORTFOLIO, launch__isnull=True, stage__isnull=True)
                | Q(kind=ReportKind.LAUNCH, launch__isnull=False, stage__isnull=True)
                | Q(kind=ReportKind.CHECKLIST, launch__isnull=False, stage__isnull=False),
                name="report_names_what_its_kind_needs",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReportStatus.READY) | (Q(pdf__isnull=False) & ~Q(sha256="")),
                name="ready_report_has_its_pdf_and_hash",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReportStatus.EXPIRED) | (Q(pdf__isnull=True) & ~Q(sha256="")),
                name="expired_report_keeps_its_hash_not_its_pdf",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.id}"

    def get_absolute_url(self) -> str:
        """The page saying where the report stands, with its download once ready."""
        return reverse("web:report", args=[self.pk])

    def is_stalled(self, now=None) -> bool:
        """Pending, and its render started longer ago than a render may take, or was never picked
        up that long: a worker died or the broker lost it. Asking again renders it anew."""
        if self.status != ReportStatus.PENDING:
            return False
        since = self.started_at or self.requested_at
        limit = settings.REPORT_RENDER_TIMEOUT_SECONDS
        return ((now or timezone.now()) - since).total_seconds() > limit
