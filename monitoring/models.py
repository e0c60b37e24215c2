"""Monitoring's one table: each periodic verification of the ledger and what it found, so that
``/metrics`` tells every server the same truth (when the chain was last verified, and whether it
was clean) without verifying anything itself."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LedgerVerification(models.Model):
    """One run of ``ledger.verification.verify`` (``monitoring.services.ledger_verification_record``)."""

    started_at = models.DateTimeField(verbose_name=_("started at"))
    finished_at = models.DateTimeField(verbose_name=_("finished at"), db_index=True)
    ok = models.BooleanField(verbose_name=_("intact"))
    checked = models.PositiveBigIntegerField(verbose_name=_("entries checked"))
    head_hash = models.CharField(verbose_name=_("head hash"), max_length=64)
    # The first problem as ``verify`` words it (no secrets: entry numbers, hashes, row names).
    problem = models.TextField(verbose_name=_("problem"), blank=True)

    class Meta:
        verbose_name = _("ledger verification")
        verbose_name_plural = _("ledger verifications")
        ordering = ["-finished_at", "-pk"]

    def __str__(self) -> str:
        outcome = "intact" if self.ok else "BROKEN"
        return f"{self.finished_at:%Y-%m-%d %H:%M} {outcome} ({self.checked} entries)"
